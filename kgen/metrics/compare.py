"""`compare`: scores any image source against any other, in batches of bounded memory."""

import os

import keras
import numpy as np
from keras import ops

from kgen import classifier as classifier_lib
from kgen.cache import DEFAULT_CACHE_DIR
from kgen.metrics.classifier_scores import DEFAULT_MIN_SHARE
from kgen.metrics.feature_statistics import FeatureStatistics
from kgen.metrics.features import check_images, named_extractor, real_statistics
from kgen.metrics.sample_quality import (
    CLASSIFIER_METRICS,
    FEATURE_METRICS,
    check_metrics,
    score_features,
)
from kgen.metrics.sources import GeneratorSource, ImageSource, image_source


def compare(
    generated,
    real,
    *,
    extractor: keras.Model | str | None = None,
    classifier: keras.Model | None = None,
    metrics: tuple[str, ...] | list[str] | None = None,
    num_samples: int = 10000,
    labels=None,
    seed: int = 0,
    image_shape: tuple[int, int, int] | None = None,
    batch_size: int = 256,
    kid_subsets: int = 100,
    kid_subset_size: int | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    verbose: int = 1,
) -> dict[str, float]:
    """Scores `generated` against `real`, each any kind of image source.

    Either side may be an image folder, a `.npy`/`.npz` array file, a
    `.keras` file or SavedModel of a kgen generative model (or the model
    itself), reference statistics (`.npz` with `mu` and `sigma`, or
    `FeatureStatistics`), or an array of images (see
    `kgen.metrics.image_source`). Images are read, generated and passed
    through the extractor `batch_size` at a time, with a progress bar: the
    extractor's features are summed into a running mean and covariance,
    and kept (`N x feature_dim` float32, not the images) only for the
    metrics that need them (KID, precision/recall, density/coverage). An
    in-memory `real` array's statistics are cached on disk like
    `kgen.metrics.real_statistics`'.

    Both sides are scored at one image shape: `image_shape`, else a
    generative model's, else the extractor's input, else the first image's.
    Folders are resized to it (PIL bicubic); arrays must have it.

    Args:
        generated, real: the two image sources.
        extractor: a `keras.Model` mapping images to features, or a name
            from `kgen.metrics.EXTRACTORS` (`"inception"`, `"fid_inception"`
            for FIDs comparable with published ones). Default: the last
            hidden layer of `classifier`.
        classifier, kid_subsets, kid_subset_size, min_share: as in
            `kgen.metrics.SampleQuality`.
        metrics: names from `kgen.metrics.METRICS`. Default: FID and KID
            (FID only where a side is statistics without features), plus
            class coverage with a classifier, plus conditional accuracy
            for a conditional model. Classifier metrics score `generated`.
        num_samples: images a generative model draws.
        labels: classes a conditional model draws, repeated (default: its
            classes in turn).
        seed: noise seed of generative models and of KID's subsets.
        image_shape: `(height, width, channels)` to score images at.
        batch_size: images per batch read, generated and extracted.
        cache_dir: where an in-memory real array's statistics are cached.
        verbose: 1 shows a progress bar per side, 0 nothing.

    Returns:
        A dict of floats, keyed as `SampleQuality.score`'s.

    Example:

    ```python
    scores = kgen.metrics.compare(
        "samples/", "fid_stats_cifar10_train.npz", extractor="fid_inception"
    )
    scores = kgen.metrics.compare(
        "runs/dcgan/dcgan.keras", held_out_digits, classifier=classifier,
        metrics=["fid", "precision_recall", "density_coverage"],
    )
    ```
    """
    metrics = check_metrics(metrics, classifier)
    if classifier is not None and not isinstance(classifier, keras.Model):
        raise ValueError(f"classifier must be a keras.Model, got {classifier!r}")
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    generated = image_source(
        generated, num_samples=num_samples, labels=labels, seed=seed
    )
    if not isinstance(real, np.ndarray):
        real = image_source(real, num_samples=num_samples, seed=seed)
    conditional = (
        isinstance(generated, GeneratorSource) and generated.labels is not None
    )
    names = metrics or _default_metrics(generated, real, classifier, conditional)
    _check_sides(names, generated, real, conditional)

    sources = [side for side in (generated, real) if isinstance(side, ImageSource)]
    shape = _image_shape(image_shape, sources, real, extractor, classifier)
    for source in sources:
        source.conform(shape)
    feature_model = None
    if any(name in FEATURE_METRICS for name in names) and (
        sources or isinstance(real, np.ndarray)
    ):
        feature_model = _feature_model(extractor, classifier, shape)
    keep = any(name in FEATURE_METRICS and name != "fid" for name in names)
    wants_logits = any(name in CLASSIFIER_METRICS for name in names)

    options = dict(batch_size=batch_size, verbose=verbose)
    logits = drawn = None
    if isinstance(generated, ImageSource):
        generated, logits, drawn = _stream(
            generated,
            feature_model,
            classifier if wants_logits else None,
            keep,
            **options,
        )
    if isinstance(real, np.ndarray):
        if feature_model is not None:
            real = real_statistics(
                real, feature_model, cache_dir=cache_dir, batch_size=batch_size
            )
    elif isinstance(real, ImageSource):
        real = _stream(real, feature_model, None, keep, **options)[0]
    return score_features(
        names,
        real=real,
        generated=generated,
        logits=logits,
        labels=drawn,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        min_share=min_share,
        seed=seed,
    )


def _default_metrics(generated, real, classifier, conditional):
    statistics_only = any(
        isinstance(side, FeatureStatistics) and side.features is None
        for side in (generated, real)
    )
    names = ("fid",) if statistics_only else ("fid", "kid")
    if classifier is not None and not isinstance(generated, FeatureStatistics):
        names += ("coverage", "accuracy") if conditional else ("coverage",)
    return names


def _check_sides(names, generated, real, conditional):
    classifier_names = [name for name in names if name in CLASSIFIER_METRICS]
    if classifier_names and isinstance(generated, FeatureStatistics):
        raise ValueError(
            f"The metrics {classifier_names} classify the generated images; "
            "statistics hold none"
        )
    if "accuracy" in names and not conditional:
        raise ValueError(
            "The 'accuracy' metric needs a conditional model's images (e.g. a "
            "cGAN's .keras file), drawn for known classes"
        )
    needing = [name for name in names if name in FEATURE_METRICS and name != "fid"]
    for side, which in ((generated, "generated"), (real, "real")):
        if needing and isinstance(side, FeatureStatistics) and side.features is None:
            raise ValueError(
                f"The {which} side is a mean and covariance only; the metrics "
                f"{needing} need features: pass images, or use metrics=['fid']"
            )


def _image_shape(image_shape, sources, real, extractor, classifier):
    if image_shape is not None:
        image_shape = tuple(int(size) for size in image_shape)
        if len(image_shape) != 3 or image_shape[2] not in (1, 3):
            raise ValueError(
                "image_shape must be (height, width, channels) with 1 or 3 "
                f"channels, got {image_shape!r}"
            )
        return image_shape
    for source in sources:
        if isinstance(source, GeneratorSource):
            return source.image_shape
    model = extractor if isinstance(extractor, keras.Model) else None
    if model is None and extractor is None:
        model = classifier
    if model is not None and model.inputs:
        fixed = tuple(model.inputs[0].shape[1:])
        if len(fixed) == 3 and None not in fixed:
            return fixed
    if isinstance(real, np.ndarray):
        return tuple(check_images(real[:2]).shape[1:])
    if sources:
        return sources[0].image_shape
    return None


def _feature_model(extractor, classifier, shape):
    if isinstance(extractor, keras.Model):
        return extractor
    if isinstance(extractor, str):
        return named_extractor(extractor, shape)
    if extractor is not None:
        raise ValueError(
            f"extractor must be a keras.Model or a name from "
            f"kgen.metrics.EXTRACTORS, got {extractor!r}"
        )
    if classifier is None:
        raise ValueError(
            "The feature metrics need a feature space: pass extractor= (a "
            "keras.Model or 'inception') or classifier= (its last hidden layer "
            "is used)"
        )
    return classifier_lib.feature_extractor(classifier)


def _stream(source, extractor, classifier, keep_features, *, batch_size, verbose):
    """`(statistics, logits, labels)` of a source, read `batch_size` images at a time."""
    moments = RunningMoments()
    kept, logits, labels = [], [], []
    progress = keras.utils.Progbar(source.count, unit_name="image") if verbose else None
    if progress is not None:
        print(f"{source.description}:")
    for images, batch_labels in source.batches(batch_size):
        tensor = ops.convert_to_tensor(images)
        if extractor is not None:
            features = _outputs(extractor, tensor, "extractor")
            moments.update(features)
            if keep_features:
                kept.append(features.astype(np.float32))
        if classifier is not None:
            logits.append(_outputs(classifier, tensor, "classifier"))
        if batch_labels is not None:
            labels.append(batch_labels)
        if progress is not None:
            progress.add(len(images))
    statistics = None
    if extractor is not None:
        statistics = moments.statistics(np.concatenate(kept) if keep_features else None)
    return (
        statistics,
        np.concatenate(logits) if logits else None,
        np.concatenate(labels) if labels else None,
    )


def _outputs(model, images, role):
    output = ops.convert_to_numpy(model(images, training=False))
    output = output.reshape(len(output), -1)
    if not np.all(np.isfinite(output)):
        raise ValueError(f"The {role} {model.name!r} returned NaN or inf")
    return output


class RunningMoments:
    """Mean and covariance of features that arrive in batches, in float64.

    Batches are merged with Chan et al.'s pairwise update (the batch's own
    mean and centred scatter, then the correction for the two means), which
    keeps the precision of a two-pass computation: memory is `feature_dim^2`
    whatever the number of images.

    Example:

    ```python
    moments = kgen.metrics.RunningMoments()
    for batch in batches:
        moments.update(batch)
    statistics = moments.statistics()
    ```
    """

    def __init__(self):
        self.count = 0
        self.mean = None
        self.scatter = None

    def update(self, features) -> None:
        features = np.asarray(features, dtype=np.float64)
        count = len(features)
        if count == 0:
            return
        mean = features.mean(axis=0)
        centred = features - mean
        scatter = centred.T @ centred
        if self.count == 0:
            self.count, self.mean, self.scatter = count, mean, scatter
            return
        total = self.count + count
        delta = mean - self.mean
        self.scatter += scatter + np.outer(delta, delta) * (self.count * count / total)
        self.mean = self.mean + delta * (count / total)
        self.count = total

    def statistics(self, features=None) -> FeatureStatistics:
        """`FeatureStatistics` with the unbiased covariance; `features` kept if given."""
        if self.count < 2:
            raise ValueError(f"Statistics need at least 2 images, got {self.count}")
        return FeatureStatistics(
            features=features,
            mean=self.mean,
            covariance=self.scatter / (self.count - 1),
        )
