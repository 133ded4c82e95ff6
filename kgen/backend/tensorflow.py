"""TensorFlow gradients for kgen's custom training steps.

The train-step adapter (`train_step`, `test_step`, `apply_gradients`) is
`kgen.backend`'s default: TensorFlow's trainer lets the step update variables
in place.
"""

import tensorflow as tf


def value_and_grad(loss_fn, variables):
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
    grads = tape.gradient(loss, variables)
    # A variable the loss does not touch gets None; optimizers want tensors.
    # Embeddings get IndexedSlices, which loss-scale unscaling cannot divide.
    grads = [
        tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
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


def _replicas():
    """`(replica context, number of replicas)`; one outside `tf.distribute`."""
    context = tf.distribute.get_replica_context()
    return context, 1 if context is None else context.num_replicas_in_sync


def replica_loss(loss):
    # tf.distribute sums the replicas' gradients: each contributes its share of
    # the global mean (what Keras' own compute_loss does).
    _, replicas = _replicas()
    return loss if replicas == 1 else loss / replicas


def replica_rows(draw, shape):
    context, replicas = _replicas()
    if replicas == 1:
        return draw(shape)
    # Every replica draws the global batch's noise from the same seed state and
    # keeps its own rows: different noise per replica, and the same noise as one
    # device running the whole global batch.
    rows = shape[0]
    everyone = draw((rows * replicas, *shape[1:]))
    start = context.replica_id_in_sync_group * rows
    return everyone[start : start + rows]


def uses_onednn():
    """Whether TensorFlow runs its CPU kernels through oneDNN in this process.

    TensorFlow turns oneDNN on by default on CPUs with AVX-512 VNNI, bf16 or
    AMX, off on older ones (AVX2 only), and `TF_ENABLE_ONEDNN_OPTS` overrides
    it. The answer sits in a private module: `False` where it is missing.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return False
    return bool(_pywrap_util_port.IsMklEnabled())
