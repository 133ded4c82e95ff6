"""kgen.layers.Conv2D and Conv2DTranspose: Keras' layers, with JAX's faster gradients."""

import keras
import numpy as np
import pytest

import kgen

# Cases that run kgen's own code on JAX, for both layers.
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


@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="the custom gradients are JAX's"
)
@pytest.mark.parametrize("name, case", FAST_CASES)
def test_jax_gradients_and_gradients_of_gradients_equal_keras_own(name, case):
    import jax

    inputs = _inputs()
    reference, layer = _pair(name, case, inputs)

    def loss(network):
        def value(weights, x):
            outputs, _ = network.stateless_call(weights, [], x)
            return (outputs**2).sum()

        return value

    def penalty(network):
        # What R1 differentiates: the squared norm of the input gradient.
        def value(weights, x):
            return (jax.grad(loss(network), argnums=1)(weights, x) ** 2).sum()

        return value

    weights = [w.value for w in layer.trainable_weights]
    for make in (loss, penalty):
        expected = jax.grad(make(reference), argnums=(0, 1))(weights, inputs)
        got = jax.grad(make(layer), argnums=(0, 1))(weights, inputs)
        for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(got), strict=True):
            scale = float(np.abs(np.asarray(a)).max())
            np.testing.assert_allclose(
                np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5 * scale
            )
