"""`SampleQuality`: scores generated images against one fixed real set."""

import os

import keras
import numpy as np

from kgen import classifier as classifier_lib
from kgen.cache import DEFAULT_CACHE_DIR
from kgen.metrics.classifier_scores import (
    DEFAULT_MIN_SHARE,
    class_coverage,
    classifier_accuracy,
)
from kgen.metrics.distances import frechet_distance, kernel_distance
from kgen.metrics.feature_statistics import FeatureStatistics
from kgen.metrics.features import (
    check_images,
    extract_features,
    inception_feature_extractor,
    real_statistics,
)

# What `metrics=` may name, and the keys each adds to the results.
METRICS = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "coverage": ("class_coverage", "class_evenness"),
    "accuracy": ("conditional_accuracy",),
}
_CLASSIFIER_METRICS = ("coverage", "accuracy")


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
      labels they were generated for (needs a classifier and labels).

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
        metrics: names from `"fid"`, `"kid"`, `"coverage"`, `"accuracy"`.
            Default: FID and KID, plus coverage with a classifier, plus
            accuracy with a classifier whenever labels are given.
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
        if metrics is not None:
            if isinstance(metrics, str):
                metrics = (metrics,)
            metrics = tuple(metrics)
            unknown = [name for name in metrics if name not in METRICS]
            if unknown or not metrics:
                raise ValueError(
                    f"metrics must name some of {tuple(METRICS)}, got {metrics!r}"
                )
            needing = [name for name in metrics if name in _CLASSIFIER_METRICS]
            if needing and classifier is None:
                raise ValueError(
                    f"The metrics {needing} need a classifier=, e.g. "
                    "kgen.classifier.dataset_classifier()"
                )
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
        images = check_images(images)
        results = {}
        if self._distances(names):
            generated = FeatureStatistics.from_features(
                extract_features(self.feature_model, images, batch_size=self.batch_size)
            )
            if "fid" in names:
                results["fid"] = frechet_distance(self.real_statistics, generated)
            if "kid" in names:
                results["kid"], results["kid_std"] = kernel_distance(
                    self.real_statistics,
                    generated,
                    num_subsets=self.kid_subsets,
                    subset_size=self.kid_subset_size,
                    seed=self.seed,
                )
        if "coverage" in names:
            covered, evenness = class_coverage(
                self.classifier,
                images,
                min_share=self.min_share,
                batch_size=self.batch_size,
            )
            results["class_coverage"] = float(covered)
            results["class_evenness"] = evenness
        if "accuracy" in names:
            results["conditional_accuracy"] = classifier_accuracy(
                self.classifier, images, labels, batch_size=self.batch_size
            )
        return results

    def score_model(
        self, model: keras.Model, num_samples: int = 1000, *, seed: int = 0
    ) -> dict[str, float]:
        """Generates `num_samples` images with `seed` and scores them.

        A conditional model (one with `num_classes`) draws the classes in
        turn (0, 1, ..., 0, 1, ...), and its accuracy is scored against them.
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
            return self.score(model.generate(num_samples, seed=seed))
        labels = np.arange(num_samples) % num_classes
        images = model.generate(num_samples, labels=labels, seed=seed)
        return self.score(images, labels)

    def _distances(self, names=None) -> bool:
        names = self._selected(conditional=False) if names is None else names
        return "fid" in names or "kid" in names
