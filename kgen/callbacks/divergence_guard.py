"""`DivergenceGuard`: stop training when a metric or a weight becomes NaN or inf."""

import math

import keras

from kgen import saving
from kgen.callbacks.time_budget import steps_done


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training when a metric or a weight becomes NaN or inf.

    After every batch it reads the logged metrics (`loss`, `d_loss`, ...;
    they are epoch means, so one bad step keeps them non-finite), and at
    every epoch's end it also checks the weights, which can explode while
    the losses still look finite. On the first non-finite value it stops
    training, prints which metric or weight went bad at which epoch and
    step, and sets `diverged` to that message. Put it BEFORE
    `kgen.callbacks.BackupAndRestore` or `ModelCheckpoint` in the callback
    list: kgen's `BackupAndRestore` then keeps the last good checkpoint.

    Unlike `keras.callbacks.TerminateOnNaN`, it watches every metric (GANs
    log two losses) and the weights, and says where it stopped.

    Example:

    ```python
    guard = kgen.callbacks.DivergenceGuard()
    gan.fit(train, epochs=20, callbacks=[guard, kgen.callbacks.BackupAndRestore("b/")])
    if guard.diverged:
        print(guard.diverged)  # "Training diverged at epoch 3, step 41: ..."
    ```
    """

    def __init__(self):
        super().__init__()
        self.diverged = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.diverged = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = non_finite_logs(logs)
        if bad:
            self._stop(f"step {steps_done(self.params, batch)}: {bad}")

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged:
            return
        bad = non_finite_logs(logs)
        weights = [] if bad else saving.non_finite_weights(self.model)
        if weights:
            bad = f"weights {', '.join(weights[:3])} are NaN or inf"
        if bad:
            self._stop(f"its end: {bad}")

    def _stop(self, where):
        self.diverged = (
            f"Training diverged at epoch {self._epoch + 1}, {where}; lower the "
            f"learning rate (or add a stabiliser) and resume from the last good "
            f"checkpoint"
        )
        print(self.diverged, flush=True)
        self.model.stop_training = True


def non_finite_logs(logs) -> str:
    """`"d_loss is nan, ..."` for the non-finite numbers in `logs`; "" if none."""
    bad = []
    for name, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            bad.append(f"{name} is {number}")
    return ", ".join(bad)
