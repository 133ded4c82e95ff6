"""Crash-safe writing: every file kgen writes appears whole or not at all.

Files are written to a temporary sibling (same directory, so the same file
system) and renamed into place with `os.replace`, which is atomic: a crash
while writing leaves the previous file, never a truncated one. Directories
(SavedModels) are swapped in with two renames (`kgen.export.replace_directory`).

Models are also checked before they are written: a model whose weights hold
NaN or inf is refused unless the caller says it wants it anyway, so a
diverged run cannot overwrite good work with garbage.

```python
with kgen.saving.atomic_path("grid.png") as partial:
    image.save(partial)  # becomes grid.png only once save() returned
kgen.saving.check_finite_weights(model)  # raises on NaN or inf weights
```
"""

import contextlib
import os
from pathlib import Path

import keras
import numpy as np


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary sibling of `path` to write; renames it to `path` on success.

    The sibling keeps `path`'s suffixes (`.keras`, `.weights.h5`, `.png`), which
    some writers check. On an exception it is deleted and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


def write_bytes(path, payload: bytes) -> Path:
    """Writes `payload` to `path` atomically; returns `path`."""
    with atomic_path(path) as partial:
        partial.write_bytes(payload)
    return Path(path)


def non_finite_weights(model: keras.Model) -> list[str]:
    """Paths of `model`'s variables that hold NaN or inf (empty if none)."""
    return [
        variable.path
        for variable in model.weights
        if "float" in str(variable.dtype)
        and not np.all(np.isfinite(keras.ops.convert_to_numpy(variable.value)))
    ]


def check_finite_weights(model: keras.Model, action: str = "save") -> None:
    """Raises a `ValueError` naming the variables if any weight is NaN or inf."""
    bad = non_finite_weights(model)
    if bad:
        shown = ", ".join(bad[:3]) + (
            f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        )
        raise ValueError(
            f"Refusing to {action} {model.name}: its weights hold NaN or inf "
            f"({shown}), so training diverged; lower the learning rate and "
            f"resume from the last good checkpoint, or pass "
            f"allow_non_finite=True to {action} it anyway"
        )


def is_local_path(filepath) -> bool:
    """Whether `filepath` names a local file (not a `gs://`-style remote one)."""
    return isinstance(filepath, (str, os.PathLike)) and "://" not in os.fspath(filepath)
