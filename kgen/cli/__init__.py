"""The `kgen` command: train, generate, stylize, complete, evaluate, export.

`main(argv)` parses the command line and runs one subcommand; each lives in a
module of this package with `add_parser(subparsers, common)` and `run(args)`.
Bad input ends the process with status 1 and one line on stderr,
`kgen: error: <reason>`; a bad flag with status 2, likewise. Set
`KGEN_DEBUG=1` to see the traceback instead.

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

import keras

from kgen.cli import complete, evaluate, export, generate, stylize, train
from kgen.cli.arguments import BACKENDS, HelpFormatter, Parser
from kgen.data import DatasetDownloadError
from kgen.networks.vgg import WeightsDownloadError

SUBCOMMANDS = (train, generate, stylize, complete, evaluate, export)
# What bad input raises; anything else is a bug and keeps its traceback.
INPUT_ERRORS = (
    ValueError,
    OSError,
    ImportError,
    DatasetDownloadError,
    WeightsDownloadError,
)
EPILOG = """\
examples:
  kgen train dcgan --epochs 5                      # embedded digits, offline
  kgen generate runs/dcgan/dcgan.keras -n 64 -o samples.png
  kgen stylize photo.jpg painting.jpg -o painted.png --weights hed
  kgen complete digit.png bottom --model runs/vae/vae.keras -o completed.png
  kgen evaluate runs/dcgan/dcgan.keras --real glyphs
  kgen export runs/dcgan/dcgan.keras saved_models/dcgan

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
    try:
        _switch_backend(args.backend, argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            args.run(args)
    except KeyboardInterrupt as interrupt:
        hint = f"; {interrupt}" if str(interrupt) else ""
        parser.exit(130, f"\nkgen: interrupted{hint}\n")
    except INPUT_ERRORS as error:
        if os.environ.get("KGEN_DEBUG"):
            raise
        parser.exit(1, f"kgen: error: {_one_line(error)}\n")
    return 0


def _switch_backend(requested: str | None, argv: list[str]) -> None:
    """Re-runs this command under `requested` if Keras started on another backend.

    Keras fixes its backend when it is first imported, which importing kgen
    does; the only way to change it is a new process with `KERAS_BACKEND`.
    """
    current = keras.backend.backend()
    if requested is None or requested == current:
        return
    if importlib.util.find_spec(requested) is None:
        raise ImportError(
            f"--backend {requested} needs the {requested} package: "
            f"pip install {requested}"
        )
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


def _one_line(error: BaseException) -> str:
    """The error's message on one line (Keras' messages span several)."""
    return " ".join(str(error).split()) or type(error).__name__
