"""Functional network builders: each returns a `keras.Model` named for its role."""

from kgen.networks.dcgan import dcgan_discriminator, dcgan_generator
from kgen.networks.mlp import mlp_discriminator, mlp_generator

__all__ = [
    "dcgan_discriminator",
    "dcgan_generator",
    "mlp_discriminator",
    "mlp_generator",
]
