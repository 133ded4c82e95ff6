"""Tests for the input pipelines (`kgen.data`), on tiny inputs."""

import gzip
import socket

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds
from idx_files import write_idx
from PIL import Image

from kgen import data
from kgen import images as images_lib

MNIST_IMAGES = "data/mnist/mnist8k-images-idx3-ubyte.gz"


def _collect(dataset):
    """Concatenates all batches: one array, or a tuple (images, labels)."""
    batches = list(dataset.as_numpy_iterator())
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate(part) for part in zip(*batches, strict=True))
    return np.concatenate(batches)


def _batch_sizes(dataset):
    return [len(batch[0] if isinstance(batch, tuple) else batch) for batch in dataset]


def _ramp_images(count=10, height=6, width=5):
    """uint8 images whose first pixel is the index, with 0 and 255 present."""
    images = np.zeros((count, height, width), np.uint8)
    images[:, 0, 0] = np.arange(count)
    images[:, -1, -1] = 255
    return images


def _write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _half_black_half_white(height, width, channels=None):
    image = np.zeros((height, width) if channels is None else (height, width, 3))
    image[:, width // 2 :] = 255
    return image.astype(np.uint8)


# from_numpy ------------------------------------------------------------------


def test_from_numpy_uint8_maps_to_minus_one_one_in_batches():
    dataset = data.from_numpy(_ramp_images(10), batch_size=4, seed=0)
    assert _batch_sizes(dataset) == [4, 4, 2]
    images = _collect(dataset)
    assert images.shape == (10, 6, 5, 1)
    assert images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    np.testing.assert_allclose(np.sort(images[:, 0, 0, 0]), np.arange(10) / 127.5 - 1)


def test_drop_remainder_drops_the_last_batch():
    dataset = data.from_numpy(_ramp_images(10), batch_size=4, drop_remainder=True)
    assert _batch_sizes(dataset) == [4, 4]


def test_pipelines_run_without_the_autotune_thread(tmp_path):
    # Destroying an iterator waits for tf.data's autotuning thread to wake,
    # which stalled every new epoch of fit for seconds to a minute.
    _write_png(tmp_path / "a.png", _half_black_half_white(8, 8))
    pipelines = [
        data.from_numpy(_ramp_images(10), batch_size=4),
        data.load(str(tmp_path), batch_size=4),
        data.style_pairs(
            np.zeros((3, 8, 8, 3), np.uint8), str(tmp_path), image_size=(8, 8)
        ),
    ]
    for dataset in pipelines:
        assert dataset.options().autotune.enabled is False
        assert len(list(dataset)) >= 1


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.0, 0.25, 1.0], [-1.0, -0.5, 1.0]),  # [0, 1] floats
        ([-1.0, 0.25, 1.0], [-1.0, 0.25, 1.0]),  # [-1, 1] floats
    ],
)
def test_from_numpy_float_ranges(values, expected):
    images = np.array(values, np.float64).reshape(3, 1, 1, 1) * np.ones((3, 4, 4, 3))
    result = _collect(data.from_numpy(images, shuffle=False))
    assert result.dtype == np.float32 and result.shape == (3, 4, 4, 3)
    np.testing.assert_allclose(result[:, 0, 0, 0], expected, atol=1e-6)


def test_from_numpy_keeps_labels_paired_with_images():
    images = _ramp_images(12)
    labels = np.arange(12) % 3
    result_images, result_labels = _collect(data.from_numpy(images, labels, seed=1))
    assert result_labels.dtype == np.int32
    assert sorted(result_labels.tolist()) == sorted(labels.tolist())
    index = np.round((result_images[:, 0, 0, 0] + 1) * 127.5).astype(int)
    np.testing.assert_array_equal(result_labels, labels[index])


def _first_pixels(dataset):
    return _collect(dataset)[:, 0, 0, 0].tolist()


def test_seed_makes_order_reproducible_and_shuffle_false_keeps_it():
    images = _ramp_images(50)
    first = _first_pixels(data.from_numpy(images, batch_size=8, seed=3))
    again = _first_pixels(data.from_numpy(images, batch_size=8, seed=3))
    other = _first_pixels(data.from_numpy(images, batch_size=8, seed=4))
    ordered = _first_pixels(data.from_numpy(images, batch_size=8, shuffle=False))
    assert first == again
    assert first != other
    assert first != ordered
    np.testing.assert_allclose(ordered, np.arange(50) / 127.5 - 1)


def test_reshuffles_every_epoch():
    dataset = data.from_numpy(_ramp_images(50), batch_size=50, seed=0)
    assert _first_pixels(dataset) != _first_pixels(dataset)


def test_limit_caps_the_number_of_examples():
    dataset = data.from_numpy(_ramp_images(10), batch_size=4, limit=6, shuffle=False)
    assert _batch_sizes(dataset) == [4, 2]
    np.testing.assert_allclose(_first_pixels(dataset), np.arange(6) / 127.5 - 1)


def test_image_size_and_color_mode_convert():
    gray = np.stack([_half_black_half_white(8, 8)] * 2)
    rgb = _collect(
        data.from_numpy(gray, image_size=(16, 12), color_mode="rgb", shuffle=False)
    )
    assert rgb.shape == (2, 16, 12, 3)
    # Resizing keeps the left half black and the right half white.
    assert rgb[:, :, 0].max() == -1.0
    assert rgb[:, :, -1].min() == pytest.approx(1.0, abs=1e-6)
    colour = np.stack([_half_black_half_white(8, 8, channels=3)] * 2)
    back = _collect(data.from_numpy(colour, color_mode="grayscale"))
    assert back.shape == (2, 8, 8, 1)
    assert back.min() == -1.0 and back.max() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    "images, match",
    [
        (
            np.zeros((4, 8), np.uint8),
            r"\(N, H, W\) or \(N, H, W, C\).*got shape \(4, 8\)",
        ),
        (np.zeros((4, 8, 8, 2), np.uint8), r"C in \(1, 3\), got shape \(4, 8, 8, 2\)"),
        (np.zeros((4, 8, 8), bool), "numeric array.*got dtype bool"),
        (np.full((4, 8, 8), "a"), "numeric array.*got dtype <U1"),
        (
            np.full((4, 8, 8), 255.0),
            r"\[0, 1\] or \[-1, 1\], got values in \[255, 255\]",
        ),
        (np.full((4, 8, 8), 300), r"integer images must be in \[0, 255\]"),
        (np.full((4, 8, 8), np.nan), "NaN"),
        (np.zeros((0, 8, 8), np.uint8), "empty"),
    ],
)
def test_from_numpy_rejects_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        data.from_numpy(images)


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.zeros(3, np.int64), "Got 3 labels for 4 images"),
        (np.zeros(4, np.float32), "labels must be integers"),
        (np.zeros((4, 1), np.int64), r"labels must have shape \(N,\)"),
    ],
)
def test_from_numpy_rejects_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        data.from_numpy(np.zeros((4, 8, 8), np.uint8), labels)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(limit=-2), "limit must be a positive integer"),
        (dict(image_size=(8,)), "image_size must be a .height, width. pair"),
        (dict(color_mode="rgba"), "color_mode must be one of"),
        (dict(seed=1.5), "seed must be an integer"),
    ],
)
def test_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.from_numpy(np.zeros((4, 8, 8), np.uint8), **kwargs)


# IDX files -------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
def test_from_idx_reads_images_and_derived_labels(tmp_path, compress):
    images = _ramp_images(7, 4, 3)
    labels = np.arange(7) % 5
    # Gzip is detected from the content: the names do not end in .gz.
    images_path = write_idx(tmp_path / "t-images-idx3-ubyte", images, 2051, compress)
    write_idx(tmp_path / "t-labels-idx1-ubyte", labels, 2049, compress)
    result, result_labels = _collect(
        data.from_idx(images_path, with_labels=True, batch_size=3, shuffle=False)
    )
    assert result.shape == (7, 4, 3, 1) and result.dtype == np.float32
    np.testing.assert_allclose(result[..., 0], images / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(result_labels, labels)
    assert result_labels.dtype == np.int32


def test_from_idx_without_labels_and_explicit_labels_path(tmp_path):
    images_path = write_idx(tmp_path / "a.idx.gz", _ramp_images(5), 2051, False)
    labels_path = write_idx(tmp_path / "b.idx", np.arange(5), 2049, True)
    assert _collect(data.from_idx(images_path)).shape == (5, 6, 5, 1)
    _, labels = _collect(data.from_idx(images_path, labels_path, shuffle=False))
    np.testing.assert_array_equal(labels, np.arange(5))


def test_from_idx_errors_name_the_file(tmp_path):
    images_path = write_idx(
        tmp_path / "x-images-idx3-ubyte.gz", _ramp_images(5), 2051, True
    )
    with pytest.raises(FileNotFoundError, match="x-labels-idx1-ubyte.gz"):
        data.from_idx(images_path, with_labels=True)
    with pytest.raises(FileNotFoundError, match="missing-images"):
        data.from_idx(tmp_path / "missing-images-idx3-ubyte")
    labels_as_images = write_idx(tmp_path / "labels.idx", np.arange(5), 2049, False)
    with pytest.raises(ValueError, match=r"labels.idx is not a uint8 IDX.*2049"):
        data.from_idx(labels_as_images)
    garbage = tmp_path / "garbage.idx"
    garbage.write_bytes(b"PK\x03\x04 not an idx file at all")
    with pytest.raises(ValueError, match="garbage.idx is not a uint8 IDX"):
        data.from_idx(garbage)
    truncated = tmp_path / "truncated.idx"
    truncated.write_bytes(images_path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="truncated.idx is a corrupt gzip"):
        data.from_idx(truncated)
    short = tmp_path / "short.idx"
    short.write_bytes(gzip.decompress(images_path.read_bytes())[:-5])
    with pytest.raises(ValueError, match="short.idx has the wrong size"):
        data.from_idx(short)
    other_count = write_idx(tmp_path / "six.idx", np.arange(6), 2049, False)
    with pytest.raises(ValueError, match="6 labels but .* 5 images"):
        data.from_idx(images_path, other_count)


def test_real_mnist_idx_file(shared_dir):
    path = shared_dir / MNIST_IMAGES
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    dataset = data.load(path, with_labels=True, batch_size=32, limit=100, seed=0)
    images, labels = _collect(dataset)
    assert images.shape == (100, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int32 and set(labels.tolist()) <= set(range(10))
    assert len(set(labels.tolist())) > 5


# Folders of images -----------------------------------------------------------


def test_from_directory_with_class_subfolders(tmp_path):
    _write_png(tmp_path / "cats" / "a.png", _half_black_half_white(8, 8))
    _write_png(tmp_path / "cats" / "b.png", _half_black_half_white(10, 6))
    _write_png(tmp_path / "dogs" / "c.png", _half_black_half_white(12, 10, 3))
    dataset = data.from_directory(
        tmp_path, image_size=(16, 16), with_labels=True, batch_size=2, seed=0
    )
    assert _batch_sizes(dataset) == [2, 1]
    images, labels = _collect(dataset)
    assert images.shape == (3, 16, 16, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32
    assert sorted(labels.tolist()) == [0, 0, 1]
    assert images[:, :, 0].max() < -0.99 and images[:, :, -1].min() > 0.99


def test_from_directory_flat_folder_grayscale(tmp_path):
    for name in ("a.png", "b.jpg"):
        _write_png(tmp_path / name, _half_black_half_white(20, 20, 3))
    (tmp_path / "notes.txt").write_text("not an image, ignored")
    images = _collect(
        data.from_directory(tmp_path, image_size=(8, 8), color_mode="grayscale")
    )
    assert images.shape == (2, 8, 8, 1)
    assert images.min() < -0.95 and images.max() > 0.95


def test_from_directory_seed_and_limit(tmp_path):
    for index in range(6):
        _write_png(tmp_path / f"{index}.png", np.full((4, 4), index * 40, np.uint8))

    def first_pixels(**kwargs):
        dataset = data.from_directory(
            tmp_path, image_size=(4, 4), color_mode="grayscale", **kwargs
        )
        return _collect(dataset)[:, 0, 0, 0].tolist()

    assert first_pixels(seed=5) == first_pixels(seed=5)
    assert len(first_pixels(limit=4)) == 4


def test_from_directory_errors(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="No image files found in .*empty"):
        data.from_directory(empty)
    flat = tmp_path / "flat"
    _write_png(flat / "a.png", _half_black_half_white(4, 4))
    with pytest.raises(ValueError, match="class subfolders"):
        data.from_directory(flat, with_labels=True)
    (flat / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a PNG")
    with pytest.raises(ValueError, match="Cannot read image file .*broken.png"):
        data.from_directory(flat)
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        data.from_directory(tmp_path / "no_such_folder")


# load() ----------------------------------------------------------------------


def test_load_glyphs_splits_differ_and_limit_is_a_prefix():
    train = data.load("glyphs", limit=20, batch_size=8, shuffle=False)
    assert _batch_sizes(train) == [8, 8, 4]
    train_images = _collect(train)
    assert train_images.shape == (20, 28, 28, 1) and train_images.dtype == np.float32
    assert train_images.min() == -1.0 and train_images.max() == 1.0
    expected, _ = data.glyphs(20, seed=0)
    np.testing.assert_allclose(train_images[..., 0], expected / 127.5 - 1, atol=1e-6)
    test_images = _collect(data.load("glyphs", split="test", limit=20, shuffle=False))
    assert np.abs(train_images - test_images).mean() > 0.05
    with pytest.raises(ValueError, match="glyphs has splits"):
        data.load("glyphs", split="validation")


def test_load_glyphs_with_labels_and_options():
    dataset = data.load(
        "glyphs", with_labels=True, limit=10, image_size=(32, 32), color_mode="rgb"
    )
    images, labels = _collect(dataset)
    assert images.shape == (10, 32, 32, 3)
    assert labels.dtype == np.int32 and sorted(labels.tolist()) == list(range(10))


def test_load_dispatches_paths(tmp_path):
    _write_png(tmp_path / "folder" / "a.png", _half_black_half_white(8, 8))
    images = _collect(data.load(tmp_path / "folder"))
    # Folder defaults: 64x64 RGB.
    assert images.shape == (1, 64, 64, 3)
    idx = write_idx(tmp_path / "x-images-idx3-ubyte", _ramp_images(3), 2051, True)
    assert _collect(data.load(str(idx))).shape == (3, 6, 5, 1)


def test_load_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as error:
        data.load("imagenet_tiny")
    message = str(error.value)
    for name in ("glyphs", "mnist", "fashion_mnist", "cifar10"):
        assert name in message
    assert "path" in message


def test_load_missing_path():
    with pytest.raises(FileNotFoundError, match="nowhere/train-images"):
        data.load("nowhere/train-images-idx3-ubyte.gz")


# TFDS ------------------------------------------------------------------------


def _download_error_message_is_helpful(error):
    message = str(error.value)
    assert "Could not download" in message
    assert "data_dir=" in message
    assert "idx3-ubyte" in message
    assert "kgen.data.load('glyphs')" in message
    assert error.value.__cause__ is not None


def test_from_tfds_download_failure_says_what_to_do(tmp_path, monkeypatch):
    def offline(self, *args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(data.DatasetDownloadError) as error:
        data.load("mnist", data_dir=tmp_path)
    _download_error_message_is_helpful(error)
    assert isinstance(error.value, RuntimeError)
    assert isinstance(error.value.__cause__, ConnectionError)


def _online():
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=2).close()
    except OSError:
        return False
    return True


def test_from_tfds_really_offline(tmp_path):
    if _online():
        pytest.skip("the network is reachable, so the download would succeed")
    with pytest.raises(data.DatasetDownloadError) as error:
        data.from_tfds("mnist", data_dir=tmp_path / "fresh")
    _download_error_message_is_helpful(error)


def test_from_tfds_reads_a_prepared_dataset(tmp_path, monkeypatch):
    # mock_data stands in for a prepared dataset: random examples, real specs.
    # It reports "not prepared", so skip the offline check a real one skips.
    monkeypatch.setattr(data.tfds, "_check_network", lambda: None)
    with tfds.testing.mock_data(num_examples=12):
        dataset = data.from_tfds(
            "mnist", data_dir=tmp_path, with_labels=True, batch_size=5, seed=0
        )
        images, labels = _collect(dataset)
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32
    assert -1.0 <= images.min() < -0.9 and 0.9 < images.max() <= 1.0
    assert labels.dtype == np.int32 and labels.shape == (12,)


def test_from_tfds_unknown_name(tmp_path):
    with pytest.raises(ValueError, match="TFDS has no dataset called 'no_such_set'"):
        data.from_tfds("no_such_set", data_dir=tmp_path)


# Image helpers ---------------------------------------------------------------


@pytest.mark.parametrize("to_tensor", [np.asarray, keras.ops.convert_to_tensor])
def test_to_uint8_maps_the_given_range(to_tensor):
    images = to_tensor(np.array([-1.0, 0.0, 1.0, 2.0, -3.0], np.float32))
    result = images_lib.to_uint8(images, value_range=(-1, 1))
    np.testing.assert_array_equal(result, [0, 128, 255, 255, 0])
    assert result.dtype == np.uint8
    # Without a range, floats are in [0, 1], as everywhere in kgen.images.
    np.testing.assert_array_equal(images_lib.to_uint8(images), [0, 0, 255, 255, 0])
    with pytest.raises(ValueError, match="low < high"):
        images_lib.to_uint8(images, value_range=(1, 1))


def test_save_grid_tiles_images(tmp_path):
    images = np.stack([np.full((4, 6, 1), value) for value in (-1.0, 0.0, 1.0)])
    path = images_lib.save_grid(
        images, tmp_path / "new" / "grid.png", value_range=(-1, 1)
    )
    grid = np.asarray(Image.open(path))
    # Three images make a 2x2 grid with one blank cell.
    assert grid.shape == (8, 12)
    assert grid[0, 0] == 0 and grid[0, 6] == 128 and grid[4, 0] == 255
    assert grid[4, 6] == 0
    colour = np.full((5, 3, 3, 3), 200, np.uint8)
    path = images_lib.save_grid(colour, tmp_path / "c.png", cols=5)
    grid = np.asarray(Image.open(path))
    assert grid.shape == (3, 15, 3) and (grid == 200).all()


def test_save_grid_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match=r"got shape \(2, 4\)"):
        images_lib.save_grid(np.zeros((2, 4)), tmp_path / "x.png")
    with pytest.raises(ValueError, match="cols must be a positive integer"):
        images_lib.save_grid(np.zeros((2, 4, 4)), tmp_path / "x.png", cols=0)


def test_binarize_samples_new_binary_pixels_each_epoch():
    gray = np.full((64, 28, 28), 64, dtype=np.uint8)  # p(white) = 64 / 255
    dataset = data.from_numpy(gray, batch_size=64, binarize=True, seed=0)
    first, second = (next(iter(dataset)).numpy() for _ in range(2))
    assert set(np.unique(first)) == {-1.0, 1.0}
    assert abs((first == 1.0).mean() - 64 / 255) < 0.01
    assert not np.array_equal(first, second)


def test_binarize_keeps_labels_and_is_reproducible_for_a_seed():
    gray = np.full((8, 28, 28), 128, dtype=np.uint8)
    labels = np.arange(8)

    def first_batch():
        dataset = data.from_numpy(
            gray, labels, batch_size=8, binarize=True, seed=3, shuffle=False
        )
        return next(iter(dataset))

    (images_a, labels_a), (images_b, _) = first_batch(), first_batch()
    np.testing.assert_array_equal(images_a.numpy(), images_b.numpy())
    np.testing.assert_array_equal(labels_a.numpy(), labels)
