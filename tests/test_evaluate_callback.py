"""kgen.callbacks.Evaluate: sample-quality metrics in the epoch logs of fit."""

import keras
import numpy as np
import pytest
from tiny_models import tiny_model

import kgen


def glyph_images(num_examples, seed):
    images, labels = kgen.data.glyphs(num_examples, seed=seed)
    return (images[..., None] / 127.5 - 1.0).astype("float32"), labels


@pytest.fixture(scope="session")
def classifier(tmp_path_factory):
    images, labels = glyph_images(1500, seed=0)
    # The same data, settings and cache as tests/test_metrics.py: trained once.
    return kgen.classifier.train_digit_classifier(
        images,
        labels,
        epochs=2,
        cache_dir=tmp_path_factory.getbasetemp() / "digit_classifier_cache",
    )


@pytest.fixture(scope="module")
def data():
    """64 training digits with labels, and 200 held-out digits."""
    images, labels = glyph_images(64, seed=0)
    return images, labels, glyph_images(200, seed=1)[0]


def tiny_dcgan():
    return tiny_model("dcgan")


def tiny_cgan():
    return tiny_model("cgan", conv=True, num_classes=10)


def evaluate(classifier, real, tmp_path, **kwargs):
    return kgen.callbacks.Evaluate(
        real,
        classifier=classifier,
        num_samples=100,
        kid_subsets=10,
        cache_dir=tmp_path / "cache",
        **kwargs,
    )


def test_metrics_reach_history_and_a_best_fid_checkpoint(classifier, data, tmp_path):
    images, _, real = data
    model = tiny_dcgan()
    model.compile()
    callback = evaluate(classifier, real, tmp_path)
    best = tmp_path / "best.keras"
    history = model.fit(
        images,
        batch_size=16,
        epochs=3,
        verbose=0,
        callbacks=[
            callback,
            keras.callbacks.ModelCheckpoint(
                best, monitor="fid", mode="min", save_best_only=True
            ),
        ],
    )
    keys = {"fid", "kid", "kid_std", "class_coverage", "class_evenness"}
    assert keys <= set(history.history)
    for key in keys:
        assert len(history.history[key]) == 3
        assert np.all(np.isfinite(history.history[key]))
    fids = history.history["fid"]
    assert len(set(fids)) == 3  # the model changes, the noise does not
    # The logged FID is the final model's, and the checkpoint holds the best.
    final = callback.quality.score_model(model, 100, seed=0)
    assert final["fid"] == pytest.approx(fids[-1], rel=1e-4)
    restored = keras.saving.load_model(best)
    assert callback.quality.score_model(restored, 100, seed=0)["fid"] == pytest.approx(
        min(fids), rel=1e-4
    )
    assert list((tmp_path / "cache" / "feature_statistics").iterdir())


def test_every_n_epochs_and_conditional_accuracy(classifier, data, tmp_path):
    images, labels, real = data
    model = tiny_cgan()
    model.compile()
    history = model.fit(
        images,
        labels,
        batch_size=16,
        epochs=2,
        verbose=0,
        callbacks=[
            evaluate(
                classifier,
                real,
                tmp_path,
                every_n_epochs=2,
                metrics=("fid", "accuracy", "coverage"),
            )
        ],
    )
    assert len(history.history["d_loss"]) == 2
    assert len(history.history["fid"]) == 1  # the second epoch only
    assert "kid" not in history.history
    accuracy = history.history["conditional_accuracy"][0]
    assert 0.0 <= accuracy <= 1.0
    assert 1 <= history.history["class_coverage"][0] <= 10


def test_accuracy_of_an_unconditional_model_is_an_error(classifier, data, tmp_path):
    images, _, real = data
    model = tiny_dcgan()
    model.compile()
    callback = evaluate(classifier, real, tmp_path, metrics=("accuracy",))
    with pytest.raises(ValueError, match="conditional model"):
        model.fit(images, epochs=1, verbose=0, callbacks=[callback])
    with pytest.raises(ValueError, match="num_samples"):
        kgen.callbacks.Evaluate(real, classifier=classifier, num_samples=0)
