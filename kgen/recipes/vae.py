"""VAE on digits: `recipes/vae_mnist.py` and `kgen train vae`."""

from __future__ import annotations

import dataclasses

import numpy as np

import kgen
from kgen.config import setting
from kgen.recipes.digits import (
    IMAGE_SHAPE,
    DigitConfig,
    digit_data,
    print_sample_quality,
)
from kgen.recipes.training import fit_and_save, start_run

ARCHITECTURES = ("mlp", "conv")


@dataclasses.dataclass
class VAEConfig(DigitConfig):
    """Settings of the VAE's run."""

    epochs: int = 30
    batch_size: int = 100
    output_dir: str = "saved_models/vae_mnist"
    latent_dim: int = 50
    architecture: str = setting(
        "mlp", "mlp: 784-200-200-latent (Burda et al. 2016)", choices=ARCHITECTURES
    )
    likelihood: str = setting(
        "bernoulli",
        "the decoder's pixel distribution",
        choices=("bernoulli", "gaussian"),
    )
    binarize: bool = setting(
        True, "binarise the digits anew every epoch (for bernoulli)"
    )
    beta: float = setting(1.0, "weight of the KL term")
    importance_samples: int = setting(500, "k of the IWAE log-likelihood estimate")


def build_model(config: VAEConfig) -> kgen.VAE:
    """The compiled VAE of `config`: `"mlp"` or `"conv"` networks."""
    if config.architecture == "mlp":
        encoder, decoder = kgen.networks.mlp_encoder, kgen.networks.mlp_decoder
    elif config.architecture == "conv":
        encoder, decoder = kgen.networks.conv_encoder, kgen.networks.conv_decoder
    else:
        raise ValueError(
            f"architecture must be 'mlp' or 'conv', got {config.architecture!r}"
        )
    model = kgen.VAE(
        encoder(IMAGE_SHAPE, config.latent_dim),
        decoder(config.latent_dim, IMAGE_SHAPE),
        likelihood=config.likelihood,
        beta=config.beta,
        seed=config.seed,
    )
    model.compile()
    return model


def print_log_likelihood(model: kgen.VAE, held_out, config: VAEConfig) -> None:
    """Prints the held-out digits' ELBO and IWAE log-likelihood (nats).

    The IWAE estimate uses `config.importance_samples` samples. On several
    workers only the chief computes and prints them.
    """
    if not kgen.distributed.is_chief():
        return
    digits = np.concatenate([batch.numpy() for batch in held_out])
    k = config.importance_samples
    elbo = model.elbo(digits, num_samples=1, seed=config.seed).mean()
    iwae = model.log_likelihood(digits, num_samples=k, seed=config.seed)
    print(f"Held-out digits: {len(digits)}")
    print(f"ELBO (k=1):      {elbo:.2f} nats")
    print(f"log p(x) (IWAE, k={k}): {iwae.mean():.2f} nats")


def train(config: VAEConfig, name: str = "vae_mnist") -> kgen.VAE:
    """Builds, trains and saves the VAE as `recipes/vae_mnist.py` does.

    Trains on (with `config.binarize`, dynamically binarised) digits in the
    scope `config.distributed` asks for, validates on the held-out ones and
    prints their ELBO and IWAE log-likelihood, then the sample quality.
    """
    # The run first: a finished one is refused before the model is built.
    run = start_run(config, name)
    with kgen.distributed.training_scope(config.distributed):
        model = build_model(config)
        train_digits, held_out = digit_data(config, binarize=config.binarize)
        fit_and_save(
            model, config, name, train_digits, validation_data=held_out, run=run
        )
    if held_out is not None:
        print_log_likelihood(model, held_out, config)
    print_sample_quality(model, config, held_out)
    return model
