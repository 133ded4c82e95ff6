"""Train the classic MLP GAN (z=100, hidden 128/256, LeakyReLU) on 28x28 digits.

Runs offline on the embedded digits by default; any kgen dataset works:

    python recipes/gan_mnist.py --epochs 20                       # embedded glyphs
    python recipes/gan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/gan_mnist.py --dataset mnist                   # TFDS (downloads)

Writes `<output-dir>/samples/epoch_*.png`, `<output-dir>/gan_mnist.keras` and
the SavedModel `<output-dir>/saved_model` (signature `generate(z)` -> images).
Re-running with the same output dir resumes an interrupted run; replacing a
finished one needs `--overwrite`.
"""

import dataclasses
import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import digit_gan, train_digit_model


@dataclasses.dataclass
class Config:
    dataset: str = "glyphs"
    epochs: int = 50
    batch_size: int = 128
    output_dir: str = "saved_models/gan_mnist"
    latent_dim: int = 100
    limit: int | None = None
    held_out: int = 1000
    quality_samples: int = 1000
    time_budget: float | None = None
    overwrite: bool = False
    verbose: bool = False
    seed: int = 0


def main(config: Config) -> kgen.GAN:
    model = digit_gan(config.latent_dim, seed=config.seed)
    return train_digit_model(model, config, "gan_mnist")


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
