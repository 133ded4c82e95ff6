"""The classic MLP GAN on digits: `recipes/gan_mnist.py` and `kgen train gan`."""

from __future__ import annotations

import dataclasses

import kgen
from kgen.recipes.digits import DigitConfig, train_digit_model


@dataclasses.dataclass
class GANConfig(DigitConfig):
    """Settings of the MLP GAN's run (z -> 128/256 -> 784, LeakyReLU)."""

    epochs: int = 50
    batch_size: int = 128
    output_dir: str = "saved_models/gan_mnist"


def build_model(config: GANConfig) -> kgen.GAN:
    """The compiled MLP GAN of `config`."""
    model = kgen.GAN(
        kgen.networks.mlp_generator(latent_dim=config.latent_dim),
        kgen.networks.mlp_discriminator(),
        seed=config.seed,
    )
    model.compile()
    return model


def train(config: GANConfig, name: str = "gan_mnist") -> kgen.GAN:
    """Builds, trains and saves the GAN as `recipes/gan_mnist.py` does."""
    return train_digit_model(build_model, config, name)
