"""Two worker processes train like one process on the same global batch.

`kgen launch --workers 2` starts tests/multiworker_run.py twice on 127.0.0.1
(TensorFlow: `MultiWorkerMirroredStrategy` from `TF_CONFIG`; JAX:
`keras.distribution.initialize` + `DataParallel` from `KERAS_DISTRIBUTION_*`),
and the same script alone is the one-process reference; both train a tiny
DCGAN and VAE for 4 steps of a global batch of 16 from the same seed. The
TensorFlow test runs in the TensorFlow session, the JAX one in the JAX session;
Keras has no multi-process PyTorch engine. The launcher's own tests (failure,
timeout, PyTorch refusal) start no framework and run everywhere.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kgen import distributed
from kgen.cli import launch

SCRIPT = Path(__file__).with_name("multiworker_run.py")
BACKEND = keras.backend.backend()
# One process trains the GANs (the DCGAN where oneDNN is off) with XLA by
# default, tf.distribute without: compare like with like (XLA alone moves the
# DCGAN's weights by ~2e-3 in 4 Adam steps, and TensorFlow draws other
# random numbers under XLA). Batch norm is synchronized on TensorFlow; JAX
# needs nothing.
# The GAN with explicitly sharded examples: its global batches hold the
# same images in another order, which its losses do not see. The cGAN's
# batches are (images, labels) pairs, which Keras cannot average across
# workers to build the model (kgen.distributed works around it). The GAN with
# kgen.callbacks.Evaluate: each worker generates its share of the 33 samples
# (17, the last share padded) and the features are gathered.
MODELS = {
    "tensorflow": {
        "dcgan": "dcgan+sync+noxla",
        "vae": "vae",
        "gan": "gan+examples+noxla",
        "cgan": "cgan+noxla",
        "evaluate": "gan+evaluate+noxla",
    },
    "jax": {"dcgan": "dcgan", "vae": "vae", "evaluate": "gan+evaluate"},
}
# Seconds: a hung collective fails the test instead of CI.
TIMEOUT = 240


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if BACKEND not in MODELS:
        pytest.skip("Keras has no multi-process PyTorch backend")
    names = list(MODELS[BACKEND].values())
    root = tmp_path_factory.mktemp("multiworker")
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name in ("TF_CONFIG", "KERAS_DISTRIBUTION_NUM_PROCESSES"):
        env.pop(name, None)
    worker = [sys.executable, str(SCRIPT)]
    commands = {
        1: [*worker, str(root / "one"), *names],
        2: [
            *(sys.executable, "-m", "kgen.cli", "launch", "--workers", "2"),
            *("--timeout", str(TIMEOUT), "--"),
            *(*worker, str(root / "two"), *names),
        ],
    }
    # Both at once: the workers spend much of their start waiting on each other.
    processes = {
        count: subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for count, command in commands.items()
    }
    outputs = {}
    try:
        for count, process in processes.items():
            outputs[count], _ = process.communicate(timeout=TIMEOUT + 30)
    finally:
        for process in processes.values():
            process.kill()
            process.wait()
    for count, process in processes.items():
        assert process.returncode == 0, outputs[count][-4000:]
        (root / f"output-{count}.txt").write_text(outputs[count])
    return root


def results(root, count, model):
    """The chief's metrics and weights of `model` in the `count`-process run."""
    name = MODELS[BACKEND][model]
    folder = root / ("one" if count == 1 else "two") / "rank-0"
    metrics = json.loads((folder / f"{name}.json").read_text())
    with np.load(folder / f"{name}.npz") as weights:
        return metrics, dict(weights)


@pytest.mark.parametrize("model", ["dcgan", "vae", "gan", "cgan", "evaluate"])
def test_two_workers_match_one_process(runs, model):
    if model not in MODELS[BACKEND]:
        pytest.skip(f"the {BACKEND} run leaves {model} out")
    single_metrics, single_weights = results(runs, 1, model)
    double_metrics, double_weights = results(runs, 2, model)
    assert single_metrics.pop("workers") == 1
    assert double_metrics.pop("workers") == 2
    if model == "evaluate":
        # Evaluate's images: all 33 in one process, a share of 17 per worker.
        assert single_metrics.pop("generated") == 33
        assert double_metrics.pop("generated") == 17
    assert single_metrics.keys() == double_metrics.keys()
    for key, value in single_metrics.items():
        assert double_metrics[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
    assert single_weights.keys() == double_weights.keys()
    for key, value in single_weights.items():
        np.testing.assert_allclose(double_weights[key], value, atol=1e-5, err_msg=key)


def test_every_worker_logs_the_same_evaluation(runs):
    # Each worker prints its own metrics; only the chief writes them.
    name = re.escape(MODELS[BACKEND]["evaluate"])
    output = (runs / "output-2.txt").read_text()
    logged = {
        rank: json.loads(metrics)
        for rank, metrics in re.findall(
            rf"^\[(\d)\] {name} done on worker \d: (\{{.*\}})$", output, re.M
        )
    }
    assert sorted(logged) == ["0", "1"], output[-4000:]
    assert {"fid", "kid"} <= logged["0"].keys()
    # Each worker generated its half (33 rows: 17 each, one padded), and
    # the gathered features gave both the same scores.
    assert logged["0"].pop("generated") == logged["1"].pop("generated") == 17
    assert logged["0"] == logged["1"]


def test_all_gather_is_the_identity_in_one_process():
    array = np.arange(12, dtype="float32").reshape(4, 3)
    gathered = distributed.all_gather(array)
    assert isinstance(gathered, np.ndarray)
    np.testing.assert_array_equal(gathered, array)


def test_a_worker_takes_its_contiguous_share_of_the_samples(monkeypatch):
    from kgen.metrics.sample_quality import worker_rows

    assert worker_rows(33).tolist() == list(range(33))
    _as_worker(monkeypatch, 0)
    assert worker_rows(33).tolist() == list(range(17))
    _as_worker(monkeypatch, 1)
    # The last share is padded with the last row, trimmed after the gather.
    assert worker_rows(33).tolist() == [*range(17, 33), 32]


def test_only_the_chief_writes_files(runs):
    names = MODELS[BACKEND].values()
    expected = {f"{name}{suffix}" for name in names for suffix in (".json", ".npz")}
    expected |= {f"{name}.keras" for name in names}
    assert [path.name for path in (runs / "two").iterdir()] == ["rank-0"]
    assert {path.name for path in (runs / "two" / "rank-0").iterdir()} == expected


# The launcher itself: plain Python workers, no framework.
SLEEPER = "import os, time; open(os.environ['PIDS'] + '/' + str(os.getpid()), 'w'); "


def _launch(code, tmp_path, **kwargs):
    os.environ["PIDS"] = str(tmp_path)
    lines = []

    class Output:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    try:
        status = launch.launch(
            [sys.executable, "-c", code], 2, backend="jax", output=Output(), **kwargs
        )
    finally:
        del os.environ["PIDS"]
    pids = [int(path.name) for path in tmp_path.iterdir()]
    return status, "".join(lines), pids


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_launch_prefixes_lines_and_sets_each_rank(tmp_path):
    code = SLEEPER + "print(os.environ['KERAS_DISTRIBUTION_PROCESS_ID'])"
    status, output, _ = _launch(code, tmp_path)
    assert status == 0
    assert sorted(output.splitlines()) == ["[0] 0", "[1] 1"]


def test_a_failing_worker_stops_the_others(tmp_path):
    code = SLEEPER + (
        "rank = os.environ['KERAS_DISTRIBUTION_PROCESS_ID']\n"
        "time.sleep(0.5)\n"
        "if rank == '1':\n"
        "    raise SystemExit(3)\n"
        "time.sleep(60)"
    )
    status, output, pids = _launch(code, tmp_path, timeout=30)
    assert status == 3
    assert "worker 1 exited with status 3; stopping the others" in output
    assert len(pids) == 2 and not any(_running(pid) for pid in pids)


def test_a_hung_run_ends_at_the_timeout(tmp_path):
    status, output, pids = _launch(SLEEPER + "time.sleep(60)", tmp_path, timeout=1)
    assert status == 124
    assert "after --timeout 1 s" in output
    assert len(pids) == 2 and not any(_running(pid) for pid in pids)


def test_launch_refuses_pytorch_in_one_sentence():
    with pytest.raises(ValueError, match="no multi-process PyTorch backend"):
        launch.worker_environments(2, "torch")


def test_workers_get_distinct_free_local_ports():
    (first, second) = launch.worker_environments(2, "tensorflow")
    config = json.loads(first["TF_CONFIG"])
    addresses = config["cluster"]["worker"]
    assert len(set(addresses)) == 2
    assert all(address.startswith("127.0.0.1:") for address in addresses)
    assert config["task"] == {"type": "worker", "index": 0}
    assert json.loads(second["TF_CONFIG"])["task"]["index"] == 1


def test_ctrl_c_stops_every_worker(tmp_path):
    command = [
        *(sys.executable, "-m", "kgen.cli", "launch", "--workers", "2", "--"),
        *(sys.executable, "-c", SLEEPER + "time.sleep(60)"),
    ]
    process = subprocess.Popen(
        command,
        env={**os.environ, "PIDS": str(tmp_path), "KERAS_BACKEND": "jax"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A background pytest may ignore SIGINT; the launcher must not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    pids = [int(path.name) for path in tmp_path.iterdir()]
    assert process.returncode == 130, output
    assert len(pids) == 2 and not any(_running(pid) for pid in pids)


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.mark.parametrize("index, calls", [(0, [0]), (1, [])])
def test_chief_only_callbacks_run_on_the_chief(monkeypatch, index, calls):
    config = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker"}}
    config["task"]["index"] = index
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert distributed.num_workers() == 2
    assert distributed.is_chief() == (index == 0)
    recorder = Recorder()
    distributed.ChiefOnly(recorder).on_epoch_end(0, {})
    assert recorder.epochs == calls


@pytest.mark.skipif(BACKEND != "torch", reason="the refusal is PyTorch's")
def test_pytorch_refuses_to_train_as_one_of_several_workers(monkeypatch):
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    with pytest.raises(ValueError, match="no multi-process PyTorch backend"):
        distributed.setup()


# The recipes' --distributed, run as the README says, and resumed after a kill.
RECIPES = Path(__file__).parents[1] / "recipes"
# JAX compiles the DCGAN's step for ~25 s on 2 loaded CPU cores, twice per
# test; its MLP GAN keeps the JAX test near 40 s. TensorFlow runs the DCGAN
# (synchronized batch norm, conv steps under the strategy).
RECIPE = {"tensorflow": "dcgan_mnist", "jax": "gan_mnist"}
# Two steps of a global batch of 32 per epoch, no held-out scores.
TINY = (
    *("--distributed", "--limit", "64", "--batch-size", "32"),
    *("--held-out", "0", "--quality-samples", "0", "--latent-dim", "8"),
)


class _Launched:
    """A running `kgen launch`, its output lines collected as they come."""

    def __init__(self, command, env):
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def finish(self, timeout=TIMEOUT + 30):
        """Waits for the launcher (killing it after `timeout`); its output."""
        try:
            self.process.wait(timeout=timeout)
        finally:
            self.process.kill()
            self.process.wait()
            self.reader.join(timeout=10)
        return "".join(self.lines)


def _launch_recipe(name, out, epochs, tmp, *extra):
    """`kgen launch --workers 2 -- python recipes/NAME.py --distributed ...`."""
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TMPDIR": str(tmp)}
    for variable in ("TF_CONFIG", *distributed.JAX_VARIABLES):
        env.pop(variable, None)
    tmp.mkdir(exist_ok=True)
    command = [
        *(sys.executable, "-m", "kgen.cli", "launch", "--workers", "2"),
        *("--timeout", str(TIMEOUT), "--"),
        *(sys.executable, str(RECIPES / f"{name}.py"), *TINY, *extra),
        *("--epochs", str(epochs), "--output-dir", str(out)),
    ]
    return _Launched(command, env)


def _worker_pid(launcher, rank):
    """The pid of `launcher`'s worker of `rank`, read from /proc (Linux)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The parent's pid follows the command's name in parentheses.
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid != launcher.pid:
                continue
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        for entry in environ:
            name, _, value = entry.decode(errors="replace").partition("=")
            if name == "KERAS_DISTRIBUTION_PROCESS_ID" and value == str(rank):
                return int(stat.parent.name)
            if name == "TF_CONFIG" and json.loads(value)["task"]["index"] == rank:
                return int(stat.parent.name)
    return None


def _readable(output):
    """`output` without the frameworks' start-up logs, to read on failure."""
    noise = re.compile(r"^\[\d\] ([IWE]\d{4} |WARNING: All log|\[Gloo\]|\s*$)")
    lines = [line for line in output.splitlines() if not noise.match(line)]
    return "\n".join(lines)[-6000:]


def _backed_up_epoch(backup):
    try:
        return json.loads((backup / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.skipif(BACKEND not in MODELS, reason="no multi-process PyTorch backend")
def test_recipe_resumes_every_worker_after_a_kill_and_only_the_chief_writes(tmp_path):
    import kgen  # registers kgen's classes for load_model

    name = RECIPE[BACKEND]
    out = tmp_path / "run"
    # Many epochs, so that it is still training when a backup exists.
    first = _launch_recipe(name, out, 500, tmp_path / "tmp-first")
    try:
        deadline = time.monotonic() + TIMEOUT
        while _backed_up_epoch(out / "backup") < 1:
            if first.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("no backup before the run ended:\n" + first.finish())
            time.sleep(0.05)
        workers = [_worker_pid(first.process, rank) for rank in (0, 1)]
        assert None not in workers, "a worker is not among the launcher's children"
        os.kill(workers[1], signal.SIGKILL)
        # The chief, waiting in a collective for the dead worker, would sit out
        # the launcher's grace period (10 s) after its SIGTERM: end it now.
        assert first.wait_for("worker 1 exited with status -9", 60)
        with contextlib.suppress(ProcessLookupError):
            os.kill(workers[0], signal.SIGKILL)
        output = first.finish()
    finally:
        first.process.kill()
        first.process.wait()
    assert first.process.returncode != 0
    assert "worker 1 exited with status -9; stopping the others" in output, _readable(
        output
    )
    epoch = _backed_up_epoch(out / "backup")
    assert 1 <= epoch < 500

    # The same job again, one epoch further: every worker resumes from it.
    second_tmp = tmp_path / "tmp-second"
    second = _launch_recipe(name, out, epoch + 1, second_tmp)
    output = second.finish()
    assert second.process.returncode == 0, _readable(output)
    resumed = re.findall(r"^\[(\d)\] Resuming from epoch (\d+)", output, re.M)
    assert sorted(resumed) == [("0", str(epoch)), ("1", str(epoch))], _readable(output)
    assert f"Epoch {epoch + 1}/{epoch + 1}" in output
    # Only the chief kept files: the finished run, and nothing from worker 1
    # (`logs/` is TensorBoard's, written when the package is installed).
    assert {path.name for path in out.iterdir()} - {"logs"} == {
        f"{name}.keras",
        "saved_model",
        "samples",
    }
    assert (out / "samples" / f"epoch_{epoch + 1:04d}.png").is_file()
    assert not list(out.rglob(".partial-*"))
    assert not list(second_tmp.glob("kgen-worker-*"))
    for line in ("Keras file:", "Epoch "):
        assert not re.search(rf"^\[1\] {line}", output, re.M), line
    model = keras.saving.load_model(out / f"{name}.keras")
    assert isinstance(model, kgen.GAN)
    assert keras.ops.shape(model.generate(2, seed=0)) == (2, 28, 28, 1)


def test_a_worker_without_distributed_is_refused(monkeypatch):
    config = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker"}}
    config["task"]["index"] = 1
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    with pytest.raises(ValueError, match="worker 1 of 2 .* --distributed is not"):
        with distributed.training_scope(False):
            pass


def test_distributed_without_a_cluster_says_it_trains_in_one_process(capsys):
    with distributed.training_scope(True) as engine:
        assert engine is None
    said = capsys.readouterr().out
    assert said.count("\n") == 1
    if BACKEND == "torch":
        assert "no multi-process PyTorch backend, so this trains on one device" in said
    else:
        assert "no cluster in the environment" in said
        assert "so this trains in one process" in said


@pytest.mark.skipif(BACKEND != "torch", reason="the refusal is PyTorch's")
def test_pytorch_refuses_distributed_on_several_workers(monkeypatch):
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "0")
    with pytest.raises(ValueError, match="no multi-process PyTorch backend"):
        with distributed.training_scope(True):
            pass


def _as_worker(monkeypatch, index):
    config = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker"}}
    config["task"]["index"] = index
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))


def test_runs_refuse_a_time_budget_on_several_workers(monkeypatch, tmp_path):
    from kgen import runs

    _as_worker(monkeypatch, 0)
    with pytest.raises(ValueError, match="--time-budget cannot stop several workers"):
        runs.Run(tmp_path, "dcgan", time_budget=60)


def test_a_worker_decides_like_the_chief_and_writes_nothing(monkeypatch, tmp_path):
    from kgen import runs

    _as_worker(monkeypatch, 1)
    # A missing directory is the chief's to create.
    runs.Run(tmp_path / "new", "dcgan")
    assert not (tmp_path / "new").exists()
    # A finished run is refused on every worker.
    (tmp_path / "dcgan.keras").write_bytes(b"")
    with pytest.raises(FileExistsError, match="--overwrite"):
        runs.Run(tmp_path, "dcgan")
    # --overwrite: the chief deletes the old backup; no worker restores it.
    (tmp_path / "backup").mkdir()
    run = runs.Run(tmp_path, "dcgan", overwrite=True)
    assert (tmp_path / "backup").is_dir() and not run.backup.resume
    run.backup.delete()
    assert (tmp_path / "backup").is_dir()


@pytest.mark.parametrize("index", [0, 1])
def test_chief_path_keeps_the_chief_file_only(monkeypatch, tmp_path, index):
    _as_worker(monkeypatch, index)
    target = tmp_path / "out" / "model.keras"
    with distributed.chief_path(target) as path:
        assert path.name == "model.keras"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
    assert target.exists() == (index == 0)
    assert path.exists() == (index == 0)
