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
    the run ended first).

    Use it to compare models at equal compute, or to bound a run's cost:

    Example:

    ```python
    budget = kgen.callbacks.TimeBudget(120)
    gan.fit(train, epochs=1000, callbacks=[budget, kgen.callbacks.SampleGrid("s/")])
    print(budget.stopped_after)  # ~120.0
    ```
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = check_number(
            "TimeBudget's seconds", seconds, 0.0, low_inclusive=False
        )
        self.stopped_after = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.stopped_after = None

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self.start
        # Only touch self.model when it is time: on JAX reading it syncs state.
        if elapsed >= self.seconds:
            self.stopped_after = elapsed
            self.model.stop_training = True
