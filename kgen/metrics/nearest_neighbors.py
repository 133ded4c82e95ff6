"""Metrics of k-nearest-neighbour balls: precision, recall, density and coverage.

Each feature set is modelled as the union of balls around its features, each
ball reaching to that feature's k-th nearest neighbour in the same set (the
feature itself not counted). Precision asks how many generated features fall
in the real set's balls (fidelity), recall the converse (diversity);
density and coverage (Naeem et al. 2020) are the versions that outliers of
the real set sway less.

Distances are Euclidean, in float64 NumPy, and computed in blocks of rows:
no more than about `BLOCK_ELEMENTS` distances are held at once (128 MiB),
so 50,000 x 50,000 features need no 20 GB matrix.
"""

import numpy as np

from kgen.metrics.feature_statistics import FeatureStatistics, as_features

# About this many float64 distances (128 MiB) are computed per block of rows.
BLOCK_ELEMENTS = 2**24
# Kynkäänniemi et al. 2019 and torch-fidelity use k = 3; Naeem et al. 2020 k = 5.
PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5


def precision_recall(
    real, generated, *, k: int = PRECISION_RECALL_K
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    - precision: the fraction of generated features within distance `r` of
      some real feature, where `r` is that real feature's distance to its
      k-th nearest real neighbour;
    - recall: the fraction of real features within the same kind of ball
      around some generated feature.

    A point on a ball's edge counts as inside (`<=`), as in the authors' code
    and torch-fidelity. Both are in [0, 1]; 1 and 1 for two samples of one
    distribution, given enough of each.

    Args:
        real, generated: features `(num_images, feature_dim)`, or
            `FeatureStatistics` that keep their features; more than `k` each.
        k: the neighbour that sets each ball's radius.

    Returns:
        `(precision, recall)`.

    Example:

    ```python
    precision, recall = kgen.metrics.precision_recall(real_features, generated_features)
    ```
    """
    x, y = _feature_pair(real, generated, k)
    real_radii = kth_neighbor_distances(x, k, squared=True)
    generated_radii = kth_neighbor_distances(y, k, squared=True)
    generated_inside = np.zeros(len(y), dtype=bool)
    real_inside = np.empty(len(x), dtype=bool)
    for rows, distances in squared_distance_blocks(x, y):
        generated_inside |= (distances <= real_radii[rows, None]).any(axis=0)
        real_inside[rows] = (distances <= generated_radii[None, :]).any(axis=1)
    return float(generated_inside.mean()), float(real_inside.mean())


def density_coverage(
    real, generated, *, k: int = DENSITY_COVERAGE_K
) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020), from the real set's balls only.

    - density: how many real balls (radius: the distance to the k-th nearest
      real neighbour) contain each generated feature, averaged and divided
      by `k`: about 1 for samples of the real distribution, above 1 where
      samples crowd into dense real regions; unbounded;
    - coverage: the fraction of real balls that contain at least one
      generated feature, in [0, 1]; 1 for identical sets.

    A point on a ball's edge counts as outside (`<`), as in the authors'
    `prdc` code, so that identical sets score a density of exactly 1 (each
    ball holds its centre and k - 1 neighbours).

    Args:
        real, generated: features `(num_images, feature_dim)`, or
            `FeatureStatistics` that keep their features; more than `k` real.
        k: the neighbour that sets each ball's radius.

    Returns:
        `(density, coverage)`.

    Example:

    ```python
    density, coverage = kgen.metrics.density_coverage(real_features, generated_features)
    ```
    """
    x, y = _feature_pair(real, generated, k)
    real_radii = kth_neighbor_distances(x, k, squared=True)
    counts = np.zeros(len(y))
    covered = np.empty(len(x), dtype=bool)
    for rows, distances in squared_distance_blocks(x, y):
        inside = distances < real_radii[rows, None]
        counts += inside.sum(axis=0)
        covered[rows] = inside.any(axis=1)
    return float(counts.mean() / k), float(covered.mean())


def kth_neighbor_distances(features, k: int, *, squared: bool = False) -> np.ndarray:
    """Each feature's distance to its k-th nearest neighbour in the same set.

    The feature itself is not counted (its distance, 0, is the 0-th). Rows
    are processed in blocks, so memory stays bounded for large sets.

    Example:

    ```python
    radii = kgen.metrics.kth_neighbor_distances(features, 3)  # (num_images,)
    ```
    """
    features = np.asarray(features, dtype=np.float64)
    _check_k(k, len(features), "features")
    radii = np.empty(len(features))
    for rows, distances in squared_distance_blocks(features, features):
        # The distance of a feature to itself is 0, not the rounding error
        # of the block's arithmetic.
        distances[np.arange(len(distances)), np.arange(rows.start, rows.stop)] = 0.0
        radii[rows] = np.partition(distances, k, axis=1)[:, k]
    return radii if squared else np.sqrt(radii)


def squared_distance_blocks(a, b, *, block_rows: int | None = None):
    """Yields `(rows, distances)`: squared Euclidean distances of rows of `a` to all of `b`.

    `distances[i, j]` is `|a[rows][i] - b[j]|^2` in float64, from
    `|a|^2 + |b|^2 - 2 a.b` (clipped at 0). A block has `block_rows` rows,
    by default as many as keep it near `BLOCK_ELEMENTS` values.
    """
    a, b = (np.asarray(value, dtype=np.float64) for value in (a, b))
    if block_rows is None:
        block_rows = max(1, BLOCK_ELEMENTS // max(1, len(b)))
    b_norms = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), block_rows):
        # A copy, so that NumPy never sees `a @ a.T` and switches to SYRK, whose
        # rounding differs from GEMM's: the radii of a set and its distances to
        # an identical set must agree to the last bit.
        block = a[start : start + block_rows].copy()
        distances = block @ b.T
        distances *= -2.0
        distances += np.einsum("ij,ij->i", block, block)[:, None]
        distances += b_norms[None, :]
        np.maximum(distances, 0.0, out=distances)
        yield slice(start, start + len(block)), distances


def _feature_pair(real, generated, k):
    x, y = _features(real, "real"), _features(generated, "generated")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"The two feature sets differ in size: {x.shape[1]} and {y.shape[1]} "
            "features per image; use one extractor for both"
        )
    _check_k(k, len(x), "real")
    _check_k(k, len(y), "generated")
    return x, y


def _features(value, name):
    if isinstance(value, FeatureStatistics):
        value = value.features
        if value is None:
            raise ValueError(
                f"The {name} statistics hold a mean and covariance only (e.g. a "
                "reference .npz); nearest-neighbour metrics need the features"
            )
    return as_features(value, name).astype(np.float64)


def _check_k(k, count, name):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if count <= k:
        raise ValueError(
            f"With k={k}, each set needs more than {k} features; {name} has {count}"
        )
