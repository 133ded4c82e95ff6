"""Train a DCGAN on 28x28 digits, then save it as `.keras` and as a SavedModel.

Runs offline on the embedded digits by default; any kgen dataset works:

    python recipes/dcgan_mnist.py --epochs 5                      # embedded glyphs
    python recipes/dcgan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/dcgan_mnist.py --dataset mnist                 # TFDS (downloads)
    python recipes/dcgan_mnist.py --dataset path/to/image/folder
    kgen launch --workers 2 -- python recipes/dcgan_mnist.py --distributed  # 2 workers

Writes `<output-dir>/samples/epoch_*.png`, `<output-dir>/dcgan_mnist.keras` and
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
# `kgen train dcgan`.
Config = kgen.recipes.DCGANConfig


def main(config: Config) -> kgen.DCGAN:
    # The run, first, so that a finished one stops before anything slow: it
    # resumes an interrupted run in --output-dir, refuses to replace a finished
    # one without --overwrite, stops at --time-budget or on NaN.
    run = kgen.runs.Run(
        config.output_dir,
        "dcgan_mnist",
        overwrite=config.overwrite,
        time_budget=config.time_budget,
    )
    # --distributed: the same code on every worker that kgen launch started
    # (TensorFlow MultiWorkerMirroredStrategy, JAX DataParallel); each
    # feeds its rows of every global batch, and only worker 0 writes.
    with kgen.distributed.training_scope(config.distributed):
        # The model, as `kgen train dcgan` builds it: kgen.DCGAN sized for
        # 28x28x1 digits from the flags, compiled with its defaults (Adam
        # 1e-3, beta_1=0.5 for D and G, R1 on D, EMA generator).
        model = kgen.recipes.dcgan.build_model(config)
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
