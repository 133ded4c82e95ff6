"""JAX gradients for kgen's custom training steps.

Keras' JAX trainer is stateless: it hands `train_step` the values of every
variable and wants the new values back. kgen's training steps are written in the
stateful style (read variables, `optimizer.apply`, `metric.update_state`), so this
module runs them inside a `keras.StatelessScope` that maps every variable to its
traced value and collects what was assigned. Gradients nest a second scope in
which the differentiated variables take `jax.grad`'s tracers.
"""

import functools

import jax
import keras
from keras import ops
from keras.src.backend.common.stateless_scope import get_stateless_scope


def _run_in_scope(step, groups, state, data):
    """Runs the stateful `step(data)` on `state`, the values of `groups`."""
    mapping = [
        (variable, value)
        for variables, values in zip(groups, state, strict=True)
        for variable, value in zip(variables, values, strict=True)
    ]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step(data)
    new_state = tuple(
        [scope.get_current_value(variable) for variable in variables]
        for variables in groups
    )
    return logs, new_state


def train_step(model, state, data):
    groups = (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )
    return _run_in_scope(model.stateful_train_step, groups, state, data)


def test_step(model, state, data):
    groups = (
        model.trainable_variables,
        model.non_trainable_variables,
        model.metrics_variables,
    )
    return _run_in_scope(model.stateful_test_step, groups, state, data)


def apply_gradients(optimizer, grads, variables):
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer.apply(grads, variables)
        return
    # LossScaleOptimizer.apply branches with ops.cond over stateful updates,
    # which leaks tracers out of jax's cond; its stateless_apply (what Keras'
    # own JAX trainer calls) is pure, so it runs on the scope's current values.
    scope = get_stateless_scope()
    new_values, new_optimizer_values = optimizer.stateless_apply(
        [scope.get_current_value(v) for v in optimizer.variables],
        grads,
        [scope.get_current_value(v) for v in variables],
    )
    for variable, value in zip(variables, new_values, strict=True):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, new_optimizer_values, strict=True):
        variable.assign(value)


def value_and_grad(loss_fn, variables):
    outer = get_stateless_scope()
    if outer is None:
        raise RuntimeError(
            "kgen's JAX gradients run inside a training step; call fit() or "
            "train_on_batch() instead of calling the step directly."
        )
    outer_mapping = dict(outer.state_mapping)

    def pure_loss(values):
        inner = keras.StatelessScope()
        # Variables that are not differentiated keep their current traced value.
        inner.state_mapping = dict(outer_mapping)
        inner.state_mapping.update(
            {
                id(variable): value
                for variable, value in zip(variables, values, strict=True)
            }
        )
        with inner:
            loss, aux = loss_fn()
        # Assignments made inside (batch-norm statistics, seed states) must leave
        # the gradient trace and land in the outer scope.
        updates = {
            key: value
            for key, value in inner.state_mapping.items()
            if outer_mapping.get(key) is not value
        }
        for variable, value in zip(variables, values, strict=True):
            if updates.get(id(variable)) is value:
                del updates[id(variable)]
        return loss, (aux, updates)

    values = [outer_mapping[id(variable)] for variable in variables]
    (loss, (aux, updates)), grads = jax.value_and_grad(pure_loss, has_aux=True)(values)
    outer.state_mapping.update(updates)
    return loss, aux, grads


def input_gradient(fn, inputs):
    outer = get_stateless_scope()

    def total(x):
        # Assignments made by this extra forward pass (batch-norm statistics)
        # are dropped: they would be jax.grad tracers escaping their trace.
        scope = keras.StatelessScope()
        scope.state_mapping = dict(outer.state_mapping) if outer else {}
        with scope:
            return fn(x).sum()

    return jax.grad(total)(inputs)


def gradient_function(loss_fn, wrt, variables):
    # The variables' values are arguments of the jitted function, not
    # constants baked into it, so each call sees their current values.
    @jax.jit
    def pure(values):
        mapping = list(zip(variables, values, strict=True))
        with keras.StatelessScope(state_mapping=mapping):
            return value_and_grad(loss_fn, wrt)

    return lambda: pure([variable.value for variable in variables])


# Keras' JAX trainer runs the step once on global, sharded arrays, so the
# mean loss and the noise are already global.
def replica_loss(loss):
    return loss


def replica_rows(draw, shape):
    return draw(shape)


def conv(inputs, kernel, strides, padding):
    """`keras.ops.conv` (NHWC, HWIO kernel), with fast gradients of its gradient.

    JAX's input gradient of a strided convolution is a transposed
    convolution, and the kernel gradient of that (which R1, R2 and gradient
    penalties take: they differentiate D's input gradient) is what XLA on a
    CPU computes slowly (see `conv_transpose`). Here the input gradient is
    `_conv_input_gradient`, whose own gradients are plain convolutions and
    their kernel gradients: R1 on 64 images through the DCGAN
    discriminator's three convolutions took 89 ms instead of 367 ms (2 CPU
    cores), with the same values.
    """
    inputs, kernel = ops.convert_to_tensor(inputs), ops.convert_to_tensor(kernel)
    # As keras.ops.conv: the inputs take the kernel's (compute) dtype.
    return _conv_with_fast_gradients(
        inputs.astype(kernel.dtype), kernel, strides, padding
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_with_fast_gradients(inputs, kernel, strides, padding):
    return _conv(inputs, kernel, strides, padding)


def _conv_forward(inputs, kernel, strides, padding):
    return _conv(inputs, kernel, strides, padding), (inputs, kernel)


def _conv_backward(strides, padding, residuals, grad):
    inputs, kernel = residuals
    _, kernel_vjp = jax.vjp(lambda k: _conv(inputs, k, strides, padding), kernel)
    inputs_grad = _conv_input_gradient(grad, kernel, inputs.shape, strides, padding)
    return inputs_grad, kernel_vjp(grad)[0]


_conv_with_fast_gradients.defvjp(_conv_forward, _conv_backward)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_input_gradient(grad, kernel, input_shape, strides, padding):
    """`A^T grad` for the linear map `A x = _conv(x, kernel)` on `input_shape`.

    Its gradients follow from `<h, A^T g> = <A h, g>`: `A h` for `grad`, and
    `_conv`'s kernel gradient at `h` for `kernel`.
    """
    zeros = jax.numpy.zeros(input_shape, grad.dtype)
    _, inputs_vjp = jax.vjp(lambda x: _conv(x, kernel, strides, padding), zeros)
    return inputs_vjp(grad)[0]


def _conv_input_gradient_forward(grad, kernel, input_shape, strides, padding):
    outputs = _conv_input_gradient(grad, kernel, input_shape, strides, padding)
    return outputs, (grad, kernel)


def _conv_input_gradient_backward(input_shape, strides, padding, residuals, h):
    grad, kernel = residuals
    # The primal output of this vjp is `A h` itself.
    outputs, kernel_vjp = jax.vjp(lambda k: _conv(h, k, strides, padding), kernel)
    return outputs, kernel_vjp(grad)[0]


_conv_input_gradient.defvjp(_conv_input_gradient_forward, _conv_input_gradient_backward)


def conv_transpose(inputs, kernel, strides, padding):
    """`keras.ops.conv_transpose` (NHWC, HWOI kernel), with fast gradients.

    A transposed convolution is the transpose of the strided convolution
    `_conv(., kernel)` from its outputs to its inputs, so for an output
    gradient `g`, `<g, outputs> = <_conv(g, kernel), inputs>`: the gradients
    are `_conv(g, kernel)` and `_conv`'s kernel gradient at `inputs`. XLA
    on a CPU computes the latter ~18x faster than the kernel gradient that
    JAX derives for the transposed convolution itself (see
    `kgen.layers.Conv2DTranspose`).
    """
    # Variables become arrays first: custom_vjp takes arrays only.
    inputs, kernel = ops.convert_to_tensor(inputs), ops.convert_to_tensor(kernel)
    return _conv_transpose(inputs, kernel, strides, padding)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_transpose(inputs, kernel, strides, padding):
    return ops.conv_transpose(inputs, kernel, strides=strides, padding=padding)


def _conv(images, kernel, strides, padding):
    return jax.lax.conv_general_dilated(
        images,
        kernel,
        strides,
        padding.upper(),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )


def _conv_transpose_forward(inputs, kernel, strides, padding):
    return _conv_transpose(inputs, kernel, strides, padding), (inputs, kernel)


def _conv_transpose_backward(strides, padding, residuals, grad):
    inputs, kernel = residuals
    # The vjp's primal output is `_conv(grad, kernel)`, the inputs' gradient.
    inputs_grad, kernel_vjp = jax.vjp(
        lambda k: _conv(grad, k, strides, padding), kernel
    )
    return inputs_grad, kernel_vjp(inputs)[0]


_conv_transpose.defvjp(_conv_transpose_forward, _conv_transpose_backward)
