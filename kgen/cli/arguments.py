"""What every subcommand's parser shares: one-line errors, help layout, number types."""

import argparse
import math
import os
from pathlib import Path

BACKENDS = ("tensorflow", "jax", "torch")


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose usage errors are one line: `kgen: error: ...`."""

    def error(self, message):
        self.exit(2, f"kgen: error: {message} (see '{self.prog} --help')\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout and shows the defaults that say something."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        default = action.default
        if (
            "%(default)" in help_text
            or any(default is nothing for nothing in (None, False, argparse.SUPPRESS))
            or not action.option_strings
        ):
            return help_text
        return f"{help_text} (default: %(default)s)"


def add_subcommand(subparsers, name: str, module_doc: str, common, **kwargs):
    """A subparser whose help is the first line of `module_doc`, the rest its description."""
    summary, _, details = module_doc.partition("\n")
    return subparsers.add_parser(
        name,
        help=summary.rstrip("."),
        description=f"{summary}\n{details}".strip(),
        parents=[common],
        formatter_class=HelpFormatter,
        **kwargs,
    )


def positive_int(text: str) -> int:
    return _number(text, int, lambda value: value > 0, "a positive integer")


def non_negative_int(text: str) -> int:
    return _number(text, int, lambda value: value >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    return _number(text, float, lambda value: value > 0, "a positive number")


def non_negative_float(text: str) -> float:
    return _number(text, float, lambda value: value >= 0, "a non-negative number")


def fraction(text: str) -> float:
    return _number(text, float, lambda value: 0 <= value <= 1, "a number in [0, 1]")


def at_least(minimum: int):
    """The argparse type of an integer flag that must be `minimum` or more."""

    def parse(text: str) -> int:
        return _number(
            text, int, lambda value: value >= minimum, f"an integer >= {minimum}"
        )

    return parse


def _number(text, kind, valid, description):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or not valid(value):
        raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}")
    return value


def check_output_path(path, flag: str) -> None:
    """Raises unless `path` can be created: no file where a folder must be.

    Checked before any work, so that a typo in an output path fails at once
    instead of after loading or training.
    """
    path = Path(path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"{flag} '{path}' cannot be written: '{parent}' is a file, "
                    "not a folder; choose another path"
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ValueError(
                    f"{flag} '{path}' cannot be written: the folder '{parent}' "
                    "is not writable; choose another path"
                )
            return
