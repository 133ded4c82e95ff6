"""Held-out log-likelihood of the 784-200-200-50 VAE on real MNIST digits.

Trains `kgen.VAE` with the MLP setting of Burda et al. (2016) on the digits in
`../shared/data/mnist` (dynamically binarised, Bernoulli likelihood), keeps
`--held-out` digits drawn at random apart (`kgen.data.held_out_split`), and
prints on them:

- the ELBO (the k=1 bound, averaged over many draws), and
- the importance-weighted estimate of log p(x) with `--importance-samples`
  draws (IWAE bound; k=5000 in the paper).

Published anchor: -86.76 nats for this VAE (trained with k=1, evaluated with
k=5000) on full MNIST (60,000 training digits, Burda et al. 2016, table 1).
This run trains on ~7,000 digits for a CPU budget, so expect a lower
(worse) figure; the train/held-out gap printed shows how much overfitting
costs.

    python benchmarks/vae_likelihood.py                      # defaults below
    python benchmarks/vae_likelihood.py --epochs 300 --importance-samples 5000
"""

import dataclasses
import sys
import time
from pathlib import Path

import keras
import numpy as np

import kgen
from kgen.recipes import IMAGE_SHAPE, digit_splits

SHARED_MNIST = (
    Path(__file__).resolve().parents[2]
    / "shared/data/mnist/mnist8k-images-idx3-ubyte.gz"
)
PUBLISHED = -86.76


@dataclasses.dataclass
class Config:
    images: str = str(SHARED_MNIST)
    epochs: int = 100
    batch_size: int = 100
    learning_rate: float = 1e-3
    held_out: int = 1000
    importance_samples: int = 1000
    elbo_samples: int = 100
    seed: int = 0


def first_epoch_of(dataset):
    return np.concatenate([batch.numpy() for batch in dataset])


def main(config: Config) -> dict:
    if not Path(config.images).is_file():
        sys.exit(f"Skipped: {config.images} is absent (../shared beside the repo).")
    keras.utils.set_random_seed(config.seed)
    train, test = digit_splits(
        config.images,
        batch_size=config.batch_size,
        seed=config.seed,
        held_out=config.held_out,
        binarize=True,
    )
    model = kgen.VAE(
        kgen.networks.mlp_encoder(IMAGE_SHAPE, latent_dim=50),
        kgen.networks.mlp_decoder(50, IMAGE_SHAPE),
        likelihood="bernoulli",
        seed=config.seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    start = time.perf_counter()
    model.fit(train, epochs=config.epochs, verbose=0, shuffle=False)
    train_seconds = time.perf_counter() - start

    # One binarised draw of each set, fixed for all estimates below.
    held_out = first_epoch_of(test)
    all_training = first_epoch_of(train)
    training = all_training[: len(held_out)]
    start = time.perf_counter()
    results = {
        "held-out ELBO": model.elbo(held_out, config.elbo_samples).mean(),
        f"held-out log p(x), IWAE k={config.importance_samples}": model.log_likelihood(
            held_out, config.importance_samples
        ).mean(),
        "training ELBO (same count)": model.elbo(training, config.elbo_samples).mean(),
    }
    eval_seconds = time.perf_counter() - start

    print(f"backend {keras.backend.backend()}, keras {keras.__version__}")
    print(
        f"VAE 784-200-200-50, Bernoulli, dynamic binarisation; "
        f"{len(all_training)} training digits, {len(held_out)} held out; "
        f"{config.epochs} epochs of batch {config.batch_size} in {train_seconds:.0f} s; "
        f"estimates in {eval_seconds:.0f} s"
    )
    for name, value in results.items():
        print(f"  {name:45s} {value:8.2f} nats")
    print(
        f"  {'published (full MNIST, k=5000)':45s} {PUBLISHED:8.2f} nats"
        "  (Burda et al. 2016; 60k training digits)"
    )
    return results


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
