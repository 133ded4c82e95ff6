"""ONNX files of every exportable model run in onnxruntime as the Keras model does.

On TensorFlow the models are converted in this process; on JAX and PyTorch
the model is saved as `.keras` and converted by the same code in a
TensorFlow child process (`kgen.export`), one per file, which costs 20-30 s
each: those backends check the route with one model each (JAX a conditional
GAN's two inputs, one of them int32 labels; PyTorch a VAE encoder's two
outputs), TensorFlow the conversion of every model.
"""

import keras
import numpy as np
import onnxruntime
import pytest
from keras import ops
from tiny_models import LATENT_DIM, tiny_adain, tiny_model

import kgen
from kgen.cli import main

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(3, LATENT_DIM)).astype("float32")
LABELS = np.array([2, 0, 1], dtype="int32")
DIGITS = RNG.uniform(-1, 1, (3, 28, 28, 1)).astype("float32")
CONTENT = RNG.uniform(0, 1, (2, 16, 24, 3)).astype("float32")
STYLE = RNG.uniform(0, 1, (2, 32, 16, 3)).astype("float32")
ALPHA = np.array([[1.0], [0.4]], dtype="float32")

IN_CHILD = keras.backend.backend() != "tensorflow"
# (model, endpoint) exported through the TensorFlow child on this backend.
CHILD_CASES = {"jax": {("cgan", None)}, "torch": {("vae", "encode")}}.get(
    keras.backend.backend(), set()
)
CASES = [
    ("gan", None),
    ("dcgan", None),
    ("cgan", None),
    ("vae", None),
    ("vae", "encode"),
    ("adain", None),
]


def inputs_and_expected(name, endpoint, model):
    """`(onnxruntime feed, {output name: Keras output})`."""
    if name == "adain":
        feed = {"content": CONTENT, "style": STYLE, "alpha": ALPHA}
        return feed, {"images": model([CONTENT, STYLE, ALPHA])}
    if endpoint == "encode":
        mean, log_var = model.encode(DIGITS)
        return {"images": DIGITS}, {"mean": mean, "log_var": log_var}
    if name == "cgan":
        feed = {"z": Z, "labels": LABELS}
        return feed, {"images": model.generate(z=Z, labels=LABELS)}
    return {"z": Z}, {"images": model.generate(z=Z)}


@pytest.mark.parametrize(
    "name, endpoint",
    [
        pytest.param(
            *case,
            marks=pytest.mark.skipif(
                IN_CHILD and case not in CHILD_CASES,
                reason="converted in the TensorFlow child as on TensorFlow; "
                "another backend checks this case through the child",
            ),
        )
        for case in CASES
    ],
)
def test_onnx_file_runs_as_the_keras_model(name, endpoint, tmp_path, vgg16_weights):
    if name == "adain":
        model = tiny_adain(vgg16_weights, randomize=True)
    else:
        model = tiny_model(name, conv=name in ("dcgan", "cgan"))
    path = tmp_path / f"{name}.onnx"
    model.export(path, format="onnx", endpoint=endpoint, verbose=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    session = onnxruntime.InferenceSession(str(path))
    feed, expected = inputs_and_expected(name, endpoint, model)
    assert [i.name for i in session.get_inputs()] == list(feed)
    # The batch axis is dynamic and named.
    assert all(i.shape[0] == "batch" for i in session.get_inputs())
    outputs = [o.name for o in session.get_outputs()]
    assert sorted(outputs) == sorted(expected)
    for output, value in zip(outputs, session.run(None, feed), strict=True):
        np.testing.assert_allclose(
            value, ops.convert_to_numpy(expected[output]), rtol=1e-3, atol=2e-4
        )


@pytest.mark.skipif(IN_CHILD, reason="the TensorFlow child runs the same code")
def test_a_mixed_precision_model_exports_a_float32_graph(tmp_path):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = tiny_model("dcgan")
    finally:
        keras.config.set_dtype_policy(previous)
    model.export(tmp_path / "dcgan.onnx", format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(tmp_path / "dcgan.onnx"))
    (images,) = session.run(None, {"z": Z})
    assert images.dtype == np.float32
    # The Keras model computes in bfloat16 (8 bits of mantissa).
    np.testing.assert_allclose(images, model.generate(z=Z), atol=1e-2)


def test_export_refuses_what_it_cannot_or_may_not_write(tmp_path, capsys):
    model = tiny_model("gan")
    with pytest.raises(ValueError, match="no endpoint 'encode'; choose one"):
        model.export(tmp_path / "gan.onnx", format="onnx", endpoint="encode")
    existing = tmp_path / "existing.onnx"
    existing.write_text("keep me")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        model.export(existing, format="onnx", overwrite=False)
    assert existing.read_text() == "keep me"
    painter = kgen.StyleTransfer(backbone="vgg16", weights=None)
    with pytest.raises(ValueError, match="optimises each image at stylize"):
        painter.export(tmp_path / "gatys.onnx", format="onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.onnx"]


@pytest.mark.skipif(IN_CHILD, reason="the CLI takes the same route as model.export")
def test_kgen_export_format_onnx(tmp_path, capsys):
    model = tiny_model("cgan")
    model.save(tmp_path / "cgan.keras")
    target = tmp_path / "cgan.onnx"
    command = ["export", str(tmp_path / "cgan.keras"), str(target), "--format", "onnx"]
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert f"ONNX file written to {target} (endpoint: generate)" in printed
    session = onnxruntime.InferenceSession(str(target))
    (images,) = session.run(None, {"z": Z, "labels": LABELS})
    np.testing.assert_allclose(
        images, model.generate(z=Z, labels=LABELS), rtol=1e-3, atol=2e-4
    )
    # A second export needs --overwrite.
    with pytest.raises(SystemExit):
        main(command)
    assert "--overwrite" in capsys.readouterr().err
