"""MNIST-format IDX files, gzipped or not: the offline route to MNIST."""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kgen.data.arrays import numpy_dataset
from kgen.data.options import PipelineOptions

if TYPE_CHECKING:
    import tensorflow as tf

# The magic numbers of IDX files of uint8 images (3 dimensions) and labels (1).
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"


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
    images, labels = read_idx_pair(images_path, labels_path, with_labels)
    options = PipelineOptions.of(locals())
    return numpy_dataset(images, labels, options)


def idx_dataset(
    images_path: str | os.PathLike, with_labels: bool, options: PipelineOptions
) -> tf.data.Dataset:
    """`from_idx()` with its pipeline keywords given as one `PipelineOptions`."""
    images, labels = read_idx_pair(images_path, None, with_labels)
    return numpy_dataset(images, labels, options)


def read_idx_pair(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike | None,
    with_labels: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Reads an IDX images file and, if `with_labels`, its labels (see `from_idx`)."""
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    if not with_labels:
        return images, None
    if labels_path is None:
        labels_path = labels_path_for(Path(images_path))
    labels = read_idx(labels_path, IDX_LABELS_MAGIC)
    if len(labels) != len(images):
        raise ValueError(
            f"{labels_path} has {len(labels)} labels but {images_path} has "
            f"{len(images)} images."
        )
    return images, labels


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """Reads an IDX file (the MNIST format) of uint8 values into an array.

    Example:

    ```python
    images = kgen.data.read_idx("t10k-images-idx3-ubyte.gz")  # (10000, 28, 28)
    ```

    Args:
        path: IDX file, gzipped or not.
        magic: Expected magic number (`IDX_IMAGES_MAGIC`, 2051, for images,
            `IDX_LABELS_MAGIC`, 2049, for labels), or None to accept any uint8
            IDX file.

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
            f"number {found}. MNIST images have magic {IDX_IMAGES_MAGIC}, labels "
            f"{IDX_LABELS_MAGIC}."
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
