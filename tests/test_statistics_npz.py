"""Reference statistics (`mu`, `sigma` in an .npz) as pytorch-fid and clean-fid keep them."""

import numpy as np
import pytest
from torch_references import import_pytorch_fid

import kgen
from kgen.metrics import FeatureStatistics


def _statistics(seed, num_images=60, dim=12):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim))
    return FeatureStatistics.from_features(
        rng.normal(size=(num_images, dim)) @ mixing + seed
    )


def test_round_trip(tmp_path):
    statistics = _statistics(0)
    path = statistics.save_npz(tmp_path / "real")
    assert path == tmp_path / "real"  # no ".npz" added to the name given
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real"]
    with np.load(path) as stored:
        assert sorted(stored.files) == ["mu", "sigma"]
    loaded = FeatureStatistics.load_npz(path)
    np.testing.assert_array_equal(loaded.mean, statistics.mean)
    np.testing.assert_array_equal(loaded.covariance, statistics.covariance)
    assert loaded.features is None
    assert kgen.metrics.frechet_distance(loaded, statistics) == pytest.approx(
        0, abs=1e-9
    )


def test_pytorch_fid_reads_ours_and_agrees_on_fid(tmp_path):
    _, fid_score = import_pytorch_fid()
    a, b = _statistics(0), _statistics(1)
    paths = [a.save_npz(tmp_path / "a.npz"), b.save_npz(tmp_path / "b.npz")]
    # pytorch-fid's own reader of a statistics path (no network needed for .npz).
    (mu_a, sigma_a), (mu_b, sigma_b) = (
        fid_score.compute_statistics_of_path(str(path), None, 1, 12, "cpu")
        for path in paths
    )
    np.testing.assert_array_equal(mu_a, a.mean)
    np.testing.assert_array_equal(sigma_b, b.covariance)
    expected = fid_score.calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    ours = kgen.metrics.frechet_distance(
        *(FeatureStatistics.load_npz(p) for p in paths)
    )
    assert ours == pytest.approx(expected, rel=1e-9)
    # Also from the features, whose statistics pytorch-fid computes the same way.
    assert kgen.metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_reads_pytorch_fids_files(tmp_path):
    rng = np.random.default_rng(2)
    features = rng.normal(size=(30, 8)).astype(np.float32)
    # As pytorch-fid's --save-stats writes them: float32 mean, float64 covariance.
    mu, sigma = np.mean(features, axis=0), np.cov(features, rowvar=False)
    np.savez_compressed(tmp_path / "stats.npz", mu=mu, sigma=sigma)
    loaded = FeatureStatistics.load_npz(tmp_path / "stats.npz")
    assert loaded.mean.dtype == np.float64
    np.testing.assert_allclose(loaded.mean, mu)
    np.testing.assert_array_equal(loaded.covariance, sigma)


def test_reads_kgens_own_files(tmp_path):
    statistics = _statistics(3)
    statistics.save(tmp_path / "cache.npz")
    loaded = FeatureStatistics.load_npz(tmp_path / "cache.npz")
    np.testing.assert_array_equal(loaded.features, statistics.features)
    np.testing.assert_array_equal(loaded.covariance, statistics.covariance)


def test_refuses_to_overwrite(tmp_path):
    path = _statistics(0).save_npz(tmp_path / "stats.npz")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        _statistics(1).save_npz(path)
    np.testing.assert_array_equal(
        FeatureStatistics.load_npz(path).mean, _statistics(0).mean
    )
    _statistics(1).save_npz(path, overwrite=True)
    np.testing.assert_array_equal(
        FeatureStatistics.load_npz(path).mean, _statistics(1).mean
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.npz"]


def test_bad_files_get_one_sentence_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such statistics file"):
        FeatureStatistics.load_npz(tmp_path / "absent.npz")

    good = _statistics(0).save_npz(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable .npz file"):
        FeatureStatistics.load_npz(truncated)

    np.savez(tmp_path / "keys.npz", m=np.zeros(3), s=np.eye(3))
    with pytest.raises(ValueError, match=r"no 'mu' and 'sigma'.*\['m', 's'\]"):
        FeatureStatistics.load_npz(tmp_path / "keys.npz")

    np.savez(tmp_path / "shapes.npz", mu=np.zeros(3), sigma=np.eye(4))
    with pytest.raises(ValueError, match=r"shape \(d,\) and sigma \(d, d\)"):
        FeatureStatistics.load_npz(tmp_path / "shapes.npz")

    np.savez(tmp_path / "nan.npz", mu=np.full(3, np.nan), sigma=np.eye(3))
    with pytest.raises(ValueError, match="NaN or infinite"):
        FeatureStatistics.load_npz(tmp_path / "nan.npz")

    for error in (FileNotFoundError("x"), ValueError("x")):
        assert kgen.errors.is_input_error(error)


def test_kid_of_statistics_without_features_says_why(tmp_path):
    reference = FeatureStatistics.load_npz(_statistics(0).save_npz(tmp_path / "r.npz"))
    with pytest.raises(ValueError, match="no features"):
        kgen.metrics.kernel_distance(reference, _statistics(1))


@pytest.mark.parametrize("num_images", [(3, 3), (5, 9), (40, 70)])
def test_fid_of_few_features_equals_fid_of_moments(num_images):
    """With fewer images than features, FID comes from the features themselves."""
    rng = np.random.default_rng(4)
    dim = 64
    x = rng.normal(size=(num_images[0], dim)) * rng.uniform(0.1, 3, dim)
    y = rng.normal(size=(num_images[1], dim)) + 0.3
    a, b = FeatureStatistics.from_features(x), FeatureStatistics.from_features(y)
    from_moments = kgen.metrics.frechet_distance_from_moments(
        a.mean, a.covariance, b.mean, b.covariance
    )
    # The moments' square roots of singular covariances keep rounding's tiny
    # eigenvalues (sqrt(1e-15) each): they, not the features, limit agreement.
    assert kgen.metrics.frechet_distance(x, y) == pytest.approx(from_moments, rel=1e-6)


def test_fid_of_a_sample_of_the_features_uses_the_moments():
    """Statistics that keep only some of their features are measured by moments."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(40, 64)), rng.normal(size=(30, 64)) + 0.2
    a, b = FeatureStatistics.from_features(x), FeatureStatistics.from_features(y)
    sampled = FeatureStatistics(features=x[:10], mean=a.mean, covariance=a.covariance)
    assert kgen.metrics.frechet_distance(sampled, b) == pytest.approx(
        kgen.metrics.frechet_distance_from_moments(
            a.mean, a.covariance, b.mean, b.covariance
        ),
        rel=1e-12,
    )
