"""Runs the test suite once per Keras backend, each in its own pytest process.

    python tests/run_backends.py                      # everything, on all three
    python tests/run_backends.py tests/test_cli.py -x # pytest's arguments pass through
    python tests/run_backends.py --backends jax,torch
    python tests/run_backends.py --workers 0          # one pytest process each

Run it from the repository root, as pytest. Keras fixes its backend when it
is first imported, so each backend gets a fresh `python -m pytest -q ...` with
`KERAS_BACKEND` set. Every backend runs, even after one fails; the summary
says which failed, and the exit status is 1 if any did. A run that collects
no tests (pytest's status 5, e.g. a `-k` that matches nothing) fails too.

Each backend's tests run in two pytest-xdist worker processes, a test file
per worker at a time (`-n 2 --dist loadfile`, so a file's module fixtures are
built once). Much of a test's time is single-threaded (Python, start-up of
child processes, compiling), so two workers use two CPU cores better than one
process: on a 2-core CPU the TensorFlow suite took 4:46 instead of 7:58 and
the JAX suite 9:15 instead of 12:22 (Dec 2026). More workers than cores only
contend: TensorFlow, JAX and PyTorch each use every core for their kernels.
"""

import argparse
import os
import subprocess
import sys

BACKENDS = ("tensorflow", "jax", "torch")
PYTEST_OUTCOMES = {
    0: "passed",
    1: "tests failed",
    2: "interrupted",
    3: "pytest internal error",
    4: "pytest usage error",
    5: "no tests collected",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        usage="python tests/run_backends.py [--backends B,B] [PYTEST ARGS ...]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated backends to run (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="pytest-xdist worker processes per backend; 0 runs each backend's "
        "tests in one process (default: %(default)s)",
    )
    args, pytest_args = parser.parse_known_args(argv)
    backends = args.backends.split(",")
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backends {unknown}; choose from {', '.join(BACKENDS)}")
    if args.workers < 0:
        parser.error(f"--workers must be 0 or more, got {args.workers}")
    if args.workers:
        pytest_args = ["-n", str(args.workers), "--dist", "loadfile", *pytest_args]
    outcomes = {}
    for backend in backends:
        print(f"== KERAS_BACKEND={backend} python -m pytest -q {' '.join(pytest_args)}")
        sys.stdout.flush()
        try:
            outcomes[backend] = subprocess.call(
                [sys.executable, "-m", "pytest", "-q", *pytest_args],
                env=dict(os.environ, KERAS_BACKEND=backend),
            )
        except KeyboardInterrupt:
            print(f"\nInterrupted during {backend}.")
            return 130
    print()
    for backend, status in outcomes.items():
        outcome = PYTEST_OUTCOMES.get(status, f"exit status {status}")
        print(f"{backend:<11} {'ok' if status == 0 else 'FAILED'} ({outcome})")
    failed = [backend for backend, status in outcomes.items() if status != 0]
    if failed:
        print(f"Failed on {', '.join(failed)}.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
