"""Train a VAE on 28x28 digits; report held-out ELBO and IWAE log-likelihood.

Runs offline on the embedded digits by default; any kgen dataset works:

    python recipes/vae_mnist.py --epochs 10                       # embedded glyphs
    python recipes/vae_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/vae_mnist.py --architecture conv --no-binarize --likelihood gaussian

The default is the 784-200-200-50 MLP of Burda et al. (2016) on dynamically
binarised digits with a Bernoulli likelihood. Writes
`<output-dir>/samples/epoch_*.png`, `<output-dir>/vae_mnist.keras` and the
SavedModel `<output-dir>/saved_model` (signatures: `decode(z)` -> images,
`encode(images)` -> mean, log_var).
"""

import dataclasses
import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import digit_vae, train_digit_model


@dataclasses.dataclass
class Config:
    dataset: str = "glyphs"
    epochs: int = 30
    batch_size: int = 100
    output_dir: str = "saved_models/vae_mnist"
    architecture: str = dataclasses.field(
        default="mlp", metadata={"help": "'mlp' (784-200-200-50) or 'conv'"}
    )
    latent_dim: int = 50
    likelihood: str = "bernoulli"
    binarize: bool = True
    beta: float = 1.0
    held_out: int = 1000
    importance_samples: int = dataclasses.field(
        default=500, metadata={"help": "k of the IWAE log-likelihood estimate"}
    )
    limit: int | None = None
    quality_samples: int = 1000
    time_budget: float | None = None
    overwrite: bool = False
    verbose: bool = False
    seed: int = 0


def main(config: Config) -> kgen.VAE:
    model = digit_vae(
        config.architecture,
        config.latent_dim,
        config.likelihood,
        config.beta,
        seed=config.seed,
    )
    return train_digit_model(model, config, "vae_mnist")


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
