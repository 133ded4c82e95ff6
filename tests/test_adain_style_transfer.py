"""AdaIN arbitrary style transfer: the layer, the decoder, training, saving,
serving, `stylize` and the `style_pairs` pipeline.

A tiny decoder (8 base filters) inverts VGG16's block3_conv1 features, with
the HED VGG16 weights: real pretrained features that need no download.
"""

import battery
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from PIL import Image

import kgen
from kgen.layers import AdaptiveInstanceNormalization
from kgen.losses import channel_statistics
from kgen.models.adain_style_transfer import AdaINStyleTransfer
from kgen.networks.adain import adain_decoder
from kgen.networks.vgg import WeightsDownloadError

ENCODER_LAYER = "block3_conv1"
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1")
SIZE = 32


@pytest.fixture(scope="module")
def build(vgg16_weights):
    def build(**overrides):
        arguments = dict(
            decoder=adain_decoder(ENCODER_LAYER, backbone="vgg16", base_filters=8),
            backbone="vgg16",
            weights=vgg16_weights,
            encoder_layer=ENCODER_LAYER,
            style_layers=STYLE_LAYERS,
        )
        return AdaINStyleTransfer(**{**arguments, **overrides})

    return build


def smooth_images(count, size, seed):
    """Blurry random colour fields, upsampled from 4x4 noise: photo-like content."""
    low = np.random.default_rng(seed).uniform(0, 1, (count, 4, 4, 3))
    return np.asarray(
        tf.image.resize(low, (size, size), method="bicubic").numpy().clip(0, 1),
        "float32",
    )


def striped_images(count, size, seed):
    """Coloured stripes of random period and phase: texture-like styles."""
    rng = np.random.default_rng(seed)
    x = np.arange(size)
    images = []
    for _ in range(count):
        period, phase = rng.uniform(3, 8), rng.uniform(0, 2 * np.pi)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * (x[:, None] + x[None]) / period + phase)
        colour = rng.uniform(0.2, 1.0, 3)
        images.append(wave[..., None] * colour)
    return np.asarray(images, "float32")


class StepLosses(keras.callbacks.Callback):
    """Each training step's own loss, recovered from the running epoch mean."""

    def on_epoch_begin(self, epoch, logs=None):
        self.losses, self.total = [], 0.0

    def on_train_batch_end(self, batch, logs=None):
        total = logs["loss"] * (batch + 1)
        self.losses.append(total - self.total)
        self.total = total


@pytest.fixture(scope="module")
def trained(build):
    """A model fitted for 40 steps, with its step losses and weights before."""
    keras.utils.set_random_seed(0)
    content = smooth_images(8, SIZE, seed=0)
    style = striped_images(8, SIZE, seed=1)
    # Crops of the whole images, so that the losses compare with evaluate's.
    pairs = kgen.data.style_pairs(
        content,
        style,
        image_size=(SIZE, SIZE),
        resize_short_side=SIZE,
        batch_size=2,
        seed=0,
    )
    model = build()
    model.compile(keras.optimizers.Adam(1e-3))
    encoder_before = [ops.convert_to_numpy(v) for v in model.encoder.weights]
    decoder_before = [ops.convert_to_numpy(v) for v in model.decoder.weights]
    step_losses = StepLosses()
    model.fit(
        pairs.repeat(), steps_per_epoch=40, epochs=1, verbose=0, callbacks=[step_losses]
    )
    return dict(
        model=model,
        step_losses=step_losses.losses,
        encoder_before=encoder_before,
        decoder_before=decoder_before,
        content=content,
        style=style,
    )


def test_adain_gives_the_style_statistics_and_alpha_zero_keeps_the_content():
    rng = np.random.default_rng(0)
    content = rng.normal(2.0, 3.0, (2, 6, 5, 4)).astype("float32")
    style = rng.normal(-1.0, 0.5, (2, 7, 9, 4)).astype("float32") * [1, 2, 3, 4]
    layer = AdaptiveInstanceNormalization(epsilon=0.0)
    content, style = ops.convert_to_tensor(content), ops.convert_to_tensor(style)
    full = layer([content, style, ops.ones((2, 1))])
    mean, std = channel_statistics(full, epsilon=0.0)
    style_mean, style_std = channel_statistics(style, epsilon=0.0)
    np.testing.assert_allclose(
        ops.convert_to_numpy(mean), ops.convert_to_numpy(style_mean), atol=1e-5
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(std), ops.convert_to_numpy(style_std), rtol=1e-4
    )
    unchanged = layer([content, style, ops.zeros((2, 1))])
    np.testing.assert_allclose(
        ops.convert_to_numpy(unchanged), ops.convert_to_numpy(content), atol=1e-6
    )


def test_decoder_mirrors_vgg_up_to_the_encoder_layer():
    decoder = adain_decoder("block4_conv1", backbone="vgg19", base_filters=4)
    convs = [
        layer for layer in decoder.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    ups = [layer for layer in decoder.layers if "UpSampling" in type(layer).__name__]
    # VGG19 up to block4_conv1 has 2 + 2 + 4 + 1 convolutions and 3 poolings.
    assert len(convs) == 9 and len(ups) == 3
    assert decoder.input_shape == (None, None, None, 512)
    assert decoder.compute_output_shape((1, 2, 3, 512)) == (1, 16, 24, 3)
    small = adain_decoder(ENCODER_LAYER, backbone="vgg16", base_filters=8)
    assert small.compute_output_shape((1, 4, 4, 256)) == (1, 16, 16, 3)
    with pytest.raises(ValueError, match="encoder_layer must be a convolution"):
        adain_decoder("block3_conv4", backbone="vgg16")


def test_fit_lowers_the_loss_and_trains_only_the_decoder(trained):
    model = trained["model"]
    first, last = trained["step_losses"][:3], trained["step_losses"][-5:]
    # About halved in 40 steps: the tiny decoder learns the stripes' statistics.
    assert np.mean(last) < 0.75 * np.mean(first)
    fixed = tf.data.Dataset.from_tensor_slices(
        (trained["content"], trained["style"])
    ).batch(8)
    evaluated = battery.run_evaluate_test(
        model, (fixed,), {"loss", "content_loss", "style_loss"}
    )
    assert evaluated["loss"] < 0.75 * np.mean(first)
    for before, variable in zip(
        trained["encoder_before"], model.encoder.weights, strict=True
    ):
        np.testing.assert_array_equal(ops.convert_to_numpy(variable), before)
    assert model.trainable_variables == model.decoder.trainable_variables
    changed = [
        not np.array_equal(ops.convert_to_numpy(variable), before)
        for before, variable in zip(
            trained["decoder_before"], model.decoder.weights, strict=True
        )
    ]
    assert all(changed)


def test_call_mixes_by_alpha_and_keeps_the_range(trained):
    model = trained["model"]
    content, style = trained["content"][:2], trained["style"][:2]
    images = ops.convert_to_numpy(
        model([content, style, np.array([[1.0], [0.0]], "float32")])
    )
    assert images.shape == (2, SIZE, SIZE, 3)
    assert images.min() >= 0.0 and images.max() <= 1.0
    default = ops.convert_to_numpy(model([content, style]))
    np.testing.assert_allclose(default[0], images[0], atol=1e-6)
    assert np.abs(default[1] - images[1]).mean() > 1e-3


def test_config_round_trip(build, vgg16_weights):
    restored = battery.run_config_test(
        build,
        attributes=(
            "backbone",
            "weights_source",
            "encoder_layer",
            "style_layers",
            "style_weight",
            "content_weight",
            "size_multiple",
        ),
    )
    assert restored.weights_source == str(vgg16_weights)


def test_keras_file_round_trip_keeps_optimizer_state(build, tmp_path):
    pairs = tf.data.Dataset.from_tensor_slices(
        (smooth_images(2, SIZE, seed=0), striped_images(2, SIZE, seed=1))
    ).batch(2)
    inputs = [
        smooth_images(2, SIZE, seed=2),
        striped_images(2, SIZE, seed=3),
        np.array([[1.0], [0.5]], "float32"),
    ]
    battery.run_saving_test(
        build(),
        (pairs,),
        lambda m: [m(inputs)],
        tmp_path / "adain.keras",
        compile_kwargs=dict(optimizer=keras.optimizers.Adam(1e-3)),
    )


def test_stylize_returns_an_image_of_the_content_size(trained, tmp_path):
    model = trained["model"]
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)
    path = tmp_path / "style.png"
    Image.fromarray(rng.integers(0, 256, (33, 45, 3), dtype=np.uint8)).save(path)
    image = model.stylize(content, path, alpha=0.7)
    assert image.shape == (37, 29, 3) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert not np.allclose(image, model.stylize(content, path, alpha=0.0))


def test_default_construction_offline_raises_weights_download_error(monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(WeightsDownloadError, match="hed_vgg16_weights"):
        AdaINStyleTransfer(decoder=adain_decoder(base_filters=4))


def _garbage(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not an image")
    return path


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda m, t: m([np.zeros((SIZE, SIZE, 3), "float32")] * 2),
            ValueError,
            r"content must be a batch of RGB images \(batch, height, width, 3\)",
        ),
        (
            lambda m, t: m(
                [np.zeros((1, 8, 8, 3), "float32"), np.zeros((1, 8, 8, 4), "float32")]
            ),
            ValueError,
            r"style must be a batch of RGB images",
        ),
        (
            lambda m, t: m([np.zeros((1, 8, 8, 3), "int32")] * 2),
            ValueError,
            r"content must be float images in \[0, 1\], got dtype int32",
        ),
        (
            lambda m, t: m([np.zeros((1, 8, 8, 3), "float32")] * 2 + [np.ones(1)]),
            ValueError,
            r"alpha must have shape \(batch, 1\)",
        ),
        (
            lambda m, t: m(np.zeros((1, 8, 8, 3), "float32")),
            ValueError,
            r"takes \[content, style\] or \[content, style, alpha\]",
        ),
        (
            lambda m, t: m.stylize(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), alpha=1.5),
            ValueError,
            r"alpha must be in \[0, 1\], got 1.5",
        ),
        (
            lambda m, t: m.stylize(t / "missing.jpg", np.zeros((8, 8, 3))),
            FileNotFoundError,
            r"No such image file: '.*missing.jpg'",
        ),
        (
            lambda m, t: m.stylize(np.zeros((8, 8, 3)), _garbage(t)),
            ValueError,
            r"Cannot read image file '.*broken.jpg'",
        ),
        (
            lambda m, t: m.stylize(np.zeros((8, 8, 3)), np.full((8, 8, 3), 2.0)),
            ValueError,
            r"Float images must be in \[0, 1\]",
        ),
        (
            lambda m, t: m.train_on_batch(np.zeros((1, 8, 8, 3), "float32")),
            ValueError,
            r"trains on \(content, style\) batches",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(trained, tmp_path, call, error, match):
    with pytest.raises(error, match=match):
        call(trained["model"], tmp_path)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"encoder_layer": "block9_conv1"}, "encoder_layer must be a convolution"),
        ({"style_layers": ()}, "style_layers must name at least one"),
        ({"style_weight": -1.0}, "style_weight must be >= 0"),
        ({"style_layers": ("nope",)}, r"Layers \['nope'\] are not in the backbone"),
        (
            {
                "decoder": adain_decoder(
                    "block2_conv1", backbone="vgg16", base_filters=4
                )
            },
            "The decoder must map 256-channel block3_conv1 features",
        ),
    ],
)
def test_bad_arguments_raise_value_error(build, overrides, match):
    with pytest.raises(ValueError, match=match):
        build(**overrides)


def test_style_pairs_from_arrays_and_folders(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "styles"
    (folder / "sub").mkdir(parents=True)
    for index, shape in enumerate([(50, 40, 3), (30, 70, 3), (64, 64)]):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(pixels).save(folder / ("sub" if index else "") / f"{index}.png")
    content = rng.uniform(0, 1, (5, 20, 30, 3)).astype("float32")
    pairs = kgen.data.style_pairs(
        content, folder, image_size=(16, 24), batch_size=2, seed=0
    )
    batches = list(pairs)
    # The 5 content images set the epoch; the 3 styles repeat.
    assert [len(c) for c, _ in batches] == [2, 2, 1]
    for content_batch, style_batch in batches:
        for batch in (content_batch, style_batch):
            assert batch.shape[1:] == (16, 24, 3) and batch.dtype == tf.float32
            assert 0.0 <= float(tf.reduce_min(batch)) <= float(tf.reduce_max(batch))
            assert float(tf.reduce_max(batch)) <= 1.0
    # The same seed gives the same crops; a new epoch gives new ones.
    again = next(
        iter(
            kgen.data.style_pairs(
                content, folder, image_size=(16, 24), batch_size=2, seed=0
            )
        )
    )
    np.testing.assert_array_equal(again[1].numpy(), batches[0][1].numpy())
    second_epoch = next(iter(pairs))
    assert not np.array_equal(second_epoch[0].numpy(), batches[0][0].numpy())


def test_style_pairs_on_the_shared_images(shared_dir):
    images = shared_dir / "data" / "images"
    pairs = kgen.data.style_pairs(
        images / "tubingen.jpg",
        [images / "starry_night.jpg", images / "the_scream.jpg"],
        image_size=(32, 32),
        batch_size=4,
        seed=0,
    )
    content, style = next(iter(pairs))
    assert content.shape == style.shape == (2, 32, 32, 3)


@pytest.mark.parametrize(
    "content, match",
    [
        ("empty", "No image files found in"),
        ("missing", "No such image file or folder"),
        (np.zeros((0, 8, 8, 3), "float32"), "content: images is empty"),
        (np.zeros((2, 8, 8, 2), "float32"), r"content: images must have shape"),
        (np.full((2, 8, 8, 3), 2.0, "float32"), r"float images must be in \[0, 1\]"),
        (42, "content must be an image folder or file"),
    ],
)
def test_style_pairs_bad_sources_raise(tmp_path, content, match):
    (tmp_path / "empty").mkdir()
    if isinstance(content, str):
        content = tmp_path / content
    style = np.zeros((2, 8, 8, 3), "float32")
    error = FileNotFoundError if match.startswith("No such") else ValueError
    with pytest.raises(error, match=match):
        kgen.data.style_pairs(content, style, image_size=(8, 8))


def test_style_pairs_rejects_a_short_side_below_the_crop():
    images = np.zeros((2, 8, 8, 3), "float32")
    with pytest.raises(ValueError, match="resize_short_side=8 must be at least"):
        kgen.data.style_pairs(images, images, image_size=(8, 16), resize_short_side=8)
