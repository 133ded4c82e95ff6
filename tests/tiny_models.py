"""Tiny kgen models shared by the tests (a few thousand weights each).

Every test file builds its GAN, DCGAN, cGAN, VAE and AdaIN models here, so a
change to a model's constructor is made once.
"""

import keras

import kgen
from kgen.networks import adain_decoder

LATENT_DIM = 6
NUM_CLASSES = 3


def tiny_model(
    name,
    *,
    conv=False,
    seed=0,
    num_classes=NUM_CLASSES,
    spectral_normalization=False,
    conditioning="projection",
    **options,
):
    """A small `"gan"`, `"dcgan"`, `"cgan"` or `"vae"` on 28x28x1 images.

    `conv=True` gives the cGAN DCGAN networks (else MLPs) and the VAE
    convolutional ones. `spectral_normalization` and `conditioning` (of a
    cGAN) are the discriminator's; a spectrally normalised DCGAN has no
    batch norm, which spectral normalisation replaces. Other `options` go to
    the model (`ema=`, `likelihood=`, ...).
    """
    networks = kgen.networks
    critic = {"spectral_normalization": spectral_normalization}
    labelled = {"num_classes": num_classes}
    if name == "gan":
        return kgen.GAN(
            networks.mlp_generator(LATENT_DIM, hidden_units=(16,)),
            networks.mlp_discriminator(hidden_units=(16,), **critic),
            latent_dim=LATENT_DIM,
            seed=seed,
            **options,
        )
    if name == "dcgan":
        if spectral_normalization:
            options.setdefault("normalization", "none")
        return kgen.DCGAN(
            latent_dim=LATENT_DIM, base_filters=4, seed=seed, **critic, **options
        )
    if name == "cgan":
        if conv:
            generator = networks.dcgan_generator(
                LATENT_DIM, base_filters=4, embedding_dim=4, **labelled
            )
            discriminator = networks.dcgan_discriminator(
                base_filters=4, conditioning=conditioning, **critic, **labelled
            )
        else:
            generator = networks.mlp_generator(
                LATENT_DIM, hidden_units=(16,), **labelled
            )
            discriminator = networks.mlp_discriminator(
                hidden_units=(16,), conditioning=conditioning, **critic, **labelled
            )
        return kgen.ConditionalGAN(
            generator, discriminator, seed=seed, **labelled, **options
        )
    if name == "vae":
        if spectral_normalization:
            raise ValueError("a VAE has no discriminator to normalise")
        if conv:
            encoder = networks.conv_encoder(
                latent_dim=LATENT_DIM, base_filters=4, hidden_units=8
            )
            decoder = networks.conv_decoder(latent_dim=LATENT_DIM, base_filters=4)
        else:
            encoder = networks.mlp_encoder(latent_dim=LATENT_DIM, hidden_units=(16,))
            decoder = networks.mlp_decoder(latent_dim=LATENT_DIM, hidden_units=(16,))
        return kgen.VAE(encoder, decoder, seed=seed, **options)
    raise ValueError(f"no tiny model {name!r}")


def tiny_adain(weights=None, randomize=False, **options):
    """An `AdaINStyleTransfer` on VGG16 up to block2_conv1 with a narrow decoder.

    `weights`: a VGG16 weights file (the `vgg16_weights` fixture's), or None
    for random ones, enough for checks that never look at the images. The
    decoder's RGB head starts at zero (a grey image); `randomize=True` gives
    every decoder weight small random values instead, so outputs depend on
    them. Other `options` go to the model (`style_weight=`, ...).
    """
    model = kgen.AdaINStyleTransfer(
        adain_decoder("block2_conv1", backbone="vgg16", base_filters=8),
        backbone="vgg16",
        weights=weights,
        encoder_layer="block2_conv1",
        style_layers=("block1_conv1", "block2_conv1"),
        **options,
    )
    if randomize:
        for variable in model.decoder.trainable_variables:
            variable.assign(0.1 * keras.random.normal(variable.shape, seed=1))
    return model
