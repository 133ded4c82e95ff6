"""Gradients and the train-step adapter: what differs between backends.

Every model writes its training step once, in `keras.ops`, as stateful
functions `model.stateful_train_step(data)` and `model.stateful_test_step(data)`
(see `kgen.models.Model`). This package runs them on each backend. The
defaults here serve TensorFlow and PyTorch, whose trainers call
`train_step(data)` and let the step update variables in place:

- `train_step(model, *args)` and `test_step(model, *args)`: what Keras'
  trainer calls; they run the model's stateful steps.
- `apply_gradients(optimizer, grads, variables)`: `optimizer.apply` inside a
  training step.

`kgen.backend.jax` overrides all three: JAX's trainer passes `(state, data)`
and wants the new state back, so the steps run in a `keras.StatelessScope`.
Each backend module (`tensorflow`, `jax`, `torch`) provides the rest:

- `value_and_grad(loss_fn, variables)`: runs `loss_fn() -> (loss, aux)` and
  returns `(loss, aux, grads)` with the gradients of `loss` for `variables`.
- `input_gradient(fn, inputs)`: the gradient of `sum(fn(inputs))` with respect to
  `inputs`, itself differentiable (for gradient penalties).
- `gradient_function(loss_fn, wrt, variables)`: a compiled
  `() -> (loss, aux, grads)` for use outside `fit` (L-BFGS in style transfer):
  `loss_fn() -> (loss, aux)` reads the current values of `variables`, and `grads`
  are the gradients of `loss` for `wrt`, a subset of them.
- `replica_loss(loss)`: what one replica differentiates so that the summed
  gradients of a data-parallel step are those of the global mean loss.
- `replica_rows(draw, shape)`: this replica's rows of one draw for the global
  batch, so replicas get different noise (and, with the same seed, the noise a
  single device would use for the same global batch).

A backend module may also provide `conv(inputs, kernel, strides, padding)`
and `conv_transpose(inputs, kernel, strides, padding)`, a faster
`keras.ops.conv` and `keras.ops.conv_transpose` (JAX: the kernel gradient of
a transposed convolution, and of a convolution's input gradient; PyTorch:
both without Keras' layout copies).

On top of these, `minimize()` is the one optimizer step every model uses,
`normal()`/`uniform()` draw per-example noise inside training steps, and
`compile_settings()` holds kgen's default `compile()` settings per backend.

The gradients live here; a few other places branch on the backend for what
is not about gradients: `kgen.export` (PyTorch, and JAX models with range
checks, export through a TensorFlow child process), `kgen.data` (tf.data
pipelines, and PyTorch `DataLoader`s) and the style-transfer pipeline
(`kgen.pipelines.style_transfer`: XLA by default on JAX, and on TensorFlow
only with a GPU).
"""

import importlib
import warnings

import keras
from keras import ops

_BACKENDS = ("tensorflow", "jax", "torch")
# Imported once per backend: a call of `importlib.import_module` inside a
# step that `torch.compile` traces breaks its graph at every use.
_MODULES = {}


def _backend_module():
    name = keras.backend.backend()
    module = _MODULES.get(name)
    if module is None:
        if name not in _BACKENDS:
            raise ValueError(
                f"kgen supports the tensorflow, jax and torch backends; "
                f"KERAS_BACKEND is {name!r}."
            )
        module = _MODULES[name] = importlib.import_module(f"kgen.backend.{name}")
    return module


def train_step(model, *args):
    override = getattr(_backend_module(), "train_step", None)
    return override(model, *args) if override else model.stateful_train_step(*args)


def test_step(model, *args):
    override = getattr(_backend_module(), "test_step", None)
    return override(model, *args) if override else model.stateful_test_step(*args)


def apply_gradients(optimizer, grads, variables):
    override = getattr(_backend_module(), "apply_gradients", None)
    if override:
        return override(optimizer, grads, variables)
    optimizer.apply(grads, variables)


def value_and_grad(loss_fn, variables):
    return _backend_module().value_and_grad(loss_fn, variables)


def input_gradient(fn, inputs):
    return _backend_module().input_gradient(fn, inputs)


def gradient_function(loss_fn, wrt, variables):
    return _backend_module().gradient_function(loss_fn, wrt, variables)


def minimize(optimizer, loss_fn, variables):
    """One `optimizer` step on `loss_fn() -> (loss, aux)`; returns `(loss, aux)`.

    The gradient is taken of the loss as the step needs it: divided among
    data-parallel replicas (`tf.distribute` sums their gradients) and scaled by
    a `keras.optimizers.LossScaleOptimizer` under `mixed_float16` (its `apply`
    unscales, and skips steps whose gradients overflowed). The loss returned is
    the plain one, for the metrics.
    """

    def scaled_loss():
        loss, aux = loss_fn()
        replica_loss = _backend_module().replica_loss(loss)
        return optimizer.scale_loss(replica_loss), (loss, aux)

    _, (loss, aux), grads = value_and_grad(scaled_loss, variables)
    apply_gradients(optimizer, grads, variables)
    return ops.stop_gradient(loss), aux


def conv(inputs, kernel, strides, padding):
    """`keras.ops.conv` (channels last, no dilation or groups), with the
    backend's faster gradients of its input gradient where it has them
    (JAX: what R1, R2 and gradient penalties differentiate)."""
    override = getattr(_backend_module(), "conv", None)
    if override:
        return override(inputs, kernel, strides, padding)
    return ops.conv(inputs, kernel, strides=strides, padding=padding)


def conv_transpose(inputs, kernel, strides, padding):
    """`keras.ops.conv_transpose` (channels last, no dilation or output
    padding), with the backend's faster gradients where it has them."""
    override = getattr(_backend_module(), "conv_transpose", None)
    if override:
        return override(inputs, kernel, strides, padding)
    return ops.conv_transpose(inputs, kernel, strides=strides, padding=padding)


def normal(shape, seed, dtype=None):
    """`keras.random.normal` for a batch inside a (possibly replicated) step."""
    return _backend_module().replica_rows(
        lambda rows: keras.random.normal(rows, dtype=dtype, seed=seed), shape
    )


def uniform(shape, seed, dtype=None):
    """`keras.random.uniform` for a batch inside a (possibly replicated) step."""
    return _backend_module().replica_rows(
        lambda rows: keras.random.uniform(rows, dtype=dtype, seed=seed), shape
    )


# Training steps per call of the compiled step for dense-only models on
# TensorFlow. On 2 CPU cores (Intel Xeon, AVX-512 bf16/AMX; batch 128), 10
# trained the MLP GAN 1.27x faster than 1 (benchmarks/gan_throughput.py:
# 0.81x -> 1.03x the hand-written TF loop; 40 gave no more) and the MLP VAE
# 1.23-1.28x. On JAX 10 gave only 1.07x for the MLP GAN, so JAX keeps 1.
DENSE_STEPS_PER_EXECUTION = 10

# Layers that make XLA pay on a TensorFlow CPU without oneDNN. Measured on
# 2 CPU cores (README, "XLA"): XLA ran the DCGAN's step 1.5-1.8x faster;
# with oneDNN on, at 0.78-0.83x.
CONVOLUTIONS = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
)


def compile_settings(model, kwargs: dict) -> dict:
    """`kwargs` for `keras.Model.compile`, with kgen's defaults where unset.

    Every kgen model's `compile()` passes its `**kwargs` through here, so the
    defaults live in this one place; a setting the user passes always wins.

    - `jit_compile`: on TensorFlow, `True` (XLA, also on a CPU) for models
      with convolutions when TensorFlow's CPU kernels do not use oneDNN
      (AVX2-only CPUs, or `TF_ENABLE_ONEDNN_OPTS=0`), where it measured
      1.5-1.8x faster, and for dense-only models whose class sets
      `dense_steps_prefer_xla` (the GANs: 1.3-1.4x, with oneDNN or
      without); otherwise Keras' `"auto"` (XLA with a GPU, none on a CPU:
      convolutions through oneDNN ran slower under XLA, and the MLP VAE's
      step 1.05x as fast with oneDNN, 0.54x without). Also `"auto"` under
      `tf.distribute` (Keras' rule: no XLA) and with `run_eagerly=True`.
      On JAX, `"auto"` (every step is XLA-compiled); on PyTorch, `"auto"`
      (eager: `torch.compile` took 35 s to compile the MLP GAN's step and
      then ran it at half the plain PyTorch loop's speed; `True` is
      dropped, with a warning, for steps that differentiate twice, which
      `torch.compile` cannot: R1 and gradient penalties). Where a layer cannot be
      compiled, Keras warns "Model doesn't support `jit_compile=True`" and
      trains without XLA.
    - `steps_per_execution`: on TensorFlow, `DENSE_STEPS_PER_EXECUTION` for
      models without convolutions (the MLP GAN, VAE and conditional GAN),
      whose steps take a few milliseconds, so that Keras' per-step overhead
      is paid once per that many steps; otherwise Keras' 1 (convolutional
      steps are long enough; Keras' PyTorch trainer runs only 1; JAX's
      dense steps measured no faster; also 1 under `tf.distribute` and with
      `run_eagerly=True`). `kgen.models.Model.fit` lowers this default to a
      divisor of `steps_per_epoch`, so that an epoch trains exactly the
      steps asked for.
    """
    settings = dict(kwargs)
    # Imported here, before any step is traced.
    _backend_module()
    # Both defaults depend on these; walking the layers once is enough.
    on_tensorflow = _compiled_on_tensorflow(settings)
    convolutional = on_tensorflow and _has_convolutions(model)
    if "jit_compile" not in settings:
        settings["jit_compile"] = _default_jit_compile(
            model, on_tensorflow, convolutional
        )
    _check_torch_compile(model, settings)
    if "steps_per_execution" not in settings:
        dense = on_tensorflow and not convolutional
        settings["steps_per_execution"] = DENSE_STEPS_PER_EXECUTION if dense else 1
    return settings


def _check_torch_compile(model, settings):
    """Drops `jit_compile=True` on PyTorch for steps that differentiate twice.

    `torch.compile`'s autograd cannot take a gradient of a gradient, which
    the R1 and Wasserstein gradient penalties need (a `RuntimeError` in the
    first step otherwise): warn, and train eagerly.
    """
    if keras.backend.backend() != "torch" or settings.get("jit_compile") is not True:
        return
    differentiates_twice = getattr(model, "differentiates_twice", None)
    if differentiates_twice is None or not differentiates_twice():
        return
    warnings.warn(
        f"{type(model).__name__}: jit_compile=True is ignored on PyTorch, whose "
        "torch.compile cannot differentiate twice as the R1, R2 or gradient "
        "penalty needs; training runs eagerly (compile with r1_weight=0, "
        "r2_weight=0 and a loss without gradient penalty to use torch.compile).",
        stacklevel=5,
    )
    settings["jit_compile"] = False


def _default_jit_compile(model, on_tensorflow, convolutional):
    if not on_tensorflow:
        return "auto"
    if not convolutional:
        return True if model.dense_steps_prefer_xla else "auto"
    from kgen.backend import tensorflow as tf_backend

    # With oneDNN, TensorFlow's own CPU convolutions beat XLA's; "auto" still
    # compiles with XLA when a GPU is visible.
    return "auto" if tf_backend.uses_onednn() else True


def _compiled_on_tensorflow(settings):
    """Whether `compile()` builds a TensorFlow graph on one device."""
    if keras.backend.backend() != "tensorflow" or settings.get("run_eagerly"):
        return False
    import tensorflow as tf

    return not tf.distribute.has_strategy()


def _has_convolutions(model):
    return any(isinstance(x, CONVOLUTIONS) for x in nested_layers(model))


def nested_layers(layer):
    """Every layer inside `layer` (a model's layers, theirs, ...), depth first."""
    for sublayer in getattr(layer, "layers", None) or ():
        yield sublayer
        yield from nested_layers(sublayer)
