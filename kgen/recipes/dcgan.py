"""DCGAN on digits: `recipes/dcgan_mnist.py` and `kgen train dcgan`."""

from __future__ import annotations

import dataclasses

import kgen
from kgen.config import setting
from kgen.recipes.digits import IMAGE_SHAPE, DigitConfig, train_digit_model


@dataclasses.dataclass
class DCGANConfig(DigitConfig):
    """Settings of the DCGAN's run."""

    epochs: int = 20
    # Measured: better digits per image and per second than 128 (README).
    batch_size: int = 64
    output_dir: str = "saved_models/dcgan_mnist"
    base_filters: int = setting(64, "discriminator width")
    generator_filters: int | None = setting(
        None, "generator width (default: --base-filters)"
    )
    coarse_convolutions: int = setting(
        1,
        "3x3 convolutions at the discriminator's coarsest resolution",
        check="non-negative",
    )


def build_model(config: DCGANConfig) -> kgen.DCGAN:
    """The compiled DCGAN of `config`."""
    model = kgen.DCGAN(
        image_shape=IMAGE_SHAPE,
        latent_dim=config.latent_dim,
        base_filters=config.base_filters,
        generator_filters=config.generator_filters,
        coarse_convolutions=config.coarse_convolutions,
        seed=config.seed,
    )
    # Batch norm over the global batch under --distributed, as on one device.
    kgen.distributed.synchronize_batch_norm(model, config.distributed)
    model.compile()
    return model


def train(config: DCGANConfig, name: str = "dcgan_mnist") -> kgen.DCGAN:
    """Builds, trains and saves the DCGAN as `recipes/dcgan_mnist.py` does."""
    return train_digit_model(build_model, config, name)
