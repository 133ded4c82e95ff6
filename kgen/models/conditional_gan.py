"""`ConditionalGAN`: a GAN whose generator and discriminator see class labels."""

import keras
import numpy as np
from keras import ops

from kgen.models.gan import GAN
from kgen.models.generative import check_training_images
from kgen.networks.validation import check_positive


@keras.saving.register_keras_serializable(package="kgen")
class ConditionalGAN(GAN):
    """A class-conditional GAN: G(z, c) makes an image of class c, D(x, c) judges it.

    Trains like `kgen.GAN` on `(images, labels)` batches; generated images in a
    batch get that batch's labels, so D sees each class as often real as fake.

    Args:
        generator: a `keras.Model` taking `[z, labels]` (see
            `kgen.networks.dcgan_generator(num_classes=...)`).
        discriminator: a `keras.Model` taking `[images, labels]`, one logit per
            image (`conditioning="concat"` or `"projection"` in the builders).
        latent_dim: size of `z`; taken from the generator when omitted.
        num_classes: number of classes; labels are integers in
            `[0, num_classes)`.
        seed: seed of the noise drawn during training.
        ema: decay of the generator's weight average used for sampling, or
            `None`; see `kgen.GAN`.

    Example:

    ```python
    cgan = kgen.ConditionalGAN(
        kgen.networks.dcgan_generator(latent_dim=100, num_classes=10),
        kgen.networks.dcgan_discriminator(num_classes=10),
        num_classes=10,
    )
    cgan.compile()
    cgan.fit(kgen.data.load("glyphs", with_labels=True), epochs=5)
    sevens = cgan.generate(16, labels=7, seed=0)
    ```
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int | None = None,
        *,
        num_classes: int,
        seed: int | None = None,
        ema: float | None = None,
        **kwargs,
    ):
        check_positive("num_classes", num_classes)
        super().__init__(generator, discriminator, latent_dim, seed, ema, **kwargs)
        self.num_classes = num_classes

    network_inputs = 2

    def call(self, z, labels=None, training=False):
        if labels is None:
            # predict() passes one structure: [z, labels].
            z, labels = z
        return self.sampling_generator([z, labels], training=training)

    def _unpack(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if labels is None:
            raise ValueError(
                "ConditionalGAN trains on (images, labels) batches; load data "
                "with kgen.data.load(..., with_labels=True)"
            )
        return check_training_images(images, self.image_shape), ops.cast(
            labels, "int32"
        )

    def _generate(self, z, conditions, training):
        return self.generator([z, conditions], training=training)

    def _discriminate(self, images, conditions, training):
        return self.discriminator([images, conditions], training=training)

    def _generator_feed(self, z, labels):
        num_samples = int(z.shape[0])
        if labels is None:
            labels = np.arange(num_samples) % self.num_classes
        labels = np.asarray(labels)
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        labels = np.broadcast_to(labels, (num_samples,)) if labels.ndim == 0 else labels
        if labels.shape != (num_samples,):
            raise ValueError(
                f"labels must be one integer or {num_samples} of them, "
                f"got shape {labels.shape}"
            )
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(
                f"labels must be in [0, {self.num_classes}), got values from "
                f"{labels.min()} to {labels.max()}"
            )
        return [z, ops.convert_to_tensor(labels.astype("int32"))]

    def export_endpoints(self):
        """`generate(z, labels) -> {"images"}` (also the default signature)."""
        return [
            (
                "generate",
                lambda z, labels: {"images": self(z, labels)},
                self._serving_signature(),
            )
        ]

    def _serving_signature(self):
        return [
            keras.InputSpec(shape=(None, self.latent_dim), dtype="float32", name="z"),
            keras.InputSpec(shape=(None,), dtype="int32", name="labels"),
        ]

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
