"""`VAE`: a variational autoencoder trained on the ELBO with `fit`."""

import keras
import numpy as np
from keras import ops

from kgen import backend, losses
from kgen.layers.sampling import Sampling
from kgen.models.generative_model import (
    GenerativeModel,
    latent_vectors,
    predict_in_batches,
)
from kgen.models.training_data import check_training_images
from kgen.networks.validation import check_number

LIKELIHOODS = ("bernoulli", "gaussian")


@keras.saving.register_keras_serializable(package="kgen")
class VAE(GenerativeModel):
    """A variational autoencoder (Kingma & Welling 2014) with its own `train_step`.

    The encoder maps images to the mean and log-variance of q(z|x); a
    `kgen.layers.Sampling` layer draws z with the reparameterisation trick;
    the decoder maps z to per-pixel parameters of p(x|z). Training maximises
    the ELBO: `loss = reconstruction_loss + beta * kl_loss`, all in nats per
    image, reported as epoch means by `fit` and `evaluate`.

    Args:
        encoder: `image -> [mean, log_var]`, e.g. `kgen.networks.mlp_encoder`.
        decoder: `z -> pixel parameters`, e.g. `kgen.networks.mlp_decoder`.
        latent_dim: size of z; taken from the decoder's input when omitted.
        likelihood: `"bernoulli"` (decoder outputs logits; pixels in [-1, 1]
            are read as probabilities `(x + 1) / 2`, exact for binarised data)
            or `"gaussian"` (decoder outputs means, fixed `pixel_std`).
        beta: weight of the KL term (beta-VAE, Higgins et al. 2017).
        pixel_std: standard deviation of the Gaussian likelihood.
        seed: seed of the sampling noise.

    Example:

    ```python
    vae = kgen.VAE(
        kgen.networks.mlp_encoder(latent_dim=50),
        kgen.networks.mlp_decoder(latent_dim=50),
    )
    vae.compile()  # Adam(1e-3)
    vae.fit(kgen.data.load("glyphs", binarize=True), epochs=10)
    vae.evaluate(kgen.data.load("glyphs", split="test", binarize=True))
    images = vae.generate(16, seed=0)
    log_px = vae.log_likelihood(test_images, num_samples=1000)  # nats per image
    ```
    """

    network_config_keys = ("encoder", "decoder")

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        latent_dim: int | None = None,
        likelihood: str = "bernoulli",
        beta: float = 1.0,
        pixel_std: float = 0.1,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for role, network in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(network, keras.Model):
                raise ValueError(f"{role} must be a keras.Model, got {network!r}")
        if len(encoder.outputs) != 2:
            raise ValueError(
                "The encoder must output [mean, log_var], got "
                f"{len(encoder.outputs)} outputs"
            )
        decoder_latent_dim = decoder.inputs[0].shape[-1]
        latent_dim = decoder_latent_dim if latent_dim is None else latent_dim
        for output in encoder.outputs:
            if output.shape[-1] != latent_dim or decoder_latent_dim != latent_dim:
                raise ValueError(
                    f"latent_dim={latent_dim} must match the encoder's outputs "
                    f"{[tuple(o.shape) for o in encoder.outputs]} and the "
                    f"decoder's input {tuple(decoder.inputs[0].shape)}"
                )
        image_shape = tuple(encoder.inputs[0].shape[1:])
        if tuple(decoder.outputs[0].shape[1:]) != image_shape:
            raise ValueError(
                f"The decoder outputs {tuple(decoder.outputs[0].shape[1:])} but "
                f"the encoder takes images of shape {image_shape}"
            )
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}"
            )
        beta = check_number("beta", beta, 0.0)
        pixel_std = check_number("pixel_std", pixel_std, 0.0, low_inclusive=False)
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.likelihood = likelihood
        self.beta = beta
        self.pixel_std = pixel_std
        self.seed = seed
        self.image_shape = image_shape
        self.sampling = Sampling(seed=seed)
        # Built here (it has no weights) so fit() finds the model fully built.
        self.sampling.build([(None, latent_dim), (None, latent_dim)])
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def call(self, z, training=False):
        return self._to_images(self.decoder(z, training=training))

    def _to_images(self, pixel_parameters):
        if self.likelihood == "bernoulli":
            return 2.0 * ops.sigmoid(pixel_parameters) - 1.0
        return ops.clip(pixel_parameters, -1.0, 1.0)

    def _log_likelihood(self, images, pixel_parameters):
        if self.likelihood == "bernoulli":
            return losses.bernoulli_log_likelihood(images, pixel_parameters)
        return losses.gaussian_log_likelihood(images, pixel_parameters, self.pixel_std)

    def _elbo_terms(self, data, training):
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        images = check_training_images(images, self.image_shape)
        mean, log_var = self.encoder(images, training=training)
        z = self.sampling([mean, log_var])
        pixel_parameters = self.decoder(z, training=training)
        reconstruction_loss = -ops.mean(self._log_likelihood(images, pixel_parameters))
        kl_loss = ops.mean(losses.gaussian_kl(mean, log_var))
        return reconstruction_loss + self.beta * kl_loss, reconstruction_loss, kl_loss

    def stateful_train_step(self, data):
        def loss_fn():
            loss, reconstruction_loss, kl_loss = self._elbo_terms(data, training=True)
            return loss, (reconstruction_loss, kl_loss)

        variables = self.trainable_variables
        loss, (reconstruction_loss, kl_loss) = backend.minimize(
            self.optimizer, loss_fn, variables
        )
        return self.update_metrics(loss, reconstruction_loss, kl_loss)

    def stateful_test_step(self, data):
        return self.update_metrics(*self._elbo_terms(data, training=False))

    def _images(self, images):
        images = ops.convert_to_tensor(np.asarray(images, dtype="float32"))
        return check_training_images(images, self.image_shape)

    def encode(self, images, batch_size: int = 256):
        """Returns `(mean, log_var)` of q(z|x) as NumPy arrays."""
        outputs = predict_in_batches(
            lambda x, training: ops.concatenate(self.encoder(x, training=training), -1),
            self._images(images),
            batch_size,
        )
        return outputs[:, : self.latent_dim], outputs[:, self.latent_dim :]

    def decode(self, z, batch_size: int = 256):
        """Maps latent vectors to images (the likelihood's mean) in [-1, 1]."""
        z = latent_vectors(self.latent_dim, z=z)
        return predict_in_batches(self, z, batch_size)

    def reconstruct(self, images, batch_size: int = 256):
        """Decodes the posterior mean of each image."""
        mean, _ = self.encode(images, batch_size)
        return self.decode(mean, batch_size)

    def log_likelihood(self, images, num_samples: int = 100, seed: int = 0):
        """Importance-weighted estimate of log p(x) per image, in nats (IWAE).

        `log (1/k) sum_i p(x, z_i) / q(z_i | x)` with `k = num_samples` draws
        from q (Burda et al. 2016): a lower bound on log p(x) that is the ELBO
        for k = 1 and tightens as k grows. Computed in float64 after the
        networks run.
        """
        log_weights = self._log_weights(images, num_samples, seed)
        peak = log_weights.max(axis=0)
        return peak + np.log(np.mean(np.exp(log_weights - peak), axis=0))

    def elbo(self, images, num_samples: int = 100, seed: int = 0):
        """Monte Carlo estimate of the ELBO per image, in nats."""
        return self._log_weights(images, num_samples, seed).mean(axis=0)

    def _log_weights(self, images, num_samples, seed, rows_per_pass=8192):
        """`log p(x, z) - log q(z | x)` for `num_samples` draws: (k, n) float64."""
        if not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(
                f"num_samples must be a positive integer, got {num_samples!r}"
            )
        images = self._images(images)
        num_images = int(images.shape[0])
        mean, log_var = self.encode(images)
        seed_generator = keras.random.SeedGenerator(seed)
        draws_per_pass = max(1, rows_per_pass // num_images)
        log_weights = []
        for start in range(0, num_samples, draws_per_pass):
            draws = min(draws_per_pass, num_samples - start)
            noise = keras.random.normal(
                (draws, num_images, self.latent_dim), seed=seed_generator
            )
            z = mean + np.exp(0.5 * log_var) * ops.convert_to_numpy(noise)
            flat_z = ops.convert_to_tensor(z.reshape(-1, self.latent_dim))
            pixel_parameters = self.decoder(flat_z, training=False)
            repeated = ops.tile(images, (draws, 1, 1, 1))
            log_joint = self._log_likelihood(repeated, pixel_parameters) + (
                losses.standard_normal_log_density(flat_z)
            )
            log_q = losses.normal_log_density(
                flat_z, np.tile(mean, (draws, 1)), np.tile(log_var, (draws, 1))
            )
            log_weights.append(
                ops.convert_to_numpy(log_joint - log_q)
                .astype("float64")
                .reshape(draws, num_images)
            )
        return np.concatenate(log_weights, axis=0)

    def export_endpoints(self):
        """`decode(z) -> {"images"}` (the default) and `encode(images) -> {"mean",
        "log_var"}`."""

        def encode(images):
            mean, log_var = self.encoder(images)
            return {"mean": mean, "log_var": log_var}

        return [
            (
                "decode",
                lambda z: {"images": self(z)},
                [
                    keras.InputSpec(
                        shape=(None, self.latent_dim), dtype="float32", name="z"
                    )
                ],
            ),
            (
                "encode",
                encode,
                [
                    keras.InputSpec(
                        shape=(None, *self.image_shape), dtype="float32", name="images"
                    )
                ],
            ),
        ]

    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            latent_dim=self.latent_dim,
            likelihood=self.likelihood,
            beta=self.beta,
            pixel_std=self.pixel_std,
            seed=self.seed,
        )
        return config
