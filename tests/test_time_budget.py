"""kgen.callbacks.TimeBudget: fit stops at a step boundary once the time is spent."""

import time

import keras
import numpy as np
import pytest
from tiny_models import tiny_model

import kgen


class SlowSteps(keras.callbacks.Callback):
    """Makes every step take at least `seconds`, so budgets are met in few steps."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.epochs_ended = 0

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_ended += 1


def test_time_budget_stops_fit_and_still_ends_the_epoch(tiny_images, capsys):
    gan = tiny_model("gan")
    gan.compile()
    # Traced first, so that the budget is spent on steps, not on compiling.
    gan.fit(tiny_images, epochs=1, batch_size=8, verbose=0)
    traced_steps = int(gan.optimizer.iterations)
    budget = kgen.callbacks.TimeBudget(0.5, verbose=1)
    slow = SlowSteps(0.1)
    start = time.perf_counter()
    # 32 images in batches of 8: 4 steps an epoch, 4,000 steps without a budget.
    history = gan.fit(
        tiny_images, epochs=1000, batch_size=8, verbose=0, callbacks=[slow, budget]
    )
    assert time.perf_counter() - start < 60
    steps = int(gan.optimizer.iterations) - traced_steps
    # At least two steps of 0.1 s each fit in 0.5 s, even on a loaded machine.
    assert 2 <= steps < 4000
    assert budget.stopped_after >= 0.5
    # The stopping epoch ended as usual: its logs and its epoch-end callbacks.
    assert len(history.history["d_loss"]) == slow.epochs_ended
    assert slow.epochs_ended == -(-steps // 4)
    # Where it stopped, said once: Keras' progress line shows the full epoch.
    assert (budget.stopped_epoch - 1) * 4 + budget.stopped_step == steps
    message = (
        f"Epoch {budget.stopped_epoch}: TimeBudget stopped training after "
        f"{budget.stopped_after:.1f} s (budget 0.5 s), at step "
        f"{budget.stopped_step} of 4."
    )
    assert capsys.readouterr().out.splitlines() == [message]


def test_time_budget_left_unspent_does_not_stop(tiny_images):
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    budget = kgen.callbacks.TimeBudget(3600)
    history = model.fit(
        tiny_images, np.zeros(32), epochs=3, verbose=0, callbacks=[budget]
    )
    assert len(history.history["loss"]) == 3
    assert budget.stopped_after is budget.stopped_step is None


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf"), "60", True])
def test_time_budget_needs_a_positive_finite_number(seconds):
    with pytest.raises(ValueError, match="TimeBudget's seconds must be"):
        kgen.callbacks.TimeBudget(seconds)
