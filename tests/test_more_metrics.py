"""Inception Score, precision/recall and density/coverage against independent code.

The Inception Score and precision/recall are compared with torch-fidelity's
own functions on the same logits and features; density and coverage with a
brute-force transcription of the authors' `prdc` formulas, and with the
published behaviour on sets whose answer is known.

These metrics are NumPy, whatever the Keras backend, so the tests run once:
on the PyTorch backend, whose process imports torch (torch-fidelity's
framework) anyway.
"""

import ast
import importlib
import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest
import scipy.spatial.distance

from kgen import metrics
from kgen.metrics import nearest_neighbors

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="NumPy metrics: checked once, on the PyTorch backend",
)


def torch_fidelity(module: str, *names: str):
    """Functions of `torch_fidelity.<module>`, the installed package's own code.

    torch-fidelity's `__init__` imports torchvision, which fails where the
    installed torchvision does not match torch (PyPI's CUDA build beside a
    CPU torch); the functions are then compiled from the installed source
    file itself, so the code under comparison is still torch-fidelity's.
    """
    torch = pytest.importorskip("torch")
    spec = importlib.util.find_spec("torch_fidelity")
    if spec is None:
        pytest.skip("torch-fidelity is not installed (pip install -e '.[test]')")
    try:
        module_object = importlib.import_module(f"torch_fidelity.{module}")
        return [getattr(module_object, name) for name in names]
    except Exception:
        path = Path(spec.submodule_search_locations[0], f"{module}.py")
        tree = ast.parse(path.read_text())
        # The functions asked for, and the module's constants they read.
        body = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            or (isinstance(node, ast.FunctionDef) and node.name in names)
        ]
        namespace = {"np": np, "torch": torch}
        exec(
            compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"),
            namespace,
        )
        return [namespace[name] for name in names]


def random_logits(count=53, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    # Confident rows, leaning towards a few classes, like a trained classifier's.
    return rng.normal(size=(count, classes)) * 3 + np.arange(classes) * 0.3


def test_inception_score_matches_torch_fidelity():
    import torch

    (reference,) = torch_fidelity("metric_isc", "isc_features_to_metric")
    logits = random_logits()
    for splits in (10, 3, 1):
        for seed, shuffle in ((None, False), (2020, True), (7, True)):
            expected = reference(
                torch.from_numpy(logits).float(),
                splits=splits,
                shuffle=shuffle,
                rng_seed=seed or 0,
            )
            # torch-fidelity takes float32 features and computes in float64.
            score, spread = metrics.inception_score(
                logits.astype(np.float32), splits=splits, seed=seed
            )
            np.testing.assert_allclose(
                (score, spread),
                (expected["inception_score_mean"], expected["inception_score_std"]),
                rtol=1e-10,
                atol=1e-12,
            )


def test_inception_score_of_known_predictions():
    logits = random_logits(40)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        metrics.inception_score(probabilities, from_logits=False, splits=4),
        metrics.inception_score(logits, splits=4),
        rtol=1e-12,
    )
    # Uninformative predictions score 1; one sure class each, all classes
    # equally often, score the number of classes, exactly, with no spread.
    assert metrics.inception_score(np.zeros((20, 5)), splits=2) == pytest.approx(
        (1.0, 0.0), abs=1e-12
    )
    one_hot = np.eye(5)[np.arange(20) % 5]
    score, spread = metrics.inception_score(one_hot, from_logits=False, splits=4)
    assert score == pytest.approx(5.0, abs=1e-12) and spread < 1e-12


def test_inception_score_refuses_bad_input():
    with pytest.raises(ValueError, match="num_classes"):
        metrics.inception_score(np.zeros(10))
    with pytest.raises(ValueError, match="splits must be an integer from 1 to 4"):
        metrics.inception_score(np.zeros((4, 3)), splits=5)
    with pytest.raises(ValueError, match="probabilities"):
        metrics.inception_score(np.ones((4, 3)), from_logits=False, splits=2)
    with pytest.raises(ValueError, match="NaN"):
        metrics.inception_score(np.full((4, 3), np.nan))


def feature_sets(seed=0):
    """Overlapping but different real and generated features, with a few outliers."""
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(41, 6))
    generated = rng.normal(size=(37, 6)) * 0.8 + 0.6
    generated[:3] += 8
    return real, generated


def test_precision_recall_matches_torch_fidelity(monkeypatch):
    import torch

    full, part = torch_fidelity(
        "metric_prc",
        "calculate_precision_recall_full",
        "calculate_precision_recall_part",
        "calc_cdist_full",
        "calc_cdist_part",
    )[:2]
    for seed in range(3):
        real, generated = feature_sets(seed)
        # torch-fidelity's convention: features_1 generated, features_2 real.
        as_tensors = (torch.from_numpy(generated), torch.from_numpy(real))
        expected = full(*as_tensors, neighborhood=3, batch_size=16)
        assert part(*as_tensors, neighborhood=3, batch_size=16) == expected
        assert 0 < expected[0] < 1 and 0 < expected[1] < 1
        assert metrics.precision_recall(real, generated) == pytest.approx(expected)
    # Blocks of a few rows give the same answer as one block.
    monkeypatch.setattr(nearest_neighbors, "BLOCK_ELEMENTS", 100)
    assert metrics.precision_recall(real, generated) == pytest.approx(expected)


def brute_force_radii(features, k):
    """The k-th smallest distance in each row, the row's own 0 included as prdc does."""
    distances = scipy.spatial.distance.cdist(features, features)
    return np.sort(distances, axis=1)[:, k]


def test_precision_recall_matches_a_brute_force_count():
    real, generated = feature_sets(5)
    cross = scipy.spatial.distance.cdist(real, generated)
    for k in (1, 3, 6):
        real_radii, generated_radii = (
            brute_force_radii(real, k),
            brute_force_radii(generated, k),
        )
        precision = np.mean(
            [any(cross[:, j] <= real_radii) for j in range(len(generated))]
        )
        recall = np.mean([any(cross[i] <= generated_radii) for i in range(len(real))])
        assert metrics.precision_recall(real, generated, k=k) == pytest.approx(
            (precision, recall)
        )
        np.testing.assert_allclose(metrics.kth_neighbor_distances(real, k), real_radii)


def test_density_coverage_match_the_authors_formulas(monkeypatch):
    for seed in range(3):
        real, generated = feature_sets(seed)
        for k in (2, 5):
            # prdc (Naeem et al. 2020), compute_prdc, transcribed.
            radii = brute_force_radii(real, k)
            cross = scipy.spatial.distance.cdist(real, generated)
            density = (1.0 / k) * (cross < radii[:, None]).sum(axis=0).mean()
            coverage = (cross.min(axis=1) < radii).mean()
            assert metrics.density_coverage(real, generated, k=k) == pytest.approx(
                (density, coverage)
            )
    monkeypatch.setattr(nearest_neighbors, "BLOCK_ELEMENTS", 50)
    assert metrics.density_coverage(real, generated, k=5) == pytest.approx(
        (density, coverage)
    )


def test_known_answers_of_the_neighbourhood_metrics():
    real = np.random.default_rng(0).normal(size=(60, 4))
    # Identical sets: everything covered and precise, density exactly 1.
    assert metrics.precision_recall(real, real) == (1.0, 1.0)
    assert metrics.density_coverage(real, real) == pytest.approx((1.0, 1.0))
    # Far-away samples: none precise, nothing covered or recalled.
    far = real + 100.0
    assert metrics.precision_recall(real, far) == (0.0, 0.0)
    assert metrics.density_coverage(real, far) == (0.0, 0.0)
    # Collapse onto one real point: precise, but neither diverse nor covering.
    collapsed = np.repeat(real[:1], 10, axis=0)
    precision, recall = metrics.precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.1
    assert metrics.density_coverage(real, collapsed)[1] < 0.2
    # On a line with k=1: real balls of radius 1 around 0, 1, 2, 10 (10's
    # nearest is 2: radius 8). Generated 0.5 lies strictly inside the balls of
    # 0 and 1 (density 2/1), 20 in none, so density 1 and coverage 2/4.
    line = np.array([[0.0], [1.0], [2.0], [10.0]])
    assert metrics.density_coverage(line, np.array([[0.5], [20.0]]), k=1) == (1.0, 0.5)


def test_neighbourhood_metrics_refuse_bad_input():
    real, generated = feature_sets()
    with pytest.raises(ValueError, match="needs more than 3 features; generated has 3"):
        metrics.precision_recall(real, generated[:3])
    with pytest.raises(ValueError, match="differ in size: 6 and 5"):
        metrics.density_coverage(real, generated[:, :5])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        metrics.precision_recall(real, generated, k=0)
