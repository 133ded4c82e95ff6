"""Command-line flags from a recipe's config dataclass.

Every recipe declares its settings once, as a dataclass with defaults;
`parse_config` turns the fields into flags (`latent_dim` -> `--latent-dim`) so
the script, its tests and users share one source of truth. Help comes from a
field's `metadata["help"]`, or from `COMMON_HELP` for the flags all recipes have.
A field with `metadata["positional"]` is a positional argument instead, one with
`metadata["short"]` (e.g. `"-o"`) also gets that short flag, and a `list[...]`
field takes one or more values.

Numbers are checked as they are parsed, so `--epochs -1` stops at once with a
usage error: integers must be positive (non-negative for `NON_NEGATIVE_INTS`,
where 0 means none, and where the default is 0), floats finite and
non-negative (positive for `POSITIVE_FLOATS`). `metadata["type"]` overrides
the check with any argparse type function.

Example:

```python
@dataclasses.dataclass
class Config:
    dataset: str = "glyphs"
    epochs: int = 20

config = kgen.config.parse_config(Config, ["--epochs", "3"])
```
"""

import argparse
import dataclasses
import os
import sys
import types
import typing

from kgen import errors

# Help for the flags every recipe shares; a field's own `metadata["help"]` wins.
COMMON_HELP = {
    "dataset": "TFDS name, MNIST IDX images file, image folder, or 'glyphs' (embedded)",
    "epochs": "training epochs",
    "batch_size": "examples per batch",
    "output_dir": "where samples, the .keras file and the SavedModel go",
    "limit": "use at most this many training images",
    "held_out": "digits kept apart to score the model on (0: none)",
    "quality_samples": "generated digits scored against the held-out ones at the "
    "end: kgen FID and class coverage (0: skip)",
    "time_budget": "stop training after this many seconds, at a step boundary; "
    "the model is still saved and exported",
    "seed": "seed of the data order and the noise",
    "overwrite": "replace a finished run (or output file) instead of stopping; "
    "without it a finished run is never written over",
    "verbose": "show the frameworks' start-up logs (TensorFlow, CUDA, absl)",
}


class _HelpFormatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Shows defaults, and keeps the recipe docstring's command examples as laid out."""


# Integer fields where 0 means something (none, skip); other integers are > 0.
NON_NEGATIVE_INTS = ("seed", "held_out", "quality_samples")
# Float fields that must be positive, not merely non-negative.
POSITIVE_FLOATS = ("learning_rate", "style_scale", "time_budget")


def _checked(name, kind, default, metadata):
    """The argparse `type` of a field: `kind`, with its range checked for numbers."""
    from kgen.cli import arguments

    if "type" in metadata:
        return metadata["type"]
    if kind is int:
        if name in NON_NEGATIVE_INTS or default == 0:
            return arguments.non_negative_int
        return arguments.positive_int
    if kind is float:
        if name in POSITIVE_FLOATS:
            return arguments.positive_float
        return arguments.non_negative_float
    return kind


def _flag_type(annotation):
    """`(parse, nargs)` of a flag for `annotation` (`int`, `int | None`, `list[str]`)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return item, "+"
    return annotation, None


def parse_config(
    config_cls, argv: list[str] | None = None, description: str | None = None
):
    """Parses `argv` (default: `sys.argv[1:]`) into an instance of `config_cls`."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=_HelpFormatter
    )
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        kind, nargs = _flag_type(hints[field.name])
        parse = _checked(field.name, kind, field.default, field.metadata)
        help_text = field.metadata.get("help", COMMON_HELP.get(field.name))
        if field.metadata.get("positional"):
            parser.add_argument(field.name, type=parse, nargs=nargs, help=help_text)
            continue
        flags = ["--" + field.name.replace("_", "-")]
        if "short" in field.metadata:
            flags.insert(0, field.metadata["short"])
        if kind is bool:
            parser.add_argument(
                *flags,
                action=argparse.BooleanOptionalAction,
                default=field.default,
                help=help_text,
            )
        else:
            parser.add_argument(
                *flags,
                type=parse,
                nargs=nargs,
                default=field.default,
                help=help_text,
                dest=field.name,
            )
    return config_cls(**vars(parser.parse_args(argv)))


def run(main, config_cls, description: str | None = None, argv=None):
    """A recipe's `__main__`: parses the flags and runs `main(config)`.

    Bad input (a missing file, a finished run without `--overwrite`, a
    diverged run; see `kgen.errors`) ends the script with one line,
    `<script>: error: <reason>`, and exit status 1, as the `kgen` command
    does; `KGEN_DEBUG=1` shows the traceback.

    Example:

    ```python
    if __name__ == "__main__":
        kgen.config.run(main, Config, __doc__)
    ```
    """
    config = parse_config(config_cls, argv, description=description)
    try:
        return main(config)
    except Exception as error:
        if errors.show_traceback() or not errors.is_input_error(error):
            raise
        program = os.path.basename(sys.argv[0]) if sys.argv else "recipe"
        print(f"{program}: error: {errors.one_line(error)}", file=sys.stderr)
        raise SystemExit(1) from None
