"""Train a class-conditional DCGAN on 28x28 digits: ask for a 7, get a 7.

Runs offline on the embedded digits by default; any labelled kgen dataset works:

    python recipes/cgan_mnist.py --epochs 10                      # embedded glyphs
    python recipes/cgan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/cgan_mnist.py --conditioning concat

Writes `<output-dir>/samples/epoch_*.png` (one row per class),
`<output-dir>/cgan_mnist.keras` and the SavedModel `<output-dir>/saved_model`
(serving signature: (z, labels) -> images).
"""

import dataclasses

import kgen
from kgen.recipes import IMAGE_SHAPE, digit_splits, train_and_export


@dataclasses.dataclass
class Config:
    dataset: str = "glyphs"
    epochs: int = 20
    batch_size: int = 128
    output_dir: str = "saved_models/cgan_mnist"
    latent_dim: int = 100
    base_filters: int = 64
    num_classes: int = 10
    conditioning: str = dataclasses.field(
        default="projection", metadata={"help": "'projection' or 'concat'"}
    )
    limit: int | None = None
    seed: int = 0


def main(config: Config) -> kgen.ConditionalGAN:
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
    model.compile()
    train, _ = digit_splits(
        config.dataset,
        batch_size=config.batch_size,
        seed=config.seed,
        limit=config.limit,
        with_labels=True,
    )
    return train_and_export(model, config, "cgan_mnist", train)


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
