"""Train the classic MLP GAN (z=100, hidden 128/256, LeakyReLU) on 28x28 digits.

Runs offline on the embedded digits by default; any kgen dataset works:

    python recipes/gan_mnist.py --epochs 20                       # embedded glyphs
    python recipes/gan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/gan_mnist.py --dataset mnist                   # TFDS (downloads)
    kgen launch --workers 2 -- python recipes/gan_mnist.py --distributed  # 2 workers

Writes `<output-dir>/samples/epoch_*.png`, `<output-dir>/gan_mnist.keras` and
the SavedModel `<output-dir>/saved_model` (signature `generate(z)` -> images).
Re-running with the same output dir resumes an interrupted run; replacing a
finished one needs `--overwrite`.
"""

import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import digit_data, print_sample_quality

# Every setting, with its default and help: the flags of this script and of
# `kgen train gan`.
Config = kgen.recipes.GANConfig


def main(config: Config) -> kgen.GAN:
    # The run, first, so that a finished one stops before anything slow: it
    # resumes an interrupted run in --output-dir, refuses to replace a finished
    # one without --overwrite, stops at --time-budget or on NaN.
    run = kgen.runs.Run(
        config.output_dir,
        "gan_mnist",
        overwrite=config.overwrite,
        time_budget=config.time_budget,
    )
    # --distributed: the same code on every worker that kgen launch started
    # (TensorFlow MultiWorkerMirroredStrategy, JAX DataParallel); each
    # feeds its rows of every global batch, and only worker 0 writes.
    with kgen.distributed.training_scope(config.distributed):
        # The model, as `kgen train gan` builds it: MLPs z -> 128 -> 256 -> 784
        # and 784 -> 256 -> 128 -> 1, Adam(2e-4, beta_1=0.5) for D and G.
        model = kgen.recipes.gan.build_model(config)
        # The data: digits in [-1, 1]; --held-out of them kept apart for the score.
        train, held_out = digit_data(config)
        model.fit(
            kgen.distributed.shard(train),
            epochs=config.epochs,
            verbose=kgen.runs.progress_verbosity(),
            callbacks=run.callbacks(
                kgen.callbacks.SampleGrid(run.samples, seed=config.seed)
            ),
        )
    run.finish(model)  # the .keras file and the SavedModel
    print_sample_quality(model, config, held_out)
    return model


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
