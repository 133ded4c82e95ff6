"""`FeatureStatistics`: the features of an image set with their mean and covariance."""

import dataclasses
import os
from pathlib import Path

import numpy as np

from kgen import saving


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
    """Features `(num_images, feature_dim)` of one image set and their moments.

    FID needs the mean and covariance, KID the features themselves; both are
    kept so that one cached file serves both. Moments are float64; features
    are stored as float32, the precision extractors compute them in.

    Example:

    ```python
    statistics = kgen.metrics.FeatureStatistics.from_features(features)
    statistics.mean.shape, statistics.covariance.shape  # (d,), (d, d)
    statistics.save("real.npz")
    statistics = kgen.metrics.FeatureStatistics.load("real.npz")
    ```
    """

    features: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray

    @classmethod
    def from_features(cls, features) -> "FeatureStatistics":
        """Computes the mean and unbiased covariance of `features` in float64."""
        features = as_features(features)
        as_float64 = features.astype(np.float64)
        return cls(
            features=features.astype(np.float32),
            mean=as_float64.mean(axis=0),
            covariance=np.atleast_2d(np.cov(as_float64, rowvar=False)),
        )

    @classmethod
    def of(cls, value, name: str = "features") -> "FeatureStatistics":
        """`value` itself if it is `FeatureStatistics`, else its statistics."""
        if isinstance(value, cls):
            return value
        return cls.from_features(as_features(value, name))

    def save(self, path: str | os.PathLike) -> Path:
        """Writes an `.npz` file atomically (temporary file, then `os.replace`)."""
        path = Path(path)
        # The temporary name keeps ".npz", which np.savez would otherwise add.
        with saving.atomic_path(path) as partial:
            np.savez(
                partial,
                features=self.features,
                mean=self.mean,
                covariance=self.covariance,
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FeatureStatistics":
        with np.load(path) as stored:
            return cls(
                features=stored["features"],
                mean=stored["mean"],
                covariance=stored["covariance"],
            )


def as_features(value, name: str = "features") -> np.ndarray:
    """`value` as a finite 2-D array `(num_images, feature_dim)` of at least 2 rows."""
    features = np.asarray(value)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(
            f"{name} must have shape (num_images, feature_dim) with at least 2 "
            f"images, got {features.shape}"
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{name} contain NaN or infinite values")
    return features
