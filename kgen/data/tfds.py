"""TensorFlow Datasets image classification sets, downloaded on first use."""

from __future__ import annotations

import math
import os
import socket
from typing import TYPE_CHECKING

import numpy as np

from kgen.data.options import UINT8_RANGE, PipelineOptions, Source
from kgen.data.pipeline import import_tensorflow, make_pipeline

if TYPE_CHECKING:
    import tensorflow as tf

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
# Every name `load` knows: the embedded digits, then the TFDS sets.
KNOWN_DATASETS = ("glyphs",) + TFDS_DATASETS
# TFDS downloads most datasets from (or through) Google Cloud Storage.
_DOWNLOAD_HOST = "storage.googleapis.com"


class DatasetDownloadError(RuntimeError):
    """Raised when a TFDS dataset is not prepared locally and cannot be downloaded."""


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
    options = PipelineOptions.of(locals())
    return tfds_dataset(name, split, data_dir, with_labels, options)


def tfds_dataset(
    name: str,
    split: str,
    data_dir: str | os.PathLike | None,
    with_labels: bool,
    options: PipelineOptions,
) -> tf.data.Dataset:
    """`from_tfds()` with its pipeline keywords given as one `PipelineOptions`."""
    # Imported here because importing TFDS takes seconds.
    import tensorflow_datasets as tfds

    import_tensorflow()  # Configures TensorFlow before TFDS starts it.
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
    source = Source(dataset, UINT8_RANGE, num_examples, example_bytes=example_bytes)
    return make_pipeline(source, options)


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
