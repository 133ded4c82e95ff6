"""kgen's default compile() settings per backend, and that explicit ones win."""

import os
import platform
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
from tiny_models import tiny_model

from kgen import backend

BACKEND = keras.backend.backend()


def _has_gpu():
    return bool(keras.distribution.list_devices("gpu"))


def _expected_jit(name, convolutional):
    """The documented default of `kgen.backend.compile_settings`."""
    if BACKEND == "jax":
        return True
    if BACKEND == "torch":
        return False
    # TensorFlow: XLA for convolutional models where the CPU kernels do not
    # use oneDNN and for dense-only GANs, Keras' "auto" (XLA only with a GPU)
    # otherwise.
    from kgen.backend import tensorflow as tf_backend

    if convolutional:
        return not tf_backend.uses_onednn() or _has_gpu()
    return name in ("gan", "cgan") or _has_gpu()


def _expected_steps_per_execution(convolutional):
    """Several steps per call for dense-only models on TensorFlow, else 1."""
    if BACKEND == "tensorflow" and not convolutional:
        return backend.DENSE_STEPS_PER_EXECUTION
    return 1


@pytest.mark.parametrize(
    "name, conv, convolutional",
    [
        ("gan", False, False),
        ("dcgan", False, True),
        ("cgan", True, True),
        ("cgan", False, False),
        ("vae", False, False),
        ("vae", True, True),
    ],
)
def test_default_settings_per_backend(name, conv, convolutional):
    model = tiny_model(name, conv=conv)
    model.compile()
    assert model.jit_compile == _expected_jit(name, convolutional)
    assert model.steps_per_execution == _expected_steps_per_execution(convolutional)
    # Defaults are not recorded: a .keras file loaded on another backend (or
    # machine) gets that backend's defaults.
    assert "jit_compile" not in model.get_compile_config()


@pytest.mark.skipif(BACKEND != "tensorflow", reason="a TensorFlow default")
@pytest.mark.parametrize("onednn, expected", [(False, True), (True, "auto")])
def test_tensorflow_xla_default_follows_onednn(monkeypatch, onednn, expected):
    from kgen.backend import tensorflow as tf_backend

    monkeypatch.setattr(tf_backend, "uses_onednn", lambda: onednn)
    assert backend.compile_settings(tiny_model("dcgan"), {}) == {
        "jit_compile": expected,
        "steps_per_execution": 1,
    }
    # Dense-only models: XLA for the GANs, whatever oneDNN; not for the VAE.
    for name, jit in (("gan", True), ("vae", "auto")):
        assert backend.compile_settings(tiny_model(name), {}) == {
            "jit_compile": jit,
            "steps_per_execution": backend.DENSE_STEPS_PER_EXECUTION,
        }


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's oneDNN switch")
@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.machine() != "x86_64",
    reason="TensorFlow builds oneDNN's CPU kernels in on x86-64 Linux only",
)
def test_uses_onednn_follows_the_environment_switch():
    # TF_ENABLE_ONEDNN_OPTS is read once per process: ask fresh ones.
    code = "from kgen.backend import tensorflow as t; print(t.uses_onednn())"
    answers = []
    for value in ("0", "1"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": value},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        answers.append(result.stdout.strip().splitlines()[-1])
    assert answers == ["False", "True"]


def test_explicit_settings_win():
    for name in ("dcgan", "gan"):
        model = tiny_model(name)
        model.compile(jit_compile=False)
        assert model.jit_compile is False
        assert model.get_compile_config()["jit_compile"] is False
    if BACKEND != "torch":
        model = tiny_model("gan")
        model.compile(jit_compile=True, steps_per_execution=2)
        assert model.jit_compile is True
        assert model.steps_per_execution == 2


@pytest.mark.parametrize("name", ["dcgan", "gan"])
def test_run_eagerly_turns_the_default_off_without_a_warning(name):
    model = tiny_model(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.compile(run_eagerly=True)
    assert model.jit_compile is False


def test_compile_settings_keeps_what_is_given():
    model = tiny_model("dcgan")
    given = {"jit_compile": False, "steps_per_execution": 3, "run_eagerly": False}
    assert backend.compile_settings(model, given) == given


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute only")
def test_no_xla_default_under_tf_distribute():
    import tensorflow as tf

    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        model = tiny_model("dcgan")
        model.compile()
        dense = tiny_model("gan")
        dense.compile()
    assert model.jit_compile is False
    assert dense.jit_compile is False
    assert dense.steps_per_execution == 1


@pytest.mark.skipif(BACKEND != "tensorflow", reason="a TensorFlow default")
def test_default_steps_per_execution_trains_exactly_the_steps_asked_for(tiny_images):
    per_call = backend.DENSE_STEPS_PER_EXECUTION
    model = tiny_model("gan")
    model.compile()
    assert model.steps_per_execution == per_call > 1
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(tiny_images).batch(4).repeat()
    # Not a multiple: Keras would run whole executions, 2 * per_call steps.
    model.fit(data, epochs=1, steps_per_epoch=per_call + 1, verbose=0)
    assert int(model.d_optimizer.iterations) == per_call + 1
    assert model.steps_per_execution == 1
    # A multiple gets the default back, and runs exactly that many.
    model.fit(data, epochs=2, steps_per_epoch=2 * per_call, verbose=0)
    assert int(model.d_optimizer.iterations) == 5 * per_call + 1
    assert model.steps_per_execution == per_call
    # A finite dataset's last, partial execution trains its remaining batches.
    model.fit(tiny_images[:28], batch_size=2, epochs=1, verbose=0)  # 14 batches
    assert int(model.d_optimizer.iterations) == 5 * per_call + 15
    # evaluate(steps=n) and validation_steps=n also run whole executions.
    before = int(model.d_optimizer.iterations)
    model.evaluate(data, steps=3, verbose=0)
    assert model.steps_per_execution == 1
    assert int(model.d_optimizer.iterations) == before
    history = model.fit(
        data,
        epochs=1,
        steps_per_epoch=per_call,
        validation_data=data,
        validation_steps=3,
        verbose=0,
    )
    assert int(model.d_optimizer.iterations) == before + per_call
    assert np.isfinite(history.history["val_loss"][-1])


@pytest.mark.skipif(BACKEND != "tensorflow", reason="a TensorFlow default")
def test_steps_per_execution_given_to_compile_is_kept(tiny_images):
    model = tiny_model("gan")
    model.compile(steps_per_execution=4)
    model.fit(tiny_images, batch_size=4, epochs=1, steps_per_epoch=4, verbose=0)
    assert model.steps_per_execution == 4


def test_default_settings_train(tiny_images):
    """The convolutional default trains (under XLA on TensorFlow) to finite losses."""
    model = tiny_model("dcgan")
    model.compile()
    history = model.fit(tiny_images, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())


@pytest.mark.parametrize(
    "penalty",
    [
        {"r1_weight": 1.0},
        {"r1_weight": 0.0, "r2_weight": 1.0},
        {"r1_weight": 0.0, "r2_weight": 0.0, "loss": "wasserstein"},
    ],
)
def test_jit_compile_gives_way_on_torch_to_penalties_it_cannot_differentiate(
    tiny_images, penalty
):
    """torch.compile cannot differentiate twice: warned, dropped, trains eagerly."""
    model = tiny_model("dcgan")
    if BACKEND != "torch":
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.compile(jit_compile=True, **penalty)
        assert model.jit_compile is True
        return
    with pytest.warns(UserWarning, match="cannot differentiate twice"):
        model.compile(jit_compile=True, **penalty)
    assert model.jit_compile is False
    history = model.fit(tiny_images[:8], batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    # Without a penalty, the user's jit_compile=True stands.
    model = tiny_model("dcgan")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.compile(jit_compile=True, r1_weight=0.0, r2_weight=0.0)
    assert model.jit_compile is True
