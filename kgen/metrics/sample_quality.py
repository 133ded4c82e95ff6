"""`SampleQuality`: scores generated images against one fixed real set."""

import os

import keras
import numpy as np

from kgen import classifier as classifier_lib
from kgen import distributed
from kgen.cache import DEFAULT_CACHE_DIR
from kgen.metrics.classifier_scores import (
    DEFAULT_MIN_SHARE,
    predict_logits,
    predicted_class_coverage,
)
from kgen.metrics.distances import frechet_distance, kernel_distance
from kgen.metrics.feature_statistics import FeatureStatistics
from kgen.metrics.features import (
    check_images,
    extract_features,
    inception_feature_extractor,
    real_statistics,
)
from kgen.metrics.inception_score import DEFAULT_SPLITS, inception_score
from kgen.metrics.nearest_neighbors import density_coverage, precision_recall
from kgen.models.generative_model import latent_vectors

# What `metrics=` may name, and the keys each adds to the results.
METRICS = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "coverage": ("class_coverage", "class_evenness"),
    "accuracy": ("conditional_accuracy",),
    "inception_score": ("inception_score", "inception_score_std"),
    "precision_recall": ("precision", "recall"),
    "density_coverage": ("density", "coverage"),
}
# The metrics computed from the classifier's outputs, and from features.
CLASSIFIER_METRICS = ("coverage", "accuracy", "inception_score")
FEATURE_METRICS = ("fid", "kid", "precision_recall", "density_coverage")


def check_metrics(metrics, classifier) -> tuple[str, ...] | None:
    """`metrics` as a tuple of names from `METRICS` (None stays None), or raises."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [name for name in metrics if name not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"metrics must name some of {tuple(METRICS)}, got {metrics!r}")
    needing = [name for name in metrics if name in CLASSIFIER_METRICS]
    if needing and classifier is None:
        raise ValueError(
            f"The metrics {needing} need a classifier=, e.g. "
            "kgen.classifier.dataset_classifier()"
        )
    return metrics


def score_features(
    names,
    *,
    real=None,
    generated=None,
    logits=None,
    labels=None,
    kid_subsets: int = 100,
    kid_subset_size: int | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    seed: int = 0,
) -> dict[str, float]:
    """The scores `names` (from `METRICS`) of features and logits already computed.

    What `SampleQuality.score` and `kgen.metrics.compare` share. `real` and
    `generated` are `FeatureStatistics` (features are needed by all but
    FID); `logits` the classifier's outputs for the generated images, and
    `labels` the classes they were generated for. The Inception Score uses
    10 splits, or one per image for fewer than 10 images.
    """
    results = {}
    if "fid" in names:
        results["fid"] = frechet_distance(real, generated)
    if "kid" in names:
        results["kid"], results["kid_std"] = kernel_distance(
            real,
            generated,
            num_subsets=kid_subsets,
            subset_size=kid_subset_size,
            seed=seed,
        )
    if "precision_recall" in names:
        results["precision"], results["recall"] = precision_recall(real, generated)
    if "density_coverage" in names:
        results["density"], results["coverage"] = density_coverage(real, generated)
    if "inception_score" in names:
        splits = min(DEFAULT_SPLITS, len(logits))
        results["inception_score"], results["inception_score_std"] = inception_score(
            logits, splits=splits
        )
    if "coverage" in names:
        covered, evenness = predicted_class_coverage(
            logits.argmax(axis=-1), num_classes=logits.shape[-1], min_share=min_share
        )
        results["class_coverage"] = float(covered)
        results["class_evenness"] = evenness
    if "accuracy" in names:
        labels = np.asarray(labels)
        if labels.shape != (len(logits),) or not np.issubdtype(
            labels.dtype, np.integer
        ):
            raise ValueError(
                f"labels must be {len(logits)} integers, one per image, got "
                f"{labels.dtype} of shape {labels.shape}"
            )
        results["conditional_accuracy"] = float(
            np.mean(logits.argmax(axis=-1) == labels)
        )
    return results


def worker_rows(num_samples: int) -> np.ndarray:
    """This worker's share of `num_samples` rows: contiguous, equal in size.

    Worker `i` of `N` takes rows `i * s` to `(i + 1) * s` with
    `s = ceil(num_samples / N)`; rows past the end repeat the last row, so
    that every share has `s` rows (keep the first `num_samples` after
    gathering them in worker order).
    """
    workers, index = distributed.cluster()
    share = -(-num_samples // workers)
    return np.minimum(np.arange(index * share, (index + 1) * share), num_samples - 1)


class SampleQuality:
    """FID, KID and classifier scores of generated images against real ones.

    The real images' features are extracted once (and cached on disk by
    `kgen.metrics.real_statistics`); each `score()` then extracts the
    generated images' features and returns a dict of floats:

    - `"fid"`: `frechet_distance` (lower is better; biased upward for small
      sets, so compare scores of equally many images);
    - `"kid"`, `"kid_std"`: `kernel_distance` (unbiased, ~0 for samples of the
      real distribution);
    - `"class_coverage"`, `"class_evenness"`: `class_coverage` (needs a
      classifier);
    - `"conditional_accuracy"`: `classifier_accuracy` of images against the
      labels they were generated for (needs a classifier and labels);
    - on request (`metrics=`): `"inception_score"`, `"inception_score_std"`
      (`inception_score` of the classifier's logits), `"precision"`,
      `"recall"` (`precision_recall`, k=3) and `"density"`, `"coverage"`
      (`density_coverage`, k=5), in the extractor's feature space.

    Args:
        real_images: real images `(N, height, width, channels)` in [-1, 1],
            e.g. held-out digits; at least 4.
        extractor: the feature space of FID and KID: a `keras.Model` mapping
            images to features, or `"inception"` for
            `inception_feature_extractor()` (ImageNet weights, downloaded
            once). Default: the last hidden layer of `classifier`.
        classifier: a `keras.Model` mapping images to class logits, e.g.
            `kgen.classifier.dataset_classifier()`; needed for coverage and
            accuracy, and for the default extractor.
        metrics: names from `METRICS`: `"fid"`, `"kid"`, `"coverage"`,
            `"accuracy"`, `"inception_score"`, `"precision_recall"`,
            `"density_coverage"`. Default: FID and KID, plus coverage with a
            classifier, plus accuracy with a classifier whenever labels are
            given.
        batch_size: images per forward pass of the extractor and classifier.
        kid_subsets, kid_subset_size: `num_subsets` and `subset_size` of
            `kernel_distance`.
        min_share: `class_coverage`'s threshold.
        seed: seed of KID's subsets.
        cache_dir: where real-set statistics are cached (None: not cached).

    Example:

    ```python
    classifier = kgen.classifier.dataset_classifier("glyphs")
    real, _ = kgen.data.glyphs(1000, seed=1)
    quality = kgen.metrics.SampleQuality(
        real[..., None] / 127.5 - 1, classifier=classifier
    )
    quality.score_model(gan, num_samples=1000)
    # {"fid": 12.3, "kid": 0.021, "kid_std": 0.002, "class_coverage": 10, ...}
    ```
    """

    def __init__(
        self,
        real_images,
        *,
        extractor: keras.Model | str | None = None,
        classifier: keras.Model | None = None,
        metrics: tuple[str, ...] | list[str] | None = None,
        batch_size: int = 256,
        kid_subsets: int = 100,
        kid_subset_size: int | None = None,
        min_share: float = DEFAULT_MIN_SHARE,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    ):
        if classifier is not None and not isinstance(classifier, keras.Model):
            raise ValueError(f"classifier must be a keras.Model, got {classifier!r}")
        metrics = check_metrics(metrics, classifier)
        if not (
            extractor is None
            or isinstance(extractor, keras.Model)
            or (isinstance(extractor, str) and extractor == "inception")
        ):
            raise ValueError(
                f"extractor must be a keras.Model or 'inception', got {extractor!r}"
            )
        self.real_images = check_images(real_images)
        self.extractor = extractor
        self.classifier = classifier
        self.metrics = metrics
        self.batch_size = batch_size
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.min_share = min_share
        self.seed = seed
        self.cache_dir = cache_dir
        if self._distances() and extractor is None and classifier is None:
            raise ValueError(
                "FID and KID need a feature space: pass extractor= (a keras.Model "
                "or 'inception') or classifier= (its last hidden layer is used)"
            )
        self._feature_model = None
        self._real_statistics = None

    @property
    def feature_model(self) -> keras.Model:
        """The extractor of FID and KID, built on first use."""
        if self._feature_model is None:
            if isinstance(self.extractor, keras.Model):
                self._feature_model = self.extractor
            elif self.extractor == "inception":
                self._feature_model = inception_feature_extractor(
                    self.real_images.shape[1:]
                )
            else:
                self._feature_model = classifier_lib.feature_extractor(self.classifier)
        return self._feature_model

    @property
    def real_statistics(self) -> FeatureStatistics:
        """The real images' `FeatureStatistics`, computed (or loaded) once."""
        if self._real_statistics is None:
            self._real_statistics = real_statistics(
                self.real_images,
                self.feature_model,
                cache_dir=self.cache_dir,
                batch_size=self.batch_size,
            )
        return self._real_statistics

    def prepare(self) -> None:
        """Builds the extractor and computes (or loads) the real statistics now.

        `score` does it on first use otherwise; `kgen.callbacks.Evaluate`
        calls it when training begins.
        """
        if self._distances():
            self.real_statistics  # noqa: B018

    def _selected(self, conditional: bool) -> tuple[str, ...]:
        """The metrics `score` computes, with (`conditional`) or without labels."""
        if self.metrics is not None:
            return self.metrics
        names = ("fid", "kid")
        if self.classifier is not None:
            names += ("coverage", "accuracy") if conditional else ("coverage",)
        return names

    def score(self, images, labels=None) -> dict[str, float]:
        """Scores `images` in [-1, 1]; `labels`: the classes they were drawn for.

        Example:

        ```python
        quality.score(generated)  # {"fid": ..., "kid": ..., "kid_std": ...}
        ```
        """
        names = self._selected(conditional=labels is not None)
        if "accuracy" in names and labels is None:
            raise ValueError(
                "The 'accuracy' metric needs the labels the images were "
                "generated for: score(images, labels)"
            )
        features, logits = self._outputs(images, names)
        return self._score(names, features, logits, labels)

    def _outputs(self, images, names):
        """The generated images' features and logits that `names` need (else None)."""
        images = check_images(images)
        features = logits = None
        if self._distances(names):
            features = extract_features(
                self.feature_model, images, batch_size=self.batch_size
            )
        if any(name in CLASSIFIER_METRICS for name in names):
            logits = predict_logits(self.classifier, images, batch_size=self.batch_size)
        return features, logits

    def _score(self, names, features, logits, labels):
        real = generated = None
        if features is not None:
            real = self.real_statistics
            generated = FeatureStatistics.from_features(features)
        return score_features(
            names,
            real=real,
            generated=generated,
            logits=logits,
            labels=labels,
            kid_subsets=self.kid_subsets,
            kid_subset_size=self.kid_subset_size,
            min_share=self.min_share,
            seed=self.seed,
        )

    def score_model(
        self,
        model: keras.Model,
        num_samples: int = 1000,
        *,
        seed: int = 0,
        sharded: bool = False,
    ) -> dict[str, float]:
        """Generates `num_samples` images with `seed` and scores them.

        A conditional model (one with `num_classes`) draws the classes in
        turn (0, 1, ..., 0, 1, ...), and its accuracy is scored against them.

        With `sharded=True`, under several workers (`kgen.distributed`), each
        worker generates and extracts only its contiguous share of the rows
        of the same latent batch (the last share padded to equal size), and
        the features and logits are gathered in worker order: every worker
        scores the images one process would, at 1/N of the cost. Every
        worker must then call it, as `kgen.callbacks.Evaluate` does. The
        model needs `latent_dim` (kgen's generative models have it).
        """
        if not isinstance(num_samples, int) or num_samples < 4:
            raise ValueError(
                f"num_samples must be an integer >= 4, got {num_samples!r}"
            )
        num_classes = getattr(model, "num_classes", None)
        if num_classes is None:
            if self.metrics is not None and "accuracy" in self.metrics:
                raise ValueError(
                    f"The 'accuracy' metric needs a conditional model (one with "
                    f"num_classes); {type(model).__name__} is unconditional"
                )
            labels = None
        else:
            labels = np.arange(num_samples) % num_classes
        if not sharded or distributed.num_workers() == 1:
            if labels is None:
                return self.score(model.generate(num_samples, seed=seed))
            images = model.generate(num_samples, labels=labels, seed=seed)
            return self.score(images, labels)
        rows = worker_rows(num_samples)
        z = latent_vectors(model.latent_dim, num_samples, seed=seed)
        z = keras.ops.convert_to_numpy(z)[rows]
        if labels is None:
            images = model.generate(z=z)
        else:
            images = model.generate(z=z, labels=labels[rows])
        names = self._selected(conditional=labels is not None)
        outputs = self._outputs(images, names)
        features, logits = (
            None if output is None else distributed.all_gather(output)[:num_samples]
            for output in outputs
        )
        return self._score(names, features, logits, labels)

    def _distances(self, names=None) -> bool:
        names = self._selected(conditional=False) if names is None else names
        return any(name in FEATURE_METRICS for name in names)
