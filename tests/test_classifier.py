import keras
import numpy as np

import kgen


def test_classifier_learns_glyphs_and_is_cached(tmp_path, monkeypatch):
    images, labels = kgen.data.glyphs(1200, seed=0)
    images = (images[..., None] / 127.5 - 1.0).astype("float32")
    classifier = kgen.classifier.train_digit_classifier(
        images[:1000], labels[:1000], epochs=4, cache_dir=tmp_path
    )
    predicted = classifier.predict(images[1000:], verbose=0).argmax(-1)
    assert np.mean(predicted == labels[1000:]) > 0.8
    (cached,) = tmp_path.glob("digit_classifier_*.keras")
    assert not list(tmp_path.glob("*.partial*"))  # written atomically

    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been loaded")

    monkeypatch.setattr(keras.Model, "fit", no_training)
    again = kgen.classifier.train_digit_classifier(
        images[:1000], labels[:1000], epochs=4, cache_dir=tmp_path
    )
    np.testing.assert_array_equal(
        again.predict(images[1000:], verbose=0),
        classifier.predict(images[1000:], verbose=0),
    )
