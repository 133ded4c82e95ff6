"""kgen.metrics: FID/KID numerics, their validation on real digits, classifier scores.

The feature space is the last hidden layer of kgen's digit classifier, trained
once per session on the embedded glyphs (no download).
"""

import urllib.error

import keras
import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage

import kgen
from kgen import metrics
from kgen.networks.vgg import WeightsDownloadError


def glyph_images(num_examples, seed):
    images, labels = kgen.data.glyphs(num_examples, seed=seed)
    return (images[..., None] / 127.5 - 1.0).astype("float32"), labels


@pytest.fixture(scope="session")
def classifier_cache(tmp_path_factory):
    # One cache for the session: tests/test_evaluate_callback.py loads it.
    return tmp_path_factory.getbasetemp() / "digit_classifier_cache"


@pytest.fixture(scope="session")
def classifier(classifier_cache):
    images, labels = glyph_images(1500, seed=0)
    return kgen.classifier.train_digit_classifier(
        images, labels, epochs=2, cache_dir=classifier_cache
    )


@pytest.fixture(scope="module")
def real():
    """1200 held-out digits (a different glyphs seed than the classifier's)."""
    return glyph_images(1200, seed=1)


@pytest.fixture(scope="module")
def extractor(classifier):
    return kgen.classifier.feature_extractor(classifier)


@pytest.fixture(scope="module")
def features(extractor, real):
    return metrics.extract_features(extractor, real[0])


def reference_frechet_distance(a, b):
    """The textbook formula with scipy.linalg.sqrtm, for well-conditioned data."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 12)) @ rng.normal(size=(12, 12))
    b = 0.7 * rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12)) + 0.3
    assert metrics.frechet_distance(a, b) == pytest.approx(
        reference_frechet_distance(a, b), rel=1e-8
    )
    statistics = metrics.FeatureStatistics.from_features(a)
    assert statistics.mean.dtype == np.float64
    assert metrics.frechet_distance(statistics, b) == metrics.frechet_distance(a, b)


def test_frechet_distance_of_singular_covariances_stays_real_and_finite(features):
    # 40 images of 128 features: both covariances are singular.
    distance = metrics.frechet_distance(features[:40], features[40:80])
    assert isinstance(distance, float) and np.isfinite(distance) and distance > 0
    assert metrics.frechet_distance(features[:40], features[:40]) == pytest.approx(
        0.0, abs=1e-6
    )


def test_kernel_distance_is_the_unbiased_mmd_with_a_cubic_kernel():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.5, 1.0, size=(12, 5))

    def kernel(a, b):
        return (a @ b / 5 + 1) ** 3

    m = len(x)
    expected = (
        sum(
            kernel(x[i], x[j]) + kernel(y[i], y[j])
            for i in range(m)
            for j in range(m)
            if i != j
        )
        / (m * (m - 1))
        - 2 * sum(kernel(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    )
    # One subset of all 12 features: the estimate of the whole sets, no spread.
    kid, kid_std = metrics.kernel_distance(x, y, num_subsets=1, subset_size=12)
    assert kid == pytest.approx(expected, rel=1e-10)
    assert kid_std == 0.0


def test_kernel_distance_is_unbiased():
    rng = np.random.default_rng(2)
    same = [
        metrics.kernel_distance(
            rng.normal(size=(100, 8)), rng.normal(size=(100, 8)), seed=s
        )[0]
        for s in range(20)
    ]
    shifted, _ = metrics.kernel_distance(
        rng.normal(size=(100, 8)), rng.normal(0.5, 1.0, size=(100, 8))
    )
    # About 0 for one distribution, negative as often as not; a biased
    # (V-statistic) estimate would be positive every time.
    assert abs(np.mean(same)) < 0.2 * shifted
    assert min(same) < 0 < max(same)


def test_fid_and_kid_validate_on_real_digits(extractor, real, features):
    images = real[0]
    reference, half = features[:600], images[600:]

    def distances(other_images):
        other = metrics.extract_features(extractor, other_images)
        return metrics.frechet_distance(reference, other), metrics.kernel_distance(
            reference, other, num_subsets=50, subset_size=250
        )

    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    halves_fid, (halves_kid, halves_kid_std) = distances(half)

    rng = np.random.default_rng(0)
    noisy = [
        distances(np.clip(half + rng.normal(0, std, half.shape), -1, 1))
        for std in (0.1, 0.5, 0.9)
    ]
    blurred = [
        distances(scipy.ndimage.gaussian_filter(half, sigma=(0, sigma, sigma, 0)))
        for sigma in (0.5, 1.0, 2.0)
    ]
    for series in (noisy, blurred):
        fids = [fid for fid, _ in series]
        kids = [kid for _, (kid, _) in series]
        assert fids == sorted(fids) and len(set(fids)) == 3, fids
        assert kids == sorted(kids) and len(set(kids)) == 3, kids  # same ordering
    # Two samples of the same digits are close, next to what noise or blur do.
    assert halves_fid < 0.5 * min(noisy[1][0], blurred[0][0])
    assert halves_fid < 0.1 * min(noisy[2][0], blurred[2][0])
    # KID is unbiased: about 0 between the halves, far from it with heavy noise.
    assert abs(halves_kid) < 2 * halves_kid_std
    assert noisy[2][1][0] > 5 * halves_kid_std


def test_coverage_and_accuracy_of_real_and_collapsed_digits(classifier, real):
    images, labels = real
    covered, evenness = metrics.class_coverage(classifier, images)
    assert covered == 10 and evenness > 0.95
    # Collapsed onto the 1s: stray misclassifications do not count as classes.
    covered, evenness = metrics.class_coverage(classifier, images[labels == 1])
    assert covered <= 2 and evenness < 0.3
    # Exactly two classes as the classifier sees them, half and half.
    predicted = metrics.predict_classes(classifier, images)
    two = np.concatenate([images[predicted == 3][:40], images[predicted == 8][:40]])
    covered, evenness = metrics.class_coverage(classifier, two)
    assert covered == 2 and evenness == pytest.approx(np.log(2) / np.log(10))

    accuracy = metrics.classifier_accuracy(classifier, images, labels)
    assert accuracy == pytest.approx(np.mean(predicted == labels)) and accuracy > 0.85
    shuffled = np.random.default_rng(0).permutation(labels)
    assert metrics.classifier_accuracy(classifier, images, shuffled) < 0.25


def test_dataset_classifier_reads_a_kgen_dataset(
    classifier, classifier_cache, real, monkeypatch
):
    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been loaded")

    # The first 1500 training glyphs, as the fixture's: the same cache entry.
    monkeypatch.setattr(keras.Model, "fit", no_training)
    loaded = kgen.classifier.dataset_classifier(
        "glyphs", limit=1500, epochs=2, cache_dir=classifier_cache
    )
    np.testing.assert_array_equal(
        metrics.predict_classes(loaded, real[0][:100]),
        metrics.predict_classes(classifier, real[0][:100]),
    )
    features = kgen.classifier.feature_extractor(loaded)
    assert tuple(features.outputs[0].shape) == (None, 128)


def test_real_statistics_are_cached_atomically(extractor, real, tmp_path, monkeypatch):
    images = real[0][:300]
    first = metrics.real_statistics(images, extractor, cache_dir=tmp_path)
    (cached,) = (tmp_path / "feature_statistics").iterdir()
    assert cached.suffix == ".npz" and ".partial" not in cached.name
    assert metrics.extractor_fingerprint(extractor) in cached.name

    def no_extraction(*args, **kwargs):
        raise AssertionError("the cached statistics should have been loaded")

    with monkeypatch.context() as patch:
        patch.setattr(metrics.features, "extract_features", no_extraction)
        again = metrics.real_statistics(images, extractor, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.covariance, first.covariance)
    np.testing.assert_array_equal(again.features, first.features)

    # Other images, or another extractor, are other entries.
    metrics.real_statistics(real[0][300:600], extractor, cache_dir=tmp_path)
    other = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )
    metrics.real_statistics(images, other, cache_dir=tmp_path)
    assert len(list((tmp_path / "feature_statistics").iterdir())) == 3


def test_sample_quality_scores_with_the_classifier_features(
    classifier, real, features, tmp_path
):
    images, labels = real
    quality = metrics.SampleQuality(
        images[:600], classifier=classifier, kid_subsets=10, cache_dir=tmp_path
    )
    results = quality.score(images[600:], labels[600:])
    assert set(results) == {
        "fid",
        "kid",
        "kid_std",
        "class_coverage",
        "class_evenness",
        "conditional_accuracy",
    }
    assert all(isinstance(value, float) for value in results.values())
    assert results["fid"] == pytest.approx(
        # Other batches, other float32 rounding in the features.
        metrics.frechet_distance(features[:600], features[600:]),
        rel=1e-4,
    )
    assert results["class_coverage"] == 10
    unlabelled = quality.score(images[600:])
    assert "conditional_accuracy" not in unlabelled
    assert unlabelled["fid"] == results["fid"]


def test_any_keras_model_is_an_extractor(real, tmp_path):
    images = real[0][:200]
    # A random conv model whose 4-D output is flattened into features.
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3, strides=4)]
    )
    quality = metrics.SampleQuality(
        images, extractor=model, metrics=("fid", "kid"), cache_dir=tmp_path
    )
    assert quality.real_statistics.features.shape == (200, 7 * 7 * 2)
    results = quality.score(images)
    assert results["fid"] == pytest.approx(0.0, abs=1e-6)
    assert set(results) == {"fid", "kid", "kid_std"}


def test_inception_extractor_feeds_299x299_rgb_and_is_a_clear_error_offline(
    monkeypatch, tmp_path
):
    built = {}

    def stand_in(**kwargs):
        # InceptionV3's interface, without its 20 s build on JAX: 299x299 RGB
        # in, the per-channel means out.
        built.update(kwargs)
        inputs = keras.Input(kwargs["input_shape"])
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))

    with monkeypatch.context() as patch:
        patch.setattr(keras.applications, "InceptionV3", stand_in)
        extractor = metrics.inception_feature_extractor((28, 28, 1), weights=None)
    assert built == {
        "include_top": False,
        "weights": None,
        "pooling": "avg",
        "input_shape": (299, 299, 3),
    }
    images = np.stack([np.full((28, 28, 1), value, "float32") for value in (-1, 0.5)])
    # Grayscale repeated to RGB, resized, values kept in [-1, 1].
    np.testing.assert_allclose(
        metrics.extract_features(extractor, images),
        [[-1, -1, -1], [0.5, 0.5, 0.5]],
        atol=1e-6,
    )
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        metrics.inception_feature_extractor(weights=tmp_path / "missing.h5")

    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    # An empty Keras cache and no network, whatever this machine has.
    monkeypatch.setattr(file_utils.config, "keras_home", lambda: str(tmp_path))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    with pytest.raises(WeightsDownloadError, match="InceptionV3.*weights="):
        metrics.inception_feature_extractor((28, 28, 1))


def test_clear_errors(classifier, extractor, real):
    images = real[0][:20]
    with pytest.raises(ValueError, match="metrics must name"):
        metrics.SampleQuality(images, classifier=classifier, metrics=("is",))
    with pytest.raises(ValueError, match="need a classifier"):
        metrics.SampleQuality(images, extractor=extractor, metrics=("coverage",))
    with pytest.raises(ValueError, match="feature space"):
        metrics.SampleQuality(images)
    with pytest.raises(ValueError, match="'inception'"):
        metrics.SampleQuality(images, extractor="vgg16")
    with pytest.raises(ValueError, match="differ in size"):
        metrics.frechet_distance(np.ones((5, 3)), np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.extract_features(extractor, images * 127.5 + 127.5)
    with pytest.raises(ValueError, match="takes images of shape"):
        metrics.extract_features(extractor, np.zeros((4, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="needs the labels"):
        metrics.SampleQuality(
            images, classifier=classifier, metrics=("accuracy",)
        ).score(images)
