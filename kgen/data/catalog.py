"""`load()`: one entry point that picks the source from a name or a path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from kgen.data.embedded import glyphs_dataset
from kgen.data.folders import directory_dataset
from kgen.data.idx import idx_dataset
from kgen.data.options import PipelineOptions
from kgen.data.tfds import KNOWN_DATASETS, TFDS_DATASETS, tfds_dataset

if TYPE_CHECKING:
    import tensorflow as tf


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
    kind = _source_kind(name_or_path)
    if kind == "folder":
        # A folder's images are decoded at one size and one channel count.
        image_size = image_size or (64, 64)
        color_mode = color_mode or "rgb"
    options = PipelineOptions.of(locals())
    if kind == "glyphs":
        return glyphs_dataset(split, with_labels, options)
    if kind == "tfds":
        return tfds_dataset(name_or_path, split, data_dir, with_labels, options)
    if kind == "folder":
        return directory_dataset(Path(name_or_path), with_labels, options)
    return idx_dataset(Path(name_or_path), with_labels, options)


def _source_kind(name_or_path: str | os.PathLike) -> str:
    """ "glyphs", "tfds", "folder" or "idx"; raises for anything else."""
    if name_or_path == "glyphs":
        return "glyphs"
    if name_or_path in TFDS_DATASETS:
        return "tfds"
    path = Path(name_or_path)
    if path.is_dir():
        return "folder"
    if path.is_file():
        return "idx"
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        raise FileNotFoundError(f"No such file or directory: '{path}'")
    raise ValueError(
        f"Unknown dataset {name_or_path!r}. Known names: "
        f"{', '.join(KNOWN_DATASETS)}. A path to an MNIST IDX images file "
        "(e.g. 'train-images-idx3-ubyte.gz') or to a folder of images is "
        "accepted too, and kgen.data.from_tfds() reads any other TFDS dataset."
    )


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or Path(text).suffix != ""
