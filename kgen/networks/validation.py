"""Argument checks shared by the network builders and models."""


def check_positive(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


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
