"""`GAN`: a generator and a discriminator trained adversarially with `fit`."""

import keras
from keras import ops

from kgen import backend, losses
from kgen.augmentation import DiffAugment
from kgen.export import SavedModelExport
from kgen.models.generative import (
    Generative,
    PipelineFit,
    RecordedCompile,
    check_training_images,
    from_config_with_networks,
)
from kgen.networks.validation import check_number, check_positive
from kgen.saving import SafeSaving


def default_optimizer(learning_rate: float = 2e-4):
    """Adam(learning_rate, beta_1=0.5); 2e-4 is the DCGAN paper's setting."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.5)


def _check_number(name, value, low, high=None):
    """A finite number with `low <= value` (and `value < high` when given), or raises."""
    return check_number(name, value, low, high, high_inclusive=False)


def averaged_copy(generator):
    """A frozen clone of `generator` with the same weights: the EMA generator."""
    try:
        copy = keras.models.clone_model(generator)
    except Exception as error:
        raise ValueError(
            "ema= needs a generator that keras.models.clone_model can copy "
            "(a functional or Sequential model, or one with get_config); "
            f"cloning {generator.name!r} failed: {error}"
        ) from error
    copy.set_weights(generator.get_weights())
    # Frozen, so that neither optimizer touches it; its weights are still
    # model state (saved, restored, carried through JAX's stateless step).
    copy.trainable = False
    return copy


@keras.saving.register_keras_serializable(package="kgen")
class GAN(
    Generative, PipelineFit, RecordedCompile, SafeSaving, SavedModelExport, keras.Model
):
    """A generative adversarial network with its own `train_step`.

    Each training step draws fresh noise, updates the discriminator
    `discriminator_steps` times on the batch of real images against generated
    ones, then updates the generator once. The two networks have their own
    optimizers (wrapped in a `keras.optimizers.MultiOptimizer` so that every
    backend saves, restores and traces both). Calling the model runs the
    generator, so `predict` and `export` map latent vectors to images.

    Metrics: `d_loss`, `g_loss`, `d_real_accuracy`, `d_fake_accuracy`
    (the fractions of real and generated images D classifies right) and
    `loss = d_loss + g_loss`, which has no meaning of its own but goes NaN
    or inf when either loss does, so that Keras' `TerminateOnNaN` and other
    callbacks that watch `loss` work.

    Stabilisers: `ema=` keeps an exponential moving average of the generator's
    weights; `compile()` takes `r1_weight=`, `label_smoothing=`,
    `instance_noise=` and separate optimizers or learning rates for D and G
    (TTUR); spectral normalisation is a discriminator option of the network
    builders (`spectral_normalization=True`).

    Args:
        generator: a `keras.Model` mapping `(batch, latent_dim)` to images in
            [-1, 1].
        discriminator: a `keras.Model` mapping images to one logit each.
        latent_dim: size of the latent vectors; taken from the generator's input
            when omitted.
        seed: seed of the noise drawn during training.
        ema: decay of the exponential moving average of the generator's
            weights (e.g. 0.999), or `None` for no average. With it,
            `ema_generator` (a frozen clone of the generator) follows
            `ema_w <- d * ema_w + (1 - d) * w` after every generator update,
            with `d = min(ema, (1 + t) / (10 + t))` at the t-th update (t from
            0): the clone starts as a copy of the generator and the warm-up
            keeps it from dwelling on the random initial weights in short
            runs. Non-trainable weights (batch-norm statistics) are copied.
            `generate()`, `call()`/`predict` and the exported `generate` signature then use
            the averaged generator; `generate(..., use_ema=False)` samples the
            live one. `ema=0` makes the average equal the live weights.

    Example:

    ```python
    gan = kgen.GAN(
        kgen.networks.mlp_generator(latent_dim=100),
        kgen.networks.mlp_discriminator(),
    )
    gan.compile()  # Adam(2e-4, beta_1=0.5) for both, non-saturating loss
    gan.fit(kgen.data.load("glyphs", batch_size=128), epochs=5)
    images = gan.generate(16, seed=0)  # (16, 28, 28, 1) float32 in [-1, 1]

    stable = kgen.GAN(
        kgen.networks.mlp_generator(latent_dim=100),
        kgen.networks.mlp_discriminator(spectral_normalization=True),
        ema=0.999,
    )
    stable.compile(d_learning_rate=4e-4, g_learning_rate=1e-4, r1_weight=1.0)
    ```
    """

    # Inputs of each network: z or images; ConditionalGAN's also take labels.
    network_inputs = 1

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | None = None,
        seed: int | None = None,
        ema: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for role, network in (
            ("generator", generator),
            ("discriminator", discriminator),
        ):
            if not isinstance(network, keras.Model):
                raise ValueError(f"{role} must be a keras.Model, got {network!r}")
            if len(network.inputs) != self.network_inputs:
                raise ValueError(
                    f"The {role} of a {type(self).__name__} takes "
                    f"{self.network_inputs} input(s), got {len(network.inputs)}; "
                    + (
                        "build it with num_classes="
                        if self.network_inputs == 2
                        else "networks built with num_classes= belong in "
                        "kgen.ConditionalGAN"
                    )
                )
        generator_latent_dim = generator.inputs[0].shape[-1]
        if latent_dim is None:
            latent_dim = generator_latent_dim
        check_positive("latent_dim", latent_dim)
        if generator_latent_dim != latent_dim:
            raise ValueError(
                f"latent_dim={latent_dim} but the generator takes inputs of size "
                f"{generator_latent_dim}"
            )
        image_shape = tuple(generator.outputs[0].shape[1:])
        if tuple(discriminator.inputs[0].shape[1:]) != image_shape:
            raise ValueError(
                f"The generator makes images of shape {image_shape} but the "
                f"discriminator takes {tuple(discriminator.inputs[0].shape[1:])}"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed = seed
        self.ema = None if ema is None else _check_number("ema", ema, 0.0, 1.0)
        self.ema_generator = None if ema is None else averaged_copy(generator)
        self.image_shape = image_shape
        self.seed_generator = keras.random.SeedGenerator(seed)
        # loss = d_loss + g_loss: one number that goes NaN when either does,
        # so Keras' TerminateOnNaN and monitor="loss" callbacks work on GANs.
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_accuracy_tracker = keras.metrics.Mean(name="d_real_accuracy")
        self.d_fake_accuracy_tracker = keras.metrics.Mean(name="d_fake_accuracy")
        # Reported only when compile(r1_weight > 0): the default keys stay put.
        self.r1_penalty_tracker = keras.metrics.Mean(name="r1_penalty")
        self.built = True

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator that `generate`, `call` and `export` run: the EMA one if any."""
        return self.generator if self.ema is None else self.ema_generator

    def call(self, z, training=False):
        return self.sampling_generator(z, training=training)

    def generate(
        self,
        num_samples=None,
        *,
        z=None,
        labels=None,
        seed=None,
        batch_size=256,
        use_ema=True,
    ):
        """Generates images, as a float32 NumPy array in [-1, 1].

        Args:
            num_samples: how many images; or pass `z`.
            z: latent vectors `(num_samples, latent_dim)` to decode.
            labels: class labels, for conditional models only: one integer for
                all images or one per image (default: cycle through classes).
            seed: integer seed: the same seed gives the same images.
            batch_size: images generated per forward pass.
            use_ema: with `ema` set, `False` samples the live generator
                instead of the averaged one; ignored without `ema`.
        """
        # Calling the model runs sampling_generator (the EMA one, if any).
        network = self if use_ema else self.generator
        return self._generate_with(network, num_samples, z, labels, seed, batch_size)

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        loss="non_saturating",
        discriminator_steps: int = 1,
        *,
        d_learning_rate: float | None = None,
        g_learning_rate: float | None = None,
        r1_weight: float = 0.0,
        label_smoothing: float = 0.0,
        instance_noise: float = 0.0,
        instance_noise_decay_steps: int | None = None,
        loss_scale_factor: float | None = None,
        augmentation: str | None = None,
        **kwargs,
    ):
        """Configures training.

        Args:
            d_optimizer, g_optimizer: optimizers of the discriminator and the
                generator; default `Adam(2e-4, beta_1=0.5)` each. Pass two
                different instances; different learning rates are the
                two time-scale update rule (TTUR, Heusel et al. 2017).
            loss: a `kgen.losses` name (`"non_saturating"`, `"minimax"`,
                `"hinge"`, `"least_squares"`, `"wasserstein"`) or instance.
            discriminator_steps: discriminator updates per generator update
                (5 is usual with `"wasserstein"`); each uses fresh noise and
                the same batch of real images.
            d_learning_rate, g_learning_rate: TTUR shorthand: the default
                `Adam(learning_rate, beta_1=0.5)` with this learning rate,
                e.g. `d_learning_rate=4e-4, g_learning_rate=1e-4`; not
                together with the same network's optimizer.
            r1_weight: gamma of the R1 penalty (Mescheder et al. 2018):
                `r1_weight / 2 * E[||grad_x D(x)||^2]` on the real images D
                sees is added to D's loss and reported as `r1_penalty` (the
                expectation, unweighted). 0 disables it.
            label_smoothing: one-sided label smoothing (Salimans et al.
                2016): D's target for real images is `1 - label_smoothing`.
                Only for the cross-entropy losses (`"non_saturating"`,
                `"minimax"`).
            instance_noise: std of Gaussian noise added to the real and the
                generated images D sees during training (Sønderby et al.
                2016), in the discriminator's and the generator's updates.
                Never applied outside training.
            instance_noise_decay_steps: if given, the std falls linearly from
                `instance_noise` to 0 over this many training steps (batches)
                and stays 0.
            loss_scale_factor: static loss scaling for both networks' updates:
                the losses are multiplied by it before differentiation and the
                gradients divided by it, so float16 gradients do not underflow.
                Defaults to `2**10` under the `mixed_float16` dtype policy and
                to none otherwise. (Keras' dynamic `LossScaleOptimizer`
                cannot sit inside the `MultiOptimizer` that holds the two
                optimizers, so GANs scale statically.)
            augmentation: a DiffAugment policy (Zhao et al. 2020), e.g.
                `"translation,cutout"`: the real and the generated images D
                sees in training are randomly shifted and cut out, the same
                way, differentiably, so D cannot memorise a small training
                set; see `kgen.augmentation.DiffAugment`. `None` (default)
                shows D the images as they are.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, `run_eagerly`).
        """
        d_optimizer = _network_optimizer("d", d_optimizer, d_learning_rate)
        g_optimizer = _network_optimizer("g", g_optimizer, g_learning_rate)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two optimizer instances; "
                "one instance would mix the two networks' moment estimates"
            )
        check_positive("discriminator_steps", discriminator_steps)
        for key in ("optimizer", "loss", "metrics"):
            if key in kwargs:
                raise ValueError(
                    f"GAN.compile() takes d_optimizer, g_optimizer and loss, not {key}="
                )
        adversarial_loss = losses.get(loss)
        r1_weight = _check_number("r1_weight", r1_weight, 0.0)
        label_smoothing = _check_number("label_smoothing", label_smoothing, 0.0, 1.0)
        instance_noise = _check_number("instance_noise", instance_noise, 0.0)
        if label_smoothing and not adversarial_loss.supports_label_smoothing:
            raise ValueError(
                f"label_smoothing applies to the cross-entropy losses "
                f"(non_saturating, minimax), not {type(adversarial_loss).__name__}"
            )
        if instance_noise_decay_steps is not None:
            check_positive("instance_noise_decay_steps", instance_noise_decay_steps)
            if not instance_noise:
                raise ValueError("instance_noise_decay_steps needs instance_noise > 0")
        augment = None if augmentation is None else DiffAugment(augmentation)
        self.adversarial_loss = adversarial_loss
        self.augment = augment
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.discriminator_steps = discriminator_steps
        self.r1_weight = r1_weight
        self.label_smoothing = label_smoothing
        self.instance_noise = instance_noise
        self.instance_noise_decay_steps = instance_noise_decay_steps
        discriminator_ids = {id(v) for v in self.discriminator.trainable_variables}
        optimizer = keras.optimizers.MultiOptimizer(
            lambda variable: (
                d_optimizer if id(variable) in discriminator_ids else g_optimizer
            ),
            loss_scale_factor=self._loss_scale_factor(loss_scale_factor),
        )
        # The losses are scaled by the two optimizers' loss_scale_factor;
        # Keras' own scaling would wrap the MultiOptimizer and reset them.
        super().compile(
            optimizer=optimizer,
            **backend.compile_settings(self, {**kwargs, "auto_scale_loss": False}),
        )
        # Built now so that loading a checkpoint (`.keras`, BackupAndRestore)
        # finds both optimizers' slots before the first step.
        optimizer.build(self.trainable_variables)
        self._record_compile(
            d_optimizer=d_optimizer,
            g_optimizer=g_optimizer,
            loss=self.adversarial_loss,
            discriminator_steps=discriminator_steps,
            r1_weight=r1_weight,
            label_smoothing=label_smoothing,
            instance_noise=instance_noise,
            instance_noise_decay_steps=instance_noise_decay_steps,
            loss_scale_factor=loss_scale_factor,
            augmentation=augmentation,
            **kwargs,
        )

    def _loss_scale_factor(self, loss_scale_factor):
        if loss_scale_factor is not None:
            return _check_number("loss_scale_factor", loss_scale_factor, 1.0)
        # bfloat16 has float32's exponent range and needs no scaling.
        return 2.0**10 if self.dtype_policy.name == "mixed_float16" else None

    @property
    def metrics(self):
        trackers = [
            self.loss_tracker,
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_real_accuracy_tracker,
            self.d_fake_accuracy_tracker,
        ]
        if getattr(self, "r1_weight", 0.0):
            trackers.append(self.r1_penalty_tracker)
        return trackers

    def train_step(self, *args):
        # Keras calls train_step(data) on TensorFlow/PyTorch and
        # train_step(state, data) on JAX; kgen.backend adapts both.
        return backend.train_step(self, *args)

    def stateful_train_step(self, data):
        real_images, conditions = self._unpack(data)
        # train_on_batch hands PyTorch NumPy arrays; the penalties need tensors.
        real_images = ops.convert_to_tensor(real_images)
        batch_size = ops.shape(real_images)[0]
        noise_std = self._instance_noise_std()
        for _ in range(self.discriminator_steps):
            d_loss, real_logits, fake_logits, r1 = self._discriminator_step(
                real_images, conditions, batch_size, noise_std
            )
        g_loss = self._generator_step(conditions, batch_size, noise_std)
        if self.ema is not None:
            self._update_ema()
        self.optimizer.iterations.assign_add(1)
        if self.r1_weight:
            self.r1_penalty_tracker.update_state(r1)
        self._record_losses(d_loss, g_loss, real_logits, fake_logits)
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, *args):
        return backend.test_step(self, *args)

    def stateful_test_step(self, data):
        """`evaluate()` and `fit(validation_data=...)`: the training metrics on
        held-out real images against fresh samples, updating nothing.

        Both networks run in inference mode (batch-norm statistics, no
        dropout), without instance noise or augmentation; `r1_penalty` is a
        training-only term and is not reported.
        """
        real_images, conditions = self._unpack(data)
        real_images = ops.convert_to_tensor(real_images)
        z = self._sample_latent(ops.shape(real_images)[0])
        fake_images = self._generate(z, conditions, training=False)
        real_logits = self._discriminate(real_images, conditions, training=False)
        fake_logits = self._discriminate(fake_images, conditions, training=False)
        d_loss = self.adversarial_loss.discriminator_loss(real_logits, fake_logits)
        g_loss = self.adversarial_loss.generator_loss(fake_logits)
        self._record_losses(d_loss, g_loss, real_logits, fake_logits)
        return {
            metric.name: metric.result()
            for metric in self.metrics
            if metric is not self.r1_penalty_tracker
        }

    def _record_losses(self, d_loss, g_loss, real_logits, fake_logits):
        self.loss_tracker.update_state(d_loss + g_loss)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_accuracy_tracker.update_state(
            ops.mean(ops.cast(real_logits > 0, "float32"))
        )
        self.d_fake_accuracy_tracker.update_state(
            ops.mean(ops.cast(fake_logits < 0, "float32"))
        )

    def _unpack(self, data):
        """Returns `(images, conditions)`; an unconditional GAN has no conditions."""
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return check_training_images(images, self.image_shape), None

    def _generate(self, z, conditions, training):
        return self.generator(z, training=training)

    def _discriminate(self, images, conditions, training):
        return self.discriminator(images, training=training)

    def _sample_latent(self, batch_size):
        return backend.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def _instance_noise_std(self):
        """This step's instance-noise std (a float or scalar tensor), or None."""
        if not self.instance_noise:
            return None
        if self.instance_noise_decay_steps is None:
            return self.instance_noise
        # The MultiOptimizer counts training steps (batches), one per step.
        step = ops.cast(self.optimizer.iterations, "float32")
        remaining = ops.maximum(0.0, 1.0 - step / self.instance_noise_decay_steps)
        return self.instance_noise * remaining

    def _with_instance_noise(self, images, noise_std):
        if noise_std is None:
            return images
        noise = backend.normal(ops.shape(images), seed=self.seed_generator)
        return images + noise_std * noise

    def _augmented(self, images):
        """What D sees of `images` in training: their DiffAugment views, if any."""
        if self.augment is None:
            return images
        return self.augment(images, self.seed_generator)

    def _discriminator_step(self, real_images, conditions, batch_size, noise_std):
        z = self._sample_latent(batch_size)
        fake_images = ops.stop_gradient(self._generate(z, conditions, training=True))
        # D only ever sees noisy images, so R1 and the gradient penalty act
        # where D is evaluated.
        real_images = self._augmented(self._with_instance_noise(real_images, noise_std))
        fake_images = self._augmented(self._with_instance_noise(fake_images, noise_std))
        variables = self.discriminator.trainable_variables
        # Only the cross-entropy losses take label_smoothing (checked in compile).
        smoothing = (
            {"label_smoothing": self.label_smoothing} if self.label_smoothing else {}
        )

        def critic(images, training=True):
            return self._discriminate(images, conditions, training=training)

        def loss_fn():
            real_logits = critic(real_images)
            fake_logits = critic(fake_images)
            loss = self.adversarial_loss.discriminator_loss(
                real_logits, fake_logits, **smoothing
            )
            weight = self.adversarial_loss.gradient_penalty_weight
            if weight:
                loss = loss + weight * losses.gradient_penalty(
                    critic, real_images, fake_images, self.seed_generator
                )
            r1 = None
            if self.r1_weight:
                r1 = losses.r1_penalty(critic, real_images)
                loss = loss + 0.5 * self.r1_weight * r1
            return loss, (real_logits, fake_logits, r1)

        loss, (real_logits, fake_logits, r1) = backend.minimize(
            self.d_optimizer, loss_fn, variables
        )
        return loss, real_logits, fake_logits, r1

    def _generator_step(self, conditions, batch_size, noise_std):
        z = self._sample_latent(batch_size)
        variables = self.generator.trainable_variables
        noise = None
        if noise_std is not None:
            shape = (batch_size, *self.image_shape)
            noise = noise_std * backend.normal(shape, seed=self.seed_generator)

        def loss_fn():
            fake_images = self._generate(z, conditions, training=True)
            if noise is not None:
                fake_images = fake_images + noise
            fake_images = self._augmented(fake_images)
            fake_logits = self._discriminate(fake_images, conditions, training=True)
            return self.adversarial_loss.generator_loss(fake_logits), None

        loss, _ = backend.minimize(self.g_optimizer, loss_fn, variables)
        return loss

    def _update_ema(self):
        # g_optimizer has just counted this update: t + 1 for the t-th (from 0),
        # so (1 + t) / (10 + t) is updates / (updates + 9).
        updates = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema, updates / (updates + 9.0))
        for average, live in zip(
            self.ema_generator.weights, self.generator.weights, strict=True
        ):
            value = ops.stop_gradient(live.value)
            if live.trainable:
                value = decay * average.value + (1.0 - decay) * value
            average.assign(value)

    def _serving_signature(self):
        return [
            keras.InputSpec(shape=(None, self.latent_dim), dtype="float32", name="z")
        ]

    def export_endpoints(self):
        """`generate(z) -> {"images"}` (also the default signature)."""
        return [("generate", lambda z: {"images": self(z)}, self._serving_signature())]

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim,
            seed=self.seed,
            ema=self.ema,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return from_config_with_networks(cls, config, ("generator", "discriminator"))


def _network_optimizer(prefix, optimizer, learning_rate):
    """The optimizer of one network from `{prefix}_optimizer`/`{prefix}_learning_rate`."""
    if learning_rate is None:
        return keras.optimizers.get(optimizer or default_optimizer())
    if optimizer is not None:
        raise ValueError(
            f"Pass {prefix}_optimizer or {prefix}_learning_rate, not both; set "
            f"the learning rate on the optimizer instead"
        )
    learning_rate = _check_number(f"{prefix}_learning_rate", learning_rate, 0.0)
    return default_optimizer(learning_rate)
