"""Train a class-conditional DCGAN on 28x28 digits: ask for a 7, get a 7.

Runs offline on the embedded digits by default; any labelled kgen dataset works:

    python recipes/cgan_mnist.py --epochs 10                      # embedded glyphs
    python recipes/cgan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/cgan_mnist.py --conditioning concat

Writes `<output-dir>/samples/epoch_*.png` (one row per class),
`<output-dir>/cgan_mnist.keras` and the SavedModel `<output-dir>/saved_model`
(signature `generate(z, labels)` -> images).
"""

import dataclasses
import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import digit_cgan, train_digit_model


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
    held_out: int = 1000
    quality_samples: int = 1000
    time_budget: float | None = None
    overwrite: bool = False
    verbose: bool = False
    seed: int = 0


def main(config: Config) -> kgen.ConditionalGAN:
    model = digit_cgan(
        config.latent_dim,
        config.base_filters,
        config.num_classes,
        config.conditioning,
        seed=config.seed,
    )
    return train_digit_model(model, config, "cgan_mnist")


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
