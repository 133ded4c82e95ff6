"""The model battery for the VAE, plus its likelihood maths."""

import math

import battery
import keras
import numpy as np
import pytest
from keras import ops
from tiny_models import LATENT_DIM, tiny_model

import kgen

METRIC_KEYS = {"loss", "reconstruction_loss", "kl_loss"}


def tiny_vae(likelihood="bernoulli", seed=0):
    return tiny_model("vae", likelihood=likelihood, seed=seed)


def tiny_conv_vae(seed=0):
    return tiny_model("vae", conv=True, likelihood="gaussian", seed=seed)


@pytest.fixture(params=["mlp", "conv"])
def build(request):
    return {"mlp": tiny_vae, "conv": tiny_conv_vae}[request.param]


@pytest.fixture(scope="module")
def digits():
    images, _ = kgen.data.glyphs(64, seed=0)
    return (images[..., None] / 127.5 - 1.0).astype("float32")


def test_config_round_trip(build):
    restored = battery.run_config_test(
        build, attributes=("latent_dim", "likelihood", "beta", "seed", "image_shape")
    )
    assert restored.generate(2, seed=0).shape == (2, 28, 28, 1)


def test_fit_lowers_the_loss_and_evaluate_reports_it(build, digits):
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(digits, batch_size=16, epochs=5, verbose=0).history
    assert set(history) == METRIC_KEYS
    assert all(math.isfinite(v) for values in history.values() for v in values)
    assert history["loss"][-1] < history["loss"][0]
    np.testing.assert_allclose(
        history["loss"][-1],
        history["reconstruction_loss"][-1] + history["kl_loss"][-1],
        rtol=1e-4,
    )
    assert all(
        not np.array_equal(b, a)
        for b, a in zip(before, model.get_weights(), strict=True)
    )
    results = battery.run_evaluate_test(model, (digits,), METRIC_KEYS)
    assert results["kl_loss"] >= 0


def test_beta_weights_the_kl_term(digits):
    model = tiny_vae()
    model.beta = 0.0
    model.compile()
    results = model.evaluate(digits, batch_size=64, verbose=0, return_dict=True)
    np.testing.assert_allclose(
        results["loss"], results["reconstruction_loss"], rtol=1e-5
    )


def test_encode_decode_reconstruct_generate_shapes(build, digits):
    model = build()
    mean, log_var = model.encode(digits[:5])
    assert mean.shape == log_var.shape == (5, LATENT_DIM)
    images = model.decode(mean)
    assert images.shape == (5, 28, 28, 1)
    assert np.all(np.abs(images) <= 1.0)
    np.testing.assert_array_equal(model.reconstruct(digits[:5]), images)
    np.testing.assert_array_equal(model.generate(3, seed=2), model.generate(3, seed=2))
    assert not np.array_equal(model.generate(3, seed=2), model.generate(3, seed=3))


def test_keras_file_round_trip_keeps_optimizer_state(build, digits, tmp_path):
    restored = battery.run_saving_test(
        build(),
        (digits[:16],),
        lambda m: [m.generate(4, seed=0), m.encode(digits[:2])[0]],
        tmp_path / "vae.keras",
    )
    assert int(restored.optimizer.iterations.numpy()) == 1
    restored.fit(digits, batch_size=16, epochs=1, verbose=0)
    assert int(restored.optimizer.iterations.numpy()) == 5


def test_one_mixed_precision_step(digits):
    # The convolutional networks, as in tests/test_mixed_precision.py's
    # float16 case.
    battery.run_mixed_precision_test(
        lambda: tiny_model("vae", conv=True),
        (digits[:16],),
        lambda m: [m.generate(4, seed=1)],
    )


def test_kl_of_the_prior_against_itself_is_zero():
    zeros = np.zeros((3, LATENT_DIM), "float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(kgen.losses.gaussian_kl(zeros, zeros)), 0.0
    )
    # KL(N(1, e) || N(0, 1)) per dimension = 0.5 * (e + 1 - 1 - 1) = 0.5 * (e - 1).
    kl = kgen.losses.gaussian_kl(np.ones((1, 2), "float32"), np.ones((1, 2), "float32"))
    np.testing.assert_allclose(ops.convert_to_numpy(kl), [math.e - 1.0], rtol=1e-6)


def test_likelihoods_match_hand_computation():
    images = ops.convert_to_tensor([[[[1.0]], [[-1.0]]]])  # one 2x1 image: 1, -1
    logits = ops.convert_to_tensor([[[[2.0]], [[0.5]]]])
    expected = np.log(1 / (1 + np.exp(-2.0))) + np.log(1 - 1 / (1 + np.exp(-0.5)))
    bernoulli = kgen.losses.bernoulli_log_likelihood(images, logits)
    np.testing.assert_allclose(ops.convert_to_numpy(bernoulli), [expected], rtol=1e-5)
    gaussian = kgen.losses.gaussian_log_likelihood(images, ops.zeros_like(images), 0.5)
    expected = 2 * (-0.5 * 4.0 - np.log(0.5) - 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(ops.convert_to_numpy(gaussian), [expected], rtol=1e-5)


def test_iwae_bound_is_above_the_elbo_and_tightens_with_k(digits):
    model = tiny_vae()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(digits, batch_size=16, epochs=3, verbose=0)
    images = digits[:32]
    # Same draws: log-mean-exp >= mean (Jensen), image by image.
    iwae = model.log_likelihood(images, num_samples=64, seed=0)
    elbo = model.elbo(images, num_samples=64, seed=0)
    assert np.all(iwae >= elbo - 1e-6)
    bounds = [
        model.log_likelihood(images, num_samples=k, seed=1).mean() for k in (1, 8, 128)
    ]
    assert bounds[0] < bounds[1] < bounds[2]
    # Every estimate is a log-probability of 784 pixels: finite and negative.
    assert np.all(np.isfinite(iwae)) and np.all(iwae < 0)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: kgen.VAE(
                kgen.networks.mlp_encoder(latent_dim=4),
                kgen.networks.mlp_decoder(latent_dim=5),
            ),
            "latent_dim=5 must match",
        ),
        (
            lambda: kgen.VAE(
                kgen.networks.mlp_encoder(latent_dim=4),
                kgen.networks.mlp_decoder(latent_dim=4, image_shape=(32, 32, 1)),
            ),
            "decoder outputs",
        ),
        (
            lambda: kgen.VAE(
                kgen.networks.mlp_discriminator(), kgen.networks.mlp_decoder()
            ),
            "must output \\[mean, log_var\\]",
        ),
        (lambda: tiny_vae(likelihood="poisson"), "likelihood must be one of"),
        (lambda: tiny_vae().generate(2, labels=[0, 1]), "takes no labels"),
        (lambda: tiny_vae().encode(np.zeros((2, 32, 32, 1))), "must have shape"),
        (
            lambda: tiny_vae().log_likelihood(np.zeros((2, 28, 28, 1)), num_samples=0),
            "num_samples must be a positive",
        ),
        (lambda: tiny_vae().compile(loss="mse"), "computes its own loss"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
