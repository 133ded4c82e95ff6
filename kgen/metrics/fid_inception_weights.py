"""The FID Inception's weights: pytorch-fid's file, read, checked and assigned.

`state_dict` finds the arrays (downloading pytorch-fid's
`pt_inception-2015-12-05-6726825d.pth` where there is internet, or reading a
given `.pth` or `.npz`), `assign_state` copies them into the layers of
`kgen.metrics.fid_inception_extractor`, whose layer names mirror
pytorch-fid's module names.
"""

import hashlib
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from kgen.metrics.feature_statistics import read_npz
from kgen.networks.vgg import WeightsDownloadError, is_download_error

FID_INCEPTION_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_INCEPTION_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    + FID_INCEPTION_WEIGHTS_FILE
)
# The file name's hash part: the start of its SHA-256, as torch.hub checks it.
_WEIGHTS_SHA256_PREFIX = "6726825d"


def state_dict(weights) -> dict[str, np.ndarray] | None:
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
    `np.savez(path, **kgen.metrics.fid_inception_weights.read_state_dict(pth))`.
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


def assign_state(extractor, state):
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
