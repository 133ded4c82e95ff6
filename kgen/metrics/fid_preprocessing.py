"""`FIDPreprocessing`: images in [-1, 1] to the FID Inception's input, per `mode`.

The three conventions (`"clean"`, `"legacy_tensorflow"`, `"pytorch_fid"`) and
why `"clean"` is the default are described in `kgen.metrics.fid_inception`.
Each resize is linear, so it is two matrix products (`resize_matrix`) inside
the model, with the filter weights PIL, TensorFlow 1 or PyTorch would use.
"""

import math

import keras
import numpy as np
from keras import layers, ops

FID_INCEPTION_SIZE = 299
MODES = ("clean", "legacy_tensorflow", "pytorch_fid")


@keras.saving.register_keras_serializable(package="kgen")
class FIDPreprocessing(layers.Layer):
    """Images in [-1, 1] -> the FID Inception's 299x299x3 input, as `mode` says.

    Quantises to uint8 values, repeats grayscale to RGB, resizes with the
    resize matrices of `mode` (rows, then columns) and scales to the range
    the network was trained on. See `kgen.metrics.fid_inception` for the modes.
    """

    def __init__(self, mode: str = "clean", size: int = FID_INCEPTION_SIZE, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.size = size

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height is None or width is None:
            raise ValueError(
                f"FIDPreprocessing needs images of known height and width, got "
                f"shape {tuple(input_shape)}"
            )
        self.rows = self.add_weight(
            shape=(self.size, height),
            initializer="zeros",
            trainable=False,
            name="rows",
        )
        self.columns = self.add_weight(
            shape=(self.size, width),
            initializer="zeros",
            trainable=False,
            name="columns",
        )
        self.rows.assign(resize_matrix(height, self.size, self.mode))
        self.columns.assign(resize_matrix(width, self.size, self.mode))

    def call(self, images):
        x = ops.round(ops.clip((ops.cast(images, "float32") + 1.0) * 127.5, 0, 255))
        if x.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        x = ops.einsum("oh,bhwc->bowc", self.rows, x)
        x = ops.einsum("pw,bowc->bopc", self.columns, x)
        if self.mode == "clean":
            # Bicubic weights are partly negative; clean-fid clips PIL's output.
            x = ops.clip(x, 0.0, 255.0)
            return (x - 128.0) / 128.0
        if self.mode == "legacy_tensorflow":
            return (x - 128.0) / 128.0
        return x / 127.5 - 1.0

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, 3)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "size": self.size}


def resize_matrix(in_size: int, out_size: int, mode: str) -> np.ndarray:
    """The `(out_size, in_size)` float32 matrix of a 1-D resize as `mode` does it.

    `"clean"`: PIL's antialiased bicubic filter (`a = -0.5`, support widened
    by the scale when downsampling, weights normalised per output pixel), as
    Pillow's `precompute_coeffs`; `"legacy_tensorflow"`: TensorFlow 1's
    `resize_bilinear` (source `x = i * in / out`); `"pytorch_fid"`: PyTorch's
    bilinear interpolation with `align_corners=False` (source
    `x = (i + 0.5) * in / out - 0.5`, clamped at 0).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    matrix = np.zeros((out_size, in_size), np.float64)
    scale = in_size / out_size
    if mode == "clean":
        filter_scale = max(scale, 1.0)
        support = 2.0 * filter_scale
        for i in range(out_size):
            center = (i + 0.5) * scale
            low = max(int(center - support + 0.5), 0)
            high = min(int(center + support + 0.5), in_size)
            taps = np.arange(low, high)
            weights = _bicubic((taps - center + 0.5) / filter_scale)
            total = weights.sum()
            matrix[i, low:high] = weights / total if total != 0.0 else weights
        return matrix.astype(np.float32)
    for i in range(out_size):
        # In float32, as both libraries compute it.
        if mode == "legacy_tensorflow":
            source = np.float32(i) * np.float32(scale)
        else:
            source = max(np.float32(scale) * np.float32(i + 0.5) - np.float32(0.5), 0)
        low = min(math.floor(source), in_size - 1)
        high = min(low + 1, in_size - 1)
        fraction = source - low
        matrix[i, low] += 1.0 - fraction
        matrix[i, high] += fraction
    return matrix.astype(np.float32)


def _bicubic(x):
    """Pillow's bicubic kernel (`a = -0.5`)."""
    a = -0.5
    x = np.abs(x)
    return np.where(
        x < 1.0,
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0,
        np.where(x < 2.0, (((x - 5.0) * x + 8.0) * x - 4.0) * a, 0.0),
    )
