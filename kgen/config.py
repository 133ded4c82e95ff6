"""Command-line flags from a settings dataclass: each setting declared once.

A run's settings are one dataclass (`kgen.recipes` holds one per task). Each
field is a setting, declared with `setting(default, help, ...)`: its type
annotation, default, help text, choices and range check live there, and
`kgen.config` derives the rest. `parse_config` turns the fields into a
recipe's flags (`latent_dim` -> `--latent-dim`); `add_config_arguments` adds
the same flags to any `argparse` parser, which is how `kgen train MODEL` and
`kgen stylize` are built; `from_args` reads them back into the dataclass.

A subclass that only changes a default (`epochs: int = 50`) keeps the help,
check and choices its base declared. Metadata keys (`setting` fills them in):
`help`; `choices`; `check` (`"positive"` or `"non-negative"`); `type` (any
argparse type function, instead of the check); `positional`; `short` (e.g.
`"-o"`); `metavar`; `group` (a help section). A `list[...]` field takes one or
more values; a `bool` field is a `--name` / `--no-name` pair.

Numbers are checked as they are parsed, so `--epochs -1` stops at once with a
usage error. Without a `check`, integers must be positive (non-negative for
`NON_NEGATIVE_INTS`, where 0 means none, and where the default is 0) and
floats finite and non-negative (positive for `POSITIVE_FLOATS`).

Example:

```python
@dataclasses.dataclass
class Config:
    dataset: str = kgen.config.setting("glyphs", "dataset name or path")
    epochs: int = kgen.config.setting(20, "passes over the data")

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

# Help for fields declared without any (plain `epochs: int = 20`); a field's
# own `metadata["help"]`, or its base class's, wins.
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

# Integer fields where 0 means something (none, skip); other integers are > 0.
NON_NEGATIVE_INTS = ("seed", "held_out", "quality_samples")
# Float fields that must be positive, not merely non-negative.
POSITIVE_FLOATS = ("learning_rate", "style_scale", "time_budget")
CHECKS = ("positive", "non-negative")


def setting(
    default=dataclasses.MISSING,
    help: str | None = None,
    *,
    default_factory=dataclasses.MISSING,
    choices: tuple | None = None,
    check: str | None = None,
    type=None,
    positional: bool = False,
    short: str | None = None,
    metavar: str | None = None,
    group: str | None = None,
):
    """A dataclass field that is also a flag: its default, help and checks.

    Args:
        default: the default value (or `default_factory`, for lists).
        help: what the setting does, shown by `--help`.
        choices: the allowed values.
        check: `"positive"` or `"non-negative"`, for a number whose default
            rule (see the module) does not fit.
        type: an argparse type function, instead of the number check.
        positional: a positional argument instead of a `--flag`.
        short: a short flag too, e.g. `"-o"`.
        metavar: the value's name in `--help`, e.g. `"SECONDS"`.
        group: the `--help` section the flag is listed in.
    """
    if check is not None and check not in CHECKS:
        raise ValueError(f"check must be one of {CHECKS}, got {check!r}")
    given = dict(
        help=help,
        choices=choices,
        check=check,
        type=type,
        positional=positional or None,
        short=short,
        metavar=metavar,
        group=group,
    )
    metadata = {key: value for key, value in given.items() if value is not None}
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata=metadata
    )


class _HelpFormatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Shows defaults, and keeps the recipe docstring's command examples as laid out."""


def metadata(config_cls, name: str) -> dict:
    """A field's metadata, merged with what its base classes declared for it.

    A subclass that redeclares a field to change its default keeps the help,
    choices and checks of the base class's declaration.
    """
    merged = {}
    for cls in reversed(config_cls.__mro__):
        fields = getattr(cls, "__dataclass_fields__", {})
        if name in fields:
            merged.update(fields[name].metadata)
    return merged


def default(field: dataclasses.Field):
    """The field's default value, calling its `default_factory` if it has one."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def _checked(name, kind, default_value, meta):
    """The argparse `type` of a field: `kind`, with its range checked for numbers."""
    from kgen.cli import arguments

    if "type" in meta:
        return meta["type"]
    check = meta.get("check")
    if kind is int:
        if check is None:
            non_negative = name in NON_NEGATIVE_INTS or default_value == 0
            check = "non-negative" if non_negative else "positive"
        return (
            arguments.positive_int
            if check == "positive"
            else arguments.non_negative_int
        )
    if kind is float:
        if check is None:
            check = "positive" if name in POSITIVE_FLOATS else "non-negative"
        return (
            arguments.positive_float
            if check == "positive"
            else arguments.non_negative_float
        )
    return kind


def _flag_type(annotation):
    """`(parse, nargs)` of a flag for `annotation` (`int`, `int | None`, `list[str]`)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return item, "+"
    return annotation, None


def add_config_arguments(
    parser: argparse.ArgumentParser,
    config_cls,
    *,
    defaults: dict | None = None,
    required: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> argparse.ArgumentParser:
    """Adds one flag (or positional argument) per field of `config_cls` to `parser`.

    Args:
        parser: an `argparse` parser or subparser.
        config_cls: the settings dataclass.
        defaults: other defaults than the dataclass's, by field name, e.g.
            `{"output_dir": "runs/dcgan"}` for `kgen train dcgan`.
        required: fields whose flag must be given (no default).
        exclude: fields the parser has already (e.g. a shared `--overwrite`);
            `from_args` still reads them.

    Returns:
        `parser`.
    """
    defaults = defaults or {}
    names = {field.name for field in dataclasses.fields(config_cls)}
    unknown = (set(defaults) | set(required) | set(exclude)) - names
    if unknown:
        raise ValueError(f"{config_cls.__name__} has no field {sorted(unknown)}")
    hints = typing.get_type_hints(config_cls)
    groups = {}
    for field in dataclasses.fields(config_cls):
        if field.name in exclude:
            continue
        meta = metadata(config_cls, field.name)
        value = defaults.get(field.name, default(field))
        kind, nargs = _flag_type(hints[field.name])
        options = dict(help=meta.get("help", COMMON_HELP.get(field.name)))
        if "metavar" in meta:
            options["metavar"] = meta["metavar"]
        if "group" in meta:
            title = meta["group"]
            target = groups.get(title) or groups.setdefault(
                title, parser.add_argument_group(title)
            )
        else:
            target = parser
        if meta.get("positional"):
            parse = _checked(field.name, kind, value, meta)
            target.add_argument(
                field.name,
                type=parse,
                nargs=nargs,
                choices=meta.get("choices"),
                **options,
            )
            continue
        flags = ["--" + field.name.replace("_", "-")]
        if "short" in meta:
            flags.insert(0, meta["short"])
        if field.name in required:
            options["required"] = True
        else:
            options["default"] = value
        if kind is bool:
            target.add_argument(
                *flags,
                action=argparse.BooleanOptionalAction,
                dest=field.name,
                **options,
            )
            continue
        target.add_argument(
            *flags,
            type=_checked(field.name, kind, value, meta),
            nargs=nargs,
            choices=meta.get("choices"),
            dest=field.name,
            **options,
        )
    return parser


def from_args(config_cls, args: argparse.Namespace):
    """The `config_cls` instance of parsed arguments: its fields, nothing else.

    Fields missing from `args` keep the dataclass's defaults.
    """
    values = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(config_cls)
        if hasattr(args, field.name)
    }
    return config_cls(**values)


def parse_config(
    config_cls, argv: list[str] | None = None, description: str | None = None
):
    """Parses `argv` (default: `sys.argv[1:]`) into an instance of `config_cls`."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=_HelpFormatter
    )
    add_config_arguments(parser, config_cls)
    return from_args(config_cls, parser.parse_args(argv))


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
