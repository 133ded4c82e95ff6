"""Generative algorithms: subclassed `keras.Model`s with their own `train_step`."""

from kgen.models.conditional_gan import ConditionalGAN
from kgen.models.dcgan import DCGAN
from kgen.models.gan import GAN

__all__ = ["ConditionalGAN", "DCGAN", "GAN"]
