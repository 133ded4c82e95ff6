"""Every model's SavedModel serves its named signatures in a process without kgen.

Each model is exported on the backend under test (PyTorch through the
TensorFlow child process). A separate Python process that imports only NumPy
and TensorFlow reloads every SavedModel with `tf.saved_model.load`, calls each
named function and `serving_default`, feeds inputs the signatures must reject,
and writes what it saw; the outputs must equal the Keras models'.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from keras import ops
from tiny_models import LATENT_DIM, tiny_adain, tiny_model

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(3, LATENT_DIM)).astype("float32")
LABELS = np.array([2, 0, 1], dtype="int32")
DIGITS = RNG.uniform(-1, 1, (3, 28, 28, 1)).astype("float32")
CONTENT = RNG.uniform(0, 1, (2, 16, 24, 3)).astype("float32")
STYLE = RNG.uniform(0, 1, (2, 32, 16, 3)).astype("float32")
ALPHA = np.array([[1.0], [0.4]], dtype="float32")

# model: {signature: {argument: input}}; SERVER derives the rejected variants.
SIGNATURES = {
    "gan": {"generate": {"z": Z}},
    "dcgan": {"generate": {"z": Z}},
    "cgan": {"generate": {"z": Z, "labels": LABELS}},
    "vae": {"decode": {"z": Z}, "encode": {"images": DIGITS}},
    "adain": {"stylize": {"content": CONTENT, "style": STYLE, "alpha": ALPHA}},
}
DEFAULT_SIGNATURE = {
    "gan": "generate",
    "dcgan": "generate",
    "cgan": "generate",
    "vae": "decode",
    "adain": "stylize",
}

SERVER = r"""
import json, sys
import numpy as np
import tensorflow as tf

spec = json.loads(sys.argv[1])
inputs = np.load(spec["inputs"])
results = {}
for model, signatures in spec["models"].items():
    served = tf.saved_model.load(spec["dirs"][model])
    for name, arguments in signatures.items():
        feed = {a: tf.constant(inputs[f"{model}.{name}.{a}"]) for a in arguments}
        outputs = getattr(served, name)(**feed)
        for key, value in outputs.items():
            results[f"{model}.{name}.{key}"] = value.numpy()
        # Signatures check dtype and rank before running anything.
        first = arguments[0]
        for bad, value in {
            "float64": inputs[f"{model}.{name}.{first}"].astype("float64"),
            "rank": inputs[f"{model}.{name}.{first}"][None],
        }.items():
            try:
                served.signatures[name](**{**feed, first: tf.constant(value)})
            except (TypeError, ValueError, tf.errors.InvalidArgumentError):
                results[f"{model}.{name}.rejects_{bad}"] = np.array(True)
    default = served.signatures["serving_default"]
    arguments = spec["default"][model]
    feed = {a: tf.constant(inputs[f"{model}.{arguments[0]}.{a}"]) for a in arguments[1]}
    for key, value in default(**feed).items():
        results[f"{model}.serving_default.{key}"] = value.numpy()
results["kgen_imported"] = np.array("kgen" in sys.modules)
np.savez(spec["outputs"], **results)
"""


def _models(vgg16_weights):
    models = {name: tiny_model(name, conv=True) for name in ("gan", "dcgan", "cgan")}
    models["vae"] = tiny_model("vae")
    models["adain"] = tiny_adain(vgg16_weights, randomize=True)
    return models


def _expected(name, model):
    if name == "adain":
        images = model([CONTENT, STYLE, ALPHA])
        return {"stylize.images": ops.convert_to_numpy(images)}
    if name == "vae":
        mean, log_var = model.encode(DIGITS)
        return {
            "decode.images": model.decode(Z),
            "encode.mean": mean,
            "encode.log_var": log_var,
        }
    labels = {"labels": LABELS} if name == "cgan" else {}
    return {"generate.images": model.generate(z=Z, **labels)}


@pytest.fixture(scope="module")
def served(vgg16_weights, tmp_path_factory):
    """`(models, outputs)`: the Keras models and what the TF-only process served."""
    root = tmp_path_factory.mktemp("serving")
    models = _models(vgg16_weights)
    dirs = {}
    for name, model in models.items():
        dirs[name] = str(root / name)
        model.export(dirs[name], verbose=False)
    inputs = {
        f"{model}.{signature}.{argument}": value
        for model, signatures in SIGNATURES.items()
        for signature, arguments in signatures.items()
        for argument, value in arguments.items()
    }
    np.savez(root / "inputs.npz", **inputs)
    spec = {
        "inputs": str(root / "inputs.npz"),
        "outputs": str(root / "outputs.npz"),
        "dirs": dirs,
        "models": {
            model: {name: list(arguments) for name, arguments in signatures.items()}
            for model, signatures in SIGNATURES.items()
        },
        "default": {
            model: [name, list(SIGNATURES[model][name])]
            for model, name in DEFAULT_SIGNATURE.items()
        },
    }
    result = subprocess.run(
        [sys.executable, "-c", SERVER, json.dumps(spec)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return models, dict(np.load(root / "outputs.npz"))


def test_the_serving_process_never_imports_kgen(served):
    _, outputs = served
    assert not outputs["kgen_imported"]


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_named_signatures_serve_what_the_keras_model_computes(served, name):
    models, outputs = served
    for key, expected in _expected(name, models[name]).items():
        # Backends round convolutions differently (PyTorch vs TensorFlow: 2e-4).
        np.testing.assert_allclose(
            outputs[f"{name}.{key}"], expected, rtol=1e-3, atol=1e-4, err_msg=key
        )
    # serving_default is the first named signature.
    default = DEFAULT_SIGNATURE[name]
    np.testing.assert_array_equal(
        outputs[f"{name}.serving_default.images"], outputs[f"{name}.{default}.images"]
    )


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_signatures_reject_the_wrong_dtype_and_rank(served, name):
    _, outputs = served
    for signature in SIGNATURES[name]:
        assert outputs.get(f"{name}.{signature}.rejects_float64"), signature
        assert outputs.get(f"{name}.{signature}.rejects_rank"), signature
