"""kgen.layers.Conv2D and Conv2DTranspose: Keras' layers, faster on JAX and PyTorch."""

import keras
import numpy as np
import pytest

import kgen

# Cases that run kgen's own code on JAX and PyTorch, for both layers.
SHARED_CASES = [
    dict(filters=6, kernel_size=4, strides=2, padding="same"),
    dict(filters=4, kernel_size=3, strides=2, padding="valid", use_bias=False),
    dict(filters=2, kernel_size=3, strides=1, padding="same"),
]
FAST_CASES = [
    *[("Conv2DTranspose", case) for case in SHARED_CASES],
    # An odd kernel: asymmetric "same" padding.
    ("Conv2DTranspose", dict(filters=3, kernel_size=5, strides=2, padding="same")),
    *[("Conv2D", case) for case in SHARED_CASES],
    # Odd sizes: 5x6 inputs give 3x3 outputs.
    (
        "Conv2D",
        dict(filters=3, kernel_size=3, strides=2, padding="same", activation="tanh"),
    ),
]
# Keras' own code: dilation, and output padding or groups.
ALL_CASES = [
    *FAST_CASES,
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
    ),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=3, strides=2, output_padding=1, padding="same"),
    ),
    ("Conv2D", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same")),
    ("Conv2D", dict(filters=2, kernel_size=3, groups=2, padding="same")),
]


def _pair(name, case, inputs):
    """The same-weights Keras and kgen layers called `name`, built on `inputs`."""
    reference = getattr(keras.layers, name)(**case)
    layer = getattr(kgen.layers, name)(**case)
    reference(inputs)
    layer(inputs)
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") for w in reference.weights]
    reference.set_weights(weights)
    layer.set_weights(weights)
    return reference, layer


def _inputs():
    return np.random.default_rng(0).normal(size=(3, 5, 6, 4)).astype("float32")


@pytest.mark.parametrize("name, case", ALL_CASES)
def test_outputs_and_config_are_keras_own(name, case):
    inputs = _inputs()
    reference, layer = _pair(name, case, inputs)
    expected = keras.ops.convert_to_numpy(reference(inputs))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(inputs)), expected, rtol=1e-5, atol=1e-5
    )
    assert layer.get_config() == {**reference.get_config(), "name": layer.name}
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is getattr(kgen.layers, name)


def _jax_gradients(network, inputs):
    """Gradients of `sum(outputs**2)` and of the squared norm of its input
    gradient (what R1 differentiates), for the weights and the inputs."""
    import jax

    def loss(weights, x):
        outputs, _ = network.stateless_call(weights, [], x)
        return (outputs**2).sum()

    def penalty(weights, x):
        return (jax.grad(loss, argnums=1)(weights, x) ** 2).sum()

    weights = [w.value for w in network.trainable_weights]
    return [
        np.asarray(g)
        for value in (loss, penalty)
        for g in jax.tree.leaves(jax.grad(value, argnums=(0, 1))(weights, inputs))
    ]


def _torch_gradients(network, inputs):
    """`_jax_gradients` by PyTorch's autograd."""
    import torch

    x = torch.tensor(inputs, requires_grad=True)
    wrt = [w.value for w in network.trainable_weights] + [x]
    loss = (network(x) ** 2).sum()
    (input_grad,) = torch.autograd.grad(loss, x, create_graph=True)
    penalty = (input_grad**2).sum()
    return [
        g.detach().numpy()
        for value in (loss, penalty)
        for g in torch.autograd.grad(value, wrt, retain_graph=True)
    ]


_GRADIENTS = {"jax": _jax_gradients, "torch": _torch_gradients}


@pytest.mark.skipif(
    keras.backend.backend() not in _GRADIENTS,
    reason="TensorFlow runs Keras' own convolutions",
)
@pytest.mark.parametrize("name, case", FAST_CASES)
def test_gradients_and_gradients_of_gradients_equal_keras_own(name, case):
    gradients = _GRADIENTS[keras.backend.backend()]
    inputs = _inputs()
    reference, layer = _pair(name, case, inputs)
    expected = gradients(reference, inputs)
    got = gradients(layer, inputs)
    assert len(got) == len(expected) > 0
    for a, b in zip(expected, got, strict=True):
        scale = float(np.abs(a).max())
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5 * scale)
