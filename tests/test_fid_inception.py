"""The FID Inception port computes pytorch-fid's features, offline.

pytorch-fid's own network (`InceptionV3([3], use_fid_inception=True)`, with
its FID-specific blocks) is built with random weights instead of downloading
them; those weights go into the Keras port through the same `.pth` file
format, and both networks see the same images. Batch norm gets the running
statistics of a real forward pass, so that activations keep a sensible scale
through the 94 layers and the comparison is not of zeros or of overflow.
"""

import keras
import numpy as np
import pytest
from PIL import Image
from torch_references import import_pytorch_fid

import kgen
from kgen.metrics import fid_inception, fid_inception_weights, fid_preprocessing

NUM_IMAGES = 6  # two sets of 3: the real and the generated of one FID


@pytest.fixture(scope="module")
def pixels():
    """uint8 32x32 RGB images (CIFAR-10's size): smooth, as real ones are."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (NUM_IMAGES, 8, 8, 3)).astype(np.uint8)
    return np.stack(
        [
            np.asarray(Image.fromarray(image).resize((32, 32), Image.BILINEAR))
            for image in coarse
        ]
    )


@pytest.fixture(scope="module")
def pytorch_fid_network(tmp_path_factory, pixels):
    """pytorch-fid's InceptionV3 with random weights, and their `.pth` file."""
    inception, _ = import_pytorch_fid()
    import torch
    import torchvision

    def no_download(*args, **kwargs):
        return {}

    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as patch:
        # fid_inception_v3() downloads the weights and loads them: neither.
        patch.setattr(inception, "load_state_dict_from_url", no_download)
        patch.setattr(
            torchvision.models.Inception3, "load_state_dict", lambda *a, **k: None
        )
        network = inception.fid_inception_v3()
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            with torch.no_grad():
                # Activations of the published network's size: pool
                # features of order 1, FIDs of tens.
                module.weight.uniform_(0.1, 0.4)
                module.bias.uniform_(-0.15, 0.15)
            module.momentum = None  # running statistics of one batch, exactly
            module.reset_running_stats()
    network.train()
    with torch.no_grad():
        network(_pytorch_fid_input(pixels[:2]))
    path = (
        tmp_path_factory.mktemp("weights")
        / fid_inception_weights.FID_INCEPTION_WEIGHTS_FILE
    )
    torch.save(network.state_dict(), path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            inception,
            "load_state_dict_from_url",
            lambda *args, **kwargs: torch.load(path, weights_only=True),
        )
        model = inception.InceptionV3(
            [3], resize_input=True, normalize_input=True, use_fid_inception=True
        )
    return model.eval(), path


def _pytorch_fid_input(pixels):
    """What pytorch-fid's InceptionV3 makes of uint8 images before its first layer."""
    import torch

    x = torch.from_numpy(pixels.transpose(0, 3, 1, 2) / 255.0).float()
    x = torch.nn.functional.interpolate(
        x, size=(299, 299), mode="bilinear", align_corners=False
    )
    return 2 * x - 1


def test_features_and_fid_match_pytorch_fid(
    pytorch_fid_network, pixels, record_property
):
    import torch

    model, weights = pytorch_fid_network
    with torch.no_grad():
        # pytorch-fid's input: PNG pixels / 255, resized and scaled inside.
        (expected,) = model(
            torch.from_numpy(pixels.transpose(0, 3, 1, 2) / 255.0).float()
        )
    expected = expected.numpy().reshape(NUM_IMAGES, -1)

    extractor = kgen.metrics.fid_inception_extractor(
        (32, 32, 3), weights=weights, mode="pytorch_fid"
    )
    images = pixels.astype(np.float32) / 127.5 - 1.0
    features = kgen.metrics.extract_features(extractor, images)

    assert features.shape == (NUM_IMAGES, fid_inception.FID_INCEPTION_FEATURES)
    scale = np.abs(expected).max()
    assert 0.5 < scale < 5  # activations neither vanished nor exploded
    # The tolerances: features to 1e-4, FID to 1e-3 (float32 through
    # 94 layers: ~3-5e-5 and ~1-2e-4 here).
    np.testing.assert_allclose(features, expected, rtol=0, atol=1e-4)
    half = NUM_IMAGES // 2
    fid_expected = kgen.metrics.frechet_distance(expected[:half], expected[half:])
    fid = kgen.metrics.frechet_distance(features[:half], features[half:])
    record_property(
        "max_abs_feature_difference", float(np.abs(features - expected).max())
    )
    record_property("fid_difference", fid - fid_expected)
    assert fid == pytest.approx(fid_expected, abs=1e-3)


def test_npz_weights_match_pth(pytorch_fid_network, tmp_path):
    _, weights = pytorch_fid_network
    state = fid_inception_weights.read_state_dict(weights)
    npz = tmp_path / "pt_inception.npz"
    np.savez(npz, **state)
    from_npz = fid_inception_weights.read_state_dict(npz)
    assert sorted(from_npz) == sorted(state)
    assert all(np.array_equal(from_npz[key], state[key]) for key in state)


@pytest.mark.parametrize("size", [(32, 32), (28, 40), (400, 299)])
def test_clean_resize_is_pils_bicubic(size):
    """mode="clean" resizes as clean-fid: PIL bicubic of each channel in mode "F"."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (2, *size, 3)).astype(np.uint8)
    layer = fid_preprocessing.FIDPreprocessing(mode="clean")
    ours = _to_numpy(layer(pixels.astype(np.float32) / 127.5 - 1.0)) * 128 + 128
    expected = np.stack(
        [
            np.stack(
                [
                    np.asarray(
                        Image.fromarray(
                            image[..., c].astype(np.float32), mode="F"
                        ).resize((299, 299), resample=Image.BICUBIC)
                    ).clip(0, 255)
                    for c in range(3)
                ],
                axis=-1,
            )
            for image in pixels
        ]
    )
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-3)


@pytest.mark.parametrize("size", [(32, 32), (28, 40), (400, 299)])
def test_legacy_tensorflow_resize_is_tensorflow_1s(size):
    """mode="legacy_tensorflow" resizes as TF 1's resize_bilinear (the TTUR graph)."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (2, *size, 3)).astype(np.uint8)
    layer = fid_preprocessing.FIDPreprocessing(mode="legacy_tensorflow")
    ours = _to_numpy(layer(pixels.astype(np.float32) / 127.5 - 1.0)) * 128 + 128
    expected = tf.compat.v1.image.resize_bilinear(
        pixels.astype(np.float32),
        (299, 299),
        align_corners=False,
        half_pixel_centers=False,
    ).numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-3)


def test_grayscale_images_are_repeated_to_rgb():
    rng = np.random.default_rng(3)
    gray = rng.uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    layer = fid_preprocessing.FIDPreprocessing(mode="clean")
    rgb = _to_numpy(layer(np.repeat(gray, 3, axis=-1)))
    np.testing.assert_array_equal(_to_numpy(layer(gray)), rgb)


def test_offline_without_the_file_names_it(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: <urlopen error [Errno -3] no network>")

    monkeypatch.setattr(fid_inception.keras.utils, "get_file", offline)
    with pytest.raises(kgen.networks.vgg.WeightsDownloadError) as caught:
        kgen.metrics.fid_inception_extractor((32, 32, 3))
    message = str(caught.value)
    assert fid_inception_weights.FID_INCEPTION_WEIGHTS_FILE in message
    assert fid_inception_weights.FID_INCEPTION_WEIGHTS_URL in message
    assert kgen.errors.is_input_error(caught.value)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        kgen.metrics.fid_inception_extractor((32, 32, 3), weights=None, mode="tf")
    with pytest.raises(ValueError, match="known height and width"):
        kgen.metrics.fid_inception_extractor((None, None, 3), weights=None)
    with pytest.raises(FileNotFoundError, match="pt_inception-2015-12-05"):
        kgen.metrics.fid_inception_extractor((32, 32, 3), weights=tmp_path / "x.pth")
    with pytest.raises(ValueError, match="extractor must be one of"):
        kgen.metrics.named_extractor("vgg", (32, 32, 3))
    for name in ("garbage.pth", "garbage.npz"):
        (tmp_path / name).write_bytes(b"not weights")
        with pytest.raises(ValueError, match="Could not read the FID Inception"):
            kgen.metrics.fid_inception_extractor((32, 32, 3), weights=tmp_path / name)


def _to_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_kgen_evaluate_scores_with_the_fid_inception(
    pytorch_fid_network, pixels, tmp_path, capsys
):
    import torch

    from kgen.cli import main

    model, weights = pytorch_fid_network
    with torch.no_grad():
        (expected,) = model(
            torch.from_numpy(pixels.transpose(0, 3, 1, 2) / 255.0).float()
        )
    expected = expected.numpy().reshape(NUM_IMAGES, -1)
    # Two overlapping sets of four (kgen evaluate needs at least four a side).
    np.save(tmp_path / "generated.npy", pixels[:4])
    np.save(tmp_path / "real.npy", pixels[2:])
    command = ["evaluate", str(tmp_path / "generated.npy")]
    command += ["--real", str(tmp_path / "real.npy"), "--metrics", "fid"]
    command += ["--extractor", "fid_inception", "--extractor-weights", str(weights)]
    command += ["--fid-mode", "pytorch_fid", "--cache-dir", str(tmp_path / "cache")]
    assert main(command) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "fid " in line]
    expected_fid = kgen.metrics.frechet_distance(expected[:4], expected[2:])
    # The CLI prints four significant digits.
    assert float(line.split()[-1]) == pytest.approx(expected_fid, rel=1e-3)
