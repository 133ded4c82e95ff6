"""Train a class-conditional DCGAN on 28x28 digits: ask for a 7, get a 7.

Runs offline on the embedded digits by default; any labelled kgen dataset works:

    python recipes/cgan_mnist.py --epochs 10                      # embedded glyphs
    python recipes/cgan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz
    python recipes/cgan_mnist.py --conditioning concat
    kgen launch --workers 2 -- python recipes/cgan_mnist.py --distributed  # 2 workers

Writes `<output-dir>/samples/epoch_*.png` (one row per class),
`<output-dir>/cgan_mnist.keras` and the SavedModel `<output-dir>/saved_model`
(signature `generate(z, labels)` -> images).
"""

import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import digit_data, print_sample_quality

# Every setting, with its default and help: the flags of this script and of
# `kgen train cgan`.
Config = kgen.recipes.CGANConfig


def main(config: Config) -> kgen.ConditionalGAN:
    # The run, first, so that a finished one stops before anything slow: it
    # resumes an interrupted run in --output-dir, refuses to replace a finished
    # one without --overwrite, stops at --time-budget or on NaN.
    run = kgen.runs.Run(
        config.output_dir,
        "cgan_mnist",
        overwrite=config.overwrite,
        time_budget=config.time_budget,
    )
    # --distributed: the same code on every worker that kgen launch started
    # (TensorFlow MultiWorkerMirroredStrategy, JAX DataParallel); each
    # feeds its rows of every global batch, and only worker 0 writes.
    with kgen.distributed.training_scope(config.distributed):
        # The model, as `kgen train cgan` builds it: DCGAN networks that also
        # see the label, G(z, c) and D(x, c).
        model = kgen.recipes.cgan.build_model(config)
        # The data: (digits in [-1, 1], labels); --held-out kept apart for the score.
        train, held_out = digit_data(config, with_labels=True)
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
