"""Every model's SavedModel serves its named signatures in a process without kgen.

Each model is exported on the backend under test (PyTorch through the
TensorFlow child process). A separate Python process that imports only NumPy
and TensorFlow, with kgen and Keras made unimportable, reloads every SavedModel
with `tf.saved_model.load`, calls each named function and `serving_default`,
feeds inputs the signatures must reject, and writes what it saw; the outputs
must equal the Keras models'.

TensorFlow imports Keras when it starts, if Keras is installed, and Keras then
imports its `KERAS_BACKEND`: PyTorch, and with PyTorch's CUDA build triton,
whose libraries crash when loaded after TensorFlow's. Serving needs none of
them, so the serving processes here block Keras, whatever `KERAS_BACKEND` says.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

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

# Run first in every serving process: kgen and Keras cannot be imported there.
UNIMPORTABLE = """
import sys
sys.modules["kgen"] = None
sys.modules["keras"] = None
"""
# The modules a serving process must not have imported.
NOT_SERVING = ("keras", "kgen", "torch")

SERVER = (
    UNIMPORTABLE
    + r"""
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
        # The functions check dtype and rank before running anything. (The
        # raw signatures check dtypes only: TF 2.21 hands a rank-5 `content`
        # to AdaIN's graph, whose convolutions take extra leading batch axes.)
        first = arguments[0]
        for bad, value in {
            "float64": inputs[f"{model}.{name}.{first}"].astype("float64"),
            "rank": inputs[f"{model}.{name}.{first}"][None],
        }.items():
            try:
                getattr(served, name)(**{**feed, first: tf.constant(value)})
            except (TypeError, ValueError, tf.errors.InvalidArgumentError):
                results[f"{model}.{name}.rejects_{bad}"] = np.array(True)
            try:
                served.signatures[name](**{**feed, first: tf.constant(value)})
            except (TypeError, ValueError, tf.errors.InvalidArgumentError):
                results[f"{model}.{name}.signature_rejects_{bad}"] = np.array(True)
    default = served.signatures["serving_default"]
    arguments = spec["default"][model]
    feed = {a: tf.constant(inputs[f"{model}.{arguments[0]}.{a}"]) for a in arguments[1]}
    for key, value in default(**feed).items():
        results[f"{model}.serving_default.{key}"] = value.numpy()
imported = [name for name in spec["not_serving"] if sys.modules.get(name) is not None]
results["imported"] = np.array(imported, dtype=str)
np.savez(spec["outputs"], **results)
"""
)


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
    """`(models, outputs, dirs)`: the Keras models, what the TF-only process
    served and the SavedModels' directories."""
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
        "not_serving": NOT_SERVING,
    }
    result = subprocess.run(
        [sys.executable, "-c", SERVER, json.dumps(spec)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return models, dict(np.load(root / "outputs.npz")), dirs


def test_the_serving_process_imports_neither_keras_nor_kgen(served):
    _, outputs, _ = served
    assert list(outputs["imported"]) == []


@pytest.mark.parametrize("keras_backend", ["jax", "torch"])
def test_saved_models_load_whatever_keras_backend_is_set(served, keras_backend):
    models, _, dirs = served
    script = UNIMPORTABLE + (
        "import numpy as np, tensorflow as tf\n"
        "served = tf.saved_model.load(sys.argv[1])\n"
        "images = served.generate(np.load(sys.argv[2]))['images'].numpy()\n"
        "np.save(sys.argv[2], images)\n"
        "print(' '.join(m for m in sys.argv[3:] if sys.modules.get(m) is not None))\n"
    )
    z_file = Path(dirs["dcgan"]).parent / f"z_{keras_backend}.npy"
    np.save(z_file, Z)
    result = subprocess.run(
        [sys.executable, "-c", script, dirs["dcgan"], str(z_file), *NOT_SERVING],
        capture_output=True,
        text=True,
        env=dict(os.environ, KERAS_BACKEND=keras_backend),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "", f"imported {result.stdout}"
    np.testing.assert_allclose(
        np.load(z_file), models["dcgan"].generate(z=Z), rtol=1e-3, atol=1e-4
    )


@pytest.mark.skipif(
    importlib.util.find_spec("triton") is None,
    reason="triton (PyTorch's CUDA build) is not installed",
)
def test_kgen_on_torch_serves_saved_models_with_triton_installed(served, tmp_path):
    # Keras (PyTorch, triton) loads before TensorFlow in a kgen process: the
    # order that does not crash.
    _, _, dirs = served
    result = subprocess.run(
        [sys.executable, "-m", "kgen.cli", "generate", dirs["dcgan"], "-n", "4"]
        + ["--seed", "0", "-o", str(tmp_path / "grid.png")],
        capture_output=True,
        text=True,
        env=dict(os.environ, KERAS_BACKEND="torch"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "grid.png").is_file()


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_named_signatures_serve_what_the_keras_model_computes(served, name):
    models, outputs, _ = served
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
    _, outputs, _ = served
    for signature in SIGNATURES[name]:
        assert outputs.get(f"{name}.{signature}.rejects_float64"), signature
        assert outputs.get(f"{name}.{signature}.rejects_rank"), signature
        assert outputs.get(f"{name}.{signature}.signature_rejects_float64"), signature


def test_served_adain_refuses_alpha_outside_zero_one(served):
    _, _, dirs = served
    script = UNIMPORTABLE + (
        "import numpy as np, tensorflow as tf\n"
        "served = tf.saved_model.load(sys.argv[1])\n"
        "stylize = served.stylize\n"
        "content, style = np.load(sys.argv[2]), np.load(sys.argv[3])\n"
        "for alpha in (2.0, -0.5, float('nan'), 0.5):\n"
        "    try:\n"
        "        out = stylize(content=content, style=style,\n"
        "                      alpha=np.full((len(content), 1), alpha, 'float32'))\n"
        "        print(alpha, 'ok', bool(np.isfinite(out['images'].numpy()).all()))\n"
        "    except tf.errors.InvalidArgumentError as error:\n"
        "        print(alpha, 'refused', 'alpha must be a finite number in [0.0, 1.0]'\n"
        "              in error.message)\n"
    )
    root = Path(dirs["adain"]).parent
    np.save(root / "content.npy", CONTENT)
    np.save(root / "style.npy", STYLE)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            dirs["adain"],
            str(root / "content.npy"),
            str(root / "style.npy"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[:4] == [
        "2.0 refused True",
        "-0.5 refused True",
        "nan refused True",
        "0.5 ok True",
    ]


@pytest.mark.parametrize("name", ["gan", "dcgan", "cgan"])
def test_gan_saved_models_hold_the_sampling_generator_and_nothing_else(served, name):
    import tensorflow as tf

    models, _, dirs = served
    saved = tf.train.load_checkpoint(f"{dirs[name]}/variables/variables")
    shapes = saved.get_variable_to_shape_map()
    shapes.pop("_CHECKPOINTABLE_OBJECT_GRAPH")
    # Neither the discriminator nor a second copy of any generator variable.
    want = [v.shape for v in models[name].sampling_generator.variables]
    assert sorted(map(tuple, shapes.values())) == sorted(map(tuple, want))
