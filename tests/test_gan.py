"""The model battery for GAN and DCGAN, run on whichever backend is active."""

import functools
import math
import os
import types

import battery
import keras
import numpy as np
import pytest
from tiny_models import LATENT_DIM, NUM_CLASSES, tiny_model

import kgen

METRIC_KEYS = {"loss", "d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"}


def tiny_gan(seed=0):
    return tiny_model("gan", seed=seed)


def tiny_cgan(seed=0, conditioning="projection"):
    return tiny_model(
        "cgan", conv=True, num_classes=10, seed=seed, conditioning=conditioning
    )


BUILDERS = {
    "gan": tiny_gan,
    "dcgan": functools.partial(tiny_model, "dcgan"),
    "cgan": tiny_cgan,
}


def train(model, images, **kwargs):
    """`fit` on `images`, with labels 0..9 repeated for a conditional model."""
    labels = None
    if isinstance(model, kgen.ConditionalGAN):
        labels = np.arange(len(images)) % 10
    return model.fit(images, labels, verbose=0, **kwargs)


@pytest.fixture(params=sorted(BUILDERS))
def build(request):
    return BUILDERS[request.param]


# 32 images in [-1, 1], as conftest's `tiny_images`, for module-scoped fixtures.
IMAGES = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def trained(request):
    """A model of each kind built with seed 7, compiled with the defaults and
    trained one epoch of 4 unshuffled steps, with what it was before and
    after: the tests that need such a model share it (one compile each)."""
    keras.utils.set_random_seed(7)
    model = BUILDERS[request.param](seed=7)
    model.compile()
    before = [weights_of(model.generator), weights_of(model.discriminator)]
    history = train(model, IMAGES, batch_size=8, epochs=1, shuffle=False).history
    return types.SimpleNamespace(
        build=BUILDERS[request.param],
        model=model,
        history=history,
        before=before,
        after=[weights_of(model.generator), weights_of(model.discriminator)],
        iterations=[
            int(model.d_optimizer.iterations.numpy()),
            int(model.g_optimizer.iterations.numpy()),
        ],
        samples=model.generate(4, seed=0),
    )


def weights_of(network):
    return [np.array(w) for w in network.get_weights()]


def test_config_round_trip(build):
    restored = battery.run_config_test(
        build, attributes=("latent_dim", "seed", "image_shape")
    )
    assert restored.latent_dim == LATENT_DIM
    assert restored.generate(2, seed=0).shape == (2, 28, 28, 1)


def test_one_epoch_trains_both_networks(trained):
    history = trained.history
    # The DCGAN's default R1 and R2 penalties are reported too.
    dcgan = isinstance(trained.model, kgen.DCGAN)
    penalties = {"r1_penalty", "r2_penalty"} if dcgan else set()
    assert set(history) == METRIC_KEYS | penalties
    for values in history.values():
        assert all(math.isfinite(v) for v in values)
    for key in ("d_real_accuracy", "d_fake_accuracy"):
        assert 0.0 <= history[key][0] <= 1.0
    for before, after, name in zip(
        trained.before, trained.after, ("generator", "discriminator"), strict=True
    ):
        changed = [not np.array_equal(b, a) for b, a in zip(before, after, strict=True)]
        assert all(changed), f"{name}: some weights did not move"
    # 4 steps, one update of each optimizer per step.
    assert trained.iterations == [4, 4]


def test_discriminator_steps_and_wasserstein_loss(tiny_images):
    model = tiny_model("dcgan", normalization="layer")
    model.compile(loss="wasserstein", discriminator_steps=3)
    history = model.fit(tiny_images, batch_size=16, epochs=1, verbose=0)
    assert all(math.isfinite(v[0]) for v in history.history.values())
    assert int(model.d_optimizer.iterations.numpy()) == 6
    assert int(model.g_optimizer.iterations.numpy()) == 2


def test_discriminator_learns_to_separate_real_from_fake(tiny_images):
    # With the generator frozen (learning rate 0) the discriminator must win:
    # its loss falls and it ends up classifying both sides correctly.
    model = tiny_gan()
    # 3e-3: with 1e-3 the tiny GAN's last epoch could still misclassify one
    # fake, depending on the shuffle order (seen on JAX).
    model.compile(
        d_optimizer=keras.optimizers.Adam(3e-3),
        g_optimizer=keras.optimizers.SGD(0.0),
    )
    history = model.fit(tiny_images, batch_size=16, epochs=30, verbose=0).history
    assert history["d_loss"][-1] < 0.5 * history["d_loss"][0]
    assert history["d_real_accuracy"][-1] == 1.0
    assert history["d_fake_accuracy"][-1] == 1.0


def test_same_seed_same_samples(build):
    model = build()
    np.testing.assert_array_equal(model.generate(4, seed=3), model.generate(4, seed=3))
    assert not np.array_equal(model.generate(4, seed=3), model.generate(4, seed=4))
    z = np.random.default_rng(0).normal(size=(5, LATENT_DIM)).astype("float32")
    images = model.generate(z=z, batch_size=2)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    inputs = z
    if isinstance(model, kgen.ConditionalGAN):
        inputs = [z, np.arange(5) % 10]  # generate()'s default labels
    np.testing.assert_allclose(images, model.predict(inputs, verbose=0), atol=1e-6)


def test_training_is_reproducible_for_a_seed(trained):
    # The same seeds, build and training as the `trained` fixture's model.
    keras.utils.set_random_seed(7)
    model = trained.build(seed=7)
    model.compile()
    train(model, IMAGES, batch_size=8, epochs=1, shuffle=False)
    np.testing.assert_allclose(model.generate(4, seed=0), trained.samples, atol=1e-6)


def test_keras_file_round_trip_keeps_optimizer_state(build, tiny_images, tmp_path):
    model = build()
    labels = np.arange(len(tiny_images)) % 10
    data = (tiny_images, labels if isinstance(model, kgen.ConditionalGAN) else None)
    restored = battery.run_saving_test(
        model,
        data,
        lambda m: [m.generate(6, seed=0)],
        tmp_path / "model.keras",
        compile_kwargs=dict(loss="hinge", discriminator_steps=2),
    )
    assert restored.adversarial_loss == kgen.losses.HingeLoss()
    assert restored.discriminator_steps == 2
    assert int(restored.d_optimizer.iterations.numpy()) == 2
    # Training resumes from the restored state.
    train(restored, tiny_images, batch_size=16, epochs=1)
    assert int(restored.d_optimizer.iterations.numpy()) == 6


@pytest.mark.parametrize("name", ["gan", "dcgan", "cgan"])
def test_one_mixed_precision_step(name, tiny_images):
    # Spectral normalisation and convolutions: the networks that need float32
    # islands (tiny_models' conv=True builds the cGAN from DCGAN networks).
    labels = np.arange(16) % NUM_CLASSES if name == "cgan" else None
    battery.run_mixed_precision_test(
        lambda: tiny_model(name, spectral_normalization=True, conv=True),
        (tiny_images[:16], labels),
        lambda m: [m.generate(4, seed=1)],
    )


def test_backup_and_restore_resumes_an_interrupted_run(tiny_images, tmp_path):
    backup_dir = str(tmp_path / "backup")

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt("simulated crash")

    model = tiny_gan()
    model.compile()
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            tiny_images,
            batch_size=16,
            epochs=4,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup_dir), Interrupt()],
        )
    saved = model.generate(4, seed=0)

    resumed = tiny_gan()  # a fresh process would start from new weights
    resumed.compile()
    checks = {}

    class CheckStart(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            checks.setdefault("start", self.model.generate(4, seed=0))

    history = resumed.fit(
        tiny_images,
        batch_size=16,
        epochs=4,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup_dir), CheckStart()],
    )
    assert history.epoch == [2, 3]
    np.testing.assert_allclose(checks["start"], saved, atol=1e-6)
    assert int(resumed.g_optimizer.iterations.numpy()) == 8
    assert not os.path.exists(backup_dir)  # deleted after a completed run


def test_sample_grid_writes_pngs(tiny_images, tmp_path):
    from PIL import Image

    model = tiny_gan()
    model.compile()
    grid = kgen.callbacks.SampleGrid(
        tmp_path / "samples", num_samples=6, every_n_epochs=2
    )
    model.fit(tiny_images, batch_size=16, epochs=4, verbose=0, callbacks=[grid])
    files = sorted(os.listdir(tmp_path / "samples"))
    assert files == ["epoch_0002.png", "epoch_0004.png"]
    image = np.asarray(Image.open(tmp_path / "samples" / files[-1]))
    assert image.dtype == np.uint8 and image.std() > 0


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: kgen.GAN(
                kgen.networks.mlp_generator(latent_dim=8),
                kgen.networks.mlp_discriminator(),
                latent_dim=9,
            ),
            "latent_dim=9",
        ),
        (
            lambda: kgen.GAN(
                kgen.networks.mlp_generator(),
                kgen.networks.mlp_discriminator(image_shape=(32, 32, 3)),
            ),
            "generator makes images",
        ),
        (
            lambda: kgen.GAN("generator", kgen.networks.mlp_discriminator()),
            "generator must be a keras.Model",
        ),
        (
            lambda: kgen.GAN(
                kgen.networks.mlp_generator(num_classes=10),
                kgen.networks.mlp_discriminator(num_classes=10),
            ),
            "belong in kgen.ConditionalGAN",
        ),
        (lambda: kgen.DCGAN(image_shape=(9, 9, 1)), "divisible by 2"),
        (lambda: kgen.DCGAN(latent_dim=0), "latent_dim must be a positive"),
        (lambda: tiny_gan().generate(), "num_samples or z"),
        (lambda: tiny_gan().generate(2, labels=[1, 2]), "unconditional"),
        (lambda: tiny_gan().generate(z=np.zeros((2, 3))), "z must have shape"),
        (lambda: tiny_gan().compile(loss="bce"), "Unknown GAN loss"),
        (lambda: tiny_gan().compile(discriminator_steps=0), "discriminator_steps"),
        (lambda: tiny_gan().compile(optimizer="adam"), "not optimizer="),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_same_optimizer_twice_is_refused():
    adam = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer instances"):
        tiny_gan().compile(d_optimizer=adam, g_optimizer=adam)


@pytest.mark.parametrize(
    "images, match",
    [
        (np.zeros((8, 32, 32, 1), "float32"), "must have shape"),
        (np.zeros((8, 28, 28, 1), "uint8"), "floats in \\[-1, 1\\]"),
    ],
)
def test_bad_training_data_is_named(images, match):
    model = tiny_gan()
    model.compile()
    with pytest.raises(ValueError, match=match):
        model.fit(images, batch_size=8, epochs=1, verbose=0)


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_conditional_gan_uses_its_labels(conditioning, tiny_images):
    model = tiny_cgan(conditioning=conditioning)
    model.compile()
    history = train(model, tiny_images, batch_size=16, epochs=1)
    assert all(math.isfinite(v[0]) for v in history.history.values())
    same_z = {"num_samples": 4, "seed": 0}
    threes = model.generate(labels=3, **same_z)
    np.testing.assert_array_equal(threes, model.generate(labels=[3, 3, 3, 3], **same_z))
    assert not np.allclose(threes, model.generate(labels=4, **same_z))
    # Without labels, generate() cycles through the classes.
    np.testing.assert_array_equal(
        model.generate(**same_z), model.generate(labels=[0, 1, 2, 3], **same_z)
    )


@pytest.mark.parametrize(
    "labels, match",
    [
        (10, "labels must be in \\[0, 10\\)"),
        ([-1, 0], "labels must be in"),
        ([1, 2, 3], "one integer or 2 of them"),
        ([0.5, 1.5], "labels must be integers"),
    ],
)
def test_conditional_gan_rejects_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        tiny_cgan().generate(2, labels=labels, seed=0)


def test_conditional_gan_needs_labelled_data_and_two_input_networks(tiny_images):
    model = tiny_cgan()
    model.compile()
    with pytest.raises(
        ValueError, match=r"got images alone; .*with_labels=True.*fit\(images, labels\)"
    ):
        model.fit(tiny_images, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="takes 2 input.s., got 1; build it with"):
        kgen.ConditionalGAN(
            kgen.networks.mlp_generator(latent_dim=8),
            kgen.networks.mlp_discriminator(num_classes=10),
            num_classes=10,
        )
    # num_classes is required, and keyword-only: no positional mix-up with seed.
    with pytest.raises(
        TypeError, match="required keyword-only argument: 'num_classes'"
    ):
        kgen.ConditionalGAN(
            kgen.networks.mlp_generator(latent_dim=8, num_classes=10),
            kgen.networks.mlp_discriminator(num_classes=10),
        )
    with pytest.raises(ValueError, match="num_classes must be a positive"):
        kgen.ConditionalGAN(
            kgen.networks.mlp_generator(latent_dim=8, num_classes=10),
            kgen.networks.mlp_discriminator(num_classes=10),
            num_classes=0,
        )


def test_sample_grid_lays_out_one_row_per_class(tiny_images, tmp_path):
    from PIL import Image

    model = tiny_cgan()
    model.compile()
    grid = kgen.callbacks.SampleGrid(tmp_path, num_samples=20)
    train(model, tiny_images, batch_size=16, epochs=1, callbacks=[grid])
    image = Image.open(tmp_path / "epoch_0001.png")
    rows = image.height // 28
    columns = image.width // 28
    assert (rows, columns) == (10, 2)


@pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="Keras' PyTorch trainer only runs steps_per_execution=1",
)
def test_steps_per_execution_runs_every_step(tiny_images):
    model = tiny_gan()
    model.compile(steps_per_execution=3)
    history = model.fit(tiny_images, batch_size=8, epochs=2, verbose=0)
    assert all(math.isfinite(v) for values in history.history.values() for v in values)
    assert int(model.d_optimizer.iterations.numpy()) == 8
    assert int(model.g_optimizer.iterations.numpy()) == 8


def test_gans_evaluate_and_validate_without_updating(trained):
    model = trained.model
    labels = np.arange(len(IMAGES)) % 10
    conditional = isinstance(model, kgen.ConditionalGAN)
    data = (IMAGES, labels if conditional else None)
    results = battery.run_evaluate_test(model, data, METRIC_KEYS)
    assert results["loss"] == pytest.approx(
        results["d_loss"] + results["g_loss"], rel=1e-5
    )
    # Batches of 8, as the fixture's training: the compiled step is reused.
    history = train(model, IMAGES, batch_size=8, epochs=1, validation_data=data)
    assert {f"val_{key}" for key in METRIC_KEYS} <= set(history.history)


def _last_hidden_filters(generator):
    """Channels into the generator's output layer."""
    transposed = [
        x for x in generator.layers if isinstance(x, kgen.layers.Conv2DTranspose)
    ]
    return transposed[-1].input.shape[-1]


def test_dcgan_generator_width_defaults_to_the_discriminators_and_is_saved():
    model = tiny_model("dcgan")  # base_filters=4
    assert model.generator_filters == 4
    assert _last_hidden_filters(model.generator) == 4
    wide = tiny_model("dcgan", generator_filters=8)
    assert _last_hidden_filters(wide.generator) == 8
    # 28x28: a 7x7 seed of twice the last hidden layer's filters.
    assert wide.generator.get_layer(index=1).units == 7 * 7 * 16
    # The discriminator keeps base_filters.
    assert wide.discriminator.count_params() == model.discriminator.count_params()
    config = wide.get_config()
    assert config["generator_filters"] == 8
    assert kgen.DCGAN.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="generator_filters"):
        tiny_model("dcgan", generator_filters=0)


def test_dcgan_files_from_before_generator_filters_still_load():
    # Such files had no key, and a generator as wide as the discriminator.
    config = tiny_model("dcgan").get_config()
    del config["generator_filters"]
    restored = kgen.DCGAN.from_config(config)
    assert restored.generator_filters == 4
    assert _last_hidden_filters(restored.generator) == 4


def _coarse_convolutions(discriminator):
    return [x for x in discriminator.layers if getattr(x, "strides", None) == (1, 1)]


def test_dcgan_discriminator_has_one_coarse_convolution_by_default_and_saves_it():
    model = tiny_model("dcgan")
    assert model.coarse_convolutions == 1
    assert [x.kernel_size for x in _coarse_convolutions(model.discriminator)] == [
        (3, 3)
    ]
    deeper = tiny_model("dcgan", coarse_convolutions=2)
    config = deeper.get_config()
    assert config["coarse_convolutions"] == 2
    restored = kgen.DCGAN.from_config(config)
    assert restored.get_config() == config
    assert len(_coarse_convolutions(restored.discriminator)) == 2


def test_dcgan_files_from_before_coarse_convolutions_still_load():
    # Such files had no key, and a discriminator without them.
    config = tiny_model("dcgan", coarse_convolutions=0).get_config()
    del config["coarse_convolutions"]
    restored = kgen.DCGAN.from_config(config)
    assert restored.coarse_convolutions == 0
    assert not _coarse_convolutions(restored.discriminator)
