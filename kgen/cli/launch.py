"""Start N local worker processes of one command, wired for multi-worker training.

Each worker runs COMMAND with the variables its backend's engine reads:
`TF_CONFIG` on TensorFlow (`tf.distribute.MultiWorkerMirroredStrategy`), or
`KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
`KERAS_DISTRIBUTION_PROCESS_ID` on JAX (`keras.distribution.initialize`). The
workers listen on free ports of 127.0.0.1 only; on a cluster, set these
variables on each host yourself (README, "Training on several machines").
Each output line is prefixed with its worker's rank. If a worker fails, the
others are stopped; after --timeout seconds (a hung collective) all are.
PyTorch is refused: Keras has no multi-process PyTorch backend.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from kgen.cli.arguments import add_subcommand, positive_float, positive_int

EPILOG = """\
examples:
  kgen launch --workers 2 -- python recipes/dcgan_mnist.py --distributed --epochs 5
  KERAS_BACKEND=jax kgen launch --workers 2 -- python my_training_script.py
"""

# Seconds a worker gets to exit after SIGTERM before it is killed.
GRACE_SECONDS = 10


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "launch", __doc__, common, epilog=EPILOG)
    parser.add_argument(
        "--workers", type=positive_int, default=2, help="processes to start"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=24 * 3600.0,
        metavar="SECONDS",
        help="stop every worker after this long (a hung collective ends here)",
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="the command every worker runs, after --",
    )
    parser.set_defaults(run=run)


def run(args) -> None:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ValueError("give the command to run after --, e.g. -- python train.py")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    code = launch(command, args.workers, backend=backend, timeout=args.timeout)
    if code:
        raise SystemExit(code)


def free_ports(count: int) -> list[int]:
    """`count` distinct ports of 127.0.0.1 that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def worker_environments(workers: int, backend: str) -> list[dict[str, str]]:
    """The variables each of `workers` local workers needs on `backend`."""
    if backend == "torch":
        raise ValueError(
            "kgen launch cannot train on PyTorch: Keras has no multi-process "
            "PyTorch backend (keras.distribution is TensorFlow and JAX only); "
            "use KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax"
        )
    if backend not in ("tensorflow", "jax"):
        raise ValueError(f"kgen launch supports tensorflow and jax, not {backend!r}")
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    environments = []
    for rank in range(workers):
        if backend == "tensorflow":
            config = {
                "cluster": {"worker": addresses},
                "task": {"type": "worker", "index": rank},
            }
            environment = {"TF_CONFIG": json.dumps(config)}
        else:
            environment = {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": ",".join(addresses),
                "KERAS_DISTRIBUTION_NUM_PROCESSES": str(workers),
                "KERAS_DISTRIBUTION_PROCESS_ID": str(rank),
            }
        environment["KERAS_BACKEND"] = backend
        environments.append(environment)
    return environments


def launch(
    command: list[str],
    workers: int,
    *,
    backend: str = "tensorflow",
    timeout: float = 24 * 3600.0,
    output=None,
) -> int:
    """Runs `command` as `workers` local workers; returns the exit status.

    0 when every worker succeeded; else the first failing worker's status
    (124 after `timeout` seconds), once every other worker has been stopped.
    Lines each worker prints go to `output` (default stdout) as `[rank] line`.
    """
    output = output or sys.stdout
    environments = worker_environments(workers, backend)
    processes = []
    lock = threading.Lock()
    threads = []
    try:
        for rank, environment in enumerate(environments):
            process = subprocess.Popen(
                command,
                env={**os.environ, **environment},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            processes.append(process)
            thread = threading.Thread(
                target=_copy_lines, args=(process.stdout, rank, output, lock)
            )
            thread.start()
            threads.append(thread)
        code = _wait(processes, timeout, output, lock)
    finally:
        _stop(processes)
        for thread in threads:
            thread.join(timeout=GRACE_SECONDS)
    return code


def _copy_lines(stream, rank, output, lock):
    for line in iter(stream.readline, b""):
        text = line.decode(errors="replace").rstrip("\n")
        with lock:
            print(f"[{rank}] {text}", file=output, flush=True)
    stream.close()


def _wait(processes, timeout, output, lock):
    deadline = time.monotonic() + timeout
    while True:
        codes = [process.poll() for process in processes]
        failed = [(rank, c) for rank, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            rank, code = failed[0]
            _say(
                output,
                lock,
                f"worker {rank} exited with status {code}; stopping the others",
            )
            return code
        if all(code == 0 for code in codes):
            return 0
        if time.monotonic() > deadline:
            _say(
                output,
                lock,
                f"workers still running after --timeout {timeout:g} s "
                "(a hung collective?); stopping them",
            )
            return 124
        time.sleep(0.1)


def _say(output, lock, message):
    with lock:
        print(f"kgen launch: {message}", file=output, flush=True)


def _stop(processes):
    """SIGTERM every running worker's process group, then SIGKILL stragglers."""
    for process in processes:
        _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
            process.wait()


def _signal(process, signum):
    if process.poll() is not None:
        return
    try:
        # Each worker leads its own session: its children stop with it.
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
