"""GAN stabilisers (EMA, spectral norm, R1, label smoothing, instance noise,
TTUR), each shown to act, on whichever backend is active."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiny_models import LATENT_DIM, tiny_model

import kgen
from kgen.layers import SpectralNormalization


def tiny_gan(seed=0, **options):
    return tiny_model("gan", seed=seed, **options)


def tiny_dcgan(seed=0, **options):
    return tiny_model("dcgan", seed=seed, **options)


def tiny_cgan(seed=0, conditioning="concat", **options):
    return tiny_model(
        "cgan", num_classes=10, seed=seed, conditioning=conditioning, **options
    )


BUILDERS = {"gan": tiny_gan, "dcgan": tiny_dcgan, "cgan": tiny_cgan}


def labels_for(model, count):
    if isinstance(model, kgen.ConditionalGAN):
        return np.arange(count) % 10
    return None


def train(model, images, **kwargs):
    return model.fit(
        images, labels_for(model, len(images)), verbose=0, shuffle=False, **kwargs
    )


def step(model, images):
    """One training step; returns that step's metrics."""
    logs = model.train_on_batch(
        images, labels_for(model, len(images)), return_dict=True
    )
    return {key: float(value) for key, value in logs.items()}


def weights_of(network):
    return [np.array(w) for w in network.get_weights()]


def number(variable):
    return float(keras.ops.convert_to_numpy(variable))


def distance(first, second):
    return math.sqrt(
        sum(float(np.sum((a - b) ** 2)) for a, b in zip(first, second, strict=True))
    )


def frozen(model, **compile_arguments):
    """`model` compiled with zero learning rates: steps change no weights."""
    model.compile(
        d_optimizer=keras.optimizers.SGD(0.0),
        g_optimizer=keras.optimizers.SGD(0.0),
        **compile_arguments,
    )
    return model


def linear_critic(image_shape=(28, 28, 1), seed=0, scale=0.05):
    images = keras.Input(image_shape)
    logits = keras.layers.Dense(1, name="logits")(keras.layers.Flatten()(images))
    critic = keras.Model(images, logits, name="discriminator")
    rng = np.random.default_rng(seed)
    w = rng.normal(0, scale, (math.prod(image_shape), 1)).astype("float32")
    critic.set_weights([w, np.array([0.3], "float32")])
    return critic, w


def square_critic():
    """`(critic, w)`: D(x) = w . x^2 + 0.3, whose input gradient 2 w x varies."""
    inputs = keras.Input((28, 28, 1))
    squares = keras.layers.Multiply()([inputs, inputs])
    logits = keras.layers.Dense(1)(keras.layers.Flatten()(squares))
    critic = keras.Model(inputs, logits, name="discriminator")
    w = np.random.default_rng(1).normal(0, 0.05, (28 * 28, 1)).astype("float32")
    critic.set_weights([w, np.array([0.3], "float32")])
    return critic, w


def constant_generator():
    """An MLP generator whose output ignores z: all zero weights give tanh(0)."""
    generator = kgen.networks.mlp_generator(latent_dim=LATENT_DIM, hidden_units=(8,))
    generator.set_weights([np.zeros(w.shape, "float32") for w in generator.weights])
    return generator


# --- exponential moving average of the generator -------------------------------


def test_ema_follows_the_update_rule_and_lags_the_live_weights(tiny_images):
    model = tiny_gan(ema=0.9)
    model.compile()
    initial = weights_of(model.generator)
    for average, before in zip(weights_of(model.ema_generator), initial, strict=True):
        np.testing.assert_array_equal(average, before)
    assert not model.ema_generator.trainable_weights  # no optimizer touches it
    step(model, tiny_images[:8])
    # First update: decay min(0.9, (1 + 0) / (10 + 0)) = 0.1.
    for average, before, live in zip(
        weights_of(model.ema_generator),
        initial,
        weights_of(model.generator),
        strict=True,
    ):
        np.testing.assert_allclose(average, 0.1 * before + 0.9 * live, atol=1e-6)
    train(model, tiny_images, batch_size=8, epochs=2)
    live, average = weights_of(model.generator), weights_of(model.ema_generator)
    assert distance(average, live) > 0
    assert distance(average, initial) < distance(live, initial)


@pytest.mark.parametrize("name", ["cgan", "dcgan"])  # "gan": the export test
def test_generate_predict_and_call_use_the_ema_generator(name, tiny_images):
    model = BUILDERS[name](ema=0.5)
    model.compile()
    train(model, tiny_images, batch_size=16, epochs=1)
    z = np.random.default_rng(1).normal(size=(4, LATENT_DIM)).astype("float32")
    inputs = z if labels_for(model, 4) is None else [z, labels_for(model, 4)]
    averaged = keras.ops.convert_to_numpy(model.ema_generator(inputs))
    live = keras.ops.convert_to_numpy(model.generator(inputs))
    assert not np.allclose(averaged, live, atol=1e-4)
    np.testing.assert_allclose(model.generate(z=z), averaged, atol=1e-6)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), averaged, atol=1e-6)
    np.testing.assert_allclose(model.generate(z=z, use_ema=False), live, atol=1e-6)
    if name == "dcgan":
        # Batch-norm statistics are copied, not averaged.
        statistics = [
            (np.array(average), np.array(current))
            for average, current in zip(
                model.ema_generator.weights, model.generator.weights, strict=True
            )
            if not current.trainable
        ]
        assert statistics
        for average, current in statistics:
            np.testing.assert_array_equal(average, current)


def test_ema_survives_keras_file_weights_file_and_export(tiny_images, tmp_path):
    model = tiny_gan(ema=0.8)
    model.compile()
    train(model, tiny_images, batch_size=8, epochs=1)
    z = np.random.default_rng(2).normal(size=(3, LATENT_DIM)).astype("float32")
    expected = model.generate(z=z)
    assert not np.allclose(expected, model.generate(z=z, use_ema=False), atol=1e-4)

    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert restored.ema == 0.8
    np.testing.assert_allclose(restored.generate(z=z), expected, atol=1e-6)
    for loaded, original in zip(
        weights_of(restored.ema_generator), weights_of(model.ema_generator), strict=True
    ):
        np.testing.assert_array_equal(loaded, original)

    # BackupAndRestore's mechanism: weights files carry the average too.
    model.save_weights(tmp_path / "model.weights.h5")
    fresh = tiny_gan(seed=5, ema=0.8)
    fresh.compile()
    fresh.load_weights(tmp_path / "model.weights.h5")
    np.testing.assert_allclose(fresh.generate(z=z), expected, atol=1e-6)

    model.export(str(tmp_path / "saved"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    served = reloaded.generate(tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)


# --- spectral normalisation ----------------------------------------------------


def spectral_layers(network):
    found = [
        layer for layer in network.layers if isinstance(layer, SpectralNormalization)
    ]
    assert found, f"{network.name} has no spectrally normalised layer"
    return found


def largest_singular_value(kernel):
    kernel = keras.ops.convert_to_numpy(kernel)
    return float(
        np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    )


@pytest.mark.parametrize("name, conditioning", [("dcgan", None), ("cgan", "concat")])
def test_spectral_normalization_keeps_the_discriminator_near_norm_one(
    name, conditioning, tiny_images
):
    # Seeded: how far one power iteration per call gets depends on the start.
    keras.utils.set_random_seed(0)
    kwargs = {"conditioning": conditioning} if conditioning else {}
    model = BUILDERS[name](spectral_normalization=True, **kwargs)
    # A fast discriminator optimiser: the raw kernels grow, the used ones not.
    model.compile(d_optimizer=keras.optimizers.Adam(2e-2))
    layers = spectral_layers(model.discriminator)
    vectors_before = [np.array(layer.vector_u) for layer in layers]
    train(model, tiny_images, batch_size=8, epochs=3)
    for layer, before in zip(layers, vectors_before, strict=True):
        # The power-iteration state advanced (so it is tracked on JAX too).
        assert not np.allclose(np.array(layer.vector_u), before)
        _, kernel = layer.normalized_weights()
        # One power iteration per call only approaches the top singular
        # vector, and from below: the normalised norm is 1 or a little more.
        assert largest_singular_value(kernel) == pytest.approx(1.0, abs=0.1)
    assert any(
        abs(largest_singular_value(layer.kernel) - 1.0) > 0.2 for layer in layers
    ), "the raw kernels should be free; only the normalised ones are bounded"


def test_spectral_normalization_is_off_by_default_and_saved(tmp_path):
    plain = kgen.networks.dcgan_discriminator(base_filters=4)
    assert not any(isinstance(x, SpectralNormalization) for x in plain.layers)
    model = tiny_dcgan(spectral_normalization=True)
    config = model.get_config()
    assert config["spectral_normalization"] is True
    assert kgen.DCGAN.from_config(config).get_config() == config
    images = np.random.default_rng(3).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    model.save(tmp_path / "sn.keras")
    restored = keras.saving.load_model(tmp_path / "sn.keras")
    assert spectral_layers(restored.discriminator)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored.discriminator(images)),
        keras.ops.convert_to_numpy(model.discriminator(images)),
        atol=1e-5,
    )


# --- R1 penalty ----------------------------------------------------------------


def test_r1_penalty_is_zero_for_a_constant_critic_and_norm_w_squared_for_a_linear():
    images = np.random.default_rng(4).uniform(-1, 1, (5, 28, 28, 1)).astype("float32")
    critic, w = linear_critic()

    def run(network):
        penalty = kgen.losses.r1_penalty(
            lambda x, training: network(x, training=training),
            keras.ops.convert_to_tensor(images),
        )
        return number(penalty)

    assert run(critic) == pytest.approx(float(np.sum(w**2)), rel=1e-4)
    constant, _ = linear_critic(scale=0.0)
    assert run(constant) == 0.0


def test_dcgan_defaults_to_r1_and_r2_in_place_of_batch_norm_the_other_gans_to_none():
    dcgan = tiny_dcgan()
    dcgan.compile()
    assert dcgan.r1_weight == kgen.DCGAN.default_r1_weight == 1.0
    assert dcgan.r2_weight == kgen.DCGAN.default_r2_weight == 1.0
    assert dcgan.get_compile_config()["r1_weight"] == 1.0  # saved as used
    assert dcgan.get_compile_config()["r2_weight"] == 1.0
    names = [metric.name for metric in dcgan.metrics]
    assert {"r1_penalty", "r2_penalty"} <= set(names)
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization)
        for layer in kgen.backend.nested_layers(dcgan.discriminator)
    )
    paper = tiny_dcgan(normalization="batch")
    paper.compile(r1_weight=0.0, r2_weight=0.0)
    assert paper.r1_weight == paper.r2_weight == 0.0
    assert not {"r1_penalty", "r2_penalty"} & {m.name for m in paper.metrics}
    for name in ("gan", "cgan"):
        model = BUILDERS[name]()
        model.compile()
        assert model.r1_weight == model.r2_weight == 0.0


def test_files_saved_before_r2_existed_load_without_it():
    dcgan = tiny_dcgan()
    dcgan.compile()
    config = dcgan.get_compile_config()
    del config["r2_weight"]
    restored = tiny_dcgan()
    restored.compile_from_config(config)
    assert restored.r1_weight == 1.0 and restored.r2_weight == 0.0


@pytest.mark.parametrize("r1_weight, r2_weight", [(3.0, 0.0), (1.0, 3.0)])
def test_r1_and_r2_weights_add_half_gamma_times_their_penalties_to_d_loss(
    tiny_images, r1_weight, r2_weight
):
    # D(x) = w.x + 0.3 and G(z) = 0, both frozen: every term is known. The
    # gradient is w on real and fake images alike, so each penalty is ||w||^2.
    critic, w = linear_critic()
    model = kgen.GAN(constant_generator(), critic, seed=3)
    frozen(model, r1_weight=r1_weight, r2_weight=r2_weight)
    images = tiny_images[:8]
    logs = step(model, images)
    real_logits = images.reshape(8, -1) @ w + 0.3
    base = np.mean(np.logaddexp(0.0, -real_logits)) + np.logaddexp(0.0, 0.3)
    squared_norm = float(np.sum(w**2))
    expected = base + 0.5 * (r1_weight + r2_weight) * squared_norm
    assert logs["d_loss"] == pytest.approx(expected, rel=1e-4)
    assert logs["g_loss"] == pytest.approx(np.logaddexp(0.0, -0.3), rel=1e-5)
    penalties = ["r1_penalty", "r2_penalty"][: 1 + bool(r2_weight)]
    for name in penalties:
        assert logs[name] == pytest.approx(squared_norm, rel=1e-4)
    assert [metric.name for metric in model.metrics][-len(penalties) :] == penalties
    evaluated = model.evaluate(images, verbose=0, return_dict=True)
    assert not {"r1_penalty", "r2_penalty"} & set(evaluated)


def test_r1_subsample_takes_the_penalty_on_every_kth_row(tiny_images):
    # grad_x D = 2 w x differs from image to image.
    critic, w = square_critic()
    model = kgen.GAN(constant_generator(), critic, seed=3)
    frozen(model, r1_weight=1.0, r1_subsample=3)
    # Rows 0, 3 and 6 of 8 are scaled down, so their gradients are smaller.
    scale = np.where(np.arange(8) % 3 == 0, 0.25, 1.0).astype("float32")
    images = tiny_images[:8] * scale[:, None, None, None]
    per_image = np.sum((2 * images.reshape(8, -1) * w[:, 0]) ** 2, axis=1)
    logs = step(model, images)
    assert logs["r1_penalty"] == pytest.approx(per_image[::3].mean(), rel=1e-4)
    assert per_image[::3].mean() < 0.5 * per_image.mean()


# --- one discriminator call on the real and the generated images ---------------


@pytest.mark.parametrize(
    "name, conv, conditioning",
    [("gan", False, None), ("dcgan", True, None), ("cgan", False, "projection")],
)
def test_one_discriminator_call_on_both_halves_trains_as_two(
    tiny_images, name, conv, conditioning
):
    # Two models with the same weights and seed, one made to call D per half:
    # the joint call (and the joint R1 + R2 pass) must give the same step.
    options = {} if conditioning is None else {"conditioning": conditioning}
    joint, apart = (
        tiny_model(name, conv=conv, seed=4, num_classes=10, **options) for _ in range(2)
    )
    apart.set_weights(joint.get_weights())
    assert joint._joint_discriminator_calls
    apart._joint_discriminator_calls = False
    for model in (joint, apart):
        model.compile(r1_weight=1.0, r2_weight=2.0, r1_subsample=2)
    images = tiny_images[:8]
    logs = [step(model, images) for model in (joint, apart)]
    assert logs[0].keys() == logs[1].keys()
    for key in logs[0]:
        assert logs[0][key] == pytest.approx(logs[1][key], rel=1e-4, abs=1e-6), key
    assert logs[0]["r1_penalty"] != pytest.approx(logs[0]["r2_penalty"], rel=1e-3)
    for mine, theirs in zip(
        weights_of(joint.discriminator),
        weights_of(apart.discriminator),
        strict=True,
    ):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    evaluated = [
        model.evaluate(images, labels_for(model, 8), verbose=0, return_dict=True)
        for model in (joint, apart)
    ]
    assert evaluated[0] == pytest.approx(evaluated[1], rel=1e-4, abs=1e-6)


def test_only_discriminators_that_treat_examples_apart_are_called_once():
    from kgen.models.gan_training import treats_examples_apart

    networks = kgen.networks
    assert treats_examples_apart(networks.mlp_discriminator(hidden_units=(8,)))
    assert treats_examples_apart(kgen.DCGAN(base_filters=4).discriminator)
    spectral = networks.dcgan_discriminator(
        base_filters=4, normalization="none", spectral_normalization=True
    )
    assert treats_examples_apart(spectral)
    projection = networks.dcgan_discriminator(
        base_filters=4, normalization="layer", num_classes=3
    )
    assert treats_examples_apart(projection)
    # Batch norm mixes a batch's examples; an unknown layer may too.
    batch_norm = kgen.DCGAN(base_filters=4, normalization="batch")
    assert not treats_examples_apart(batch_norm.discriminator)
    assert not batch_norm._joint_discriminator_calls
    inputs = keras.Input((28, 28, 1))
    lambda_critic = keras.Model(
        inputs,
        keras.layers.Dense(1)(
            keras.layers.Flatten()(keras.layers.Lambda(lambda x: x - 1.0)(inputs))
        ),
    )
    assert not treats_examples_apart(lambda_critic)

    class BatchCentred(keras.layers.Dense):
        """A user's Dense that subtracts the batch mean: it mixes examples."""

        def call(self, inputs):
            outputs = super().call(inputs)
            return outputs - keras.ops.mean(outputs, axis=0)

    flat = keras.layers.Flatten()(inputs)
    user_critic = keras.Model(inputs, BatchCentred(1)(flat))
    assert not treats_examples_apart(user_critic)
    plain = keras.Model(inputs, keras.layers.Dense(1)(flat))
    assert treats_examples_apart(plain)
    assert treats_examples_apart(keras.Sequential([plain]))

    class OwnCritic(keras.Model):
        def call(self, images):
            return plain(images) - keras.ops.mean(plain(images))

    assert not treats_examples_apart(OwnCritic())


# --- R2 penalty and the relativistic loss ----------------------------------------


def test_r2_penalty_is_taken_on_the_generated_images():
    # grad_x D = 2 w x is zero at G(z) = 0, so R2 is 0 while R1 is not.
    critic, _ = square_critic()
    model = kgen.GAN(constant_generator(), critic, seed=3)
    frozen(model, r1_weight=1.0, r2_weight=1.0)
    images = np.random.default_rng(2).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    logs = step(model, images)
    assert logs["r2_penalty"] == 0.0
    assert logs["r1_penalty"] > 0.0
    assert model.differentiates_twice()


def test_the_relativistic_loss_pairs_each_real_image_with_a_fake(tiny_images):
    critic, w = linear_critic()
    model = kgen.GAN(constant_generator(), critic, seed=3)
    frozen(model, loss="relativistic")
    images = tiny_images[:8]
    logs = step(model, images)
    # G(z) = 0, so every fake's logit is the bias, 0.3.
    real_logits = images.reshape(8, -1) @ w + 0.3
    assert logs["d_loss"] == pytest.approx(
        np.mean(np.logaddexp(0.0, 0.3 - real_logits)), rel=1e-5
    )
    assert logs["g_loss"] == pytest.approx(
        np.mean(np.logaddexp(0.0, real_logits - 0.3)), rel=1e-5
    )
    evaluated = model.evaluate(images, verbose=0, return_dict=True)
    assert evaluated["g_loss"] == pytest.approx(logs["g_loss"], rel=1e-5)


@pytest.mark.parametrize("name", ["gan", "dcgan", "cgan"])
def test_r3gan_settings_train_every_gan(tiny_images, name):
    model = BUILDERS[name]()
    model.compile(loss="relativistic", r1_weight=1.0, r2_weight=1.0)
    history = train(model, tiny_images[:16], batch_size=8, epochs=2)
    for key in ("d_loss", "g_loss", "r1_penalty", "r2_penalty"):
        assert np.all(np.isfinite(history.history[key])), key
    assert history.history["r2_penalty"][-1] > 0


# --- label smoothing -----------------------------------------------------------


def test_label_smoothing_moves_only_the_real_targets():
    real = np.array([[-1.0], [0.5], [3.0]], "float32")
    fake = np.array([[-2.0], [1.0]], "float32")

    def softplus(x):
        return np.log1p(np.exp(x))

    loss = kgen.losses.get("non_saturating")
    smoothed = float(loss.discriminator_loss(real, fake, label_smoothing=0.1))
    expected = np.mean(0.9 * softplus(-real) + 0.1 * softplus(real)) + np.mean(
        softplus(fake)
    )
    assert smoothed == pytest.approx(float(expected), rel=1e-5)
    assert float(loss.discriminator_loss(real, fake)) == pytest.approx(
        float(np.mean(softplus(-real)) + np.mean(softplus(fake))), rel=1e-5
    )
    # MinimaxLoss shares the discriminator's cross entropy.
    assert float(
        kgen.losses.get("minimax").discriminator_loss(real, fake, label_smoothing=0.1)
    ) == pytest.approx(smoothed, rel=1e-6)


def test_label_smoothing_reaches_the_training_step(tiny_images):
    bias = 0.7  # D's logit for every image: zero kernels, this logit bias
    model = tiny_gan()
    model.discriminator.set_weights(
        [np.zeros(w.shape, "float32") for w in model.discriminator.weights[:-1]]
        + [np.array([bias], "float32")]
    )
    frozen(model, label_smoothing=0.2)
    logs = step(model, tiny_images[:8])
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    expected = 0.8 * softplus(-bias) + 0.2 * softplus(bias) + softplus(bias)
    assert logs["d_loss"] == pytest.approx(expected, rel=1e-5)


# --- instance noise ------------------------------------------------------------


def test_instance_noise_is_seen_by_d_in_training_and_decays_to_zero():
    # G ignores z and makes zero images, the real images are zeros too: without
    # noise D sees one input, so its losses are known exactly.
    images = np.zeros((8, 28, 28, 1), "float32")
    critic, _ = linear_critic(scale=0.5)
    model = kgen.GAN(constant_generator(), critic, seed=0)
    frozen(model, instance_noise=1.0, instance_noise_decay_steps=2)
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    clean_d_loss = softplus(-0.3) + softplus(0.3)
    clean_g_loss = softplus(-0.3)
    noisy, halved, clean = (step(model, images) for _ in range(3))
    for logs in (noisy, halved):
        assert abs(logs["d_loss"] - clean_d_loss) > 1e-3
        assert abs(logs["g_loss"] - clean_g_loss) > 1e-3
    assert clean["d_loss"] == pytest.approx(clean_d_loss, rel=1e-6)
    assert clean["g_loss"] == pytest.approx(clean_g_loss, rel=1e-6)
    # Inference never adds noise: the same z gives the same, noise-free image.
    z = np.ones((2, LATENT_DIM), "float32")
    np.testing.assert_array_equal(model.generate(z=z), np.zeros((2, 28, 28, 1)))


# --- two time-scale update rule ------------------------------------------------


def test_ttur_learning_rate_shorthand_builds_two_adams():
    model = tiny_gan()
    model.compile(d_learning_rate=4e-4, g_learning_rate=1e-4)
    assert number(model.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert number(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert model.d_optimizer.beta_1 == model.g_optimizer.beta_1 == 0.5
    assert "r1_penalty" not in [metric.name for metric in model.metrics]


def test_ttur_each_network_steps_by_its_own_learning_rate(tiny_images):
    moves = []
    for d_learning_rate in (0.01, 0.02):
        keras.utils.set_random_seed(11)
        model = tiny_gan(seed=11)
        model.compile(
            d_optimizer=keras.optimizers.SGD(d_learning_rate),
            g_optimizer=keras.optimizers.SGD(0.0),
        )
        d_before = weights_of(model.discriminator)
        g_before = weights_of(model.generator)
        step(model, tiny_images[:8])
        for before, after in zip(g_before, weights_of(model.generator), strict=True):
            np.testing.assert_array_equal(before, after)
        moves.append(
            [
                a - b
                for a, b in zip(weights_of(model.discriminator), d_before, strict=True)
            ]
        )
    for slow, fast in zip(*moves, strict=True):
        np.testing.assert_allclose(fast, 2 * slow, rtol=1e-3, atol=1e-7)


# --- everything together, configs and errors -----------------------------------


@pytest.mark.parametrize("name, conditioning", [("gan", None), ("cgan", "projection")])
def test_all_stabilizers_train_together(name, conditioning, tiny_images):
    kwargs = {"conditioning": conditioning} if conditioning else {}
    model = BUILDERS[name](ema=0.99, spectral_normalization=True, **kwargs)
    model.compile(
        d_learning_rate=4e-4,
        g_learning_rate=1e-4,
        discriminator_steps=2,
        r1_weight=1.0,
        label_smoothing=0.1,
        instance_noise=0.1,
        instance_noise_decay_steps=10,
    )
    history = train(model, tiny_images, batch_size=16, epochs=1).history
    # TTUR: two steps, each with two D updates at D's rate and one G update.
    assert number(model.d_optimizer.iterations) == 4
    assert number(model.g_optimizer.iterations) == 2
    assert number(model.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert number(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert set(history) == {
        "loss",
        "d_loss",
        "g_loss",
        "d_real_accuracy",
        "d_fake_accuracy",
        "r1_penalty",
    }
    assert all(math.isfinite(v[0]) for v in history.values())
    assert history["r1_penalty"][0] > 0
    config = model.get_config()
    assert config["ema"] == 0.99
    assert type(model).from_config(config).get_config() == config


def test_keras_file_keeps_the_stabilizer_settings(tmp_path):
    model = tiny_cgan(ema=0.99)
    model.compile(
        d_learning_rate=4e-4,
        r1_weight=1.0,
        r1_subsample=2,
        label_smoothing=0.1,
        instance_noise=0.1,
        instance_noise_decay_steps=10,
    )
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert restored.ema == 0.99
    for key, value in {
        "r1_weight": 1.0,
        "r1_subsample": 2,
        "label_smoothing": 0.1,
        "instance_noise": 0.1,
        "instance_noise_decay_steps": 10,
    }.items():
        assert getattr(restored, key) == value
    assert number(restored.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert "r1_penalty" in [metric.name for metric in restored.metrics]


def test_every_ema_above_the_warm_up_averages_alike(tiny_images):
    """The warm-up decay (1 + t) / (10 + t) binds until it reaches `ema`
    (after ~9,000 updates for 0.999), as the GAN docstring says."""
    averages = {}
    for ema in (0.999, 0.9999, 0.2):
        keras.utils.set_random_seed(0)  # the same initial weights
        model = tiny_gan(ema=ema)
        model.compile()
        train(model, tiny_images, batch_size=8, epochs=1)
        assert number(model.g_optimizer.iterations) == 4
        averages[ema] = weights_of(model.ema_generator)
    for slow, slower in zip(averages[0.999], averages[0.9999], strict=True):
        np.testing.assert_array_equal(slow, slower)
    # 0.2 is below the warm-up from the 3rd update on: a different average.
    assert distance(averages[0.2], averages[0.999]) > 1e-4


def test_ema_zero_is_the_live_generator_at_every_step(tiny_images):
    model = tiny_gan(ema=0.0)
    # Keras' PyTorch trainer only runs steps_per_execution=1.
    steps_per_execution = 1 if keras.backend.backend() == "torch" else 2
    model.compile(steps_per_execution=steps_per_execution, instance_noise=0.1)
    history = model.fit(tiny_images, batch_size=8, epochs=1, verbose=0).history
    assert all(math.isfinite(v[0]) for v in history.values())
    assert number(model.g_optimizer.iterations) == 4
    for average, live in zip(
        weights_of(model.ema_generator), weights_of(model.generator), strict=True
    ):
        np.testing.assert_allclose(average, live, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: tiny_gan(ema=1.0), "ema must be in"),
        (lambda: tiny_gan(ema=-0.5), "ema must be in"),
        (lambda: tiny_gan(ema="slow"), "ema must be a number"),
        (
            lambda: kgen.networks.mlp_discriminator(spectral_normalization="yes"),
            "spectral_normalization must be True or False",
        ),
        (lambda: tiny_gan().compile(r1_weight=-1.0), "r1_weight must be >= 0"),
        (lambda: tiny_gan().compile(r2_weight=-1.0), "r2_weight must be >= 0"),
        (
            lambda: tiny_gan().compile(r1_subsample=0),
            "r1_subsample must be a positive integer",
        ),
        (
            lambda: tiny_gan().compile(r1_subsample=0.25),
            "r1_subsample must be a positive integer",
        ),
        (lambda: tiny_gan().compile(label_smoothing=1.0), "label_smoothing must be"),
        (
            lambda: tiny_gan().compile(loss="hinge", label_smoothing=0.1),
            "cross-entropy losses",
        ),
        (lambda: tiny_gan().compile(instance_noise=-0.1), "instance_noise must be"),
        (
            lambda: tiny_gan().compile(instance_noise_decay_steps=5),
            "needs instance_noise > 0",
        ),
        (
            lambda: tiny_gan().compile(
                d_optimizer=keras.optimizers.Adam(), d_learning_rate=1e-3
            ),
            "d_optimizer or d_learning_rate",
        ),
    ],
)
def test_bad_stabilizer_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
