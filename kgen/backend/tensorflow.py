"""TensorFlow gradients for kgen's custom training steps."""

import tensorflow as tf


def train_step(model, data):
    return model.stateful_train_step(data)


def test_step(model, data):
    return model.stateful_test_step(data)


def value_and_grad(loss_fn, variables):
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
    grads = tape.gradient(loss, variables)
    # A variable the loss does not touch gets None; optimizers want tensors.
    grads = [
        tf.zeros_like(v) if g is None else g
        for g, v in zip(grads, variables, strict=True)
    ]
    return loss, aux, grads


def input_gradient(fn, inputs):
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        total = tf.reduce_sum(fn(inputs))
    return tape.gradient(total, inputs)


def gradient_function(loss_fn, wrt, variables):
    # tf.function reads the variables' current values on every call.
    @tf.function
    def run():
        return value_and_grad(loss_fn, wrt)

    return run
