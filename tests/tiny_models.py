"""Tiny kgen models shared by the tests (a few thousand weights each)."""

import keras

import kgen
from kgen.networks import adain_decoder

LATENT_DIM = 6
NUM_CLASSES = 3


def tiny_model(name, *, spectral_normalization=False, conv=False):
    """A small `"gan"`, `"dcgan"`, `"cgan"` or `"vae"` on 28x28x1 images.

    `conv=True` gives the cGAN DCGAN networks (else MLPs) and the VAE
    convolutional ones.
    """
    networks = kgen.networks
    if name == "gan":
        return kgen.GAN(
            networks.mlp_generator(LATENT_DIM, hidden_units=(16,)),
            networks.mlp_discriminator(
                hidden_units=(16,), spectral_normalization=spectral_normalization
            ),
            latent_dim=LATENT_DIM,
            seed=0,
        )
    if name == "dcgan":
        return kgen.DCGAN(latent_dim=LATENT_DIM, base_filters=4, seed=0)
    if name == "cgan" and conv:
        return kgen.ConditionalGAN(
            networks.dcgan_generator(
                LATENT_DIM, base_filters=4, num_classes=NUM_CLASSES
            ),
            networks.dcgan_discriminator(base_filters=4, num_classes=NUM_CLASSES),
            num_classes=NUM_CLASSES,
            seed=0,
        )
    if name == "cgan":
        return kgen.ConditionalGAN(
            networks.mlp_generator(
                LATENT_DIM, hidden_units=(16,), num_classes=NUM_CLASSES
            ),
            networks.mlp_discriminator(hidden_units=(16,), num_classes=NUM_CLASSES),
            num_classes=NUM_CLASSES,
            seed=0,
        )
    if name == "vae" and conv:
        return kgen.VAE(
            networks.conv_encoder(
                latent_dim=LATENT_DIM, base_filters=4, hidden_units=8
            ),
            networks.conv_decoder(latent_dim=LATENT_DIM, base_filters=4),
            seed=0,
        )
    if name == "vae":
        return kgen.VAE(
            networks.mlp_encoder(latent_dim=LATENT_DIM, hidden_units=(16,)),
            networks.mlp_decoder(latent_dim=LATENT_DIM, hidden_units=(16,)),
            seed=0,
        )
    raise ValueError(f"no tiny model {name!r}")


def tiny_adain(vgg16_weights, randomize=False):
    """An `AdaINStyleTransfer` on VGG16 up to block2_conv1 with a narrow decoder.

    The decoder's RGB head starts at zero (a grey image); `randomize=True`
    gives every decoder weight small random values instead, so outputs depend
    on them.
    """
    model = kgen.AdaINStyleTransfer(
        adain_decoder("block2_conv1", backbone="vgg16", base_filters=8),
        backbone="vgg16",
        weights=vgg16_weights,
        encoder_layer="block2_conv1",
        style_layers=("block1_conv1", "block2_conv1"),
    )
    if randomize:
        for variable in model.decoder.trainable_variables:
            variable.assign(0.1 * keras.random.normal(variable.shape, seed=1))
    return model
