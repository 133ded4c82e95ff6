"""A training run's output directory: resume, overwrite, divergence, clean-up.

The recipes and `kgen train` write everything of a run under one
`--output-dir`: `samples/`, `<name>.keras`, `saved_model/`, TensorBoard's
`logs/`, and while training `backup/`. This module holds the rules that keep
that work safe:

- a directory holding a finished model is not trained into again without
  `--overwrite` (`overwrite=True`); the command stops before touching it;
- a directory holding an unfinished run's backup resumes it;
- the directory must be writable, which is checked before training starts;
- a run that diverges saves nothing, keeps its last good backup and ends
  with `TrainingDivergedError`;
- the backup is deleted only once the final `.keras` file and SavedModel
  are written (each atomically);
- on several workers (`kgen.distributed`) every worker reads the directory
  and takes the same decision (refuse, resume, start afresh), and only the
  chief writes or deletes anything in it: the directory must be on a file
  system every worker sees. `--time-budget` is refused there: each worker's
  clock would stop it at a different step.

```python
run = kgen.runs.Run("runs/dcgan", "dcgan", overwrite=False, time_budget=600)
model.fit(
    train,
    epochs=20,
    verbose=kgen.runs.progress_verbosity(),
    callbacks=run.callbacks(kgen.callbacks.SampleGrid(run.samples)),
)
run.finish(model)  # raises TrainingDivergedError, or saves, exports, cleans up
```
"""

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import keras

from kgen import callbacks, data, distributed


class TrainingDivergedError(RuntimeError):
    """A run stopped because a metric or weight became NaN or inf."""


class Run:
    """The output directory of one training run of a model called `name`.

    Args:
        output_dir: the run's directory.
        name: the model's file name, without `.keras`.
        overwrite: replace a finished model in `output_dir` (and drop any
            unfinished backup, old sample grids and TensorBoard logs) instead
            of refusing.
        finished_files: other files that mark a finished run (besides
            `<name>.keras` and `saved_model/`), e.g. `("samples.png",)`.
        time_budget: seconds of training, or None; `callbacks()` then stops
            training at the first step boundary after them
            (`kgen.callbacks.TimeBudget`), and `finish` saves as usual. Not
            with several workers (a ValueError).
        tensorboard: write TensorBoard logs under `<output_dir>/logs` (see
            `callbacks()`); view them with `tensorboard --logdir
            <output_dir>/logs`.
    """

    def __init__(
        self,
        output_dir,
        name: str,
        overwrite: bool = False,
        finished_files=(),
        time_budget: float | None = None,
        tensorboard: bool = True,
    ):
        self.output_dir = Path(output_dir)
        self.name = name
        self.keras_path = self.output_dir / f"{name}.keras"
        self.saved_model = self.output_dir / "saved_model"
        self.backup_dir = self.output_dir / "backup"
        self.samples = self.output_dir / "samples"
        self.logs = self.output_dir / "logs"
        self.tensorboard = tensorboard
        if time_budget is not None and distributed.num_workers() > 1:
            raise ValueError(
                "--time-budget cannot stop several workers at the same step "
                "(each has its own clock); bound a multi-worker run by --epochs"
            )
        finished = [self.keras_path, self.saved_model]
        finished += [self.output_dir / f for f in finished_files]
        self._prepare(overwrite, finished)
        self.guard = callbacks.DivergenceGuard()
        # With --overwrite an old backup is not resumed: the chief deletes it,
        # and a worker that reads before that must not restore it either.
        self.backup = callbacks.BackupAndRestore(
            self.backup_dir, delete_checkpoint=False, resume=not overwrite
        )
        self.time_budget = time_budget

    def _prepare(self, overwrite, finished):
        if self.output_dir.exists() and not self.output_dir.is_dir():
            raise ValueError(
                f"--output-dir {self.output_dir} is a file, not a directory; "
                f"choose another --output-dir"
            )
        # Every worker reads and decides alike; only the chief writes.
        done = [path.name for path in finished if path.exists()]
        if not overwrite and done and not self.backup_dir.exists():
            raise FileExistsError(
                f"{self.output_dir} already holds a finished run "
                f"({', '.join(done)}); pass --overwrite to replace it, or "
                f"choose another --output-dir"
            )
        if not distributed.is_chief():
            return
        if overwrite:
            for stale in (self.backup_dir, self.samples, self.logs):
                shutil.rmtree(stale, ignore_errors=True)
        _check_writable(self.output_dir)

    def callbacks(self, *first) -> list:
        """`fit` callbacks: the divergence guard, the time budget, `first`,
        TensorBoard, the backup.

        Callbacks that write per-epoch files (`SampleGrid`) go in `first`,
        after the guard, so that they see `stop_training` on a bad epoch;
        so does `Evaluate`, whose metrics then reach TensorBoard. With
        `tensorboard` (the default), on the chief, `keras.callbacks.TensorBoard`
        writes the epoch scalars of `fit` and `Evaluate` to `logs/train` (and
        `logs/validation`), and a `SampleGrid` in `first` without a `log_dir`
        gets `logs/samples`, so its grids appear in TensorBoard's Images tab.
        Without the `tensorboard` package, which `tf.summary` needs, it says
        so in one line and writes no logs.
        """
        budget = []
        if self.time_budget is not None:
            print(f"Training for at most {self.time_budget:g} s", flush=True)
            budget = [callbacks.TimeBudget(self.time_budget, verbose=1)]
        board = []
        if self.tensorboard and distributed.is_chief():
            board = self._tensorboard(first)
        return [self.guard, *budget, *first, *board, self.backup]

    def _tensorboard(self, first) -> list:
        """The TensorBoard callback, with `first`'s `SampleGrid`s logging beside it."""
        if importlib.util.find_spec("tensorboard") is None:
            print(
                f"No TensorBoard logs: pip install tensorboard to write them to "
                f"{self.logs}",
                flush=True,
            )
            return []
        for callback in first:
            if isinstance(callback, callbacks.SampleGrid) and not callback.log_dir:
                callback.log_dir = os.fspath(self.logs / "samples")
        # Keras writes with tf.summary: TensorFlow imported kgen's way, off the
        # GPU that a JAX or PyTorch model uses.
        data.import_tensorflow()
        # The graph of kgen's train step is TensorFlow-only and of little use.
        return [keras.callbacks.TensorBoard(self.logs, write_graph=False)]

    def check_diverged(self) -> None:
        """Raises `TrainingDivergedError` if the guard stopped training; saves nothing."""
        if self.guard.diverged:
            kept = (
                f"the last good checkpoint is kept in {self.backup_dir}"
                if self.backup_dir.exists()
                else "no epoch finished before it, so there is no checkpoint"
            )
            raise TrainingDivergedError(f"{self.guard.diverged}; nothing saved, {kept}")

    def finish(self, model) -> None:
        """Saves `<name>.keras` and the SavedModel, then deletes the backup.

        Raises `TrainingDivergedError` instead, saving nothing and keeping the last
        good backup, if the guard stopped training. On several workers each
        saves (saving can be collective), but only the chief's files are
        kept: the others write into a temporary directory.
        """
        self.check_diverged()
        # Every worker saves (saving can be collective); the chief's is kept.
        with distributed.chief_path(self.keras_path) as keras_path:
            model.save(keras_path)
        with distributed.chief_path(self.saved_model) as saved_model:
            model.export(str(saved_model), verbose=False)
        if not distributed.is_chief():
            return
        if self.samples.is_dir():
            print(f"Samples:    {self.samples}")
        print(f"Keras file: {self.keras_path}")
        print(f"SavedModel: {self.saved_model}")
        self.backup.delete()


def progress_verbosity() -> int:
    """`fit`'s `verbose`: a live progress bar on a terminal, a line an epoch in a log.

    Keras' bar redraws itself with carriage returns and draws the finished
    epoch twice (at its last step and at the epoch's end), which a terminal
    overwrites but a log file or CI output shows as two lines. On several
    workers only the chief shows progress: the others' would repeat it.
    """
    if not distributed.is_chief():
        return 0
    return 1 if sys.stdout.isatty() else 2


def refuse_to_overwrite(path, overwrite: bool) -> None:
    """Raises `FileExistsError` if `path` exists (a non-empty directory or a
    file) and `overwrite` is False; the CLI's and recipes' `--overwrite` rule
    for their output files."""
    path = Path(path)
    if overwrite or not path.exists():
        return
    if path.is_dir() and not any(path.iterdir()):
        return
    raise FileExistsError(
        f"{path} already exists; pass --overwrite to replace it, or choose "
        f"another output path"
    )


def _check_writable(directory: Path) -> None:
    """Creates `directory` and writes a probe file there, or raises a clear error."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise PermissionError(
            f"Cannot write to --output-dir {directory} ({reason}); choose a "
            f"writable directory"
        ) from None
    if not os.access(directory, os.W_OK):
        raise PermissionError(
            f"Cannot write to --output-dir {directory}; choose a writable directory"
        )
