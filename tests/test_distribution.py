"""Data-parallel training on two CPU devices matches one device.

The runs happen in a child process (`tests/distributed_run.py`): devices must be
split before TensorFlow or JAX starts. TensorFlow is tested in the TensorFlow
session, JAX in the JAX one; kgen does not distribute PyTorch training.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("distributed_run.py")
BACKEND = keras.backend.backend()

pytestmark = pytest.mark.skipif(
    BACKEND == "torch",
    reason="kgen distributes training on TensorFlow and JAX, not PyTorch",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed") / "runs.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), BACKEND, str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def test_two_replicas_are_used(runs):
    assert runs["replicas/1"] == 1
    assert runs["replicas/2"] == 2


@pytest.mark.parametrize("name", ["gan", "cgan", "vae"])
def test_an_epoch_on_two_devices_matches_one_device(runs, name):
    if f"{name}/1" not in runs:
        pytest.skip(f"the {BACKEND} run leaves out {name} (see distributed_run.py)")
    single, double = runs[f"{name}/1"], runs[f"{name}/2"]
    assert single.keys() == double.keys()
    for key in single:
        assert double[key] == pytest.approx(single[key], rel=1e-4, abs=1e-5), key


def test_dcgan_on_two_devices_matches_one_device(runs):
    if "dcgan/1" not in runs:
        pytest.skip("batch norm is per replica under MirroredStrategy (see README)")
    # One program over the global batch: batch norm sees all of it.
    single, double = runs["dcgan/1"], runs["dcgan/2"]
    for key in single:
        assert double[key] == pytest.approx(single[key], rel=1e-4, abs=1e-5), key


@pytest.mark.skipif(
    BACKEND != "tensorflow", reason="replica contexts are tf.distribute's"
)
def test_replicas_draw_their_own_rows_of_the_global_noise(runs):
    first, second = (np.array(rows) for rows in runs["noise/replicas"])
    assert not np.allclose(first, second)
    np.testing.assert_allclose(
        np.concatenate([first, second]), np.array(runs["noise/single"]), rtol=1e-6
    )
