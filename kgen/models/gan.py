"""`GAN`: a generator and a discriminator trained adversarially with `fit`."""

import keras
from keras import ops

from kgen import backend, losses
from kgen.export import SavedModelExport
from kgen.models.generative import (
    Generative,
    RecordedCompile,
    check_training_images,
    from_config_with_networks,
)
from kgen.networks.validation import check_positive


def default_optimizer():
    """Adam(2e-4, beta_1=0.5), the DCGAN paper's setting, used for D and G."""
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


@keras.saving.register_keras_serializable(package="kgen")
class GAN(Generative, RecordedCompile, SavedModelExport, keras.Model):
    """A generative adversarial network with its own `train_step`.

    Each training step draws fresh noise, updates the discriminator
    `discriminator_steps` times on the batch of real images against generated
    ones, then updates the generator once. The two networks have their own
    optimizers (wrapped in a `keras.optimizers.MultiOptimizer` so that every
    backend saves, restores and traces both). Calling the model runs the
    generator, so `predict` and `export` map latent vectors to images.

    Args:
        generator: a `keras.Model` mapping `(batch, latent_dim)` to images in
            [-1, 1].
        discriminator: a `keras.Model` mapping images to one logit each.
        latent_dim: size of the latent vectors; taken from the generator's input
            when omitted.
        seed: seed of the noise drawn during training.

    Example:

    ```python
    gan = kgen.GAN(
        kgen.networks.mlp_generator(latent_dim=100),
        kgen.networks.mlp_discriminator(),
    )
    gan.compile()  # Adam(2e-4, beta_1=0.5) for both, non-saturating loss
    gan.fit(kgen.data.load("glyphs", batch_size=128), epochs=5)
    images = gan.generate(16, seed=0)  # (16, 28, 28, 1) float32 in [-1, 1]
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
        self.image_shape = image_shape
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_accuracy_tracker = keras.metrics.Mean(name="d_real_accuracy")
        self.d_fake_accuracy_tracker = keras.metrics.Mean(name="d_fake_accuracy")
        self.built = True

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        loss="non_saturating",
        discriminator_steps: int = 1,
        **kwargs,
    ):
        """Configures training.

        Args:
            d_optimizer, g_optimizer: optimizers of the discriminator and the
                generator; default `Adam(2e-4, beta_1=0.5)` each. Pass two
                different instances (e.g. different learning rates for TTUR).
            loss: a `kgen.losses` name (`"non_saturating"`, `"minimax"`,
                `"hinge"`, `"least_squares"`, `"wasserstein"`) or instance.
            discriminator_steps: discriminator updates per generator update
                (5 is usual with `"wasserstein"`); each uses fresh noise and
                the same batch of real images.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, `run_eagerly`).
        """
        d_optimizer = keras.optimizers.get(d_optimizer or default_optimizer())
        g_optimizer = keras.optimizers.get(g_optimizer or default_optimizer())
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
        self.adversarial_loss = losses.get(loss)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.discriminator_steps = discriminator_steps
        discriminator_ids = {id(v) for v in self.discriminator.trainable_variables}
        optimizer = keras.optimizers.MultiOptimizer(
            lambda variable: (
                d_optimizer if id(variable) in discriminator_ids else g_optimizer
            )
        )
        super().compile(optimizer=optimizer, **kwargs)
        # Built now so that loading a checkpoint (`.keras`, BackupAndRestore)
        # finds both optimizers' slots before the first step.
        optimizer.build(self.trainable_variables)
        self._record_compile(
            d_optimizer=d_optimizer,
            g_optimizer=g_optimizer,
            loss=self.adversarial_loss,
            discriminator_steps=discriminator_steps,
            **kwargs,
        )

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_real_accuracy_tracker,
            self.d_fake_accuracy_tracker,
        ]

    def train_step(self, *args):
        # Keras calls train_step(data) on TensorFlow/PyTorch and
        # train_step(state, data) on JAX; kgen.backend adapts both.
        return backend.train_step(self, *args)

    def stateful_train_step(self, data):
        real_images, conditions = self._unpack(data)
        batch_size = ops.shape(real_images)[0]
        for _ in range(self.discriminator_steps):
            d_loss, real_logits, fake_logits = self._discriminator_step(
                real_images, conditions, batch_size
            )
        g_loss = self._generator_step(conditions, batch_size)
        self.optimizer.iterations.assign_add(1)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_accuracy_tracker.update_state(
            ops.mean(ops.cast(real_logits > 0, "float32"))
        )
        self.d_fake_accuracy_tracker.update_state(
            ops.mean(ops.cast(fake_logits < 0, "float32"))
        )
        return {metric.name: metric.result() for metric in self.metrics}

    def _unpack(self, data):
        """Returns `(images, conditions)`; an unconditional GAN has no conditions."""
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return check_training_images(images, self.image_shape), None

    def _generate(self, z, conditions, training):
        return self.generator(z, training=training)

    def _discriminate(self, images, conditions, training):
        return self.discriminator(images, training=training)

    def _sample_latent(self, batch_size):
        return keras.random.normal(
            (batch_size, self.latent_dim), seed=self.seed_generator
        )

    def _discriminator_step(self, real_images, conditions, batch_size):
        z = self._sample_latent(batch_size)
        fake_images = ops.stop_gradient(self._generate(z, conditions, training=True))
        variables = self.discriminator.trainable_variables

        def critic(images, training=True):
            return self._discriminate(images, conditions, training=training)

        def loss_fn():
            real_logits = critic(real_images)
            fake_logits = critic(fake_images)
            loss = self.adversarial_loss.discriminator_loss(real_logits, fake_logits)
            weight = self.adversarial_loss.gradient_penalty_weight
            if weight:
                loss = loss + weight * losses.gradient_penalty(
                    critic, real_images, fake_images, self.seed_generator
                )
            return loss, (real_logits, fake_logits)

        loss, (real_logits, fake_logits), grads = backend.value_and_grad(
            loss_fn, variables
        )
        self.d_optimizer.apply(grads, variables)
        return loss, real_logits, fake_logits

    def _generator_step(self, conditions, batch_size):
        z = self._sample_latent(batch_size)
        variables = self.generator.trainable_variables

        def loss_fn():
            fake_images = self._generate(z, conditions, training=True)
            fake_logits = self._discriminate(fake_images, conditions, training=True)
            return self.adversarial_loss.generator_loss(fake_logits), None

        loss, _, grads = backend.value_and_grad(loss_fn, variables)
        self.g_optimizer.apply(grads, variables)
        return loss

    def _serving_signature(self):
        return [
            keras.InputSpec(shape=(None, self.latent_dim), dtype="float32", name="z")
        ]

    def export_endpoints(self):
        """`serve` (the default signature): latent vectors to images."""
        return [("serve", lambda z: self(z), self._serving_signature())]

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return from_config_with_networks(cls, config, ("generator", "discriminator"))
