"""Input pipelines: `tf.data.Dataset`s of images in [-1, 1], ready for `fit()`.

Every loader yields float32 batches of shape `(batch, height, width, channels)`
in [-1, 1], or `(images, labels)` tuples with int32 labels when labels are
asked for. Datasets are shuffled (reproducibly when `seed` is given), batched,
cached in memory when they fit and prefetched.

`tf.data` works with every Keras backend. TensorFlow is imported on first use
only, so `import kgen` stays fast for JAX and PyTorch users who bring their own
data.

Example:

```python
dataset = kgen.data.load("mnist", batch_size=64, seed=0)
dataset = kgen.data.load("glyphs", with_labels=True)  # embedded, no download
dataset = kgen.data.load("path/to/folder_of_images", image_size=(64, 64))
images = next(iter(dataset))
kgen.data.save_grid(images, "/tmp/batch.png")
```
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import math
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np
from PIL import Image

from kgen import saving
from kgen.glyphs import glyphs

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "DatasetDownloadError",
    "KNOWN_DATASETS",
    "TFDS_DATASETS",
    "from_directory",
    "from_idx",
    "from_numpy",
    "from_tfds",
    "glyphs",
    "images_to_uint8",
    "load",
    "read_idx",
    "save_grid",
    "style_pairs",
]

# TFDS image classification sets with fixed-size uint8 images and int labels.
# `from_tfds` accepts any other TFDS name too; these are the ones `load` knows.
TFDS_DATASETS = (
    "mnist",
    "fashion_mnist",
    "kmnist",
    "cifar10",
    "cifar100",
    "svhn_cropped",
)
# Seed and size of each split of the embedded glyphs set. Different seeds make
# the test digits differ from the training digits.
_GLYPHS_SPLITS = {"train": (0, 60000), "test": (1, 10000)}
KNOWN_DATASETS = ("glyphs",) + TFDS_DATASETS

# The formats `keras.utils.image_dataset_from_directory` reads.
_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = ("grayscale", "rgb")
_UINT8_RANGE = (0.0, 255.0)
# Sources bigger than this (decoded) are streamed rather than cached in memory.
_MAX_CACHE_BYTES = 2**30
# Shuffle buffer for sources that are not in memory; in-memory sources are
# shuffled over their whole length.
_STREAM_SHUFFLE_BUFFER = 10000
_GZIP_MAGIC = b"\x1f\x8b"
# TFDS downloads most datasets from (or through) Google Cloud Storage.
_DOWNLOAD_HOST = "storage.googleapis.com"
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


class DatasetDownloadError(RuntimeError):
    """Raised when a TFDS dataset is not prepared locally and cannot be downloaded."""


@dataclasses.dataclass(frozen=True)
class _Options:
    """Pipeline options shared by every loader, validated once."""

    batch_size: int = 128
    shuffle: bool = True
    seed: int | None = None
    image_size: tuple[int, int] | None = None
    color_mode: str | None = None
    drop_remainder: bool = False
    limit: int | None = None
    binarize: bool = False

    def __post_init__(self):
        _check_positive_int("batch_size", self.batch_size)
        if self.limit is not None:
            _check_positive_int("limit", self.limit)
        if self.seed is not None and not _is_int(self.seed):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        if self.image_size is not None:
            size = self.image_size
            if len(size) != 2 or not all(_is_int(s) and s > 0 for s in size):
                raise ValueError(
                    "image_size must be a (height, width) pair of positive "
                    f"integers, got {size!r}"
                )
            object.__setattr__(self, "image_size", tuple(int(s) for s in size))
        if self.color_mode not in (None,) + _COLOR_MODES:
            raise ValueError(
                f"color_mode must be one of {_COLOR_MODES} or None, got "
                f"{self.color_mode!r}"
            )


@dataclasses.dataclass(frozen=True)
class _Source:
    """An unbatched dataset plus what the pipeline needs to know about it.

    `value_range` is the (low, high) range of its pixel values, mapped
    linearly to [-1, 1].
    `num_examples` is None when unknown. `in_memory` says whether the data is
    in memory already, `shuffled` whether the source reshuffles every epoch
    itself, and `example_bytes` is the size of one decoded example (None if
    unknown), which decides whether caching fits in memory.
    """

    dataset: tf.data.Dataset
    value_range: tuple[float, float]
    num_examples: int | None
    in_memory: bool = False
    shuffled: bool = False
    example_bytes: int | None = None


def load(
    name_or_path: str | os.PathLike,
    *,
    split: str = "train",
    batch_size: int = 128,
    with_labels: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    image_size: tuple[int, int] | None = None,
    color_mode: str | None = None,
    data_dir: str | os.PathLike | None = None,
    drop_remainder: bool = False,
    binarize: bool = False,
    limit: int | None = None,
) -> tf.data.Dataset:
    """Loads a dataset by name or path: the one entry point for training data.

    `name_or_path` is one of:

    - `"glyphs"`: the embedded MNIST-like digits (see `glyphs()`), generated
      on the fly, no download. Splits `"train"` (60,000) and `"test"`
      (10,000) are drawn with different seeds.
    - a TFDS name from `TFDS_DATASETS` (`"mnist"`, `"fashion_mnist"`,
      `"cifar10"`, ...), read with `from_tfds()`; the first use downloads it.
    - a path to an MNIST-format IDX images file, gzipped or not, read with
      `from_idx()`.
    - a path to a folder of images, read with `from_directory()`; `image_size`
      defaults to (64, 64) and `color_mode` to `"rgb"` there.

    Names take precedence over paths; `split` and `data_dir` only apply to
    names.

    Example:

    ```python
    dataset = kgen.data.load("glyphs", batch_size=32, with_labels=True, seed=0)
    images, labels = next(iter(dataset))
    images.shape  # TensorShape([32, 28, 28, 1]), float32 in [-1, 1]
    ```

    Args:
        name_or_path: Dataset name or path, see above.
        split: Split of a named dataset, e.g. `"train"`, `"test"`, or a TFDS
            slice such as `"train[:10%]"`.
        batch_size: Examples per batch.
        with_labels: Whether to yield `(images, labels)` rather than images.
        shuffle: Whether to shuffle, with a new order every epoch.
        seed: Seed that makes the shuffling reproducible.
        image_size: `(height, width)` to resize images to, or None to keep
            the native size.
        color_mode: `"grayscale"` or `"rgb"` to convert images to 1 or 3
            channels, or None to keep the native channels.
        data_dir: Folder where TFDS datasets are stored or prepared.
        drop_remainder: Whether to drop the last, smaller batch.
        binarize: Dynamic binarisation (for Bernoulli VAEs): each epoch, every
            pixel becomes 1 with probability `(x + 1) / 2` and -1 otherwise.
        limit: Use at most this many examples, e.g. for quick tests.

    Returns:
        A `tf.data.Dataset` of float32 image batches in [-1, 1], or of
        `(images, labels)` batches with int32 labels.
    """
    common = dict(
        with_labels=with_labels,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        binarize=binarize,
        limit=limit,
    )
    if name_or_path == "glyphs":
        return _load_glyphs(
            split, image_size=image_size, color_mode=color_mode, **common
        )
    if name_or_path in TFDS_DATASETS:
        return from_tfds(
            name_or_path,
            split=split,
            data_dir=data_dir,
            image_size=image_size,
            color_mode=color_mode,
            **common,
        )
    path = Path(name_or_path)
    if path.is_dir():
        return from_directory(
            path,
            image_size=image_size or (64, 64),
            color_mode=color_mode or "rgb",
            **common,
        )
    if path.is_file():
        return from_idx(path, image_size=image_size, color_mode=color_mode, **common)
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        raise FileNotFoundError(f"No such file or directory: '{path}'")
    raise ValueError(
        f"Unknown dataset {name_or_path!r}. Known names: "
        f"{', '.join(KNOWN_DATASETS)}. A path to an MNIST IDX images file "
        "(e.g. 'train-images-idx3-ubyte.gz') or to a folder of images is "
        "accepted too, and kgen.data.from_tfds() reads any other TFDS dataset."
    )


def from_tfds(
    name: str,
    *,
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    batch_size: int = 128,
    with_labels: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    image_size: tuple[int, int] | None = None,
    color_mode: str | None = None,
    drop_remainder: bool = False,
    binarize: bool = False,
    limit: int | None = None,
) -> tf.data.Dataset:
    """Loads a TensorFlow Datasets image classification dataset.

    Equivalent to `tfds.load(name, split=split, data_dir=data_dir,
    as_supervised=True)`, downloading and preparing the dataset on first use.
    The images must be uint8. Without internet access, pass `data_dir=` a
    folder where the dataset was prepared before.

    Example:

    ```python
    dataset = kgen.data.from_tfds("fashion_mnist", split="test", batch_size=64)
    ```

    Args:
        name: TFDS dataset name, e.g. `"cifar10"`.
        split: TFDS split, e.g. `"train"` or `"test[:1000]"`.
        data_dir: Folder where TFDS datasets are stored, or None for the TFDS
            default (`~/tensorflow_datasets`).
        batch_size, with_labels, shuffle, seed, image_size, color_mode,
        drop_remainder, limit, binarize: As in `load()`.

    Returns:
        A `tf.data.Dataset`, see `load()`.

    Raises:
        ValueError: If TFDS has no dataset called `name`.
        DatasetDownloadError: If the dataset is not prepared in `data_dir`
            and cannot be downloaded, e.g. offline.
    """
    options = _Options(
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        image_size=image_size,
        color_mode=color_mode,
        drop_remainder=drop_remainder,
        binarize=binarize,
        limit=limit,
    )
    # Imported here because importing TFDS takes seconds.
    import tensorflow_datasets as tfds

    _tensorflow()  # Configures TensorFlow before TFDS starts it.
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(
            f"TFDS has no dataset called {name!r}. Names kgen.data.load() knows: "
            f"{', '.join(KNOWN_DATASETS)}."
        ) from error
    try:
        if not builder.is_prepared():
            _check_network()
        builder.download_and_prepare()
    except Exception as error:
        raise DatasetDownloadError(
            _download_help(name, builder.data_dir, error)
        ) from error

    image_key, _ = builder.info.supervised_keys
    image_feature = builder.info.features[image_key]
    if image_feature.np_dtype != np.uint8:
        raise ValueError(
            f"from_tfds() reads uint8 images; {name!r} has {image_key!r} of dtype "
            f"{image_feature.np_dtype.__name__}."
        )
    dataset = builder.as_dataset(split=split, as_supervised=True)
    if not with_labels:
        dataset = dataset.map(lambda image, label: image)
    num_examples = _tfds_num_examples(builder, split)
    example_bytes = None
    if None not in image_feature.shape:
        example_bytes = math.prod(image_feature.shape)
    source = _Source(dataset, _UINT8_RANGE, num_examples, example_bytes=example_bytes)
    return _pipeline(source, options)


def from_idx(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike | None = None,
    *,
    with_labels: bool | None = None,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int | None = None,
    image_size: tuple[int, int] | None = None,
    color_mode: str | None = None,
    drop_remainder: bool = False,
    binarize: bool = False,
    limit: int | None = None,
) -> tf.data.Dataset:
    """Loads MNIST-format IDX files, gzipped or not.

    This is the offline route to MNIST and Fashion-MNIST: their original
    distribution files (`train-images-idx3-ubyte.gz` ...) can be copied to any
    machine. Gzip is detected from the file contents, not the name.

    Example:

    ```python
    dataset = kgen.data.from_idx(
        "data/train-images-idx3-ubyte.gz", with_labels=True, batch_size=64
    )
    ```

    Args:
        images_path: IDX file of uint8 images (magic number 2051).
        labels_path: IDX file of uint8 labels (magic number 2049). If None and
            labels are asked for, it is the images file name with
            `images-idx3-ubyte` replaced by `labels-idx1-ubyte`.
        with_labels: Whether to yield `(images, labels)`. Defaults to True
            when `labels_path` is given, False otherwise.
        batch_size, shuffle, seed, image_size, color_mode, drop_remainder,
        limit, binarize: As in `load()`.

    Returns:
        A `tf.data.Dataset`, see `load()`.

    Raises:
        FileNotFoundError: If a file does not exist.
        ValueError: If a file is not a valid IDX file of the expected kind, or
            image and label counts differ.
    """
    if with_labels is None:
        with_labels = labels_path is not None
    images = read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = None
    if with_labels:
        if labels_path is None:
            labels_path = labels_path_for(Path(images_path))
        labels = read_idx(labels_path, _IDX_LABELS_MAGIC)
        if len(labels) != len(images):
            raise ValueError(
                f"{labels_path} has {len(labels)} labels but {images_path} has "
                f"{len(images)} images."
            )
    return from_numpy(
        images,
        labels,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        image_size=image_size,
        color_mode=color_mode,
        drop_remainder=drop_remainder,
        binarize=binarize,
        limit=limit,
    )


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """Reads an IDX file (the MNIST format) of uint8 values into an array.

    Example:

    ```python
    images = kgen.data.read_idx("t10k-images-idx3-ubyte.gz")  # (10000, 28, 28)
    ```

    Args:
        path: IDX file, gzipped or not.
        magic: Expected magic number (2051 for images, 2049 for labels), or
            None to accept any uint8 IDX file.

    Returns:
        A uint8 array with the shape stored in the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such IDX file: '{path}'")
    content = path.read_bytes()
    if content[:2] == _GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as error:
            raise ValueError(f"{path} is a corrupt gzip file: {error}") from error
    if len(content) < 4:
        raise ValueError(
            f"{path} is not an IDX file: it has only {len(content)} bytes."
        )
    found = int.from_bytes(content[:4], "big")
    # The magic number is 0x0000 0x08 (uint8) then the number of dimensions.
    if content[:3] != b"\x00\x00\x08" or (magic is not None and found != magic):
        expected = "an IDX file" if magic is None else f"magic number {magic}"
        raise ValueError(
            f"{path} is not a uint8 IDX file: expected {expected}, found magic "
            f"number {found}. MNIST images have magic 2051, labels 2049."
        )
    ndim = content[3]
    header = 4 + 4 * ndim
    if len(content) < header:
        raise ValueError(f"{path} is truncated: its header needs {header} bytes.")
    shape = tuple(
        int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    expected_bytes = header + math.prod(shape)
    if len(content) != expected_bytes:
        raise ValueError(
            f"{path} has the wrong size for shape {shape}: expected "
            f"{expected_bytes} bytes, found {len(content)}."
        )
    return np.frombuffer(content, np.uint8, offset=header).reshape(shape)


def from_directory(
    path: str | os.PathLike,
    *,
    image_size: tuple[int, int] = (64, 64),
    color_mode: str = "rgb",
    with_labels: bool = False,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
    binarize: bool = False,
    limit: int | None = None,
) -> tf.data.Dataset:
    """Loads a folder of images (PNG, JPEG, BMP, GIF), resized to one size.

    Without labels every image under `path` is used, in any subfolder. With
    labels, `path` must hold one subfolder per class: the labels are the
    indices of the sorted subfolder names, as in
    `keras.utils.image_dataset_from_directory`, which does the reading. Every
    image is checked with Pillow first, so a broken file is reported by name
    instead of failing deep inside `tf.data`.

    Example:

    ```python
    # faces/ holds 0001.png, 0002.png, ...
    dataset = kgen.data.from_directory("faces", image_size=(64, 64), seed=0)
    ```

    Args:
        path: The folder.
        image_size: `(height, width)` every image is resized to.
        color_mode: `"rgb"` or `"grayscale"`.
        with_labels: Whether to yield `(images, labels)` with labels from the
            class subfolders.
        batch_size, shuffle, seed, drop_remainder, limit, binarize: As in `load()`.

    Returns:
        A `tf.data.Dataset`, see `load()`.

    Raises:
        FileNotFoundError: If `path` is not a folder.
        ValueError: If it holds no images, or an image cannot be read.
    """
    options = _Options(
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        image_size=image_size,
        color_mode=color_mode,
        drop_remainder=drop_remainder,
        binarize=binarize,
        limit=limit,
    )
    if color_mode is None:
        raise ValueError(f"color_mode must be one of {_COLOR_MODES}, got None")
    if image_size is None:
        raise ValueError("image_size must be a (height, width) pair, got None")
    files = _image_files(Path(path), with_labels)
    for file in files:
        _check_image(file)

    _tensorflow()
    dataset = keras.utils.image_dataset_from_directory(
        path,
        labels="inferred" if with_labels else None,
        label_mode="int" if with_labels else None,
        color_mode=color_mode,
        batch_size=None,
        image_size=options.image_size,
        # The file list is shuffled once by keras, then again every epoch by
        # our pipeline when cached, or by keras when streamed.
        shuffle=shuffle,
        seed=seed,
        data_format="channels_last",
        verbose=False,
    )
    channels = 3 if color_mode == "rgb" else 1
    source = _Source(
        dataset,
        # Decoded pixels are floats in [0, 255].
        _UINT8_RANGE,
        len(files),
        shuffled=shuffle,
        # Decoded images are float32.
        example_bytes=math.prod(options.image_size) * channels * 4,
    )
    # Resizing and channels are handled while decoding.
    return _pipeline(
        source, dataclasses.replace(options, image_size=None, color_mode=None)
    )


def from_numpy(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    batch_size: int = 128,
    shuffle: bool = True,
    seed: int | None = None,
    image_size: tuple[int, int] | None = None,
    color_mode: str | None = None,
    drop_remainder: bool = False,
    binarize: bool = False,
    limit: int | None = None,
) -> tf.data.Dataset:
    """Wraps in-memory images (and labels) in a dataset.

    `images` has shape `(N, H, W)` or `(N, H, W, C)` with C = 1 or 3. Values
    are read by dtype and range:

    - integers (e.g. uint8): in [0, 255];
    - floats with no negative values: in [0, 1];
    - floats with negative values: already in [-1, 1].

    Example:

    ```python
    (x_train, y_train), _ = keras.datasets.mnist.load_data()
    dataset = kgen.data.from_numpy(x_train, y_train, batch_size=64)
    ```

    Args:
        images: Array of images, see above.
        labels: Optional integer array of shape `(N,)`; if given, the dataset
            yields `(images, labels)`.
        batch_size, shuffle, seed, image_size, color_mode, drop_remainder,
        limit, binarize: As in `load()`.

    Returns:
        A `tf.data.Dataset`, see `load()`.

    Raises:
        ValueError: If shapes, dtypes or value ranges are not as above, or
            labels and images differ in length.
    """
    options = _Options(
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        image_size=image_size,
        color_mode=color_mode,
        drop_remainder=drop_remainder,
        binarize=binarize,
        limit=limit,
    )
    images, value_range = _standardize_images(images)
    if labels is not None:
        labels = _standardize_labels(labels, len(images))
    tf = _tensorflow()
    dataset = tf.data.Dataset.from_tensor_slices(
        images if labels is None else (images, labels)
    )
    source = _Source(dataset, value_range, len(images), in_memory=True)
    return _pipeline(source, options)


def images_to_uint8(images) -> np.ndarray:
    """Maps images in [-1, 1] to uint8 in [0, 255], clipping outliers.

    Accepts arrays or tensors of any backend, any shape.

    Example:

    ```python
    pixels = kgen.data.images_to_uint8(model.generate(16))
    ```
    """
    images = keras.ops.convert_to_numpy(images).astype(np.float32)
    return np.round(np.clip((images + 1.0) * 127.5, 0.0, 255.0)).astype(np.uint8)


def save_grid(images, path: str | os.PathLike, *, cols: int | None = None) -> Path:
    """Tiles a batch of images into one PNG (or any format Pillow writes).

    Images of shape `(N, H, W)` or `(N, H, W, C)` with C = 1 or 3 are laid
    out row by row, `cols` per row (default: a near-square grid). uint8
    images are written as they are, others are taken to be in [-1, 1].

    Example:

    ```python
    kgen.data.save_grid(model.generate(64), "samples/epoch_010.png", cols=8)
    ```

    Args:
        images: Array or tensor of images.
        path: Output file; missing parent folders are created.
        cols: Number of columns.

    Returns:
        The path written.
    """
    images = keras.ops.convert_to_numpy(images)
    if images.dtype != np.uint8:
        images = images_to_uint8(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise ValueError(
            "save_grid expects images of shape (N, H, W) or (N, H, W, C) with "
            f"C in (1, 3), got shape {images.shape}"
        )
    count = len(images)
    if count == 0:
        raise ValueError("save_grid got no images to save")
    if cols is None:
        cols = math.ceil(math.sqrt(count))
    _check_positive_int("cols", cols)
    rows = math.ceil(count / cols)
    # Blank cells fill up the last row.
    blank = np.zeros((rows * cols - count,) + images.shape[1:], np.uint8)
    tiles = np.concatenate([images, blank])
    height, width = images.shape[1:3]
    tiles = tiles.reshape((rows, cols) + images.shape[1:]).swapaxes(1, 2)
    grid = tiles.reshape((rows * height, cols * width) + images.shape[3:])
    path = Path(path)
    with saving.atomic_path(path) as partial:
        Image.fromarray(grid).save(partial)
    return path


def _load_glyphs(split: str, *, with_labels: bool, limit: int | None, **options):
    """Generates the glyphs split `split`, only as many examples as needed."""
    if split not in _GLYPHS_SPLITS:
        raise ValueError(
            f"glyphs has splits {tuple(_GLYPHS_SPLITS)}, got split={split!r}"
        )
    seed, num_examples = _GLYPHS_SPLITS[split]
    if limit is not None:
        _check_positive_int("limit", limit)
        # Generation is prefix-stable, so this is the start of the full split.
        num_examples = min(num_examples, limit)
    images, labels = glyphs(num_examples, seed=seed)
    return from_numpy(images, labels if with_labels else None, limit=limit, **options)


def _pipeline(source: _Source, options: _Options) -> tf.data.Dataset:
    """Limits, caches, shuffles, batches, rescales and prefetches `source`."""
    tf = _tensorflow()
    dataset = source.dataset
    num_examples = source.num_examples
    if options.limit is not None:
        dataset = dataset.take(options.limit)
        if num_examples is not None:
            num_examples = min(num_examples, options.limit)
    in_memory = source.in_memory
    if not in_memory and _fits_in_memory(num_examples, source.example_bytes):
        # Reading and decoding then happen in the first epoch only.
        dataset = dataset.cache()
        in_memory = True
    if options.shuffle and (in_memory or not source.shuffled):
        buffer = num_examples if in_memory else _STREAM_SHUFFLE_BUFFER
        dataset = dataset.shuffle(
            buffer, seed=options.seed, reshuffle_each_iteration=True
        )
    dataset = dataset.batch(options.batch_size, drop_remainder=options.drop_remainder)
    preprocess = functools.partial(
        _preprocess,
        value_range=source.value_range,
        image_size=options.image_size,
        color_mode=options.color_mode,
    )
    if isinstance(dataset.element_spec, tuple):
        dataset = dataset.map(
            lambda images, labels: (preprocess(images), tf.cast(labels, tf.int32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if options.binarize:
        # One fresh seed per batch, different every epoch yet reproducible.
        seeds = tf.data.Dataset.random(
            seed=options.seed, rerandomize_each_iteration=True
        )
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            _binarize, num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _binarize(batch, seed):
    """Samples {-1, 1} pixels, 1 with probability `(x + 1) / 2`."""
    tf = _tensorflow()
    images, labels = batch if isinstance(batch, tuple) else (batch, None)
    noise = tf.random.stateless_uniform(tf.shape(images), seed=tf.stack([seed, 0]))
    binary = tf.where(noise < (images + 1.0) / 2.0, 1.0, -1.0)
    return binary if labels is None else (binary, labels)


def _preprocess(images, *, value_range, image_size, color_mode):
    """Maps a batch to float32 in [-1, 1] with the requested size and channels."""
    tf = _tensorflow()
    low, high = value_range
    # Centring then dividing maps low and high to exactly -1 and 1.
    images = (tf.cast(images, tf.float32) - (low + high) / 2) / ((high - low) / 2)
    channels = images.shape[-1]
    if color_mode == "grayscale" and channels == 3:
        # ITU-R 601 luma; unlike tf.image.rgb_to_grayscale's, these weights sum
        # to 1, so black and white stay exactly -1 and 1.
        images = tf.reduce_sum(images * (0.299, 0.587, 0.114), axis=-1, keepdims=True)
    elif color_mode == "rgb" and channels == 1:
        images = tf.image.grayscale_to_rgb(images)
    if image_size is not None and tuple(images.shape[1:3]) != image_size:
        images = tf.image.resize(images, image_size, antialias=True)
    # Resizing can overshoot slightly; keep the documented range exact.
    return tf.clip_by_value(images, -1.0, 1.0)


def _standardize_images(images) -> tuple[np.ndarray, tuple[float, float]]:
    """Validates an image array; returns it as (N, H, W, C) and its value range."""
    images = np.asarray(images)
    if images.dtype.kind not in "uif":
        raise ValueError(
            f"images must be a numeric array (uint8 or float), got dtype {images.dtype}"
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "images must have shape (N, H, W) or (N, H, W, C) with C in (1, 3), "
            f"got shape {images.shape}"
        )
    if len(images) == 0:
        raise ValueError("images is empty: got 0 images")
    if images.dtype.kind in "ui":
        low, high = images.min(), images.max()
        if low < 0 or high > 255:
            raise ValueError(
                f"integer images must be in [0, 255], got values in [{low}, {high}]"
            )
        return images.astype(np.uint8, copy=False), _UINT8_RANGE
    images = images.astype(np.float32, copy=False)
    if not np.isfinite(images).all():
        raise ValueError("images contain NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < -1.0 or high > 1.0:
        raise ValueError(
            "float images must be in [0, 1] or [-1, 1], got values in "
            f"[{low:g}, {high:g}]. Pass uint8 arrays for 0-255 pixel values."
        )
    if low >= 0.0:
        return images, (0.0, 1.0)
    return images, (-1.0, 1.0)


def _standardize_labels(labels, num_images: int) -> np.ndarray:
    """Validates labels against the images; returns them as int32."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "ui":
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got shape {labels.shape}")
    if len(labels) != num_images:
        raise ValueError(
            f"Got {len(labels)} labels for {num_images} images; the counts must match"
        )
    return labels.astype(np.int32)


def _image_files(folder: Path, with_labels: bool) -> list[Path]:
    """Lists the image files keras will read from `folder`, or raises."""
    if not folder.is_dir():
        raise FileNotFoundError(f"No such folder: '{folder}'")
    if with_labels:
        # Keras reads classes from the non-hidden subfolders only.
        roots = sorted(
            p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    else:
        roots = [folder]
    files = sorted(
        Path(dirpath) / name
        for root in roots
        for dirpath, _, names in os.walk(root)
        for name in names
        if name.lower().endswith(_IMAGE_EXTENSIONS)
    )
    if not files:
        where = f"class subfolders of '{folder}'" if with_labels else f"'{folder}'"
        raise ValueError(
            f"No image files found in {where}. Supported formats: "
            f"{', '.join(_IMAGE_EXTENSIONS)}."
        )
    return files


def _check_image(file: Path):
    """Raises a ValueError naming `file` if Pillow cannot read it, or it is truncated.

    Pillow's `verify()` reads a JPEG's headers only, so a JPEG cut short (an
    interrupted download or copy) passes it and then fails deep inside
    `tf.data` without a file name; its data is checked to end after the last
    scan instead, which costs reading the bytes, not decoding them.
    """
    try:
        with Image.open(file) as image:
            image_format = image.format
            image.verify()
    except Exception as error:
        raise ValueError(
            f"Cannot read image file '{file}' ({error}); delete it or re-save it "
            "as PNG or JPEG"
        ) from error
    if image_format == "JPEG":
        data = file.read_bytes()
        # 0xFFD9 (end of image) only occurs as a marker in entropy-coded data.
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            raise ValueError(
                f"Image file '{file}' is a truncated JPEG (its data ends before "
                "the end-of-image marker); delete it or re-save it"
            )


def labels_path_for(images_path: Path) -> Path:
    """The labels file that goes with an MNIST-style images file name."""
    name = images_path.name
    if "images-idx3-ubyte" not in name:
        raise ValueError(
            f"Cannot guess the labels file for {images_path}: its name does not "
            "contain 'images-idx3-ubyte'. Pass labels_path."
        )
    labels_path = images_path.with_name(
        name.replace("images-idx3-ubyte", "labels-idx1-ubyte")
    )
    if not labels_path.is_file():
        raise FileNotFoundError(
            f"No labels file '{labels_path}' next to {images_path}. Pass "
            "labels_path, or with_labels=False."
        )
    return labels_path


def _tfds_num_examples(builder, split: str) -> int | None:
    """Size of a TFDS split (slices such as "train[:10%]" too), None if unknown."""
    try:
        return builder.info.splits[split].num_examples
    except (KeyError, ValueError):
        # Split metadata is missing, e.g. for mocked datasets in tests.
        return None


def _check_network():
    """Fails at once when offline, rather than after TFDS' minutes of retries."""
    try:
        socket.getaddrinfo(_DOWNLOAD_HOST, 443)
    except OSError as error:
        raise ConnectionError(
            f"no network: cannot resolve {_DOWNLOAD_HOST} ({error})"
        ) from error


def _download_help(name: str, data_dir: str, error: Exception) -> str:
    return (
        f"Could not download and prepare the TFDS dataset {name!r} in {data_dir} "
        f"({type(error).__name__}: {error}). Without internet access, either "
        "pass data_dir= a folder where it was prepared before, load MNIST-format "
        "IDX files with kgen.data.load('path/to/train-images-idx3-ubyte.gz'), or "
        "use the embedded digits with kgen.data.load('glyphs')."
    )


@functools.cache
def _tensorflow():
    """Imports TensorFlow for `tf.data`, keeping it off the GPU under JAX/PyTorch.

    TensorFlow reserves most of the GPU memory when it starts, which would starve
    a JAX or PyTorch model; the data pipeline only needs the CPU.
    """
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:
            # TensorFlow was already initialised by someone else; leave it.
            pass
    return tf


def _fits_in_memory(num_examples: int | None, example_bytes: int | None) -> bool:
    if num_examples is None or example_bytes is None:
        return False
    return num_examples * example_bytes <= _MAX_CACHE_BYTES


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or Path(text).suffix != ""


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_positive_int(name: str, value):
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def style_pairs(
    content,
    style,
    *,
    image_size: tuple[int, int] = (256, 256),
    resize_short_side: int | None = None,
    batch_size: int = 8,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """`(content, style)` batches of random crops, for training style networks.

    Unlike the GAN loaders, this yields float32 RGB in [0, 1] (what
    `kgen.models.AdaINStyleTransfer` and VGG features take). Every image is
    resized, keeping its aspect ratio, so that its short side is
    `resize_short_side` (default: twice the crop's longer side, the paper's
    512 for 256 crops), then cropped at random to `image_size`, with new
    crops every epoch. The two streams are shuffled separately and zipped;
    the one with fewer images is repeated, so an epoch has as many pairs as
    the larger one has images. For a fixed number of steps per epoch, add
    `.repeat()`.

    Example:

    ```python
    pairs = kgen.data.style_pairs("coco/train2014", "wikiart/", seed=0)
    content, style = next(iter(pairs))  # two (8, 256, 256, 3) float32 batches
    ```

    Args:
        content: A folder of images (PNG, JPEG, BMP, GIF; any subfolder, any
            size), an image file, a list of folders and files, or an array `(N, H, W)` or `(N, H, W, C)` with C = 1 or 3:
            uint8 in [0, 255], floats in [0, 1] (or in [-1, 1] when some are
            negative, as kgen's GAN pipelines produce).
        style: The style images, likewise.
        image_size: `(height, width)` of the crops.
        resize_short_side: Short side, in pixels, of the images before
            cropping; at least the crop's longer side.
        batch_size: Pairs per batch.
        shuffle: Whether to shuffle both streams, anew every epoch.
        seed: Seed of the shuffling and of the crops.
        drop_remainder: Whether to drop the last, smaller batch.

    Raises:
        FileNotFoundError: If a folder or file does not exist.
        ValueError: For an empty folder or array, an unreadable image, an
            array of the wrong shape, dtype or range, or bad sizes.
    """
    options = _Options(
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        image_size=image_size,
        drop_remainder=drop_remainder,
    )
    if image_size is None:
        raise ValueError("image_size must be a (height, width) pair, got None")
    crop = options.image_size
    if resize_short_side is None:
        resize_short_side = 2 * max(crop)
    _check_positive_int("resize_short_side", resize_short_side)
    if resize_short_side < max(crop):
        raise ValueError(
            f"resize_short_side={resize_short_side} must be at least the crop's "
            f"longer side, {max(crop)} (image_size={crop})"
        )
    tf = _tensorflow()
    streams = [
        _style_stream(images, role, resize_short_side, options)
        for images, role in ((content, "content"), (style, "style"))
    ]
    # The larger stream sets the epoch; the other one cycles through its images.
    longest = max(range(2), key=lambda i: streams[i][1])
    datasets = [
        dataset if i == longest else dataset.repeat()
        for i, (dataset, _) in enumerate(streams)
    ]
    pairs = tf.data.Dataset.zip(tuple(datasets))
    # One crop seed per pair, new every epoch yet reproducible with `seed`.
    crop_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    pairs = tf.data.Dataset.zip(pairs, crop_seeds.batch(2)).map(
        lambda images, seeds: tuple(
            _random_crop(image, crop, seeds[i]) for i, image in enumerate(images)
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    pairs = pairs.batch(batch_size, drop_remainder=drop_remainder)
    return pairs.prefetch(tf.data.AUTOTUNE)


def _style_stream(images, role, short_side, options):
    """One side of `style_pairs`: resized uint8 images, cached and shuffled."""
    tf = _tensorflow()
    if isinstance(images, (str, os.PathLike, list, tuple)):
        files = _style_files(images)
        for file in files:
            _check_image(file)
        dataset = tf.data.Dataset.from_tensor_slices([str(f) for f in files]).map(
            lambda file: tf.io.decode_image(
                tf.io.read_file(file), channels=3, expand_animations=False
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        count, value_range = len(files), _UINT8_RANGE
    elif isinstance(images, np.ndarray):
        try:
            images, value_range = _standardize_images(images)
        except ValueError as error:
            raise ValueError(f"{role}: {error}") from None
        dataset = tf.data.Dataset.from_tensor_slices(images)
        count = len(images)
    else:
        raise ValueError(
            f"{role} must be an image folder or file, a list of them, or a "
            f"NumPy array of images; got {type(images).__name__}"
        )
    low, high = value_range

    def resize(image):
        image = (tf.cast(image, tf.float32) - low) / (high - low)
        if image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        scale = short_side / tf.reduce_min(shape)
        # Never below the short side, whatever the rounding.
        size = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), short_side)
        image = tf.image.resize(image, size, antialias=True)
        # Cached as uint8: a quarter of the memory of float32.
        return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8)

    dataset = dataset.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    # A resized image is about short_side x (4/3 short_side) pixels.
    if _fits_in_memory(count, 4 * short_side**2):
        dataset = dataset.cache()
    if options.shuffle:
        dataset = dataset.shuffle(
            count, seed=options.seed, reshuffle_each_iteration=True
        )
    return dataset, count


def _style_files(sources) -> list[Path]:
    """The image files of a folder, a file, or a list of folders and files."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    if not sources:
        raise ValueError("Got an empty list of image folders and files")
    files = []
    for source in map(Path, sources):
        if source.is_file():
            files.append(source)
        elif not source.exists():
            raise FileNotFoundError(f"No such image file or folder: '{source}'")
        else:
            files.extend(_image_files(source, with_labels=False))
    return files


def _random_crop(image, size, seed):
    tf = _tensorflow()
    crop = tf.image.stateless_random_crop(image, (*size, 3), seed=tf.stack([seed, 0]))
    return tf.cast(crop, tf.float32) / 255.0
