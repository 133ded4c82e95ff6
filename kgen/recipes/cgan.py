"""Class-conditional DCGAN on digits: `recipes/cgan_mnist.py` and `kgen train cgan`."""

from __future__ import annotations

import dataclasses

import kgen
from kgen.config import setting
from kgen.recipes.digits import IMAGE_SHAPE, DigitConfig, train_digit_model


@dataclasses.dataclass
class CGANConfig(DigitConfig):
    """Settings of the conditional DCGAN's run (the dataset needs labels)."""

    epochs: int = 20
    batch_size: int = 128
    output_dir: str = "saved_models/cgan_mnist"
    base_filters: int = setting(64, "network width")
    num_classes: int = setting(10, "classes of the labels")
    conditioning: str = setting(
        "projection",
        "how the discriminator sees the label",
        choices=("projection", "concat"),
    )


def build_model(config: CGANConfig) -> kgen.ConditionalGAN:
    """The compiled conditional DCGAN of `config`."""
    model = kgen.ConditionalGAN(
        kgen.networks.dcgan_generator(
            config.latent_dim,
            IMAGE_SHAPE,
            config.base_filters,
            num_classes=config.num_classes,
        ),
        kgen.networks.dcgan_discriminator(
            IMAGE_SHAPE,
            config.base_filters,
            num_classes=config.num_classes,
            conditioning=config.conditioning,
        ),
        num_classes=config.num_classes,
        seed=config.seed,
    )
    # Batch norm over the global batch under --distributed, as on one device.
    kgen.distributed.synchronize_batch_norm(model, config.distributed)
    model.compile()
    return model


def train(config: CGANConfig, name: str = "cgan_mnist") -> kgen.ConditionalGAN:
    """Builds, trains and saves the cGAN as `recipes/cgan_mnist.py` does."""
    return train_digit_model(build_model, config, name, with_labels=True)
