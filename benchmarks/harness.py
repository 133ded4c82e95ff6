"""What the speed benchmarks share: a child process per backend, one step timer,
one table printer.

- `run_child` runs a benchmark script again in a child process with
  `KERAS_BACKEND` (and any other variables) set, since Keras fixes its backend,
  and a process its devices and dtype policy, when it starts. The child
  measures and ends by calling `report(result)`; the parent gets the result.
- `time_steps` times steps as the difference of two whole runs that each end by
  reading a result on the host, so the time includes every step's work on any
  backend and nothing that every run pays once. Step times stamped by a Keras
  callback are not used: Keras calls async-safe callbacks from a helper thread
  on JAX and PyTorch, whose stamps can be several steps late, and a callback
  that is not async-safe makes every step wait for the host, which default
  training does not.
- `print_table` prints rows as aligned columns.

The scripts import it as `harness` (Python puts the running script's folder
first on `sys.path`).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata

BACKENDS = ("tensorflow", "jax", "torch")
# Marks the child's result line among whatever else it prints.
RESULT_PREFIX = "BENCHMARK_RESULT "
# Tries of a repeat of `time_steps` before it gives up on too few steps.
_TRIES = 3
# Lines that say what went wrong; a crash in native code ends with a stack
# trace, after the message.
_ERROR_LINE = re.compile(r"Error|Exception|Check failed|^F\d{4} ")


def report(result) -> None:
    """Hands `result` (JSON-serialisable) to the parent: call it last in a child."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(
    script: str,
    flags: Sequence[str],
    backend: str | None = None,
    env: dict | None = None,
    timeout: float | None = None,
):
    """Runs `python script *flags` with `KERAS_BACKEND=backend` and `env` set.

    Returns what the child passed to `report`. Raises `RuntimeError` saying
    how it ended (exit status or signal, the last error message, the last
    output lines) if it reported nothing or ran past `timeout` seconds.
    """
    env = dict(os.environ, **(env or {}))
    if backend is not None:
        env["KERAS_BACKEND"] = backend
    command = [sys.executable, os.path.abspath(script), *flags]
    try:
        completed = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"timed out after {timeout} s") from error
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    output = (completed.stdout + completed.stderr).strip().splitlines()
    messages = [line for line in output if _ERROR_LINE.search(line)]
    status = completed.returncode
    if status < 0:
        status = f"killed by {signal.Signals(-status).name}"
    raise RuntimeError(
        f"exit status {status}; "
        + (f"message: {messages[-1].strip()}; " if messages else "")
        + "last output lines:\n"
        + "\n".join(output[-12:])
    )


def time_steps(
    run: Callable[[int], None], warmup: int, steps: int, repeats: int = 1
) -> list[float]:
    """Seconds per step of `run`, one figure per repeat.

    `run(n)` must do `n` steps and return once the last one's result is on
    the host (e.g. read a loss or the optimizer's step counter). After an
    untimed `run(warmup)` (tracing, compilation), each repeat times
    `run(warmup + steps)` and `run(warmup)`; their difference is what `steps`
    steady-state steps cost, without what every run pays once (starting an
    iterator, filling buffers, Keras' per-`fit` setup).

    On busy cores, what every run pays once varies from run to run and can
    outweigh a few cheap steps: a repeat whose long run was not the slower is
    measured again, up to `_TRIES` times, then `RuntimeError` says to time
    more steps.
    """
    run(warmup)
    seconds = []
    for _ in range(repeats):
        for _ in range(_TRIES):
            start = time.perf_counter()
            run(warmup)
            short = time.perf_counter() - start
            start = time.perf_counter()
            run(warmup + steps)
            difference = time.perf_counter() - start - short
            if difference > 0:
                break
        else:
            raise RuntimeError(
                f"{steps} steps took less time than the variation in a run's "
                f"start-up ({_TRIES} tries); time more steps"
            )
        seconds.append(difference / steps)
    return seconds


def fit_run(model, x, batch_size: int | None = None) -> Callable[[int], None]:
    """`run(n)` for `time_steps`: `n` steps of `model.fit` on `x`.

    `x` is a repeating `tf.data.Dataset` of batches, or an array from which
    `run(n)` trains on the first `n * batch_size` samples, in order.
    """
    import keras

    def run(steps):
        if hasattr(x, "element_spec"):
            model.fit(x, steps_per_epoch=steps, epochs=1, verbose=0)
        else:
            model.fit(
                x[: steps * batch_size],
                batch_size=batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
            )
        # Waits for the last step (JAX and PyTorch on a GPU dispatch steps
        # asynchronously).
        keras.ops.convert_to_numpy(model.optimizer.iterations)

    return run


def print_table(header: Sequence[str], lines: Sequence[Sequence[str]], left: int):
    """Prints `lines` under `header`, the first `left` columns left-aligned."""
    widths = [
        max(len(line[i]) for line in [header, *lines]) for i in range(len(header))
    ]
    for line in [header, *lines]:
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def gpus(backend: str) -> list[str]:
    """The names of the GPUs `backend` sees (imports it)."""
    if backend == "tensorflow":
        import tensorflow as tf

        return [
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")
        ]
    if backend == "jax":
        import jax

        if jax.default_backend() == "cpu":
            return []
        return [str(device) for device in jax.devices()]
    import torch

    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def check_names(kind: str, names: Sequence[str], known: Sequence[str]) -> None:
    """Raises `ValueError` unless `names` is a non-empty selection of `known`."""
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ValueError(
            f"Unknown {kind}: {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(known)}"
        )
