"""Train a VAE on 28x28 digits; report held-out ELBO and IWAE log-likelihood.

Runs offline on the embedded digits by default; any kgen dataset works:

    python recipes/vae_mnist.py --epochs 10                       # embedded glyphs
    python recipes/vae_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/vae_mnist.py --architecture conv --no-binarize --likelihood gaussian
    kgen launch --workers 2 -- python recipes/vae_mnist.py --distributed  # 2 workers

The default is the 784-200-200-50 MLP of Burda et al. (2016) on dynamically
binarised digits with a Bernoulli likelihood. Writes
`<output-dir>/samples/epoch_*.png`, `<output-dir>/vae_mnist.keras` and the
SavedModel `<output-dir>/saved_model` (signatures: `decode(z)` -> images,
`encode(images)` -> mean, log_var).
"""

import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import digit_data, print_log_likelihood, print_sample_quality

# Every setting, with its default and help: the flags of this script and of
# `kgen train vae`.
Config = kgen.recipes.VAEConfig


def main(config: Config) -> kgen.VAE:
    # The run, first, so that a finished one stops before anything slow: it
    # resumes an interrupted run in --output-dir, refuses to replace a finished
    # one without --overwrite, stops at --time-budget or on NaN.
    run = kgen.runs.Run(
        config.output_dir,
        "vae_mnist",
        overwrite=config.overwrite,
        time_budget=config.time_budget,
    )
    # --distributed: the same code on every worker that kgen launch started
    # (TensorFlow MultiWorkerMirroredStrategy, JAX DataParallel); each
    # feeds its rows of every global batch, and only worker 0 writes.
    with kgen.distributed.training_scope(config.distributed):
        # The model, as `kgen train vae` builds it: an encoder to q(z | x) and
        # a decoder to p(x | z).
        model = kgen.recipes.vae.build_model(config)
        # The data: digits (binarised anew each epoch with --binarize); the
        # --held-out ones validate, and score the model at the end.
        train, held_out = digit_data(config, binarize=config.binarize)
        model.fit(
            kgen.distributed.shard(train),
            epochs=config.epochs,
            validation_data=kgen.distributed.shard(held_out),
            verbose=kgen.runs.progress_verbosity(),
            callbacks=run.callbacks(
                kgen.callbacks.SampleGrid(run.samples, seed=config.seed)
            ),
        )
    run.finish(model)  # the .keras file and the SavedModel
    if held_out is not None:
        print_log_likelihood(model, held_out, config)
    print_sample_quality(model, config, held_out)
    return model


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
