"""The `kgen` command: train, generate, stylize, complete, evaluate, export.

`main(argv)` parses the command line and runs one subcommand; each lives in a
module of this package with `add_parser(subparsers, common)` and `run(args)`.
Bad input ends the process with status 1 and one line on stderr,
`kgen: error: <reason>`; a bad flag with status 2, likewise. Set
`KGEN_DEBUG=1` to see the traceback instead.

Parsing imports no framework, so `--help` answers at once: each subcommand
imports what it needs in its `run`. The frameworks' start-up logs are hidden
unless `--verbose` is given (`kgen.logs`).

Example:

```python
kgen.cli.main(["generate", "runs/dcgan/dcgan.keras", "-n", "16", "-o", "grid.png"])
```
"""

import argparse
import importlib.util
import os
import sys
import warnings

from kgen import errors, logs
from kgen.cli import complete, evaluate, export, generate, launch, stylize, train
from kgen.cli.arguments import BACKENDS, HelpFormatter, Parser

SUBCOMMANDS = (train, generate, stylize, complete, evaluate, export, launch)
EPILOG = """\
examples:
  kgen train dcgan --epochs 5                      # embedded digits, offline
  kgen generate runs/dcgan/dcgan.keras -n 64 -o samples.png
  kgen stylize photo.jpg painting.jpg -o painted.png --weights hed
  kgen complete digit.png bottom --model runs/vae/vae.keras -o completed.png
  kgen evaluate runs/dcgan/dcgan.keras --real glyphs
  kgen export runs/dcgan/dcgan.keras saved_models/dcgan
  kgen launch --workers 2 -- python recipes/dcgan_mnist.py --distributed

Each subcommand has its own --help. The backend is KERAS_BACKEND's (default
tensorflow) unless --backend says otherwise.
"""


def build_parser() -> argparse.ArgumentParser:
    """The `kgen` argument parser, with one subparser per subcommand."""
    parser = Parser(
        prog="kgen",
        description=(
            "Train GANs, VAEs and style networks with Keras 3 on TensorFlow, JAX\n"
            "or PyTorch, and use what they learnt."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--backend",
        choices=BACKENDS,
        help="Keras backend to run on (default: KERAS_BACKEND, else tensorflow)",
    )
    common.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output (file, SavedModel, finished run); "
        "without it kgen stops and touches nothing",
    )
    common.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's, JAX's and absl's start-up logs",
    )
    subparsers = parser.add_subparsers(
        title="subcommands", dest="command", metavar="COMMAND", required=True
    )
    for subcommand in SUBCOMMANDS:
        subcommand.add_parser(subparsers, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs `kgen ARGV...`; returns 0, or raises `SystemExit` on failure."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.silence_frameworks(verbose=args.verbose)
    try:
        _switch_backend(args.backend, argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args.run(args)
    except KeyboardInterrupt as interrupt:
        hint = f"; {interrupt}" if str(interrupt) else ""
        parser.exit(130, f"\nkgen: interrupted{hint}\n")
    except Exception as error:
        if errors.show_traceback() or not errors.is_input_error(error):
            raise
        parser.exit(1, f"kgen: error: {errors.one_line(error)}\n")
    return 0


def _switch_backend(requested: str | None, argv: list[str]) -> None:
    """Re-runs this command under `requested` if Keras started on another backend.

    Keras fixes its backend when it is first imported. Before that, setting
    `KERAS_BACKEND` is enough; after it, the only way is a new process.
    """
    if requested is None:
        return
    keras = sys.modules.get("keras")
    current = None if keras is None else keras.backend.backend()
    if requested == current:
        return
    if importlib.util.find_spec(requested) is None:
        raise ImportError(
            f"--backend {requested} needs the {requested} package: "
            f"pip install {requested}"
        )
    if keras is None:
        os.environ["KERAS_BACKEND"] = requested
        return
    if os.environ.get("KERAS_BACKEND") == requested:
        raise ValueError(
            f"KERAS_BACKEND={requested} is set, yet Keras runs on {current}"
        )
    env = dict(os.environ, KERAS_BACKEND=requested)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(sys.executable, [sys.executable, "-m", "kgen.cli", *argv], env)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as `kgen: warning: ...`, without the source line that raised them."""
    print(f"kgen: warning: {message}", file=file or sys.stderr)
