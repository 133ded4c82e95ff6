"""`GAN`: a generator and a discriminator trained adversarially with `fit`."""

import keras
from keras import ops

from kgen import backend, losses
from kgen.models import gan_training
from kgen.models.generative_model import GenerativeModel
from kgen.models.training_data import check_training_images


@keras.saving.register_keras_serializable(package="kgen")
class GAN(GenerativeModel):
    """A generative adversarial network with its own `train_step`.

    Each training step draws fresh noise, updates the discriminator
    `discriminator_steps` times on the batch of real images against generated
    ones, then updates the generator once. D sees both halves in one call
    when its layers compute each example on their own (no batch norm; see
    `gan_training.treats_examples_apart`), which gives what two calls give,
    faster; otherwise in two calls. The two networks have their own
    optimizers (wrapped in a `keras.optimizers.MultiOptimizer` so that every
    backend saves, restores and traces both). Calling the model runs the
    generator, so `predict` and `export` map latent vectors to images.

    Metrics: `d_loss`, `g_loss`, `d_real_accuracy`, `d_fake_accuracy`
    (the fractions of real and generated images D classifies right) and
    `loss = d_loss + g_loss`, which has no meaning of its own but goes NaN
    or inf when either loss does, so that Keras' `TerminateOnNaN` and other
    callbacks that watch `loss` work.

    Stabilisers: `ema=` keeps an exponential moving average of the generator's
    weights; `compile()` takes `r1_weight=`, `r2_weight=`, `label_smoothing=`,
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
            runs. The warm-up reaches 0.999 only after ~9,000 updates, so
            until then every `ema` of 0.999 or more averages alike (the
            default DCGAN makes ~9,000 in 760 s on a 2-core CPU). Non-trainable weights
            (batch-norm statistics) are copied.
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
    network_config_keys = ("generator", "discriminator")
    # Adam's learning rate for optimizers compile() makes (the DCGAN paper's).
    default_learning_rate = 2e-4
    # The MLP GAN's step with 10 steps per execution on 2 CPU cores (Intel
    # Xeon, AVX-512 bf16/AMX): 5.9 ms with XLA, 7.7 ms without, 6.0 against
    # 7.9 with oneDNN off; the MLP cGAN's 6.4 against 8.9 (6.8 against
    # 9.0 with oneDNN off).
    dense_steps_prefer_xla = True
    # compile(loss=None)'s loss.
    default_loss = "non_saturating"
    # compile(r1_weight=None) and compile(r2_weight=None)'s gammas; 0 is none.
    default_r1_weight = 0.0
    default_r2_weight = 0.0

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
        latent_dim, image_shape = gan_training.check_networks(
            self, generator, discriminator, latent_dim
        )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed = seed
        self.ema = None if ema is None else gan_training.check_below("ema", ema, 0, 1)
        self.ema_generator = (
            None if ema is None else gan_training.averaged_copy(generator)
        )
        self.image_shape = image_shape
        # Real and generated images go through D in one call when that is
        # the same as two (no batch norm): faster on every backend.
        self._joint_discriminator_calls = gan_training.treats_examples_apart(
            discriminator
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        # loss = d_loss + g_loss: one number that goes NaN when either does,
        # so Keras' TerminateOnNaN and monitor="loss" callbacks work on GANs.
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_accuracy_tracker = keras.metrics.Mean(name="d_real_accuracy")
        self.d_fake_accuracy_tracker = keras.metrics.Mean(name="d_fake_accuracy")
        # Reported only when compile(r1_weight > 0) or (r2_weight > 0): the
        # default keys stay put.
        self.r1_penalty_tracker = keras.metrics.Mean(name="r1_penalty")
        self.r2_penalty_tracker = keras.metrics.Mean(name="r2_penalty")
        self.built = True

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator that `generate`, `call` and `export` run: the EMA one if any."""
        return self.generator if self.ema is None else self.ema_generator

    def call(self, z, training=False):
        return self.sampling_generator(z, training=training)

    def generate(self, num_samples=None, *, use_ema=True, **kwargs):
        """`kgen.models.GenerativeModel.generate`, from the EMA generator if any.

        With `ema` set, `use_ema=False` samples the live generator instead of
        the averaged one; ignored without `ema`.
        """
        # Calling the model runs sampling_generator (the EMA one, if any).
        network = self if use_ema else self.generator
        return self.generate_with(network, num_samples, **kwargs)

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        loss=None,
        discriminator_steps: int = 1,
        *,
        d_learning_rate: float | None = None,
        g_learning_rate: float | None = None,
        r1_weight: float | None = None,
        r2_weight: float | None = None,
        r1_subsample: int = 4,
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
                generator; default `Adam(default_learning_rate,
                beta_1=0.5)` each (2e-4, the DCGAN paper's, for `GAN` and
                `ConditionalGAN`; 1e-3 for `DCGAN`). Pass two
                different instances; different learning rates are the
                two time-scale update rule (TTUR, Heusel et al. 2017).
            loss: a `kgen.losses` name (`"non_saturating"`, `"minimax"`,
                `"hinge"`, `"least_squares"`, `"wasserstein"`,
                `"relativistic"`) or instance; `None` (default) is the
                model's `default_loss` (`"non_saturating"` for `GAN` and
                `ConditionalGAN`, see `DCGAN` for its own).
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
                expectation, unweighted). 0 disables it; `None` (default)
                is the model's `default_r1_weight` (0 for `GAN` and
                `ConditionalGAN`, see `DCGAN` for its own).
            r2_weight: gamma of the R2 penalty, the same on the generated
                images D sees (Mescheder et al. 2018; with R1 and the
                `"relativistic"` loss, R3GAN's, Huang et al. 2024), reported
                as `r2_penalty`. 0 disables it; `None` (default) is the
                model's `default_r2_weight`.
            r1_subsample: the R1 and R2 penalties are computed on every
                `r1_subsample`-th real (generated) image of a batch (rows 0, k, 2k, ...):
                the same expectation, estimated from fewer images; 1 takes
                every image. The penalty's second forward and double
                backward pass through D cost time: on a 2-core CPU a DCGAN
                trained 16% fewer images per second with 1 than with the
                default 4, which scored as well (README, DCGAN table). A
                stride, not the first rows, so that workers that each hold
                part of the global batch take the rows one device would.
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
        settings = gan_training.training_settings(
            d_optimizer=d_optimizer,
            g_optimizer=g_optimizer,
            d_learning_rate=d_learning_rate,
            g_learning_rate=g_learning_rate,
            loss=loss,
            discriminator_steps=discriminator_steps,
            r1_weight=r1_weight,
            r2_weight=r2_weight,
            r1_subsample=r1_subsample,
            label_smoothing=label_smoothing,
            instance_noise=instance_noise,
            instance_noise_decay_steps=instance_noise_decay_steps,
            augmentation=augmentation,
            keras_arguments=kwargs,
            default_learning_rate=self.default_learning_rate,
            default_loss=self.default_loss,
            default_r1_weight=self.default_r1_weight,
            default_r2_weight=self.default_r2_weight,
        )
        for name, value in settings.items():
            setattr(self, name, value)
        discriminator_ids = {id(v) for v in self.discriminator.trainable_variables}
        optimizer = keras.optimizers.MultiOptimizer(
            lambda variable: (
                self.d_optimizer
                if id(variable) in discriminator_ids
                else self.g_optimizer
            ),
            loss_scale_factor=gan_training.loss_scale_factor(
                self.dtype_policy, loss_scale_factor
            ),
        )
        recorded = dict(
            d_optimizer=self.d_optimizer,
            g_optimizer=self.g_optimizer,
            loss=self.adversarial_loss,
            discriminator_steps=discriminator_steps,
            r1_weight=self.r1_weight,
            r2_weight=self.r2_weight,
            r1_subsample=self.r1_subsample,
            label_smoothing=self.label_smoothing,
            instance_noise=self.instance_noise,
            instance_noise_decay_steps=instance_noise_decay_steps,
            loss_scale_factor=loss_scale_factor,
            augmentation=augmentation,
            **kwargs,
        )
        # The losses are scaled by the two optimizers' loss_scale_factor;
        # Keras' own scaling would wrap the MultiOptimizer and reset them.
        self.compile_with(optimizer, {**kwargs, "auto_scale_loss": False}, recorded)

    def compile_from_config(self, config):
        # `.keras` files saved before R2 existed trained without it.
        super().compile_from_config({"r2_weight": 0.0, **config})

    def differentiates_twice(self):
        """R1, R2 and the Wasserstein loss' gradient penalty differentiate D's input gradient."""
        # Set by compile(), which asks this.
        loss = getattr(self, "adversarial_loss", None)
        penalty = getattr(loss, "gradient_penalty_weight", 0.0)
        return bool(penalty or self._penalty_trackers())

    @property
    def metrics(self):
        trackers = [
            self.loss_tracker,
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_real_accuracy_tracker,
            self.d_fake_accuracy_tracker,
        ]
        return trackers + self._penalty_trackers()

    def stateful_train_step(self, data):
        real_images, conditions = self._unpack(data)
        # train_on_batch hands PyTorch NumPy arrays; the penalties need tensors.
        real_images = ops.convert_to_tensor(real_images)
        batch_size = ops.shape(real_images)[0]
        noise_std = gan_training.instance_noise_std(
            self.instance_noise,
            self.instance_noise_decay_steps,
            # The MultiOptimizer counts training steps (batches), one per step.
            self.optimizer.iterations,
        )
        for _ in range(self.discriminator_steps):
            d_loss, real_logits, fake_logits, penalties = self._discriminator_step(
                real_images, conditions, batch_size, noise_std
            )
        g_loss = self._generator_step(real_images, conditions, batch_size, noise_std)
        if self.ema is not None:
            updates = self.g_optimizer.iterations
            gan_training.update_average(
                self.ema_generator, self.generator, self.ema, updates
            )
        self.optimizer.iterations.assign_add(1)
        for tracker, penalty in zip(self._penalty_trackers(), penalties, strict=True):
            tracker.update_state(penalty)
        self._record_losses(d_loss, g_loss, real_logits, fake_logits)
        return self.metric_results()

    def stateful_test_step(self, data):
        """`evaluate()` and `fit(validation_data=...)`: the training metrics on
        held-out real images against fresh samples, updating nothing.

        Both networks run in inference mode (batch-norm statistics, no
        dropout), without instance noise or augmentation; `r1_penalty` and
        `r2_penalty` are training-only terms and are not reported.
        """
        real_images, conditions = self._unpack(data)
        real_images = ops.convert_to_tensor(real_images)
        z = self._sample_latent(ops.shape(real_images)[0])
        fake_images = self._generate(z, conditions, training=False)
        real_logits, fake_logits = self._discriminate_both(
            real_images, fake_images, conditions, training=False
        )
        d_loss = self.adversarial_loss.discriminator_loss(real_logits, fake_logits)
        g_loss = self._generator_loss(fake_logits, real_logits)
        self._record_losses(d_loss, g_loss, real_logits, fake_logits)
        penalties = self._penalty_trackers()
        return {
            metric.name: metric.result()
            for metric in self.metrics
            if metric not in penalties
        }

    def _penalty_trackers(self):
        """The trackers of the penalties compile() turned on (none before it)."""
        return [
            tracker
            for tracker, weight in (
                (self.r1_penalty_tracker, getattr(self, "r1_weight", 0.0)),
                (self.r2_penalty_tracker, getattr(self, "r2_weight", 0.0)),
            )
            if weight
        ]

    def _generator_loss(self, fake_logits, real_logits):
        """G's loss; only relativistic losses read the real images' logits."""
        if self.adversarial_loss.pairs_real_and_fake:
            return self.adversarial_loss.generator_loss(
                fake_logits, real_logits=real_logits
            )
        return self.adversarial_loss.generator_loss(fake_logits)

    def _record_losses(self, d_loss, g_loss, real_logits, fake_logits):
        """Updates the trackers of `metrics` but the penalties' (which come last)."""
        real_accuracy = ops.mean(ops.cast(real_logits > 0, "float32"))
        fake_accuracy = ops.mean(ops.cast(fake_logits < 0, "float32"))
        values = (d_loss + g_loss, d_loss, g_loss, real_accuracy, fake_accuracy)
        for metric, value in zip(self.metrics, values, strict=False):
            metric.update_state(value)

    def _unpack(self, data):
        """Returns `(images, conditions)`; an unconditional GAN has no conditions."""
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return check_training_images(images, self.image_shape), None

    def _generate(self, z, conditions, training):
        return self.generator(z, training=training)

    def _discriminate(self, images, conditions, training):
        return self.discriminator(images, training=training)

    def _discriminate_both(self, real_images, fake_images, conditions, training):
        """`(D(real), D(fake))` given the batch's `conditions` (both halves').

        One call on the two halves stacked when D treats examples apart
        (`gan_training.treats_examples_apart`), two calls otherwise.
        """
        if not self._joint_discriminator_calls:
            return (
                self._discriminate(real_images, conditions, training=training),
                self._discriminate(fake_images, conditions, training=training),
            )
        images, conditions = _stacked(real_images, fake_images, conditions)
        logits = self._discriminate(images, conditions, training=training)
        return tuple(ops.split(logits, 2, axis=0))

    def _sample_latent(self, batch_size):
        return backend.normal((batch_size, self.latent_dim), seed=self.seed_generator)

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

        def loss_fn():
            real_logits, fake_logits = self._discriminate_both(
                real_images, fake_images, conditions, training=True
            )
            loss = self.adversarial_loss.discriminator_loss(
                real_logits, fake_logits, **smoothing
            )
            weight = self.adversarial_loss.gradient_penalty_weight
            if weight:
                loss = loss + weight * losses.gradient_penalty(
                    self._critic(conditions),
                    real_images,
                    fake_images,
                    self.seed_generator,
                )
            penalties = self._zero_centred_penalties(
                real_images, fake_images, conditions
            )
            weights = [w for w in (self.r1_weight, self.r2_weight) if w]
            for weight, penalty in zip(weights, penalties, strict=True):
                loss = loss + 0.5 * weight * penalty
            return loss, (real_logits, fake_logits, penalties)

        loss, (real_logits, fake_logits, penalties) = backend.minimize(
            self.d_optimizer, loss_fn, variables
        )
        return loss, real_logits, fake_logits, penalties

    def _zero_centred_penalties(self, real_images, fake_images, conditions):
        """The penalties compile() turned on, in `_penalty_trackers`' order.

        R1 is `E||grad D||^2` on every `r1_subsample`-th real image, R2 the
        same on the fakes (with their labels). With both on and a D that
        treats examples apart, one double backward pass serves both.
        """
        stride = self.r1_subsample
        if conditions is not None:
            conditions = conditions[::stride]
        halves = [
            images[::stride]
            for weight, images in (
                (self.r1_weight, real_images),
                (self.r2_weight, fake_images),
            )
            if weight
        ]
        if len(halves) == 2 and self._joint_discriminator_calls:
            images, conditions = _stacked(*halves, conditions)
            norms = losses.squared_gradient_norms(self._critic(conditions), images)
            return [ops.mean(half) for half in ops.split(norms, 2, axis=0)]
        critic = self._critic(conditions)
        return [
            ops.mean(losses.squared_gradient_norms(critic, images)) for images in halves
        ]

    def _critic(self, conditions):
        """`critic(images, training=True)`: D's logits given `conditions`."""

        def critic(images, training=True):
            return self._discriminate(images, conditions, training=training)

        return critic

    def _generator_step(self, real_images, conditions, batch_size, noise_std):
        z = self._sample_latent(batch_size)
        variables = self.generator.trainable_variables
        noise = None
        if noise_std is not None:
            shape = (batch_size, *self.image_shape)
            noise = noise_std * backend.normal(shape, seed=self.seed_generator)
        real_logits = None
        if self.adversarial_loss.pairs_real_and_fake:
            # Constants for G's update, as D sees the real images in its own.
            real_images = self._augmented(
                self._with_instance_noise(real_images, noise_std)
            )
            real_logits = ops.stop_gradient(
                self._discriminate(real_images, conditions, training=True)
            )

        def loss_fn():
            fake_images = self._generate(z, conditions, training=True)
            if noise is not None:
                fake_images = fake_images + noise
            fake_images = self._augmented(fake_images)
            fake_logits = self._discriminate(fake_images, conditions, training=True)
            return self._generator_loss(fake_logits, real_logits), None

        loss, _ = backend.minimize(self.g_optimizer, loss_fn, variables)
        return loss

    def _serving_signature(self):
        return [
            keras.InputSpec(shape=(None, self.latent_dim), dtype="float32", name="z")
        ]

    def export_endpoints(self):
        """`generate(z) -> {"images"}` (also the default signature)."""
        return [("generate", lambda z: {"images": self(z)}, self._serving_signature())]

    def export_layers(self):
        """The sampling generator: what `generate` runs."""
        return [self.sampling_generator]

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


def _stacked(real_images, fake_images, conditions):
    """`(images, conditions)` for one D call on both halves (each half's labels)."""
    images = ops.concatenate(
        [real_images, ops.cast(fake_images, real_images.dtype)], axis=0
    )
    if conditions is not None:
        conditions = ops.concatenate([conditions, conditions], axis=0)
    return images, conditions
