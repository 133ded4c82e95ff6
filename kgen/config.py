"""Command-line flags from a recipe's config dataclass.

Every recipe declares its settings once, as a dataclass with defaults and a
`# comment`-free field list; `parse_config` turns the fields into flags
(`latent_dim` -> `--latent-dim`) so the script, its tests and users share one
source of truth.

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
                flag, type=kind, default=field.default, help=field.metadata.get("help")
            )
    return config_cls(**vars(parser.parse_args(argv)))
