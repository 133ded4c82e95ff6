"""Functional network builders: each returns a `keras.Model` named for its role."""

from kgen.networks.adain import adain_decoder
from kgen.networks.dcgan import dcgan_discriminator, dcgan_generator
from kgen.networks.mlp import mlp_discriminator, mlp_generator
from kgen.networks.vae import conv_decoder, conv_encoder, mlp_decoder, mlp_encoder
from kgen.networks.vgg import hed_vgg16_weights, vgg_features

__all__ = [
    "adain_decoder",
    "conv_decoder",
    "conv_encoder",
    "mlp_decoder",
    "mlp_encoder",
    "dcgan_discriminator",
    "dcgan_generator",
    "mlp_discriminator",
    "mlp_generator",
    "hed_vgg16_weights",
    "vgg_features",
]
