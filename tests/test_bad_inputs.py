"""Bad input to every public entry point: one clear error, raised at the boundary.

Issue 12's battery. Each case gives kgen something a user could plausibly pass
by mistake (NaN hyper-parameters, 0..255 pixels, one-hot labels, an empty
dataset, a truncated JPEG, `--epochs -1`, ...) and checks the exception type
and that its message names the problem. Errors come before any training
step, so the cases run in seconds; the same file runs on every backend.
"""

import contextlib
import importlib.util
import io
import math
import re
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tiny_models import LATENT_DIM, NUM_CLASSES, tiny_adain, tiny_model

import kgen
from kgen.cli import main
from kgen.networks.validation import check_number

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = float("nan"), float("inf")


def images(n=8, low=-1.0, high=1.0, shape=(28, 28, 1)):
    rng = np.random.default_rng(0)
    return rng.uniform(low, high, (n, *shape)).astype("float32")


def with_nan(array):
    array = array.copy()
    array.flat[5] = np.nan
    return array


def compiled(name, **compile_args):
    model = tiny_model(name)
    model.compile(**compile_args)
    return model


def fit(model, x, y=None):
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)


def class_ids(n=8):
    return np.arange(n) % NUM_CLASSES


def tiny_style_transfer(**kwargs):
    # Random VGG weights: the checks run before the network is ever built.
    return kgen.StyleTransfer(backbone="vgg16", weights=None, **kwargs)


def stylize(**kwargs):
    photo = images(1, 0.0, 1.0, (16, 16, 3))[0]
    tiny_style_transfer().stylize(photo, photo, steps=1, **kwargs)


def adain_stylize(alpha):
    photo = images(1, 0.0, 1.0, (8, 8, 3))[0]
    tiny_adain().stylize(photo, photo, alpha=alpha)


def complete(model_name="vae", pixels=None, **kwargs):
    model = tiny_model(model_name)
    pixels = images(2) if pixels is None else pixels
    mask = kgen.completion.half_mask((28, 28, 1), "bottom")
    kgen.complete(model, pixels, mask, steps=1, **kwargs)


def dataset(*arrays, batch_size=4):
    return tf.data.Dataset.from_tensor_slices(arrays).batch(batch_size)


# (id, what to call, exception, what the message must name)
API_CASES = [
    # Non-finite hyper-parameters, wherever they are accepted.
    ("gan-d-lr-nan", lambda: compiled("gan", d_learning_rate=NAN), "finite"),
    ("gan-g-lr-inf", lambda: compiled("gan", g_learning_rate=INF), "finite"),
    ("gan-r1-nan", lambda: compiled("gan", r1_weight=NAN), "r1_weight"),
    ("gan-r2-nan", lambda: compiled("gan", r2_weight=NAN), "r2_weight"),
    ("gan-noise-inf", lambda: compiled("gan", instance_noise=INF), "instance_noise"),
    ("gan-smoothing-nan", lambda: compiled("gan", label_smoothing=NAN), "finite"),
    ("dcgan-ema-nan", lambda: tiny_model("dcgan", ema=NAN), "ema"),
    (
        "gan-ema-bool",
        lambda: tiny_model("dcgan", ema=True),
        "ema must be a number",
    ),
    (
        "gan-optimizer-lr-nan",
        lambda: fit(compiled("gan", d_optimizer=keras.optimizers.Adam(NAN)), images()),
        "d_optimizer has learning_rate=nan",
    ),
    ("vae-beta-nan", lambda: tiny_model("vae", beta=NAN), "beta"),
    ("vae-pixel-std-inf", lambda: tiny_model("vae", pixel_std=INF), "finite"),
    (
        "vae-optimizer-lr-inf",
        lambda: compiled("vae", optimizer=keras.optimizers.Adam(INF)),
        "learning_rate=inf",
    ),
    ("style-weight-inf", lambda: tiny_style_transfer(style_weight=INF), "style_weight"),
    ("content-weight-nan", lambda: tiny_style_transfer(content_weight=NAN), "finite"),
    ("stylize-lr-nan", lambda: stylize(learning_rate=NAN), "learning_rate"),
    ("stylize-strength-inf", lambda: stylize(style_strength=INF), "style_strength"),
    ("stylize-scale-zero", lambda: stylize(style_scale=0.0), "style_scale must be > 0"),
    ("adain-style-weight-nan", lambda: tiny_adain(style_weight=NAN), "style_weight"),
    ("adain-alpha-2", lambda: adain_stylize(2.0), r"alpha must be in \[0, 1\]"),
    ("adain-alpha-nan", lambda: adain_stylize(NAN), "alpha must be a finite"),
    (
        "adain-optimizer-lr-nan",
        lambda: tiny_adain().compile(optimizer=keras.optimizers.Adam(NAN)),
        "learning_rate=nan",
    ),
    ("time-budget-inf", lambda: kgen.callbacks.TimeBudget(INF), "finite"),
    ("check-number-string", lambda: check_number("beta", "1"), "beta must be a number"),
    # Training data, checked once per fit call.
    ("fit-nan-images", lambda: fit(compiled("gan"), with_nan(images())), "NaN"),
    ("fit-inf-images-vae", lambda: fit(compiled("vae"), images() * INF), "infinite"),
    (
        "fit-0-255-floats",
        lambda: fit(compiled("dcgan"), images(low=0, high=255)),
        r"0\.\.255 pixels; scale them with x / 127.5 - 1",
    ),
    (
        "fit-uint8",
        lambda: fit(compiled("gan"), images(low=0, high=255).astype("uint8")),
        "uint8 and look like 0..255",
    ),
    ("fit-out-of-range", lambda: fit(compiled("vae"), images(low=-3, high=3)), "-1, 1"),
    ("fit-empty-array", lambda: fit(compiled("gan"), images(0)), "empty"),
    (
        "fit-empty-dataset",
        lambda: fit(compiled("vae"), dataset(images()).take(0)),
        "dataset is empty",
    ),
    (
        "fit-nan-dataset",
        lambda: fit(compiled("gan"), dataset(with_nan(images()))),
        "NaN",
    ),
    # ConditionalGAN labels: integer class ids in [0, num_classes).
    (
        "cgan-negative-labels",
        lambda: fit(compiled("cgan"), images(), class_ids() - 1),
        r"labels must be in \[0, 3\)",
    ),
    (
        "cgan-labels-too-large",
        lambda: fit(compiled("cgan"), images(), class_ids() + NUM_CLASSES),
        "num_classes",
    ),
    (
        "cgan-fractional-labels",
        lambda: fit(compiled("cgan"), images(), class_ids() + 0.5),
        "labels must be integers",
    ),
    (
        "cgan-one-hot-labels",
        lambda: fit(compiled("cgan"), images(), np.eye(NUM_CLASSES)[class_ids()]),
        "argmax",
    ),
    (
        "cgan-one-hot-dataset",
        lambda: fit(
            compiled("cgan"), dataset(images(), np.eye(NUM_CLASSES)[class_ids()])
        ),
        "argmax",
    ),
    (
        "cgan-generate-one-hot",
        lambda: tiny_model("cgan").generate(2, labels=np.eye(NUM_CLASSES)[[0, 1]]),
        "argmax",
    ),
    (
        "cgan-generate-nan-z",
        lambda: tiny_model("cgan").generate(z=np.full((2, LATENT_DIM), NAN)),
        "z contains NaN",
    ),
    (
        "vae-decode-inf-z",
        lambda: tiny_model("vae").decode(np.full((2, LATENT_DIM), INF)),
        "z contains NaN or infinite",
    ),
    # kgen.complete
    ("complete-cgan-no-labels", lambda: complete("cgan"), "pass labels="),
    ("complete-nan-images", lambda: complete(pixels=with_nan(images(2))), "NaN"),
    ("complete-nan-lr", lambda: complete(learning_rate=NAN), "learning_rate"),
    (
        "complete-0-255",
        lambda: complete(pixels=images(2, 0, 255)),
        "x / 127.5 - 1",
    ),
    # Metrics
    (
        "sample-quality-nan-real",
        lambda: kgen.metrics.SampleQuality(with_nan(images()), extractor=extractor()),
        "NaN",
    ),
    (
        "evaluate-callback-nan-real",
        lambda: kgen.callbacks.Evaluate(with_nan(images()), extractor=extractor()),
        "NaN",
    ),
    (
        "real-statistics-inf",
        lambda: kgen.metrics.real_statistics(
            images() * INF, extractor(), cache_dir=None
        ),
        "infinite",
    ),
]


def extractor():
    inputs = keras.Input((28, 28, 1))
    return keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))


@pytest.mark.parametrize(
    "call, match", [case[1:] for case in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_fit_still_trains_on_good_data():
    """The checks pass kgen's own pipelines and [-1, 1] arrays (with slack)."""
    model = compiled("cgan")
    fit(
        model,
        np.clip(images() * 1.0005, -1.0005, 1.0005),
        class_ids().astype("float32"),
    )
    fit(model, kgen.data.from_numpy(images(8, 0, 255).astype("uint8"), class_ids()))


def test_corrupt_feature_statistics_cache_is_rebuilt(tmp_path):
    real = images()
    features = extractor()
    first = kgen.metrics.real_statistics(real, features, cache_dir=tmp_path)
    (cache,) = (tmp_path / "feature_statistics").iterdir()
    cache.write_bytes(cache.read_bytes()[:100])
    with pytest.warns(UserWarning, match="Rebuilding the unreadable"):
        again = kgen.metrics.real_statistics(real, features, cache_dir=tmp_path)
    np.testing.assert_allclose(again.mean, first.mean, rtol=1e-6)
    cache.write_bytes(b"")  # 0 bytes: np.load's EOFError
    with pytest.warns(UserWarning, match=str(cache)):
        kgen.metrics.real_statistics(real, features, cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        kgen.metrics.real_statistics(real, features, cache_dir=tmp_path)


# Image folders: a bad file is named, with the fix.
def _jpeg(path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


@pytest.mark.parametrize("bad", ["truncated-jpeg", "not-an-image"])
def test_image_folder_names_the_bad_file(tmp_path, bad):
    for index in range(3):
        _jpeg(tmp_path / f"{index}.jpg")
    culprit = tmp_path / "3.jpg"
    if bad == "truncated-jpeg":
        data = (tmp_path / "0.jpg").read_bytes()
        culprit.write_bytes(data[: len(data) // 2])
        with Image.open(culprit) as image:
            image.verify()  # Pillow's check passes: kgen must look further
    else:
        culprit.write_text("not an image")
    with pytest.raises(ValueError, match=rf"'{culprit}'.*delete it or re-save it"):
        kgen.data.from_directory(tmp_path, image_size=(8, 8))


# Command line: usage errors at parsing, input errors in one line, early.
def load_recipe(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "recipe, argv, match",
    [
        ("dcgan_mnist", ["--epochs", "-1"], "--epochs: must be a positive integer"),
        ("gan_mnist", ["--batch-size", "0"], "--batch-size: must be a positive"),
        ("vae_mnist", ["--time-budget", "nan"], "--time-budget: must be a positive"),
        ("cgan_mnist", ["--held-out", "-5"], "--held-out: must be a non-negative"),
        ("style_transfer", ["a.jpg", "b.jpg", "--learning-rate", "inf"], "finite|pos"),
        ("texture", ["a.jpg", "--steps", "0"], "--steps: must be a positive"),
    ],
)
def test_recipe_flags_fail_at_parsing(recipe, argv, match, capsys):
    config = load_recipe(recipe).Config
    with pytest.raises(SystemExit) as exit_info:
        kgen.config.parse_config(config, argv)
    assert exit_info.value.code == 2
    assert re.search(match, capsys.readouterr().err)


def run_cli(argv):
    """`kgen ARGV` in-process: `(exit status, stderr)`."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            main([str(word) for word in argv])
            status = 0
        except SystemExit as exit_info:
            status = exit_info.code
    return status, stderr.getvalue()


@pytest.fixture(scope="module")
def gan_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "gan.keras"
    compiled("gan").save(path)
    return path


@pytest.fixture
def few_images(tmp_path):
    folder = tmp_path / "three"
    folder.mkdir()
    for index in range(3):
        Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / f"{index}.png")
    return folder


@pytest.mark.parametrize(
    "argv, status, match",
    [
        (["train", "dcgan", "--epochs", "-1"], 2, "--epochs: must be a positive"),
        (["train", "vae", "--batch-size", "0"], 2, "--batch-size: must be a positive"),
        (["evaluate", "{gan}", "--real", "glyphs", "-n", "2"], 2, "-n/--num-samples"),
        (["evaluate", "{gan}", "--real", "glyphs", "--num-real", "1"], 2, ">= 4"),
        (["evaluate", "{gan}", "--real", "{few}"], 1, "gave 3 image"),
        (
            ["evaluate", "{gan}", "--real", "glyphs", "--cache-dir", "{gan}"],
            1,
            "--cache-dir .* is a file",
        ),
        (["evaluate", "{gan}", "--real", "glyphs", "--labels", "1"], 1, "conditional"),
        (["export", "{gan}", "{gan}/saved_model"], 1, "is a file, not a folder"),
        (["export", "{few}/0.png", "{few}/out"], 1, "not a .keras model file"),
        (["generate", "{gan}", "-n", "0"], 2, "positive integer"),
    ],
)
def test_cli_rejects_bad_input_in_one_line(argv, status, match, gan_file, few_images):
    argv = [word.format(gan=gan_file, few=few_images) for word in argv]
    code, stderr = run_cli(argv)
    assert code == status, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("kgen: error:")
    assert re.search(match, stderr), stderr


def test_check_number_bounds():
    assert check_number("x", np.float32(0.5), 0, 1) == 0.5
    assert math.isclose(check_number("x", 3, 0.0, low_inclusive=False), 3.0)
    with pytest.raises(ValueError, match=r"x must be in \(0, 1\), got 1"):
        check_number("x", 1, 0, 1, low_inclusive=False, high_inclusive=False)
