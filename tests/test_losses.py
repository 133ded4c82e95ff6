import numpy as np
import pytest
from keras import ops

from kgen import losses

REAL = np.array([[2.0], [-1.0]], dtype="float32")
FAKE = np.array([[0.5], [-3.0]], dtype="float32")


def softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize(
    "name, d_expected, g_expected",
    [
        (
            "non_saturating",
            softplus(-REAL).mean() + softplus(FAKE).mean(),
            softplus(-FAKE).mean(),
        ),
        (
            "minimax",
            softplus(-REAL).mean() + softplus(FAKE).mean(),
            -softplus(FAKE).mean(),
        ),
        (
            "hinge",
            np.maximum(0, 1 - REAL).mean() + np.maximum(0, 1 + FAKE).mean(),
            -FAKE.mean(),
        ),
        (
            "least_squares",
            0.5 * (((REAL - 1) ** 2).mean() + (FAKE**2).mean()),
            0.5 * ((FAKE - 1) ** 2).mean(),
        ),
        ("wasserstein", FAKE.mean() - REAL.mean(), -FAKE.mean()),
    ],
)
def test_loss_values_match_hand_computation(name, d_expected, g_expected):
    loss = losses.get(name)
    d_loss = ops.convert_to_numpy(loss.discriminator_loss(REAL, FAKE))
    g_loss = ops.convert_to_numpy(loss.generator_loss(FAKE))
    np.testing.assert_allclose(d_loss, d_expected, rtol=1e-5)
    np.testing.assert_allclose(g_loss, g_expected, rtol=1e-5)


def test_the_relativistic_loss_compares_paired_logits():
    loss = losses.get("relativistic")
    assert loss.pairs_real_and_fake
    d_loss = ops.convert_to_numpy(loss.discriminator_loss(REAL, FAKE))
    g_loss = ops.convert_to_numpy(loss.generator_loss(FAKE, real_logits=REAL))
    np.testing.assert_allclose(d_loss, softplus(FAKE - REAL).mean(), rtol=1e-5)
    np.testing.assert_allclose(g_loss, softplus(REAL - FAKE).mean(), rtol=1e-5)
    # Adding a constant to every logit changes nothing: only differences count.
    shifted = ops.convert_to_numpy(loss.discriminator_loss(REAL + 5.0, FAKE + 5.0))
    np.testing.assert_allclose(shifted, d_loss, rtol=1e-5)
    with pytest.raises(ValueError, match="real_logits"):
        loss.generator_loss(FAKE)
    assert not losses.get("non_saturating").pairs_real_and_fake


def test_only_wasserstein_asks_for_a_gradient_penalty():
    assert losses.get("wasserstein").gradient_penalty_weight == 10.0
    assert losses.get("hinge").gradient_penalty_weight == 0.0
    assert (
        losses.WassersteinLoss(gradient_penalty_weight=0).gradient_penalty_weight == 0
    )


def test_gradient_penalty_of_a_linear_critic_is_known():
    # critic(x) = sum(w * x) has gradient w everywhere: penalty = (||w|| - 1)^2.
    weights = ops.convert_to_tensor(
        np.full((1, 4, 4, 1), 0.5, dtype="float32")
    )  # ||w|| = 2

    def critic(images, training=False):
        return ops.sum(images * weights, axis=(1, 2, 3))

    real = np.random.default_rng(0).normal(size=(3, 4, 4, 1)).astype("float32")
    fake = np.random.default_rng(1).normal(size=(3, 4, 4, 1)).astype("float32")
    penalty = losses.gradient_penalty(
        critic, ops.convert_to_tensor(real), ops.convert_to_tensor(fake), seed=0
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(ops.stop_gradient(penalty)), 1.0, rtol=1e-4
    )


def test_loss_serialization_round_trip():
    import keras

    loss = losses.WassersteinLoss(gradient_penalty_weight=5.0)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(loss)
    )
    assert restored == loss
    assert losses.get(keras.saving.serialize_keras_object(loss)) == loss


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match="hinge.*least_squares"):
        losses.get("bce")
    with pytest.raises(ValueError, match="gradient_penalty_weight"):
        losses.WassersteinLoss(gradient_penalty_weight=-1)
