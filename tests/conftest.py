"""Shared fixtures. The backend is chosen by KERAS_BACKEND before pytest starts."""

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def shared_dir():
    """`../shared` beside the repository; tests using it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (shared data lives beside the repo)")
    return SHARED


@pytest.fixture
def tiny_images():
    """32 random 28x28x1 float32 images in [-1, 1]."""
    return np.random.default_rng(0).uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
