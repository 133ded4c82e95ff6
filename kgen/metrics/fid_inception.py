"""The FID Inception network, for FIDs comparable with published ones.

FID as papers report it is computed in the feature space of one network: the
"2015-12-05" TensorFlow Inception graph of the original FID code (TTUR),
which TF-GAN, pytorch-fid and clean-fid all use. It is not Keras' ImageNet
InceptionV3: its weights differ, and so do three of its blocks (average pools
that leave padding out of the mean, and a max pool in the last block).
`fid_inception_extractor` builds that network in Keras layers, so it runs on
TensorFlow, JAX and PyTorch, and loads pytorch-fid's port of the weights
(`pt_inception-2015-12-05-6726825d.pth`, or an `.npz` of the same arrays).

How images reach 299x299 changes FID by more than many papers' margins
(Parmar et al., "On Aliased Resizing and Surprising Subtleties in GAN
Evaluation", 2022), so the convention is an argument, `mode`:

- `"clean"` (default): clean-fid's: images quantised to uint8, resized with
  PIL's antialiased bicubic filter, scaled by `(x - 128) / 128`. It is the one
  convention that does not alias, and clean-fid publishes reference
  statistics computed with it.
- `"legacy_tensorflow"`: the original TensorFlow FID code's (TTUR, TF-GAN),
  as clean-fid reproduces it: uint8, TensorFlow 1's `resize_bilinear` (no
  half-pixel centres, no antialiasing), `(x - 128) / 128`. For comparison with
  papers that used the TensorFlow code.
- `"pytorch_fid"`: pytorch-fid's: uint8 (its images come from PNG files),
  `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`,
  scaled by `x / 127.5 - 1`. For comparison with pytorch-fid's numbers.
  (clean-fid's `legacy_pytorch` resizes the same way but scales by
  `(x - 128) / 128`, a shift of half a grey level.)

`"clean"` is the default because it is the only one of the three whose
numbers do not depend on a library's resizing shortcut, and the one that
clean-fid recommends and keeps reference statistics for. Numbers from older
papers were mostly computed with the TensorFlow code: compare with them in
`"legacy_tensorflow"`, and say which mode a reported FID used. For the small
images kgen generates (28x28, 32x32), resizing enlarges, so antialiasing plays
no part; the modes still differ in their filters (bicubic or bilinear) and
pixel grids.

Each resize is linear, so it is done inside the model by two matrix products
whose matrices are computed as PIL, TensorFlow 1 or PyTorch compute their
filter weights: the whole extractor is one Keras model that runs batched on
the accelerator.
"""

import functools
import hashlib
import math
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from kgen.metrics.feature_statistics import read_npz
from kgen.networks.vgg import WeightsDownloadError, is_download_error

FID_INCEPTION_SIZE = 299
FID_INCEPTION_FEATURES = 2048
MODES = ("clean", "legacy_tensorflow", "pytorch_fid")
FID_INCEPTION_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_INCEPTION_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    + FID_INCEPTION_WEIGHTS_FILE
)
# The file name's hash part: the start of its SHA-256, as torch.hub checks it.
_WEIGHTS_SHA256_PREFIX = "6726825d"
_BATCH_NORM_EPSILON = 1e-3


def fid_inception_extractor(
    image_shape: tuple = (FID_INCEPTION_SIZE, FID_INCEPTION_SIZE, 3),
    *,
    weights: str | os.PathLike | None = "pytorch_fid",
    mode: str = "clean",
    name: str = "fid_inception",
) -> keras.Model:
    """Builds `images in [-1, 1] -> (batch, 2048)` features of the FID Inception.

    The features are the 2048 pooled activations that pytorch-fid, clean-fid
    and TF-GAN compute FID from; with the published weights, FIDs computed
    from them with `kgen.metrics.frechet_distance` are comparable with those
    tools' numbers in the same `mode`, and with their reference statistics
    (`kgen.metrics.FeatureStatistics.load_npz`).

    Images are quantised to uint8 values first (as `kgen.images.to_uint8`
    does), grayscale ones repeated to three channels, and resized to 299x299
    as `mode` says (see `kgen.metrics.fid_inception`).

    Args:
        image_shape: `(height, width, channels)` of the images, channels 1 or
            3. Height and width must be given: the resize matrices are built
            for them.
        weights: `"pytorch_fid"` (pytorch-fid's weights file, downloaded from
            its GitHub release on first use and cached in
            `~/.keras/models`), a path to that file
            (`pt_inception-2015-12-05-6726825d.pth`; reading it needs
            PyTorch) or to an `.npz` holding the same arrays under the same
            names, or None for random weights (shapes only).
        mode: `"clean"` (default), `"legacy_tensorflow"` or `"pytorch_fid"`:
            how images are resized and scaled.
        name: name of the returned model.

    Raises:
        WeightsDownloadError: if the weights cannot be downloaded.
        FileNotFoundError: if `weights` is a path that does not exist.

    Example:

    ```python
    extractor = kgen.metrics.fid_inception_extractor((32, 32, 3))
    real = kgen.metrics.FeatureStatistics.load_npz("cifar10_train_clean.npz")
    fid = kgen.metrics.frechet_distance(
        real, kgen.metrics.extract_features(extractor, generated_images)
    )
    ```
    """
    image_shape = tuple(image_shape)
    if (
        len(image_shape) != 3
        or image_shape[2] not in (1, 3)
        or not all(
            isinstance(size, (int, np.integer)) and size > 0 for size in image_shape[:2]
        )
    ):
        raise ValueError(
            "image_shape must be (height, width, channels) with known height and "
            f"width and 1 or 3 channels, got {image_shape!r}"
        )
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    state = _state_dict(weights)
    # Random kernels that the weights replace at once are not drawn: on JAX,
    # drawing them compiles one function per shape (10 s of CPU).
    initializer = "glorot_uniform" if state is None else "zeros"
    # float32 whatever the global policy: a mixed-precision run's FIDs must be
    # comparable with everyone else's.
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        images = keras.Input(image_shape, name="images")
        x = FIDPreprocessing(mode=mode, name="preprocessing")(images)
        extractor = keras.Model(images, _inception(x, initializer), name=name)
    finally:
        keras.config.set_dtype_policy(policy)
    if state is not None:
        _assign(extractor, state)
    extractor.trainable = False
    return extractor


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


def _conv(x, filters, kernel, name, strides=1, padding="valid", initializer=None):
    """torchvision's `BasicConv2d`: convolution without bias, batch norm, ReLU."""
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer=initializer,
        data_format="channels_last",
        name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(
        axis=-1, epsilon=_BATCH_NORM_EPSILON, name=f"{name}_bn"
    )(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _average_pool(x, name):
    # Keras' "same" average pool leaves the padding out of the mean on every
    # backend, as TensorFlow's pool in the 2015 graph does
    # (count_include_pad=False in pytorch-fid).
    return layers.AveragePooling2D(
        3, strides=1, padding="same", data_format="channels_last", name=name
    )(x)


def _block_a(x, conv, pool_features, name):
    branch1x1 = conv(x, 64, 1, f"{name}_branch1x1")
    branch5x5 = conv(x, 48, 1, f"{name}_branch5x5_1")
    branch5x5 = conv(branch5x5, 64, 5, f"{name}_branch5x5_2", padding="same")
    branch3x3dbl = conv(x, 64, 1, f"{name}_branch3x3dbl_1")
    branch3x3dbl = conv(branch3x3dbl, 96, 3, f"{name}_branch3x3dbl_2", padding="same")
    branch3x3dbl = conv(branch3x3dbl, 96, 3, f"{name}_branch3x3dbl_3", padding="same")
    branch_pool = _average_pool(x, f"{name}_pool")
    branch_pool = conv(branch_pool, pool_features, 1, f"{name}_branch_pool")
    return layers.Concatenate(axis=-1, name=name)(
        [branch1x1, branch5x5, branch3x3dbl, branch_pool]
    )


def _block_b(x, conv, name):
    branch3x3 = conv(x, 384, 3, f"{name}_branch3x3", strides=2)
    branch3x3dbl = conv(x, 64, 1, f"{name}_branch3x3dbl_1")
    branch3x3dbl = conv(branch3x3dbl, 96, 3, f"{name}_branch3x3dbl_2", padding="same")
    branch3x3dbl = conv(branch3x3dbl, 96, 3, f"{name}_branch3x3dbl_3", strides=2)
    branch_pool = layers.MaxPooling2D(
        3, strides=2, data_format="channels_last", name=f"{name}_pool"
    )(x)
    return layers.Concatenate(axis=-1, name=name)(
        [branch3x3, branch3x3dbl, branch_pool]
    )


def _block_c(x, conv, channels_7x7, name):
    c7 = channels_7x7
    branch1x1 = conv(x, 192, 1, f"{name}_branch1x1")
    branch7x7 = conv(x, c7, 1, f"{name}_branch7x7_1")
    branch7x7 = conv(branch7x7, c7, (1, 7), f"{name}_branch7x7_2", padding="same")
    branch7x7 = conv(branch7x7, 192, (7, 1), f"{name}_branch7x7_3", padding="same")
    branch7x7dbl = conv(x, c7, 1, f"{name}_branch7x7dbl_1")
    for index, (filters, kernel) in enumerate(
        ((c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7))), start=2
    ):
        branch7x7dbl = conv(
            branch7x7dbl,
            filters,
            kernel,
            f"{name}_branch7x7dbl_{index}",
            padding="same",
        )
    branch_pool = _average_pool(x, f"{name}_pool")
    branch_pool = conv(branch_pool, 192, 1, f"{name}_branch_pool")
    return layers.Concatenate(axis=-1, name=name)(
        [branch1x1, branch7x7, branch7x7dbl, branch_pool]
    )


def _block_d(x, conv, name):
    branch3x3 = conv(x, 192, 1, f"{name}_branch3x3_1")
    branch3x3 = conv(branch3x3, 320, 3, f"{name}_branch3x3_2", strides=2)
    branch7x7x3 = conv(x, 192, 1, f"{name}_branch7x7x3_1")
    branch7x7x3 = conv(
        branch7x7x3, 192, (1, 7), f"{name}_branch7x7x3_2", padding="same"
    )
    branch7x7x3 = conv(
        branch7x7x3, 192, (7, 1), f"{name}_branch7x7x3_3", padding="same"
    )
    branch7x7x3 = conv(branch7x7x3, 192, 3, f"{name}_branch7x7x3_4", strides=2)
    branch_pool = layers.MaxPooling2D(
        3, strides=2, data_format="channels_last", name=f"{name}_pool"
    )(x)
    return layers.Concatenate(axis=-1, name=name)([branch3x3, branch7x7x3, branch_pool])


def _block_e(x, conv, name, max_pool):
    """InceptionE; the 2015 graph's last block pools by max, not by average."""
    branch1x1 = conv(x, 320, 1, f"{name}_branch1x1")
    branch3x3 = conv(x, 384, 1, f"{name}_branch3x3_1")
    branch3x3 = layers.Concatenate(axis=-1, name=f"{name}_branch3x3")(
        [
            conv(branch3x3, 384, (1, 3), f"{name}_branch3x3_2a", padding="same"),
            conv(branch3x3, 384, (3, 1), f"{name}_branch3x3_2b", padding="same"),
        ]
    )
    branch3x3dbl = conv(x, 448, 1, f"{name}_branch3x3dbl_1")
    branch3x3dbl = conv(branch3x3dbl, 384, 3, f"{name}_branch3x3dbl_2", padding="same")
    branch3x3dbl = layers.Concatenate(axis=-1, name=f"{name}_branch3x3dbl")(
        [
            conv(branch3x3dbl, 384, (1, 3), f"{name}_branch3x3dbl_3a", padding="same"),
            conv(branch3x3dbl, 384, (3, 1), f"{name}_branch3x3dbl_3b", padding="same"),
        ]
    )
    if max_pool:
        branch_pool = layers.MaxPooling2D(
            3,
            strides=1,
            padding="same",
            data_format="channels_last",
            name=f"{name}_pool",
        )(x)
    else:
        branch_pool = _average_pool(x, f"{name}_pool")
    branch_pool = conv(branch_pool, 192, 1, f"{name}_branch_pool")
    return layers.Concatenate(axis=-1, name=name)(
        [branch1x1, branch3x3, branch3x3dbl, branch_pool]
    )


def _inception(x, initializer):
    """The 2015 graph up to its 2048 pooled features, named as pytorch-fid's."""
    conv = functools.partial(_conv, initializer=initializer)
    x = conv(x, 32, 3, "Conv2d_1a_3x3", strides=2)
    x = conv(x, 32, 3, "Conv2d_2a_3x3")
    x = conv(x, 64, 3, "Conv2d_2b_3x3", padding="same")
    x = layers.MaxPooling2D(3, 2, data_format="channels_last", name="maxpool1")(x)
    x = conv(x, 80, 1, "Conv2d_3b_1x1")
    x = conv(x, 192, 3, "Conv2d_4a_3x3")
    x = layers.MaxPooling2D(3, 2, data_format="channels_last", name="maxpool2")(x)
    x = _block_a(x, conv, 32, "Mixed_5b")
    x = _block_a(x, conv, 64, "Mixed_5c")
    x = _block_a(x, conv, 64, "Mixed_5d")
    x = _block_b(x, conv, "Mixed_6a")
    x = _block_c(x, conv, 128, "Mixed_6b")
    x = _block_c(x, conv, 160, "Mixed_6c")
    x = _block_c(x, conv, 160, "Mixed_6d")
    x = _block_c(x, conv, 192, "Mixed_6e")
    x = _block_d(x, conv, "Mixed_7a")
    x = _block_e(x, conv, "Mixed_7b", max_pool=False)
    x = _block_e(x, conv, "Mixed_7c", max_pool=True)
    return layers.GlobalAveragePooling2D(data_format="channels_last", name="pool")(x)


def _state_dict(weights) -> dict[str, np.ndarray] | None:
    """pytorch-fid's state dict as NumPy arrays, from `weights` as documented."""
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "pytorch_fid":
        path = _download_weights()
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(
                f"No such weights file: '{path}'; the FID Inception weights are "
                f"{FID_INCEPTION_WEIGHTS_FILE} from {FID_INCEPTION_WEIGHTS_URL}"
            )
    return read_state_dict(path)


def read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of pytorch-fid's weights file (`.pth`) or of an `.npz` of them.

    Keys are pytorch-fid's (`"Mixed_5b.branch1x1.conv.weight"`, ...). A `.pth`
    file is read with `torch.load(weights_only=True)`, so it needs PyTorch
    (any backend); an `.npz` needs only NumPy. To make the `.npz` once:
    `np.savez(path, **kgen.metrics.fid_inception.read_state_dict(pth))`.
    """
    path = Path(path)
    if path.suffix == ".npz":
        try:
            return read_npz(path)
        except Exception as error:
            raise ValueError(
                f"Could not read the FID Inception weights '{path}' "
                f"({type(error).__name__}: {error}); the file may be truncated"
            ) from error
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"Reading '{path}' needs PyTorch (pip install torch); or convert it "
            "once where PyTorch is installed to an .npz of the same arrays"
        ) from error
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"Could not read the FID Inception weights '{path}' "
            f"({type(error).__name__}: {error}); download "
            f"{FID_INCEPTION_WEIGHTS_FILE} again from {FID_INCEPTION_WEIGHTS_URL}"
        ) from error
    return {key: value.detach().cpu().numpy() for key, value in state.items()}


def _assign(extractor, state):
    """Copies pytorch-fid's arrays into the layers of the same names."""
    missing = []
    for layer in extractor.layers:
        if isinstance(layer, layers.Conv2D):
            keys = [_torch_key(layer.name, "weight")]
        elif isinstance(layer, layers.BatchNormalization):
            keys = [
                _torch_key(layer.name, part)
                for part in ("weight", "bias", "running_mean", "running_var")
            ]
        else:
            continue
        absent = [key for key in keys if key not in state]
        if absent:
            missing.extend(absent)
            continue
        values = [state[key] for key in keys]
        if isinstance(layer, layers.Conv2D):
            # PyTorch (out, in, height, width) -> Keras (height, width, in, out).
            values = [np.transpose(values[0], (2, 3, 1, 0))]
        expected = [tuple(weight.shape) for weight in layer.weights]
        if [value.shape for value in values] != expected:
            raise ValueError(
                f"The FID Inception weights do not fit layer {layer.name!r}: "
                f"shapes {[value.shape for value in values]}, expected {expected}"
            )
        layer.set_weights(values)
    if missing:
        raise ValueError(
            f"The weights file lacks {len(missing)} of the FID Inception's arrays "
            f"(e.g. {missing[0]!r}); it must be {FID_INCEPTION_WEIGHTS_FILE} "
            f"from {FID_INCEPTION_WEIGHTS_URL}"
        )


def _torch_key(layer_name, part):
    """`"Mixed_5b_branch1x1_conv"` -> `"Mixed_5b.branch1x1.conv.<part>"`."""
    prefix, kind = layer_name.rsplit("_", 1)
    if prefix.startswith("Mixed_"):
        block, branch = prefix[: len("Mixed_5b")], prefix[len("Mixed_5b_") :]
        prefix = f"{block}.{branch}"
    return f"{prefix}.{kind}.{part}"


def _download_weights() -> Path:
    """pytorch-fid's weights file, downloaded once into `~/.keras/models`."""
    try:
        path = Path(
            keras.utils.get_file(
                FID_INCEPTION_WEIGHTS_FILE,
                FID_INCEPTION_WEIGHTS_URL,
                cache_subdir="models",
            )
        )
    except Exception as error:
        if not is_download_error(error):
            raise
        raise WeightsDownloadError(
            f"Could not download the FID Inception weights "
            f"({type(error).__name__}: {error}): without internet access, fetch "
            f"{FID_INCEPTION_WEIGHTS_FILE} from {FID_INCEPTION_WEIGHTS_URL} on a "
            "connected machine and pass its path as weights="
        ) from error
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(_WEIGHTS_SHA256_PREFIX):
        path.unlink()
        raise WeightsDownloadError(
            f"The downloaded {FID_INCEPTION_WEIGHTS_FILE} is corrupt (SHA-256 "
            f"{digest[:8]}..., expected {_WEIGHTS_SHA256_PREFIX}...); run again "
            "to download it anew"
        )
    return path
