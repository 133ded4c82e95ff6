"""VAE encoders (`image -> [mean, log_var]`) and decoders (`z -> pixel parameters`).

Decoders output unbounded per-pixel parameters: Bernoulli logits or Gaussian
means, depending on the `VAE`'s likelihood.
"""

import math

import keras
from keras import layers

from kgen import layers as kgen_layers
from kgen.networks.dcgan import num_upsamplings
from kgen.networks.precision import float32_output
from kgen.networks.validation import check_image_shape, check_positive


def _gaussian_head(x, latent_dim):
    # float32 under mixed precision: exp(log_var / 2) and the KL term need it.
    mean = layers.Dense(latent_dim, name="mean", dtype="float32")(x)
    log_var = layers.Dense(latent_dim, name="log_var", dtype="float32")(x)
    return [mean, log_var]


def mlp_encoder(
    image_shape: tuple = (28, 28, 1),
    latent_dim: int = 50,
    hidden_units: tuple = (200, 200),
    activation: str = "softplus",
    name: str = "encoder",
) -> keras.Model:
    """Builds `image -> [mean, log_var]` with dense layers.

    The defaults are the 784-200-200-50 setting of Burda et al. (2016).

    Example:

    ```python
    encoder = kgen.networks.mlp_encoder(image_shape=(28, 28, 1), latent_dim=50)
    mean, log_var = encoder(images)  # (batch, 50) each
    ```
    """
    check_positive("latent_dim", latent_dim)
    image_shape = check_image_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    x = layers.Flatten()(images)
    for units in hidden_units:
        x = layers.Dense(units, activation=activation)(x)
    return keras.Model(images, _gaussian_head(x, latent_dim), name=name)


def mlp_decoder(
    latent_dim: int = 50,
    image_shape: tuple = (28, 28, 1),
    hidden_units: tuple = (200, 200),
    activation: str = "softplus",
    name: str = "decoder",
) -> keras.Model:
    """Builds `z -> per-pixel parameters` (logits or means) with dense layers.

    Example:

    ```python
    decoder = kgen.networks.mlp_decoder(latent_dim=50, image_shape=(28, 28, 1))
    logits = decoder(z)  # (batch, 28, 28, 1)
    ```
    """
    check_positive("latent_dim", latent_dim)
    image_shape = check_image_shape(image_shape)
    z = keras.Input((latent_dim,), name="z")
    x = z
    for units in hidden_units:
        x = layers.Dense(units, activation=activation)(x)
    x = layers.Dense(math.prod(image_shape))(x)
    x = layers.Reshape(image_shape)(x)
    return keras.Model(z, float32_output(x, "linear", name="pixels"), name=name)


def conv_encoder(
    image_shape: tuple = (28, 28, 1),
    latent_dim: int = 16,
    base_filters: int = 32,
    hidden_units: int = 128,
    name: str = "encoder",
) -> keras.Model:
    """Builds `image -> [mean, log_var]` with 3x3 stride-2 convolutions.

    Downsamples as many times as `kgen.networks.dcgan_generator` upsamples for
    the same `image_shape`, doubling the filters each time.

    Example:

    ```python
    encoder = kgen.networks.conv_encoder(image_shape=(32, 32, 3), latent_dim=64)
    ```
    """
    check_positive("latent_dim", latent_dim)
    check_positive("base_filters", base_filters)
    image_shape = check_image_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    x = images
    for step in range(num_upsamplings(image_shape)):
        x = layers.Conv2D(
            base_filters * 2**step, 3, strides=2, padding="same", activation="relu"
        )(x)
    x = layers.Flatten()(x)
    x = layers.Dense(hidden_units, activation="relu")(x)
    return keras.Model(images, _gaussian_head(x, latent_dim), name=name)


def conv_decoder(
    latent_dim: int = 16,
    image_shape: tuple = (28, 28, 1),
    base_filters: int = 32,
    name: str = "decoder",
) -> keras.Model:
    """Builds `z -> per-pixel parameters` with 3x3 stride-2 transposed convolutions.

    Mirrors `conv_encoder`.

    Example:

    ```python
    decoder = kgen.networks.conv_decoder(latent_dim=16, image_shape=(28, 28, 1))
    ```
    """
    check_positive("latent_dim", latent_dim)
    check_positive("base_filters", base_filters)
    image_shape = check_image_shape(image_shape)
    steps = num_upsamplings(image_shape)
    seed_h, seed_w = (size // 2**steps for size in image_shape[:2])
    filters = base_filters * 2 ** (steps - 1)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(seed_h * seed_w * filters, activation="relu")(z)
    x = layers.Reshape((seed_h, seed_w, filters))(x)
    for step in reversed(range(steps)):
        x = kgen_layers.Conv2DTranspose(
            base_filters * 2**step, 3, strides=2, padding="same", activation="relu"
        )(x)
    # The output layer computes in float32 under mixed precision (PyTorch's CPU
    # bfloat16 convolution also fails on a single output channel).
    pixels = layers.Conv2D(
        image_shape[2], 3, padding="same", name="pixels", dtype="float32"
    )(x)
    return keras.Model(z, pixels, name=name)
