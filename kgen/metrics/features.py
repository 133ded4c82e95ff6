"""Feature extractors for FID and KID, and the on-disk cache of real-set statistics.

An extractor is any `keras.Model` mapping images in [-1, 1] to one feature
vector per image (outputs with more axes are flattened):

- for 28x28 data, the digit classifier's last hidden layer:
  `kgen.classifier.feature_extractor(kgen.classifier.dataset_classifier(...))`,
  trained by kgen, no download;
- `inception_feature_extractor()`: InceptionV3's 2048 pooled features for RGB
  (or grayscale) images, with Keras' ImageNet weights (downloaded once);
- `fid_inception_extractor()`: the 2048 pooled features of the FID Inception
  network that pytorch-fid, clean-fid and TF-GAN use, for FIDs comparable
  with published ones (`kgen.metrics.fid_inception`);
- any model of yours.

`named_extractor` builds the first two by name (`EXTRACTORS`), for commands
and settings that name an extractor.
"""

import hashlib
import json
import os
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import ops

from kgen.cache import DEFAULT_CACHE_DIR
from kgen.metrics.feature_statistics import FeatureStatistics
from kgen.metrics.fid_inception import fid_inception_extractor
from kgen.networks.vgg import WeightsDownloadError, is_download_error

INCEPTION_SIZE = 299
INCEPTION_FEATURES = 2048
# What keras.applications.InceptionV3(include_top=False, weights="imagenet")
# downloads.
_INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
)
_INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
_INCEPTION_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"


def inception_feature_extractor(
    image_shape: tuple = (None, None, 3),
    *,
    weights: str | os.PathLike | None = "imagenet",
    name: str = "inception_features",
) -> keras.Model:
    """Builds `images in [-1, 1] -> (batch, 2048)` InceptionV3 pool features.

    Images of any size are resized to 299x299 (bilinear); grayscale ones are
    repeated to three channels. [-1, 1] is already InceptionV3's input scale
    (its `preprocess_input` maps [0, 255] there), so nothing else changes.

    These are Keras' ImageNet InceptionV3 weights, not the 2015 TensorFlow
    graph that the reference FID code (and pytorch-fid, clean-fid) uses, and
    the resizing differs too: values are comparable between kgen runs, not
    with published FIDs.

    Args:
        image_shape: `(height, width, channels)` of the images, channels 1
            or 3; height and width may be None.
        weights: `"imagenet"` (downloaded by Keras on first use, then cached
            in `~/.keras/models`), a path to the weights file
            (`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`), or
            None for random weights (shapes only).
        name: name of the returned model.

    Raises:
        WeightsDownloadError: if the ImageNet weights cannot be downloaded.
        FileNotFoundError: if `weights` is a path that does not exist.

    Example:

    ```python
    extractor = kgen.metrics.inception_feature_extractor((32, 32, 3))
    quality = kgen.metrics.SampleQuality(real_images, extractor=extractor)
    ```
    """
    image_shape = tuple(image_shape)
    if len(image_shape) != 3 or image_shape[2] not in (1, 3):
        raise ValueError(
            "image_shape must be (height, width, channels) with 1 or 3 channels, "
            f"got {image_shape!r}"
        )
    if weights == "imagenet":
        weights = _imagenet_inception_weights()
    elif weights is not None:
        weights = Path(weights)
        if not weights.is_file():
            raise FileNotFoundError(f"No such weights file: '{weights}'")
        weights = str(weights)
    inception = keras.applications.InceptionV3(
        include_top=False,
        weights=weights,
        pooling="avg",
        input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3),
    )
    images = keras.Input(image_shape, name="images")
    x = images
    if image_shape[2] == 1:
        x = keras.layers.Concatenate(name="to_rgb")([x, x, x])
    x = keras.layers.Resizing(
        INCEPTION_SIZE, INCEPTION_SIZE, interpolation="bilinear", name="resize"
    )(x)
    extractor = keras.Model(images, inception(x), name=name)
    extractor.trainable = False
    return extractor


# Extractors that can be named: "inception" is Keras' ImageNet InceptionV3
# (kgen-internal comparisons), "fid_inception" the FID network of published FIDs.
EXTRACTORS = ("inception", "fid_inception")


def named_extractor(name: str, image_shape: tuple, **options) -> keras.Model:
    """The extractor named `name` (one of `EXTRACTORS`), for images of `image_shape`.

    `options` go to its builder: `weights=` for both, `mode=` for
    `"fid_inception"` (see `fid_inception_extractor`).

    Example:

    ```python
    extractor = kgen.metrics.named_extractor("fid_inception", (32, 32, 3))
    ```
    """
    if name == "inception":
        return inception_feature_extractor(image_shape, **options)
    if name == "fid_inception":
        return fid_inception_extractor(image_shape, **options)
    raise ValueError(f"extractor must be one of {EXTRACTORS}, got {name!r}")


def _imagenet_inception_weights() -> str:
    """The path of Keras' ImageNet InceptionV3 weights, downloaded if needed.

    Fetched before the network is built (the same file, cache and hash as
    `keras.applications.InceptionV3(weights="imagenet")`), so that an offline
    machine fails at once rather than after building it.
    """
    try:
        return keras.utils.get_file(
            _INCEPTION_WEIGHTS_FILE,
            _INCEPTION_WEIGHTS_URL + _INCEPTION_WEIGHTS_FILE,
            cache_subdir="models",
            file_hash=_INCEPTION_WEIGHTS_MD5,
        )
    except Exception as error:
        if not is_download_error(error):
            raise
        raise WeightsDownloadError(
            f"Could not download the ImageNet weights of InceptionV3 "
            f"({type(error).__name__}: {error}). Without internet access, pass "
            f"weights= a local copy of {_INCEPTION_WEIGHTS_FILE} (Keras caches "
            "it in ~/.keras/models on a connected machine), or use another "
            "extractor: for 28x28 digits, kgen.classifier.feature_extractor("
            "kgen.classifier.dataset_classifier(...)) needs no download."
        ) from error


def extract_features(
    extractor: keras.Model, images, *, batch_size: int = 256
) -> np.ndarray:
    """Runs `extractor` over `images` in batches; returns float32 `(N, features)`.

    Example:

    ```python
    features = kgen.metrics.extract_features(extractor, images)
    ```
    """
    if not isinstance(extractor, keras.Model):
        raise ValueError(f"extractor must be a keras.Model, got {extractor!r}")
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    images = check_images(images)
    expected = tuple(extractor.inputs[0].shape[1:]) if extractor.inputs else None
    if expected is not None and any(
        size is not None and size != actual
        for size, actual in zip(expected, images.shape[1:], strict=True)
    ):
        raise ValueError(
            f"The extractor {extractor.name!r} takes images of shape "
            f"(batch, *{expected}), got {images.shape}"
        )
    batches = []
    for start in range(0, len(images), batch_size):
        chunk = ops.convert_to_tensor(images[start : start + batch_size])
        batches.append(ops.convert_to_numpy(extractor(chunk, training=False)))
    features = np.concatenate(batches).reshape(len(images), -1)
    if not np.all(np.isfinite(features)):
        raise ValueError(f"The extractor {extractor.name!r} returned NaN or inf")
    return features.astype(np.float32)


def extractor_fingerprint(extractor: keras.Model) -> str:
    """A short hash of an extractor's layer types, shapes and weights.

    Two extractors with the same fingerprint compute the same features: it
    names the cache files of real-set statistics.
    """
    digest = hashlib.sha256()
    layers = [type(layer).__name__ for layer in getattr(extractor, "layers", [])]
    shapes = [tuple(extractor.inputs[0].shape[1:]), tuple(extractor.outputs[0].shape)]
    digest.update(json.dumps([type(extractor).__name__, layers, shapes]).encode())
    for weight in extractor.weights:
        value = np.ascontiguousarray(ops.convert_to_numpy(weight))
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


def real_statistics(
    images,
    extractor: keras.Model,
    *,
    cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    batch_size: int = 256,
) -> FeatureStatistics:
    """`FeatureStatistics` of a real image set, cached on disk.

    The cache file, `<cache_dir>/feature_statistics/<extractor>_<images>.npz`,
    is keyed by `extractor_fingerprint(extractor)` and a hash of the images,
    and written atomically, so the statistics of a real set are computed once
    per extractor and interrupted runs leave no partial file. `cache_dir=None`
    computes them without caching.

    Example:

    ```python
    real = kgen.metrics.real_statistics(held_out_digits, extractor)
    fid = kgen.metrics.frechet_distance(real, generated_features)
    ```
    """
    images = check_images(images)
    if cache_dir is None:
        return FeatureStatistics.from_features(
            extract_features(extractor, images, batch_size=batch_size)
        )
    images_key = hashlib.sha256(
        repr(images.shape).encode() + images.tobytes()
    ).hexdigest()[:16]
    path = (
        Path(cache_dir)
        / "feature_statistics"
        / f"{extractor_fingerprint(extractor)}_{images_key}.npz"
    )
    if path.is_file():
        try:
            return FeatureStatistics.load(path)
        except Exception as error:
            # A truncated or foreign file (e.g. copied half-way) is a cache
            # miss, not a failure: the statistics are computed again below.
            warnings.warn(
                f"Rebuilding the unreadable feature-statistics cache '{path}' "
                f"({type(error).__name__}: {error})",
                stacklevel=2,
            )
    statistics = FeatureStatistics.from_features(
        extract_features(extractor, images, batch_size=batch_size)
    )
    statistics.save(path)
    return statistics


def check_images(images) -> np.ndarray:
    """`images` as float32 `(N, height, width, channels)` in [-1, 1], N >= 2."""
    images = np.asarray(images)
    if images.ndim != 4 or len(images) < 2:
        raise ValueError(
            "images must have shape (num_images, height, width, channels) with "
            f"at least 2 images, got {images.shape}"
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"images must be floats in [-1, 1], got dtype {images.dtype}; "
            "convert uint8 images with images / 127.5 - 1"
        )
    images = np.ascontiguousarray(images, dtype=np.float32)
    finite = np.isfinite(images)
    if not finite.all():
        raise ValueError(
            f"images contain {images.size - int(finite.sum())} NaN or infinite "
            "pixel value(s); remove or repair those images"
        )
    # Only scales that are plainly wrong are refused: decoders and resampling
    # may overshoot [-1, 1] a little, which must not stop a training run.
    if images.min() < -2.0 or images.max() > 2.0:
        raise ValueError(
            f"images must be in [-1, 1], got values from {images.min():.3g} to "
            f"{images.max():.3g}"
        )
    return images
