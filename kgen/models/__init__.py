"""Algorithms: subclassed `keras.Model`s with their own `train_step`."""

from kgen.models.adain_style_transfer import AdaINStyleTransfer
from kgen.models.conditional_gan import ConditionalGAN
from kgen.models.dcgan import DCGAN
from kgen.models.gan import GAN
from kgen.models.style_transfer import StyleTransfer
from kgen.models.vae import VAE

__all__ = [
    "AdaINStyleTransfer",
    "ConditionalGAN",
    "DCGAN",
    "GAN",
    "StyleTransfer",
    "VAE",
]
