"""Argument checks shared by the network builders and models."""

import math
import numbers

import numpy as np


def is_int(value) -> bool:
    """Whether `value` is a Python or NumPy integer (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_positive(name: str, value) -> None:
    """Raises a ValueError naming `name` unless `value` is an integer > 0.

    Python and NumPy integers pass; bools, floats (even `2.0`) and strings do not.
    """
    if not is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_non_negative(name: str, value) -> None:
    """Raises a ValueError naming `name` unless `value` is an integer >= 0.

    The same types pass as for `check_positive`.
    """
    if not is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def check_image_shape(image_shape) -> tuple:
    """Returns `image_shape` as a tuple `(height, width, channels)` or raises."""
    try:
        shape = tuple(int(d) for d in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_shape must be (height, width, channels), got {image_shape!r}"
        ) from None
    if len(shape) != 3 or min(shape) <= 0:
        raise ValueError(
            f"image_shape must be (height, width, channels) with positive sizes, "
            f"got {image_shape!r}"
        )
    if shape[2] not in (1, 3):
        raise ValueError(
            f"image_shape must have 1 (grayscale) or 3 (RGB) channels, "
            f"got {shape[2]} in {image_shape!r}"
        )
    return shape


def check_rate(name: str, value) -> float:
    """Returns `value` as a float in [0, 1) (a dropout rate) or raises."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0.0 <= value < 1.0
    ):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_number(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Returns `value` as a float, or raises unless it is a finite number in bounds.

    Rejects bools, non-numbers (strings, arrays, None), NaN and infinities, then
    `value < low` (`<= low` with `low_inclusive=False`) and `value > high`
    (`>= high` with `high_inclusive=False`). NumPy scalars count as numbers.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        raise ValueError(
            f"{name} must be {_bounds(low, high, low_inclusive, high_inclusive)}, "
            f"got {value!r}"
        )
    return float(value)


def _bounds(low, high, low_inclusive, high_inclusive) -> str:
    """`low`/`high` in words: "> 0", ">= 1", "in [0, 1)"."""
    if high is None:
        return f"{'>=' if low_inclusive else '>'} {low:g}"
    if low is None:
        return f"{'<=' if high_inclusive else '<'} {high:g}"
    return (
        f"in {'[' if low_inclusive else '('}{low:g}, "
        f"{high:g}{']' if high_inclusive else ')'}"
    )


def check_optimizer(name: str, optimizer) -> None:
    """Raises if a Keras optimizer's fixed learning rate is negative, NaN or inf.

    0 is allowed: it freezes a network (e.g. to train only the other one).
    Schedules (and optimizers of other libraries) are left alone: a warm-up
    schedule may legitimately start at 0.
    """
    import keras

    if not isinstance(optimizer, keras.optimizers.Optimizer):
        return
    learning_rate = getattr(optimizer, "_learning_rate", None)
    if (
        learning_rate is None
        or isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule)
        or callable(learning_rate)
    ):
        return
    try:
        # float(): NumPy 2 warns about some backends' variables' __array__.
        value = float(learning_rate)
    except TypeError:
        # Under tf.distribute the variable holds a MirroredVariable.
        value = float(keras.ops.convert_to_numpy(learning_rate.value.read_value()))
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"{name} has learning_rate={value!r}; give it a finite, non-negative "
            "learning rate"
        )
