"""kgen models' `fit`: arrays are shuffled by default, datasets left to shuffle alone."""

import warnings

import keras
import numpy as np
import pytest
from tiny_models import tiny_model

import kgen


@pytest.fixture
def recorded_fit(monkeypatch):
    """Replaces Keras' fit with a recorder of the arguments kgen passes it."""
    calls = []
    monkeypatch.setattr(
        keras.Model, "fit", lambda self, x=None, y=None, *a, **k: calls.append(k)
    )
    return calls


def test_arrays_are_shuffled_and_datasets_are_not_by_default(recorded_fit):
    gan = tiny_model("gan")
    images = np.zeros((8, 28, 28, 1), "float32")
    gan.fit(images)
    gan.fit([images])
    gan.fit(kgen.data.load("glyphs", batch_size=4, limit=8))
    gan.fit(iter([images]))
    gan.fit(kgen.data.load("glyphs", batch_size=4, limit=8), shuffle=True)
    gan.fit(images, shuffle=False)
    assert [call["shuffle"] for call in recorded_fit] == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]


def test_fit_on_a_kgen_pipeline_raises_no_warning():
    gan = tiny_model("gan")
    gan.compile()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = gan.fit(kgen.data.load("glyphs", batch_size=8, limit=16), verbose=0)
    assert np.isfinite(history.history["d_loss"][0])
