"""Class-label conditioning and spectral normalisation shared by the builders.

Generators take `[z, labels]` and concatenate a learned label embedding to `z`
(Mirza & Osindero 2014). Discriminators either concatenate a label embedding to
their input (`"concat"`) or add the inner product of a label embedding with their
last features to the logit (`"projection"`, Miyato & Koyama 2018). Their dense
and convolution layers can be spectrally normalised (Miyato et al. 2018).
"""

import math

import keras
from keras import layers

from kgen.layers.spectral_normalization import SpectralNormalization
from kgen.networks.validation import check_positive

CONDITIONINGS = ("concat", "projection")


def check_conditioning(num_classes, conditioning) -> None:
    if num_classes is not None:
        check_positive("num_classes", num_classes)
    if conditioning not in CONDITIONINGS:
        raise ValueError(
            f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}"
        )


def label_input() -> keras.KerasTensor:
    return keras.Input((), dtype="int32", name="labels")


def generator_inputs(latent_dim, num_classes, embedding_dim):
    """Returns `(inputs, x)`: the model inputs and the vector the network grows from."""
    z = keras.Input((latent_dim,), name="z")
    if num_classes is None:
        return z, z
    labels = label_input()
    embedded = layers.Embedding(num_classes, embedding_dim, name="label_embedding")(
        labels
    )
    return [z, labels], layers.Concatenate()([z, embedded])


def discriminator_inputs(image_shape, num_classes, conditioning):
    """Returns `(inputs, x, labels)`; with `"concat"`, `x` has a label channel."""
    images = keras.Input(image_shape, name="images")
    if num_classes is None:
        return images, images, None
    labels = label_input()
    if conditioning == "projection":
        return [images, labels], images, labels
    height, width = image_shape[:2]
    plane = layers.Embedding(num_classes, height * width, name="label_plane")(labels)
    plane = layers.Reshape((height, width, 1))(plane)
    return [images, labels], layers.Concatenate()([images, plane]), labels


def logits_from_features(
    features, labels, num_classes, conditioning, spectral_normalization=False
):
    """The discriminator head: a dense logit, plus the projection term if asked.

    With `spectral_normalization` the logit's dense layer is normalised; the
    projection embedding is not (it is a lookup, not a map of the image).
    """
    # float32 under mixed precision: the losses need full-precision logits.
    logits = spectrally_normalized(
        layers.Dense(1, name="logits", dtype="float32"), spectral_normalization
    )(features)
    if labels is None or conditioning != "projection":
        return logits
    embedded = layers.Embedding(
        num_classes,
        math.prod(features.shape[1:]),
        name="label_projection",
        dtype="float32",
    )(labels)
    projection = layers.Dot(axes=1, dtype="float32")([embedded, features])
    return layers.Add(name="projected_logits", dtype="float32")([logits, projection])


def spectrally_normalized(layer, spectral_normalization):
    """`layer` wrapped in `SpectralNormalization` when asked, else `layer`."""
    if not isinstance(spectral_normalization, bool):
        raise ValueError(
            f"spectral_normalization must be True or False, got "
            f"{spectral_normalization!r}"
        )
    if not spectral_normalization:
        return layer
    # The wrapper computes in the wrapped layer's dtype (float32 for the logits).
    return SpectralNormalization(layer, dtype=layer.dtype_policy)
