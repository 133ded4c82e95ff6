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

    Reference statistics of pytorch-fid and clean-fid (`.npz` files holding
    `mu` and `sigma`) are read with `load_npz` and written with `save_npz`;
    they hold no features (`features` is None), so they serve FID but not KID.

    Example:

    ```python
    statistics = kgen.metrics.FeatureStatistics.from_features(features)
    statistics.mean.shape, statistics.covariance.shape  # (d,), (d, d)
    statistics.save("real.npz")
    statistics = kgen.metrics.FeatureStatistics.load("real.npz")
    statistics.save_npz("real_mu_sigma.npz")  # for pytorch-fid / clean-fid
    reference = kgen.metrics.FeatureStatistics.load_npz("cifar10_clean.npz")
    ```
    """

    features: np.ndarray | None
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
    def from_moments(cls, mean, covariance) -> "FeatureStatistics":
        """Statistics of a mean `(d,)` and covariance `(d, d)`, without features."""
        mean, covariance = _check_moments(mean, covariance)
        return cls(features=None, mean=mean, covariance=covariance)

    @classmethod
    def of(cls, value, name: str = "features") -> "FeatureStatistics":
        """`value` itself if it is `FeatureStatistics`, else its statistics."""
        if isinstance(value, cls):
            return value
        return cls.from_features(as_features(value, name))

    def save(self, path: str | os.PathLike) -> Path:
        """Writes an `.npz` file atomically (temporary file, then `os.replace`)."""
        path = Path(path)
        arrays = {"mean": self.mean, "covariance": self.covariance}
        if self.features is not None:
            arrays["features"] = self.features
        # The temporary name keeps ".npz", which np.savez would otherwise add.
        with saving.atomic_path(path) as partial:
            np.savez(partial, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FeatureStatistics":
        """Reads a file written by `save`."""
        with np.load(path) as stored:
            return cls(
                features=stored["features"] if "features" in stored.files else None,
                mean=stored["mean"],
                covariance=stored["covariance"],
            )

    def save_npz(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Writes `mu` and `sigma` as pytorch-fid and clean-fid read them.

        pytorch-fid (`--save-stats`, and as the second path of its command)
        and clean-fid (custom reference statistics) keep the mean and the
        unbiased covariance of the Inception features in an `.npz` file under
        `mu` and `sigma`. The file is written whole or not at all
        (`kgen.saving.atomic_path`), under exactly the name given.

        Raises:
            FileExistsError: if `path` exists and `overwrite` is False.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it")
        with saving.atomic_path(path) as partial, open(partial, "wb") as file:
            # Through a file object, np.savez adds no ".npz" to the name.
            np.savez(file, mu=self.mean, sigma=self.covariance)
        return path

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> "FeatureStatistics":
        """Reads reference statistics: `mu` and `sigma` from an `.npz` file.

        Reads the files of pytorch-fid (`--save-stats`) and clean-fid
        (reference statistics), and those of `save_npz`; also kgen's own
        (`save`, with `mean` and `covariance`). The statistics have no
        features unless the file has them. Compare only statistics of the
        same extractor and conventions (`fid_inception_extractor`'s `mode`).

        Raises:
            FileNotFoundError: if there is no such file.
            ValueError: if it is no readable `.npz` file, or lacks `mu` and
                `sigma`, or they are not finite of shapes `(d,)` and `(d, d)`.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No such statistics file: '{path}'")
        try:
            arrays = read_npz(path)
        except Exception as error:
            raise ValueError(
                f"'{path}' is not a readable .npz file ({type(error).__name__}: "
                f"{error}); it may be truncated"
            ) from error
        if "mu" in arrays and "sigma" in arrays:
            mean, covariance = arrays["mu"], arrays["sigma"]
        elif "mean" in arrays and "covariance" in arrays:
            mean, covariance = arrays["mean"], arrays["covariance"]
        else:
            raise ValueError(
                f"'{path}' holds no 'mu' and 'sigma' arrays (it has "
                f"{sorted(arrays) or 'none'}); reference statistics of pytorch-fid "
                "and clean-fid have both"
            )
        try:
            mean, covariance = _check_moments(mean, covariance)
        except ValueError as error:
            raise ValueError(f"'{path}': {error}") from None
        features = arrays.get("features")
        if features is not None and (
            features.ndim != 2 or features.shape[1] != mean.shape[0]
        ):
            features = None
        return cls(features=features, mean=mean, covariance=covariance)


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


def _check_moments(mean, covariance) -> tuple[np.ndarray, np.ndarray]:
    """`mean` `(d,)` and `covariance` `(d, d)` as finite float64 arrays, or raises."""
    mean, covariance = np.asarray(mean), np.asarray(covariance)
    if not (
        np.issubdtype(mean.dtype, np.number)
        and np.issubdtype(covariance.dtype, np.number)
    ):
        raise ValueError(
            f"mu and sigma must be numeric, got dtypes {mean.dtype} and "
            f"{covariance.dtype}"
        )
    if mean.ndim != 1 or covariance.shape != (mean.shape[0], mean.shape[0]):
        raise ValueError(
            "mu must have shape (d,) and sigma (d, d), got "
            f"{mean.shape} and {covariance.shape}"
        )
    mean, covariance = mean.astype(np.float64), covariance.astype(np.float64)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(covariance))):
        raise ValueError("mu and sigma contain NaN or infinite values")
    return mean, covariance


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All arrays of an `.npz` file, read without pickles; the file is closed after.

    Raises:
        ValueError: if the file is a single `.npy` array, not an `.npz`.
    """
    # np.load(path) leaves the file open when it is no zip file; our own
    # handle is closed whatever happens.
    with open(path, "rb") as file:
        stored = np.load(file, allow_pickle=False)
        if not isinstance(stored, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array (.npy), not named arrays")
        with stored:
            return {key: stored[key] for key in stored.files}
