"""SavedModel export that works from every backend.

`kgen.models.Model.export` writes the model's serving endpoints
(`export_endpoints()`: name, function, input signature; the first is also
`serving_default`). The functions name their
arguments, which become the signature's argument names. TensorFlow and JAX write them
with `keras.export.ExportArchive`. PyTorch cannot write a SavedModel, so the
model is saved as a `.keras` file and re-exported by a child Python process
running the TensorFlow backend: `.keras` weights are backend-independent, so
the served function is the same network.

The child is also a command: `KERAS_BACKEND=tensorflow python -m kgen.export
model.keras saved_models/name` turns a `.keras` file into a SavedModel.
"""

import functools
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import keras


def export_saved_model(model, filepath, verbose=None):
    """Writes `model.export_endpoints()` as a SavedModel at `filepath`.

    Prints `SavedModel written to DIR (signatures: generate, serving_default)`
    unless `verbose` is False (None means True, as in `keras.Model.export`).
    """
    endpoints = model.export_endpoints()
    target = Path(filepath)
    # Written beside the target, then swapped in: a crash while writing
    # leaves the previous SavedModel whole, never its .pb with new variables.
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    ranges = model.export_input_ranges()
    try:
        # The range checks are TensorFlow ops, which JAX's jax2tf-converted
        # endpoints cannot hold: such models are traced by TensorFlow, as
        # PyTorch's always are.
        if keras.backend.backend() == "torch" or (
            ranges and keras.backend.backend() == "jax"
        ):
            _export_in_tensorflow_child(model, partial)
        else:
            archive = keras.export.ExportArchive()
            # Track the model once: every endpoint runs on its variables
            # (tracking a sub-network again would duplicate them on JAX).
            archive.track(model)
            for name, function, input_signature in endpoints:
                if ranges:
                    function = _with_range_checks(function, ranges)
                archive.add_endpoint(name, function, input_signature)
            # Keras' verbose output lists every captured tensor: a dozen lines.
            archive.write_out(str(partial), verbose=False)
        replace_directory(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    if verbose is None or verbose:
        names = ", ".join([name for name, *_ in endpoints] + ["serving_default"])
        print(f"SavedModel written to {filepath} (signatures: {names})")


def _with_range_checks(function, ranges):
    """`function` preceded by TensorFlow checks of the arguments in `ranges`.

    The wrapper keeps `function`'s argument names (`functools.wraps`), which
    become the signature's.
    """
    import tensorflow as tf

    names = list(inspect.signature(function).parameters)

    @functools.wraps(function)
    def checked(*args):
        checks = []
        for name, value in zip(names, args, strict=True):
            if name not in ranges:
                continue
            low, high = ranges[name]
            message = f"{name} must be a finite number in [{low}, {high}]"
            # NaN fails both comparisons' negations: x >= low and x <= high
            # are False for NaN, so the assertion below catches it too.
            inside = tf.logical_and(value >= low, value <= high)
            checks.append(tf.debugging.Assert(tf.reduce_all(inside), [message]))
        with tf.control_dependencies(checks):
            return function(*args)

    return checked


def replace_directory(source: Path, target: Path) -> None:
    """Moves the finished directory `source` to `target`, replacing what is there.

    Two renames on one file system: the old directory steps aside, the new
    one takes its place, then the old one is deleted. A crash between the
    renames leaves the old one whole under `.<name>.old-<pid>` beside it.
    """
    if not target.exists():
        os.replace(source, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(target, old)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)


def _export_in_tensorflow_child(model, filepath):
    with tempfile.TemporaryDirectory() as tmp:
        keras_path = os.path.join(tmp, "model.keras")
        model.save(keras_path)
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        result = subprocess.run(
            [sys.executable, "-m", "kgen.export", keras_path, str(filepath)],
            env=env,
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise RuntimeError(
            "Exporting the SavedModel under the TensorFlow backend failed:\n"
            + result.stderr[-4000:]
        )


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m kgen.export MODEL.keras SAVED_MODEL_DIR")
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("run with KERAS_BACKEND=tensorflow")
    import kgen.models  # noqa: F401  (registers kgen's classes for loading)

    model = keras.saving.load_model(argv[0], compile=False)
    export_saved_model(model, argv[1])


if __name__ == "__main__":
    main(sys.argv[1:])
