"""The only backend-specific code in kgen: gradients and the train-step adapter.

Every model writes its training step once, in `keras.ops`, as a stateful function
`model.stateful_train_step(data)`. Each backend module provides three things:

- `train_step(model, *args)` and `test_step(model, *args)`: what Keras' trainer
  calls. TensorFlow and PyTorch pass `(data)`; JAX passes `(state, data)` and
  expects the new state back. They run `model.stateful_train_step(data)` and
  `model.stateful_test_step(data)`.
- `value_and_grad(loss_fn, variables)`: runs `loss_fn() -> (loss, aux)` and
  returns `(loss, aux, grads)` with the gradients of `loss` for `variables`.
- `input_gradient(fn, inputs)`: the gradient of `sum(fn(inputs))` with respect to
  `inputs`, itself differentiable (for gradient penalties).
- `gradient_function(loss_fn, wrt, variables)`: a compiled
  `() -> (loss, aux, grads)` for use outside `fit` (L-BFGS in style transfer):
  `loss_fn() -> (loss, aux)` reads the current values of `variables`, and `grads`
  are the gradients of `loss` for `wrt`, a subset of them.
"""

import importlib

import keras

_BACKENDS = ("tensorflow", "jax", "torch")


def _backend_module():
    name = keras.backend.backend()
    if name not in _BACKENDS:
        raise ValueError(
            f"kgen supports the tensorflow, jax and torch backends; "
            f"KERAS_BACKEND is {name!r}."
        )
    return importlib.import_module(f"kgen.backend.{name}")


def train_step(model, *args):
    return _backend_module().train_step(model, *args)


def test_step(model, *args):
    return _backend_module().test_step(model, *args)


def value_and_grad(loss_fn, variables):
    return _backend_module().value_and_grad(loss_fn, variables)


def input_gradient(fn, inputs):
    return _backend_module().input_gradient(fn, inputs)


def gradient_function(loss_fn, wrt, variables):
    return _backend_module().gradient_function(loss_fn, wrt, variables)


class BackendSteps:
    """Mixin for kgen models: Keras' `train_step`/`test_step` run the model's
    `stateful_train_step`/`stateful_test_step` through this backend's adapter.
    """

    def train_step(self, *args):
        return train_step(self, *args)

    def test_step(self, *args):
        return test_step(self, *args)

    def _update_trackers(self, *values):
        """Feeds `values` to `self.metrics`, in order; returns their results."""
        for metric, value in zip(self.metrics, values, strict=True):
            metric.update_state(value)
        return {metric.name: metric.result() for metric in self.metrics}
