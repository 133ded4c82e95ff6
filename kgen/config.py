"""Command-line flags from a recipe's config dataclass.

Every recipe declares its settings once, as a dataclass with defaults;
`parse_config` turns the fields into flags (`latent_dim` -> `--latent-dim`) so
the script, its tests and users share one source of truth. Help comes from a
field's `metadata["help"]`, or from `COMMON_HELP` for the flags all recipes have.

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
import types
import typing

# Help for the flags every recipe shares; a field's own `metadata["help"]` wins.
COMMON_HELP = {
    "dataset": "TFDS name, MNIST IDX images file, image folder, or 'glyphs' (embedded)",
    "epochs": "training epochs",
    "batch_size": "examples per batch",
    "output_dir": "where samples, the .keras file and the SavedModel go",
    "limit": "use at most this many training images",
    "seed": "seed of the data order and the noise",
}


def _flag_type(annotation):
    """The callable that parses a flag for `annotation` (`int`, `int | None`, ...)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    return annotation


def parse_config(
    config_cls, argv: list[str] | None = None, description: str | None = None
):
    """Parses `argv` (default: `sys.argv[1:]`) into an instance of `config_cls`."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        flag = "--" + field.name.replace("_", "-")
        kind = _flag_type(hints[field.name])
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=field.default
            )
        else:
            parser.add_argument(
                flag,
                type=kind,
                default=field.default,
                help=field.metadata.get("help", COMMON_HELP.get(field.name)),
            )
    return config_cls(**vars(parser.parse_args(argv)))
