"""The classic fully connected GAN networks (Goodfellow et al. 2014 style)."""

import math

import keras
from keras import layers

from kgen.networks.conditioning import (
    check_conditioning,
    discriminator_inputs,
    generator_inputs,
    logits_from_features,
    spectrally_normalized,
)
from kgen.networks.precision import float32_output
from kgen.networks.validation import check_image_shape, check_positive


def mlp_generator(
    latent_dim: int = 100,
    image_shape: tuple = (28, 28, 1),
    hidden_units: tuple = (128, 256),
    negative_slope: float = 0.2,
    num_classes: int | None = None,
    embedding_dim: int = 50,
    name: str = "generator",
) -> keras.Model:
    """Builds `z -> image`: dense layers with LeakyReLU, tanh output in [-1, 1].

    With `num_classes`, the model takes `[z, labels]` and conditions on a
    learned `embedding_dim`-sized label embedding concatenated to `z`.

    Example:

    ```python
    generator = kgen.networks.mlp_generator(latent_dim=100, image_shape=(28, 28, 1))
    images = generator(keras.random.normal((16, 100)))  # (16, 28, 28, 1)
    ```
    """
    check_positive("latent_dim", latent_dim)
    check_conditioning(num_classes, "concat")
    image_shape = check_image_shape(image_shape)
    inputs, x = generator_inputs(latent_dim, num_classes, embedding_dim)
    for units in hidden_units:
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(negative_slope)(x)
    x = layers.Dense(math.prod(image_shape))(x)
    x = layers.Reshape(image_shape)(x)
    images = float32_output(x, "tanh", name="images")
    return keras.Model(inputs, images, name=name)


def mlp_discriminator(
    image_shape: tuple = (28, 28, 1),
    hidden_units: tuple = (256, 128),
    negative_slope: float = 0.2,
    num_classes: int | None = None,
    conditioning: str = "projection",
    spectral_normalization: bool = False,
    name: str = "discriminator",
) -> keras.Model:
    """Builds `image -> logit`: the generator mirrored, one logit per image.

    With `num_classes`, the model takes `[images, labels]`; `conditioning` is
    `"concat"` (a learned label plane joins the pixels) or `"projection"`.
    `spectral_normalization=True` divides every dense kernel by its spectral
    norm (Miyato et al. 2018), bounding the discriminator's Lipschitz constant.

    Example:

    ```python
    discriminator = kgen.networks.mlp_discriminator(image_shape=(28, 28, 1))
    logits = discriminator(images)  # (batch, 1), > 0 means "real"
    sn_discriminator = kgen.networks.mlp_discriminator(spectral_normalization=True)
    ```
    """
    check_conditioning(num_classes, conditioning)
    image_shape = check_image_shape(image_shape)
    inputs, x, labels = discriminator_inputs(image_shape, num_classes, conditioning)
    x = layers.Flatten()(x)
    for units in hidden_units:
        x = spectrally_normalized(layers.Dense(units), spectral_normalization)(x)
        x = layers.LeakyReLU(negative_slope)(x)
    logits = logits_from_features(
        x, labels, num_classes, conditioning, spectral_normalization
    )
    return keras.Model(inputs, logits, name=name)
