"""SavedModel export that works from every backend.

TensorFlow and JAX export directly with `keras.Model.export`. PyTorch cannot
write a SavedModel, so the model is saved as a `.keras` file and re-exported by a
child Python process running the TensorFlow backend: `.keras` weights are
backend-independent, so the served function is the same network.

The child is also a command: `KERAS_BACKEND=tensorflow python -m kgen.export
model.keras saved_models/name` turns a `.keras` file into a SavedModel.
"""

import os
import subprocess
import sys
import tempfile

import keras


def export_saved_model(model, filepath, format="tf_saved_model", **kwargs):
    """Calls `keras.Model.export`, through a TensorFlow child under PyTorch."""
    if format != "tf_saved_model" or keras.backend.backend() != "torch":
        keras.Model.export(model, str(filepath), format=format, **kwargs)
        return
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
    if kwargs.get("verbose", True) is not False:
        print(f"Saved artifact at '{filepath}' (exported by a TensorFlow process).")


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m kgen.export MODEL.keras SAVED_MODEL_DIR")
    if keras.backend.backend() != "tensorflow":
        raise SystemExit("run with KERAS_BACKEND=tensorflow")
    import kgen  # noqa: F401  (registers kgen's classes for loading)

    model = keras.saving.load_model(argv[0], compile=False)
    model.export(argv[1], verbose=False)


if __name__ == "__main__":
    main(sys.argv[1:])
