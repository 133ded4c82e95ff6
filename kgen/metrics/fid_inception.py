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
import os

import keras
import numpy as np
from keras import layers

from kgen.metrics.fid_inception_weights import (
    assign_state,
    state_dict,
)
from kgen.metrics.fid_preprocessing import (
    FID_INCEPTION_SIZE,
    MODES,
    FIDPreprocessing,
)

FID_INCEPTION_FEATURES = 2048
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
    state = state_dict(weights)
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
        assign_state(extractor, state)
    extractor.trainable = False
    return extractor


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
