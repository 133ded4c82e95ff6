"""The classic fully connected GAN networks (Goodfellow et al. 2014 style)."""

import math

import keras
from keras import layers

from kgen.networks.validation import check_image_shape, check_positive


def mlp_generator(
    latent_dim: int = 100,
    image_shape: tuple = (28, 28, 1),
    hidden_units: tuple = (128, 256),
    negative_slope: float = 0.2,
    name: str = "generator",
) -> keras.Model:
    """Builds `z -> image`: dense layers with LeakyReLU, tanh output in [-1, 1].

    Example:

    ```python
    generator = kgen.networks.mlp_generator(latent_dim=100, image_shape=(28, 28, 1))
    images = generator(keras.random.normal((16, 100)))  # (16, 28, 28, 1)
    ```
    """
    check_positive("latent_dim", latent_dim)
    image_shape = check_image_shape(image_shape)
    z = keras.Input((latent_dim,), name="z")
    x = z
    for units in hidden_units:
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(negative_slope)(x)
    x = layers.Dense(math.prod(image_shape), activation="tanh")(x)
    images = layers.Reshape(image_shape, name="images")(x)
    return keras.Model(z, images, name=name)


def mlp_discriminator(
    image_shape: tuple = (28, 28, 1),
    hidden_units: tuple = (256, 128),
    negative_slope: float = 0.2,
    name: str = "discriminator",
) -> keras.Model:
    """Builds `image -> logit`: the generator mirrored, one logit per image.

    Example:

    ```python
    discriminator = kgen.networks.mlp_discriminator(image_shape=(28, 28, 1))
    logits = discriminator(images)  # (batch, 1), > 0 means "real"
    ```
    """
    image_shape = check_image_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    x = layers.Flatten()(images)
    for units in hidden_units:
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(negative_slope)(x)
    logits = layers.Dense(1, name="logits")(x)
    return keras.Model(images, logits, name=name)
