"""DCGAN networks (Radford et al. 2016) sized from the image shape."""

import keras
from keras import layers

from kgen import layers as kgen_layers
from kgen.networks.conditioning import (
    check_conditioning,
    discriminator_inputs,
    generator_inputs,
    logits_from_features,
    spectrally_normalized,
)
from kgen.networks.precision import float32_output
from kgen.networks.validation import (
    check_image_shape,
    check_non_negative,
    check_positive,
    check_rate,
)

_NORMALIZATIONS = ("batch", "layer", "none")


def num_upsamplings(image_shape):
    """Halvings from `image_shape` down to a seed of at least 4x4 pixels.

    28 -> 14 -> 7 (2), 32 -> 16 -> 8 -> 4 (3), 64 -> ... -> 4 (4).
    """
    counts = []
    for size in image_shape[:2]:
        count = 0
        while size % 2 == 0 and size // 2 >= 4:
            size //= 2
            count += 1
        counts.append(count)
    count = min(counts)
    if count == 0:
        raise ValueError(
            f"DCGAN networks need height and width divisible by 2 down to a "
            f"seed of at least 4 pixels (e.g. 28, 32, 64); got {image_shape}"
        )
    return count


def _normalization(kind, name):
    if kind not in _NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {_NORMALIZATIONS}, got {kind!r}"
        )
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    return layers.Identity(name=name)


def dcgan_generator(
    latent_dim: int = 100,
    image_shape: tuple = (28, 28, 1),
    base_filters: int = 64,
    num_classes: int | None = None,
    embedding_dim: int = 50,
    kernel_size: int = 4,
    name: str = "generator",
) -> keras.Model:
    """Builds `z -> image` with strided transposed convolutions, tanh output.

    A dense layer makes a small seed (7x7 for 28x28 images, 4x4 for 32 and 64),
    then each stride-2 transposed convolution (`kernel_size` square) doubles
    its size with batch norm and ReLU; filters halve at every step down to
    `base_filters`. With
    `num_classes`, the model takes `[z, labels]` and conditions on a learned
    `embedding_dim`-sized label embedding.

    Example:

    ```python
    generator = kgen.networks.dcgan_generator(latent_dim=100, image_shape=(32, 32, 3))
    images = generator(keras.random.normal((8, 100)))  # (8, 32, 32, 3) in [-1, 1]
    ```
    """
    check_positive("latent_dim", latent_dim)
    check_positive("base_filters", base_filters)
    check_positive("kernel_size", kernel_size)
    check_conditioning(num_classes, "concat")
    image_shape = check_image_shape(image_shape)
    steps = num_upsamplings(image_shape)
    seed_h, seed_w = (size // 2**steps for size in image_shape[:2])
    filters = base_filters * 2 ** (steps - 1)

    inputs, x = generator_inputs(latent_dim, num_classes, embedding_dim)
    x = layers.Dense(seed_h * seed_w * filters, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((seed_h, seed_w, filters))(x)
    for _step in range(steps - 1):
        filters //= 2
        x = kgen_layers.Conv2DTranspose(
            filters, kernel_size, strides=2, padding="same", use_bias=False
        )(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = kgen_layers.Conv2DTranspose(
        image_shape[2], kernel_size, strides=2, padding="same"
    )(x)
    images = float32_output(x, "tanh", name="images")
    return keras.Model(inputs, images, name=name)


def dcgan_discriminator(
    image_shape: tuple = (28, 28, 1),
    base_filters: int = 64,
    normalization: str = "batch",
    negative_slope: float = 0.2,
    num_classes: int | None = None,
    conditioning: str = "projection",
    spectral_normalization: bool = False,
    kernel_size: int = 4,
    dropout: float = 0.0,
    coarse_convolutions: int = 0,
    name: str = "discriminator",
) -> keras.Model:
    """Builds `image -> logit` with stride-2 convolutions and LeakyReLU.

    Mirrors `dcgan_generator`. `normalization` is `"batch"` (the DCGAN paper),
    `"layer"` (use it with the Wasserstein loss, whose gradient penalty is per
    sample) or `"none"`. The first convolution is never normalised. With
    `num_classes`, the model takes `[images, labels]`; `conditioning` is
    `"concat"` (a learned label plane as an extra input channel) or
    `"projection"` (Miyato & Koyama 2018). `spectral_normalization=True`
    divides every convolution's and the logit layer's kernel by its spectral
    norm (SN-GAN, Miyato et al. 2018), which bounds the discriminator's
    Lipschitz constant; it usually replaces batch norm (`normalization="none"`).
    `kernel_size` is the convolutions' (square) kernel; `dropout` > 0 adds
    dropout of that rate after every activation (as TensorFlow's DCGAN
    tutorial does), which slows the discriminator's memorising of small sets.
    `coarse_convolutions` adds that many stride-1 3x3 convolutions (as wide as
    the last strided one, and normalised, spectrally normalised and activated
    as it is) at the coarsest resolution, before the logit: 7x7 for 28x28
    images, where they are cheap.

    Example:

    ```python
    discriminator = kgen.networks.dcgan_discriminator(image_shape=(32, 32, 3))
    logits = discriminator(images)  # (batch, 1)
    sn_discriminator = kgen.networks.dcgan_discriminator(
        normalization="none", spectral_normalization=True
    )
    ```
    """
    check_positive("base_filters", base_filters)
    check_positive("kernel_size", kernel_size)
    check_rate("dropout", dropout)
    check_non_negative("coarse_convolutions", coarse_convolutions)
    check_conditioning(num_classes, conditioning)
    image_shape = check_image_shape(image_shape)
    steps = num_upsamplings(image_shape)

    def activation(x):
        x = layers.LeakyReLU(negative_slope)(x)
        return layers.Dropout(dropout)(x) if dropout else x

    inputs, x, labels = discriminator_inputs(image_shape, num_classes, conditioning)
    x = spectrally_normalized(
        kgen_layers.Conv2D(base_filters, kernel_size, strides=2, padding="same"),
        spectral_normalization,
    )(x)
    x = activation(x)
    filters = base_filters
    # (kernel size, stride) of the convolutions after the first.
    convolutions = [(kernel_size, 2)] * (steps - 1) + [(3, 1)] * coarse_convolutions
    for step, (size, strides) in enumerate(convolutions, start=1):
        filters *= strides
        x = spectrally_normalized(
            kgen_layers.Conv2D(
                filters, size, strides=strides, padding="same", use_bias=False
            ),
            spectral_normalization,
        )(x)
        x = _normalization(normalization, name=f"norm_{step}")(x)
        x = activation(x)
    x = layers.Flatten()(x)
    logits = logits_from_features(
        x, labels, num_classes, conditioning, spectral_normalization
    )
    return keras.Model(inputs, logits, name=name)
