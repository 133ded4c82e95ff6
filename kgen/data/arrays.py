"""In-memory images: NumPy arrays of any common dtype and range."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from kgen.data.options import UINT8_RANGE, PipelineOptions, Source
from kgen.data.pipeline import import_tensorflow, make_pipeline

if TYPE_CHECKING:
    import tensorflow as tf


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
    options = PipelineOptions.of(locals())
    return numpy_dataset(images, labels, options)


def numpy_dataset(
    images: np.ndarray, labels: np.ndarray | None, options: PipelineOptions
) -> tf.data.Dataset:
    """`from_numpy()` with its pipeline keywords given as one `PipelineOptions`."""
    images, value_range = standardize_images(images)
    if labels is not None:
        labels = standardize_labels(labels, len(images))
    tf = import_tensorflow()
    dataset = tf.data.Dataset.from_tensor_slices(
        images if labels is None else (images, labels)
    )
    source = Source(dataset, value_range, len(images), in_memory=True)
    return make_pipeline(source, options)


def standardize_images(images) -> tuple[np.ndarray, tuple[float, float]]:
    """Validates an image array; returns it as (N, H, W, C) and its value range.

    The rules are `from_numpy()`'s: integers are in [0, 255], floats in [0, 1],
    or in [-1, 1] when some are negative.
    """
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
        return images.astype(np.uint8, copy=False), UINT8_RANGE
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


def standardize_labels(labels, num_images: int) -> np.ndarray:
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
