"""kgen.metrics.compare and kgen evaluate: anything against anything, streamed.

Every kind of source (folder, .npy, .npz, .keras, SavedModel, reference
statistics) must give the scores of the same images held in memory, computed
by the functions of kgen.metrics directly. The feature space is a tiny random
network: agreement does not depend on what the features mean.
"""

import re

import keras
import numpy as np
import pytest
from PIL import Image
from tiny_models import tiny_model

import kgen
from kgen import metrics
from kgen.cli import evaluate as evaluate_command

SHAPE = (28, 28, 1)
ALL_FEATURE_METRICS = ["fid", "kid", "precision_recall", "density_coverage"]


@pytest.fixture(scope="module")
def extractor():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(8)],
        name="tiny_features",
    )


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(10)],
        name="tiny_classifier",
    )


def digits(count, seed):
    return (kgen.data.glyphs(count, seed=seed)[0][..., None]).astype(np.uint8)


def as_float(pixels):
    return pixels.astype(np.float32) / 127.5 - 1.0


def direct_scores(extractor, generated, real, seed=0):
    """The same scores from in-memory images, by kgen.metrics' functions."""
    a, b = (
        metrics.FeatureStatistics.from_features(
            metrics.extract_features(extractor, images)
        )
        for images in (real, generated)
    )
    return metrics.sample_quality.score_features(
        ALL_FEATURE_METRICS, real=a, generated=b, seed=seed
    )


def write_folder(folder, pixels):
    folder.mkdir()
    for index, image in enumerate(pixels):
        Image.fromarray(image[..., 0]).save(folder / f"{index:03d}.png")
    return folder


def test_every_file_source_scores_like_the_images_in_memory(extractor, tmp_path):
    generated, real = digits(30, seed=2), digits(27, seed=3)
    np.save(tmp_path / "real.npy", real)
    expected = direct_scores(extractor, as_float(generated), as_float(real))
    np.savez_compressed(tmp_path / "images.npz", images=generated)
    np.save(tmp_path / "float.npy", as_float(generated))
    np.save(tmp_path / "hw.npy", generated[..., 0])
    sources = [
        write_folder(tmp_path / "folder", generated),
        tmp_path / "images.npz",
        tmp_path / "float.npy",
        tmp_path / "hw.npy",
        as_float(generated),
    ]
    for source in sources:
        scores = metrics.compare(
            source,
            tmp_path / "real.npy",
            extractor=extractor,
            metrics=ALL_FEATURE_METRICS,
            batch_size=7,
            verbose=0,
        )
        assert scores == pytest.approx(expected, rel=1e-6, abs=1e-9), source
    # A real array in memory goes through the cached real statistics.
    scores = metrics.compare(
        tmp_path / "images.npz",
        as_float(real),
        extractor=extractor,
        metrics=ALL_FEATURE_METRICS,
        cache_dir=tmp_path / "cache",
        verbose=0,
    )
    assert scores == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_models_on_either_side(extractor, tmp_path):
    model = tiny_model("gan")
    model.save(tmp_path / "gan.keras")
    real = digits(24, seed=3)
    np.save(tmp_path / "real.npy", real)
    drawn = model.generate(20, seed=5)
    # KID's subsets are drawn with the seed of the samples.
    expected = direct_scores(extractor, drawn, as_float(real), seed=5)
    options = dict(extractor=extractor, metrics=ALL_FEATURE_METRICS, verbose=0)
    for source in (tmp_path / "gan.keras", model):
        scores = metrics.compare(
            source, tmp_path / "real.npy", num_samples=20, seed=5, **options
        )
        assert scores == pytest.approx(expected, rel=1e-5, abs=1e-7)
    swapped = metrics.compare(
        tmp_path / "real.npy", tmp_path / "gan.keras", num_samples=20, seed=5, **options
    )
    assert swapped["fid"] == pytest.approx(expected["fid"], rel=1e-5)
    if keras.backend.backend() == "tensorflow":
        # Exporting from another backend runs TensorFlow in a child process:
        # the SavedModel path is the same code, so it is checked once.
        model.export(tmp_path / "saved_model")
        scores = metrics.compare(
            tmp_path / "saved_model",
            tmp_path / "real.npy",
            num_samples=20,
            seed=5,
            **options,
        )
        assert scores == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_reference_statistics_on_either_side(extractor, tmp_path):
    generated, real = as_float(digits(30, seed=2)), as_float(digits(27, seed=3))
    features = metrics.extract_features(extractor, real)
    # pytorch-fid's and clean-fid's format: mu and sigma only.
    np.savez(
        tmp_path / "mu_sigma.npz",
        mu=features.astype(np.float64).mean(0),
        sigma=np.cov(features.astype(np.float64), rowvar=False),
    )
    statistics = metrics.FeatureStatistics.from_features(features)
    statistics.save(tmp_path / "kgen_statistics.npz")
    expected = direct_scores(extractor, generated, real)
    fid_only = metrics.compare(
        generated, tmp_path / "mu_sigma.npz", extractor=extractor, verbose=0
    )
    assert fid_only == pytest.approx({"fid": expected["fid"]}, rel=1e-6)
    both = metrics.compare(
        tmp_path / "mu_sigma.npz", tmp_path / "kgen_statistics.npz", verbose=0
    )
    assert both["fid"] == pytest.approx(0.0, abs=1e-6)
    # kgen's own statistics keep their features: every metric works.
    full = metrics.compare(
        generated,
        tmp_path / "kgen_statistics.npz",
        extractor=extractor,
        metrics=ALL_FEATURE_METRICS,
        verbose=0,
    )
    assert full == pytest.approx(expected, rel=1e-6, abs=1e-9)
    with pytest.raises(ValueError, match="mean and covariance only"):
        metrics.compare(
            generated,
            tmp_path / "mu_sigma.npz",
            extractor=extractor,
            metrics=["precision_recall"],
        )


def test_running_moments_match_numpy():
    features = np.random.default_rng(0).normal(size=(101, 5)) * 3 + 10
    moments = metrics.RunningMoments()
    for start in range(0, 101, 13):
        moments.update(features[start : start + 13])
    statistics = moments.statistics()
    np.testing.assert_allclose(statistics.mean, features.mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        statistics.covariance, np.cov(features, rowvar=False), rtol=1e-10
    )


def test_bad_sources_fail_in_one_sentence(extractor, tmp_path):
    real = digits(8, seed=3)
    np.save(tmp_path / "real.npy", real)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not images")
    np.save(tmp_path / "vectors.npy", np.zeros((8, 5), np.uint8))
    np.save(tmp_path / "scaled.npy", real.astype(np.float32))
    np.save(tmp_path / "int16.npy", real.astype(np.int16))
    np.save(tmp_path / "other_size.npy", np.zeros((8, 14, 14, 1), np.uint8))
    np.savez(tmp_path / "two.npz", a=real, b=real)
    extractor.save(tmp_path / "extractor.keras")
    cases = {
        "missing": "No such image folder, array file, model or statistics file",
        "empty": "No image files found",
        "notes.txt": "is not an image folder, a .npy/.npz array file",
        "vectors.npy": r"must hold images of shape \(N, height, width\)",
        "scaled.npy": r"floats must be in \[-1, 1\]|float images must be in",
        "int16.npy": "uint8 images in .0, 255. or floats",
        "other_size.npy": r"holds images of shape \(14, 14, 1\); the evaluation needs",
        "two.npz": "name the images 'images'",
        "extractor.keras": "needs a GAN, DCGAN, ConditionalGAN or VAE",
    }
    for name, message in cases.items():
        with pytest.raises((ValueError, FileNotFoundError)) as caught:
            metrics.compare(
                tmp_path / name,
                tmp_path / "real.npy",
                extractor=extractor,
                verbose=0,
            )
        text = str(caught.value)
        assert re.search(message, text), (name, text)
        assert "\n" not in text.strip(), (name, text)


def test_sample_quality_and_evaluate_log_the_new_metrics(
    extractor, classifier, tmp_path
):
    real, images = as_float(digits(40, seed=3)), as_float(digits(30, seed=2))
    names = ["inception_score", "precision_recall", "density_coverage"]
    quality = metrics.SampleQuality(
        real, extractor=extractor, classifier=classifier, metrics=names, cache_dir=None
    )
    scores = quality.score(images)
    logits = metrics.predict_logits(classifier, images)
    features = [metrics.extract_features(extractor, x) for x in (real, images)]
    assert scores == pytest.approx(
        {
            **dict(
                zip(
                    ("inception_score", "inception_score_std"),
                    metrics.inception_score(logits),
                    strict=True,
                )
            ),
            **dict(
                zip(
                    ("precision", "recall"),
                    metrics.precision_recall(*features),
                    strict=True,
                )
            ),
            **dict(
                zip(
                    ("density", "coverage"),
                    metrics.density_coverage(*features),
                    strict=True,
                )
            ),
        }
    )
    callback = kgen.callbacks.Evaluate(
        real,
        extractor=extractor,
        classifier=classifier,
        metrics=names,
        num_samples=20,
        cache_dir=None,
    )
    callback.set_model(tiny_model("gan"))
    callback.on_train_begin()
    logs = {}
    callback.on_epoch_end(0, logs)
    assert set(logs) == {
        "inception_score",
        "inception_score_std",
        "precision",
        "recall",
        "density",
        "coverage",
    }
    assert 1.0 <= logs["inception_score"] <= 10.0
    assert 0.0 <= logs["precision"] <= 1.0 and 0.0 <= logs["coverage"] <= 1.0


def test_cli_metric_names_are_the_library_s():
    assert evaluate_command.METRIC_NAMES == tuple(metrics.METRICS)


def kgen_command(argv, capsys):
    kgen.cli.main([str(word) for word in argv])
    return capsys.readouterr().out


def test_kgen_evaluate_folder_against_an_array_and_statistics(
    classifier, monkeypatch, tmp_path, capsys
):
    # The digit classifier's training is tests/test_cli.py's to test; here
    # any classifier of 28x28 images serves.
    trained = []
    monkeypatch.setattr(
        kgen.classifier,
        "dataset_classifier",
        lambda name, **options: trained.append(name) or classifier,
    )
    folder = write_folder(tmp_path / "samples", digits(24, seed=2))
    np.savez(tmp_path / "real.npz", images=digits(30, seed=3))
    printed = kgen_command(
        [
            "evaluate", folder, "--real", tmp_path / "real.npz",
            "--metrics", *evaluate_command.METRIC_NAMES[:3], "inception_score",
            "precision_recall", "density_coverage",
            "--classifier-data", "glyphs",
            "--batch-size", "10", "--cache-dir", tmp_path / "cache",
        ],
        capsys,
    )  # fmt: skip
    assert trained == ["glyphs"] and "24 images against 30 images" in printed
    scores = dict(re.findall(r"^  (\w+) +([-\d.e+]+)", printed, re.M))
    assert set(scores) == {
        "fid", "kid", "class_coverage", "class_evenness", "inception_score",
        "precision", "recall", "density", "coverage",
    }  # fmt: skip
    assert "inception_score" in printed and "±" in printed
    np.savez(tmp_path / "a.npz", mu=np.zeros(3), sigma=np.eye(3))
    np.savez(tmp_path / "b.npz", mu=np.ones(3), sigma=np.eye(3))
    printed = kgen_command(
        ["evaluate", tmp_path / "a.npz", "--real", tmp_path / "b.npz"], capsys
    )
    assert re.search(r"fid +3\b", printed) and "reference statistics" in printed


def test_kgen_evaluate_rejects_bad_sources_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for argv, message in (
        ([tmp_path / "missing", "--real", "glyphs"], "No such image folder"),
        ([tmp_path / "empty", "--real", "glyphs"], "No image files found"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            kgen.cli.main(["evaluate", *map(str, argv)])
        assert exit_info.value.code == 1
        error = capsys.readouterr().err
        assert error.startswith("kgen: error:") and message in error
        assert len(error.strip().splitlines()) == 1
