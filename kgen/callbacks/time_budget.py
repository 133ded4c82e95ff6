"""`TimeBudget`: stop `fit` after a number of seconds, at a step boundary."""

import time

import keras

from kgen.networks.validation import check_number


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` once `seconds` of training have passed, at a step boundary.

    The clock starts when training begins and is read after every batch (or
    every `steps_per_execution` batches); when the budget is spent, training
    stops after that step. Keras then still ends the epoch, so `on_epoch_end`
    callbacks (`SampleGrid`, `Evaluate`, `ModelCheckpoint`,
    `BackupAndRestore`) run, and everything after `fit` (saving, export)
    runs as usual. Time spent in those epoch-end callbacks counts towards the
    budget. `stopped_after` holds the seconds trained when it stopped (None if
    the run ended first), `stopped_epoch` and `stopped_step` the epoch and
    step it stopped after (from 1). With `verbose=1` it says so when
    training ends, as `keras.callbacks.EarlyStopping` does: Keras' progress
    line for the stopped epoch still shows the epoch's full step count.

    Use it to compare models at equal compute, or to bound a run's cost:

    Example:

    ```python
    budget = kgen.callbacks.TimeBudget(120, verbose=1)
    gan.fit(train, epochs=1000, callbacks=[budget, kgen.callbacks.SampleGrid("s/")])
    print(budget.stopped_after)  # ~120.0
    ```
    """

    def __init__(self, seconds: float, verbose: int = 0):
        super().__init__()
        self.seconds = check_number(
            "TimeBudget's seconds", seconds, 0.0, low_inclusive=False
        )
        self.verbose = verbose
        self.stopped_after = self.stopped_epoch = self.stopped_step = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.stopped_after = self.stopped_epoch = self.stopped_step = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self.start
        # Only touch self.model when it is time: on JAX reading it syncs state.
        if elapsed >= self.seconds:
            self.stopped_after = elapsed
            self.stopped_epoch = self.epoch + 1
            self.stopped_step = steps_done(self.params, batch)
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_after is None or not self.verbose:
            return
        steps = self.params.get("steps")
        of = f" of {steps}" if steps else ""
        print(
            f"Epoch {self.stopped_epoch}: TimeBudget stopped training after "
            f"{self.stopped_after:.1f} s (budget {self.seconds:g} s), at step "
            f"{self.stopped_step}{of}.",
            flush=True,
        )


def steps_done(params, batch):
    """Steps of the epoch done when Keras calls `on_train_batch_end(batch)`.

    With `steps_per_execution` > 1 Keras passes the index of the execution's
    last step, which for an epoch's last, partial execution lies beyond the
    epoch; `params["steps"]` (the epoch's length, when known) bounds it.
    """
    steps = params.get("steps") if params else None
    return batch + 1 if not steps else min(batch + 1, steps)
