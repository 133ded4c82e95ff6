"""SavedModels are written beside the target and swapped in: never a torn directory."""

import numpy as np
import pytest
import tensorflow as tf
from tiny_models import LATENT_DIM, tiny_model

import kgen.export


def served_images(path, z):
    served = tf.saved_model.load(str(path))  # held: its variables outlive the call
    return served.generate(z=tf.constant(z))["images"].numpy()


def test_export_replaces_the_whole_directory(tmp_path):
    target = tmp_path / "saved_model"
    first, second = tiny_model("gan"), tiny_model("gan")
    second.generator.set_weights([w + 0.5 for w in second.generator.get_weights()])
    first.export(target, verbose=False)
    (target / "stale.txt").write_text("left over from another export")
    second.export(target, verbose=False)
    assert not (target / "stale.txt").exists()
    z = np.random.default_rng(0).normal(size=(3, LATENT_DIM)).astype("float32")
    np.testing.assert_allclose(
        served_images(target, z), second.generate(z=z), atol=1e-5
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved_model"]


def test_a_failed_export_leaves_the_previous_saved_model_whole(tmp_path, monkeypatch):
    target = tmp_path / "saved_model"
    model = tiny_model("gan")
    model.export(target, verbose=False)
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    z = np.random.default_rng(0).normal(size=(3, LATENT_DIM)).astype("float32")
    expected = served_images(target, z)

    def crash_before_the_swap(source, target):
        assert (source / "saved_model.pb").is_file()  # the new one was written
        raise OSError("disk full")

    monkeypatch.setattr(kgen.export, "replace_directory", crash_before_the_swap)
    with pytest.raises(OSError, match="disk full"):
        model.export(target, verbose=False)
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    np.testing.assert_array_equal(served_images(target, z), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved_model"]
