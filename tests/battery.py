"""The checks every kgen model passes, run by each model's test file.

In the spirit of keras-hub's `run_backbone_test` and `run_model_saving_test`:
a model's test file calls these with a tiny builder and tiny data, so that
each model is held to the same contract.

- `run_config_test`: `get_config()` survives JSON, `from_config` revives it
  with the same config and the same attributes.
- `run_saving_test`: a `.keras` round trip after one training step keeps
  the weights, the optimizer's state and iterations, and the outputs.
- `run_mixed_precision_test`: one training step under a mixed policy keeps
  float32 variables and gives finite metrics and outputs.
- `run_evaluate_test`: `evaluate` reports finite metrics, the expected keys,
  and updates nothing.

Export is checked by `tests/test_serving.py` for every model, in a process
where Keras and kgen cannot be imported: that is stricter than reloading in
the test process, and one export per model is all the suite can afford.
"""

import json
import math

import keras
import numpy as np
from keras import ops


def _numpy(values):
    return [ops.convert_to_numpy(v) for v in values]


def _assert_same_values(first, second):
    first, second = _numpy(first), _numpy(second)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def _layers(model):
    """Every layer of `model`, inside nested models too."""
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _layers(layer)


def _fit(model, data, **kwargs):
    """One step: `data` is `(x,)`, `(x, y)` or `(dataset,)` holding one batch."""
    x, *rest = data
    if len(rest) == 1 and rest[0] is not None:
        return model.fit(x, rest[0], batch_size=len(x), epochs=1, verbose=0, **kwargs)
    if hasattr(x, "__len__") and not hasattr(x, "element_spec"):
        return model.fit(x, batch_size=len(x), epochs=1, verbose=0, **kwargs)
    return model.fit(x, steps_per_epoch=1, epochs=1, verbose=0, **kwargs)


def run_config_test(build, attributes=()):
    """`build()`'s config survives JSON and `from_config`; returns the revival.

    `attributes`: names whose values the revived model must share.
    """
    model = build()
    config = model.get_config()
    revived_config = json.loads(json.dumps(config))
    restored = type(model).from_config(revived_config)
    assert type(restored) is type(model)
    assert json.loads(json.dumps(restored.get_config())) == revived_config
    for name in attributes:
        original, revived = getattr(model, name), getattr(restored, name)
        if isinstance(original, tuple | list):
            original, revived = list(original), list(revived)
        assert revived == original, (name, revived, original)
    return restored


def run_saving_test(model, data, outputs, path, compile_kwargs=None):
    """Train `model` one step on `data`, save to `path`, load, compare.

    `outputs(model)` returns the arrays the restored model must reproduce
    exactly (e.g. `generate(4, seed=0)`). Returns the restored model.
    """
    model.compile(**(compile_kwargs or {}))
    _fit(model, data)
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    _assert_same_values(model.weights, restored.weights)
    _assert_same_values(model.optimizer.variables, restored.optimizer.variables)
    iterations = int(ops.convert_to_numpy(model.optimizer.iterations))
    assert iterations >= 1
    assert int(ops.convert_to_numpy(restored.optimizer.iterations)) == iterations
    for expected, actual in zip(outputs(model), outputs(restored), strict=True):
        np.testing.assert_array_equal(
            ops.convert_to_numpy(actual), ops.convert_to_numpy(expected)
        )
    return restored


def run_mixed_precision_test(build, data, outputs, policy="mixed_bfloat16"):
    """One training step of `build()` under `policy`: float32 variables,
    finite metrics, and finite float32 `outputs(model)`."""
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        model = build()
        model.compile()
        history = _fit(model, data).history
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    compute = policy.removeprefix("mixed_")
    assert any(
        layer.compute_dtype == compute for layer in _layers(model) if layer.weights
    ), f"no layer computes in {compute}"
    assert all(v.dtype == "float32" for v in model.weights)
    for key, values in history.items():
        assert np.all(np.isfinite(values)), key
    for output in outputs(model):
        output = ops.convert_to_numpy(output)
        assert output.dtype == np.float32
        assert np.isfinite(output).all()
    return model


def run_evaluate_test(model, data, metric_keys):
    """`evaluate` on `data` gives finite `metric_keys` and changes no weight."""
    if model.optimizer is None:
        model.compile()
    before = _numpy(model.weights)
    x, *rest = data
    y = rest[0] if rest else None
    kwargs = {} if hasattr(x, "element_spec") else {"batch_size": len(x)}
    results = model.evaluate(x, y, verbose=0, return_dict=True, **kwargs)
    assert set(results) == set(metric_keys)
    assert all(math.isfinite(v) for v in results.values()), results
    _assert_same_values(before, model.weights)
    return results
