"""What `fit` checks before training: the data's first batch, on the host.

`kgen.models.Model.fit` looks at its data once (`first_batch`) and refuses
empty data, NaN or infinite pixels and pixels out of range (`check_pixels`);
training steps check the shape and dtype of each batch
(`check_training_images`).
"""

import sys

import keras
import numpy as np
from keras import ops


def check_training_images(images, image_shape):
    """Raises a clear error for batches that are not float images of the shape."""
    if tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"Training images must have shape (batch, *{tuple(image_shape)}), "
            f"got {tuple(images.shape)}"
        )
    if "float" not in str(images.dtype):
        raise ValueError(
            f"Training images must be floats in [-1, 1], got dtype "
            f"{images.dtype}; kgen.data pipelines produce them"
        )
    return images


def first_batch(x, y=None):
    """What `fit(x, y)` trains on first, as NumPy, for the checks; or `None`.

    Arrays and tensors come whole (`(x, y)` when `y` is given); a
    `tf.data.Dataset`, `keras.utils.PyDataset` or `torch.utils.data.DataLoader`
    gives its first batch. Raises if there is none; `None` for what cannot be
    looked at without consuming it (generators, distributed datasets).
    """
    if x is None:
        return None
    if hasattr(x, "take") and hasattr(x, "element_spec"):
        # A tf.data.Dataset: duck-typed, so the models never import TensorFlow.
        elements = list(x.take(1))
        if not elements:
            raise ValueError(
                "The training dataset is empty: it gave no batch; check its "
                "source (files, limit=, filters) before calling fit"
            )
        return _numpy_structure(elements[0])
    if isinstance(x, keras.utils.PyDataset):
        if not len(x):
            raise ValueError(
                f"The training {type(x).__name__} is empty (len 0); give it "
                "at least one batch before calling fit"
            )
        return _numpy_structure(x[0])
    if _is_torch_loader(x):
        iterator = iter(x)
        try:
            return _numpy_structure(next(iterator))
        except StopIteration:
            raise ValueError(
                "The training DataLoader is empty: it gave no batch; check its "
                "dataset before calling fit"
            ) from None
    if _is_array(x) or isinstance(x, (list, tuple, dict)):
        data = _numpy_structure(x if y is None else (x, y))
        for array in keras.tree.flatten(data):
            if array.ndim and not len(array):
                raise ValueError(
                    f"The training data is empty: an array of shape {array.shape}; "
                    "pass at least one example to fit"
                )
        return data
    return None


def check_pixels(name, images, pixel_range=(-1.0, 1.0), tolerance=1e-3):
    """Raises unless `images` (NumPy) are finite floats in `pixel_range`.

    Vectorised over the whole array: once per `fit` call, on the host. Arrays
    that are not 4-D images are left to the model's own shape checks.
    """
    if not hasattr(images, "dtype") or images.ndim != 4 or not images.size:
        return
    low, high = pixel_range
    scale = "x / 127.5 - 1" if low < 0 else "x / 255"
    if not np.issubdtype(images.dtype, np.floating):
        if np.issubdtype(images.dtype, np.integer) and images.max() > 1:
            raise ValueError(
                f"{name} are {images.dtype} and look like 0..255 pixels; "
                f"convert them to floats in [{low:g}, {high:g}] with {scale} "
                "or use kgen.data pipelines"
            )
        raise ValueError(
            f"{name} must be floats in [{low:g}, {high:g}], got dtype "
            f"{images.dtype}; use kgen.data pipelines or convert them"
        )
    finite = np.isfinite(images)
    if not finite.all():
        bad = images.size - int(finite.sum())
        raise ValueError(
            f"{name} contain {bad} NaN or infinite pixel value(s); remove or "
            "repair those images before training"
        )
    smallest, largest = float(images.min()), float(images.max())
    if smallest >= low - tolerance and largest <= high + tolerance:
        return
    if smallest >= 0 and largest > 2:
        raise ValueError(
            f"{name} range from {smallest:g} to {largest:g}, which looks like "
            f"0..255 pixels; scale them with {scale} or use kgen.data pipelines"
        )
    raise ValueError(
        f"{name} must be in [{low:g}, {high:g}], got values from {smallest:g} "
        f"to {largest:g}; rescale them into [{low:g}, {high:g}] or use kgen.data "
        "pipelines"
    )


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _is_torch_loader(value):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.utils.data.DataLoader)


def _numpy_structure(data):
    """`data` (nested tuples, lists, dicts of tensors) with NumPy arrays as leaves."""
    return keras.tree.map_structure(_to_numpy, data)


def _to_numpy(value):
    if value is None:
        return None
    try:
        return np.asarray(value)
    except (TypeError, RuntimeError, ValueError):
        # e.g. a torch tensor on a GPU.
        return ops.convert_to_numpy(value)
