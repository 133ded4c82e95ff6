"""Train a DCGAN on 28x28 digits, then save it as `.keras` and as a SavedModel.

Runs offline on the embedded digits by default; any kgen dataset works:

    python recipes/dcgan_mnist.py --epochs 5                      # embedded glyphs
    python recipes/dcgan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/dcgan_mnist.py --dataset mnist                 # TFDS (downloads)
    python recipes/dcgan_mnist.py --dataset path/to/image/folder

Writes `<output-dir>/samples/epoch_*.png`, `<output-dir>/dcgan_mnist.keras` and
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
from kgen.recipes import digit_dcgan, train_digit_model


@dataclasses.dataclass
class Config:
    dataset: str = "glyphs"
    epochs: int = 20
    batch_size: int = 64
    output_dir: str = "saved_models/dcgan_mnist"
    latent_dim: int = 100
    base_filters: int = 64
    limit: int | None = None
    held_out: int = 1000
    quality_samples: int = 1000
    time_budget: float | None = None
    overwrite: bool = False
    verbose: bool = False
    seed: int = 0


def main(config: Config) -> kgen.DCGAN:
    model = digit_dcgan(config.latent_dim, config.base_filters, seed=config.seed)
    return train_digit_model(model, config, "dcgan_mnist")


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
