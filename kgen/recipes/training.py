"""What every training run reads, and the fit that `kgen train` runs with it."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import kgen
from kgen.config import setting

if TYPE_CHECKING:
    import keras


@dataclasses.dataclass
class TrainingConfig:
    """Settings of every training run: how long, where to, and the seed.

    Each task's dataclass extends this one and changes the defaults it needs
    (`epochs: int = 20`), keeping the help declared here.
    """

    epochs: int = setting(10, "passes over the training data")
    batch_size: int = setting(64, "examples per training step")
    output_dir: str = setting(
        "runs",
        "where samples, the .keras file and the SavedModel go; a run "
        "interrupted there resumes",
    )
    time_budget: float | None = setting(
        None,
        "stop training after this many seconds, at a step boundary; the "
        "model is still saved and exported",
        check="positive",
        metavar="SECONDS",
    )
    overwrite: bool = setting(
        False,
        "replace a finished run (or output file) instead of stopping; "
        "without it a finished run is never written over",
    )
    verbose: bool = setting(
        False, "show the frameworks' start-up logs (TensorFlow, CUDA, absl)"
    )
    seed: int = setting(0, "seed of the data order and the noise", check="non-negative")


def fit_and_save(
    model: keras.Model,
    config: TrainingConfig,
    name: str,
    train,
    validation_data=None,
    run: kgen.runs.Run | None = None,
) -> keras.Model:
    """Fits a compiled model with sample grids and backups, then saves it.

    What the digit recipes do, for `kgen train`: under `config.output_dir`
    it writes sample grids (`samples/`), `<name>.keras` and the SavedModel
    `saved_model/`, by the rules of `kgen.runs.Run` (a finished run needs
    `config.overwrite`, an unfinished one is resumed, a diverging run stops
    and saves nothing, `config.time_budget` stops training early). Both
    pipelines go through `kgen.distributed.shard`: call it in the scope of
    `kgen.distributed.training_scope` to train on several workers. Pass the
    `run` made by `start_run` before building the model, so that a finished
    run is refused before anything slow; by default it is made here.
    """
    run = run or start_run(config, name)
    model.fit(
        kgen.distributed.shard(train),
        epochs=config.epochs,
        validation_data=kgen.distributed.shard(validation_data),
        verbose=kgen.runs.progress_verbosity(),
        callbacks=run.callbacks(
            kgen.callbacks.SampleGrid(run.samples, seed=config.seed)
        ),
    )
    run.finish(model)
    return model


def start_run(config: TrainingConfig, name: str) -> kgen.runs.Run:
    """`config`'s `kgen.runs.Run` of `name`: refuses a finished run without
    `config.overwrite`, resumes an unfinished one, stops at
    `config.time_budget`."""
    return kgen.runs.Run(
        config.output_dir,
        name,
        overwrite=config.overwrite,
        time_budget=config.time_budget,
    )
