"""`ConditionalGAN`: a GAN whose generator and discriminator see class labels."""

import keras
import numpy as np
from keras import ops

from kgen.models.gan import GAN
from kgen.models.training_data import check_pixels, check_training_images
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
                "ConditionalGAN trains on (images, labels) batches, got images "
                "alone; load data with kgen.data.load(..., with_labels=True), "
                "or pass arrays as fit(images, labels)"
            )
        return check_training_images(images, self.image_shape), ops.cast(
            labels, "int32"
        )

    def _generate(self, z, conditions, training):
        return self.generator([z, conditions], training=training)

    def _discriminate(self, images, conditions, training):
        return self.discriminator([images, conditions], training=training)

    def check_training_data(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        check_pixels("Training images", images, self.pixel_range)
        if labels is not None:
            check_class_labels(labels, self.num_classes, "Training labels")

    def generator_feed(self, z, labels=None):
        num_samples = int(z.shape[0])
        if labels is None:
            labels = np.arange(num_samples) % self.num_classes
        labels = np.asarray(labels)
        labels = np.broadcast_to(labels, (num_samples,)) if labels.ndim == 0 else labels
        if labels.ndim == 1 and labels.shape != (num_samples,):
            raise ValueError(
                f"labels must be one integer or {num_samples} of them, "
                f"got shape {labels.shape}"
            )
        labels = check_class_labels(labels, self.num_classes)
        return [z, ops.convert_to_tensor(labels)]

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


def check_class_labels(labels, num_classes, name="labels"):
    """Returns `labels` as int32 class ids, or raises unless they are ids in range.

    Integer ids in `[0, num_classes)`, of shape `(N,)`; floats that are whole
    numbers pass too. One-hot (2-D) labels, fractions, NaN and ids out of range
    raise a `ValueError` that says what to pass instead.
    """
    labels = np.asarray(labels)
    expected = f"class ids in [0, {num_classes})"
    if labels.ndim == 2 and labels.shape[-1] > 1:
        raise ValueError(
            f"{name} must be integer {expected} of shape (N,), got 2-D (one-hot?) labels "
            f"of shape {labels.shape}; pass labels.argmax(-1)"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be integer {expected} of shape (N,), got shape {labels.shape}; "
            "pass labels.reshape(-1)"
        )
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.number):
        raise ValueError(
            f"{name} must be integers ({expected}), got dtype {labels.dtype}"
        )
    if np.issubdtype(labels.dtype, np.floating) and not (
        np.isfinite(labels).all() and (labels == np.round(labels)).all()
    ):
        bad = labels[~np.isfinite(labels) | (labels != np.round(labels))]
        raise ValueError(
            f"{name} must be integers ({expected}), got {float(bad[0]):g} among "
            f"{labels.dtype} labels; pass class ids, not scores or probabilities"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must be in [0, {num_classes}) (integer class ids), got values "
            f"from {labels.min():g} to {labels.max():g}; build the model with "
            "num_classes= the number of classes, or remap the labels"
        )
    return labels.astype("int32")
