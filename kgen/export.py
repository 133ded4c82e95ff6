"""SavedModel and ONNX export that work from every backend.

`kgen.models.Model.export` writes the model's serving endpoints
(`export_endpoints()`: name, function, input signature; the first is also
`serving_default`). The functions name their
arguments, which become the signature's argument names. TensorFlow and JAX write them
with `keras.export.ExportArchive`. PyTorch cannot write a SavedModel, so the
model is saved as a `.keras` file and re-exported by a child Python process
running the TensorFlow backend: `.keras` weights are backend-independent, so
the served function is the same network.

ONNX files (`export_onnx`) hold one endpoint each (`decode` or `encode` of a
VAE). They are always converted from the TensorFlow backend, by `tf2onnx`:
in the process on TensorFlow, in the same TensorFlow child process on JAX and
PyTorch. Keras' own ONNX routes differ per backend and fall short for kgen's
models: on PyTorch it fixes the batch size at 1 unless TorchScript's exporter
takes the dynamic shapes, and on JAX it needs `jax2onnx`, another converter
with its own coverage. One converter gives one graph, whatever the backend
the model was trained on.

The child is also a command: `KERAS_BACKEND=tensorflow python -m kgen.export
model.keras saved_models/name` turns a `.keras` file into a SavedModel, and
`... --format onnx [--endpoint encode] model.keras name.onnx` into an ONNX
file.
"""

import argparse
import functools
import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import keras

from kgen.saving import write_bytes


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
            # On TensorFlow, add_endpoint keeps the variables the endpoints
            # read, and only those: a GAN's SavedModel holds its sampling
            # generator, not its discriminator (tracking the model would add
            # every variable, and those the endpoints read a second time).
            # JAX's endpoints run on tracked variables: the layers they read.
            if keras.backend.backend() == "jax":
                for layer in model.export_layers():
                    archive.track(layer)
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


def _export_in_tensorflow_child(model, filepath, *options):
    """Saves `model` as a `.keras` file and runs `python -m kgen.export` on it."""
    with tempfile.TemporaryDirectory() as tmp:
        keras_path = os.path.join(tmp, "model.keras")
        model.save(keras_path)
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        result = subprocess.run(
            [sys.executable, "-m", "kgen.export", *options, keras_path, str(filepath)],
            env=env,
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        kind = "the ONNX file" if options else "the SavedModel"
        raise RuntimeError(
            f"Exporting {kind} under the TensorFlow backend failed:\n"
            + result.stderr[-4000:]
        )


def endpoint_named(model, endpoint: str | None):
    """`model`'s export endpoint `(name, function, input_signature)` called
    `endpoint`, or its first (default) one for None."""
    endpoints = model.export_endpoints()
    if not endpoints:
        raise ValueError(f"{type(model).__name__} has no serving signatures to export")
    if endpoint is None:
        return endpoints[0]
    for candidate in endpoints:
        if candidate[0] == endpoint:
            return candidate
    names = ", ".join(name for name, *_ in endpoints)
    raise ValueError(
        f"{type(model).__name__} has no endpoint {endpoint!r}; choose one of {names}"
    )


def export_onnx(model, filepath, *, endpoint=None, verbose=None, opset=None):
    """Writes `model`'s export endpoint `endpoint` (default: the first) as an
    ONNX file at `filepath`.

    The ONNX graph's inputs are the endpoint's arguments (`z`, `labels`,
    `images`, `content`, `style`, `alpha`) with a dynamic `batch` axis, its
    outputs the endpoint's outputs (`images`; `mean` and `log_var`), float32
    throughout, also for a model trained with mixed precision. It holds
    no range checks (ONNX has no assertion operator): AdaIN's `alpha` is not
    checked against [0, 1] there. The file appears whole or not at all.
    Prints `ONNX file written to PATH (endpoint: generate)` unless `verbose`
    is False.
    """
    name, *_ = endpoint_named(model, endpoint)
    if importlib.util.find_spec("tf2onnx") is None:
        raise ImportError("ONNX export needs tf2onnx: pip install tf2onnx onnxruntime")
    if keras.backend.backend() == "tensorflow":
        _, function, input_signature = endpoint_named(float32_copy(model), name)
        write_bytes(filepath, _onnx_bytes(function, input_signature, opset))
    else:
        options = ["--format", "onnx", "--endpoint", name]
        if opset is not None:
            options += ["--opset", str(opset)]
        Path(filepath).parent.mkdir(parents=True, exist_ok=True)
        # The child writes the file atomically itself.
        _export_in_tensorflow_child(model, filepath, *options)
    if verbose is None or verbose:
        print(f"ONNX file written to {filepath} (endpoint: {name})")


def float32_copy(model):
    """`model`, or, if some layers compute in 16 bits (mixed precision), a
    copy of it computing in float32 with the same weights.

    tf2onnx converts 16-bit graphs into files onnxruntime refuses (a
    bfloat16 `MatMul` bound to two types); mixed precision keeps float32
    weights, so the float32 copy serves the trained model exactly.
    """
    config = keras.saving.serialize_keras_object(model)
    if not _set_float32_policies(config):
        return model
    config.pop("compile_config", None)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        twin = keras.saving.deserialize_keras_object(config)
    finally:
        keras.config.set_dtype_policy(previous)
    twin.set_weights(model.get_weights())
    return twin


def _set_float32_policies(config) -> bool:
    """Sets every 16-bit dtype policy in the serialised `config` to float32
    (in place); returns whether there was one."""
    changed = False
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy":
            name = config["config"]["name"]
            if name != "float32" and "16" in name:
                config["config"]["name"] = "float32"
                changed = True
        for value in config.values():
            changed = _set_float32_policies(value) or changed
    elif isinstance(config, list):
        for value in config:
            changed = _set_float32_policies(value) or changed
    return changed


def _onnx_bytes(function, input_signature, opset):
    """The serialised ONNX model of `function` (TensorFlow backend only)."""
    import tensorflow as tf
    import tf2onnx

    specs = [
        tf.TensorSpec(spec.shape, spec.dtype, name=spec.name)
        for spec in input_signature
    ]
    traced = tf.function(function, input_signature=specs)
    proto, _ = tf2onnx.convert.from_function(traced, input_signature=specs, opset=opset)
    # tf2onnx calls every unknown dimension `unk__N`; the leading one is the batch.
    for value in [*proto.graph.input, *proto.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = "batch"
    return proto.SerializeToString()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m kgen.export",
        description="Exports a .keras file as a SavedModel or an ONNX file "
        "(run with KERAS_BACKEND=tensorflow).",
    )
    parser.add_argument("model", help="the .keras file")
    parser.add_argument("output", help="the SavedModel directory or .onnx file")
    parser.add_argument("--format", choices=("tf_saved_model", "onnx"))
    parser.add_argument("--endpoint", help="the endpoint an ONNX file holds")
    parser.add_argument("--opset", type=int, help="the ONNX opset")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("run with KERAS_BACKEND=tensorflow")
    import kgen.models  # noqa: F401  (registers kgen's classes for loading)

    model = keras.saving.load_model(args.model, compile=False)
    if args.format == "onnx":
        export_onnx(
            model, args.output, endpoint=args.endpoint, verbose=False, opset=args.opset
        )
    else:
        export_saved_model(model, args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
