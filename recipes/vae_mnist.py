"""Train a VAE on 28x28 digits; report held-out ELBO and IWAE log-likelihood.

Runs offline on the embedded digits by default; any kgen dataset works:

    python recipes/vae_mnist.py --epochs 10                       # embedded glyphs
    python recipes/vae_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/vae_mnist.py --architecture conv --no-binarize --likelihood gaussian

The default is the 784-200-200-50 MLP of Burda et al. (2016) on dynamically
binarised digits with a Bernoulli likelihood. Writes
`<output-dir>/samples/epoch_*.png`, `<output-dir>/vae_mnist.keras` and the
SavedModel `<output-dir>/saved_model` (signatures: `serve` z -> images,
`encode` images -> [mean, log_var]).
"""

import dataclasses

import numpy as np

import kgen
from kgen.recipes import IMAGE_SHAPE, digit_splits, train_and_export


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
    held_out: int = dataclasses.field(
        default=1000, metadata={"help": "digits kept apart for evaluation"}
    )
    importance_samples: int = dataclasses.field(
        default=500, metadata={"help": "k of the IWAE log-likelihood estimate"}
    )
    limit: int | None = None
    seed: int = 0


def main(config: Config) -> kgen.VAE:
    if config.architecture == "mlp":
        encoder = kgen.networks.mlp_encoder(IMAGE_SHAPE, config.latent_dim)
        decoder = kgen.networks.mlp_decoder(config.latent_dim, IMAGE_SHAPE)
    elif config.architecture == "conv":
        encoder = kgen.networks.conv_encoder(IMAGE_SHAPE, config.latent_dim)
        decoder = kgen.networks.conv_decoder(config.latent_dim, IMAGE_SHAPE)
    else:
        raise ValueError(
            f"architecture must be 'mlp' or 'conv', got {config.architecture!r}"
        )
    model = kgen.VAE(
        encoder,
        decoder,
        likelihood=config.likelihood,
        beta=config.beta,
        seed=config.seed,
    )
    model.compile()
    train, test = digit_splits(
        config.dataset,
        batch_size=config.batch_size,
        seed=config.seed,
        limit=config.limit,
        held_out=config.held_out,
        binarize=config.binarize,
    )
    train_and_export(model, config, "vae_mnist", train, validation_data=test)
    if test is not None:
        images = np.concatenate([batch.numpy() for batch in test])
        elbo = model.elbo(images, num_samples=1, seed=config.seed).mean()
        iwae = model.log_likelihood(
            images, num_samples=config.importance_samples, seed=config.seed
        ).mean()
        print(f"Held-out digits: {len(images)}")
        print(f"ELBO (k=1):      {elbo:.2f} nats")
        print(f"log p(x) (IWAE, k={config.importance_samples}): {iwae:.2f} nats")
    return model


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
