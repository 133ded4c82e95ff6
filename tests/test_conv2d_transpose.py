"""kgen.layers.Conv2DTranspose: Keras' layer, with JAX's faster kernel gradients."""

import keras
import numpy as np
import pytest

import kgen

CASES = [
    dict(filters=6, kernel_size=4, strides=2, padding="same"),
    dict(filters=3, kernel_size=5, strides=2, padding="same", activation="tanh"),
    dict(filters=4, kernel_size=3, strides=2, padding="valid", use_bias=False),
    dict(filters=2, kernel_size=3, strides=1, padding="same"),
    # Keras' own code: dilation and output padding.
    dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
    dict(filters=2, kernel_size=3, strides=2, output_padding=1, padding="same"),
]


def _pair(case, inputs):
    """The same-weights Keras and kgen layers, built on `inputs`."""
    reference = keras.layers.Conv2DTranspose(**case)
    layer = kgen.layers.Conv2DTranspose(**case)
    reference(inputs)
    layer(inputs)
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") for w in reference.weights]
    reference.set_weights(weights)
    layer.set_weights(weights)
    return reference, layer


@pytest.mark.parametrize("case", CASES)
def test_outputs_and_config_are_keras_own(case):
    inputs = np.random.default_rng(0).normal(size=(3, 5, 6, 4)).astype("float32")
    reference, layer = _pair(case, inputs)
    expected = keras.ops.convert_to_numpy(reference(inputs))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(inputs)), expected, rtol=1e-5, atol=1e-5
    )
    assert layer.get_config() == {**reference.get_config(), "name": layer.name}
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer)
    )
    assert type(restored) is kgen.layers.Conv2DTranspose


@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="the custom gradient is JAX's"
)
@pytest.mark.parametrize("case", CASES[:4])
def test_jax_gradients_equal_keras_own(case):
    import jax

    inputs = np.random.default_rng(0).normal(size=(3, 5, 6, 4)).astype("float32")
    reference, layer = _pair(case, inputs)

    def loss(network):
        def value(weights, x):
            outputs, _ = network.stateless_call(weights, [], x)
            return (outputs**2).sum()

        return value

    weights = [w.value for w in layer.trainable_weights]
    expected = jax.grad(loss(reference), argnums=(0, 1))(weights, inputs)
    got = jax.grad(loss(layer), argnums=(0, 1))(weights, inputs)
    for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(got), strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-3)
