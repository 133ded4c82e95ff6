"""The `kgen` command, run in-process through `kgen.cli.main` on tiny models.

The README's `kgen train` commands train one model of each kind once per
module (at test size); the other tests use what they wrote.
"""

import contextlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tiny_models import tiny_model

import kgen
from kgen import logs
from kgen.cli import SUBCOMMANDS, main
from kgen.cli import complete as complete_command

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("gan", "dcgan", "cgan", "vae", "style-network")
# Appended to the README's commands: later flags win, so these shrink them.
# No held-out scores: the recipe tests cover them, and JAX compiles them slowly.
TINY_TRAINING = {
    "gan": ["--latent-dim", "8", "--held-out", "0"],
    "dcgan": ["--base-filters", "4", "--latent-dim", "8", "--held-out", "0"],
    "cgan": ["--base-filters", "4", "--latent-dim", "8", "--held-out", "0"],
    "vae": ["--latent-dim", "4", "--held-out", "0"],
}
TINY = {
    "generate": [],
    "complete": ["--steps", "3"],
    "evaluate": ["--num-samples", "64", "--num-real", "64", "--limit", "256"],
    "stylize": ["--size", "48", "--steps", "3"],
    "export": [],
}
FRAMEWORKS = ("keras", "tensorflow", "jax", "torch")


def readme_commands() -> list[list[str]]:
    """The `kgen ...` lines of the README's Command line section, split."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        lines += block.replace("\\\n", " ").splitlines()
    return [
        shlex.split(line, comments=True)[1:]
        for line in lines
        if line.startswith("kgen ")
    ]


def at_test_size(argv: list[str], weights: Path, cache: Path) -> list[str]:
    """A README command shrunk to test size, offline, in this process."""
    result = []
    words = iter(argv)
    for word in words:
        if word == "--backend":
            next(words)  # another backend would re-run the command as a process
        elif word == "hed" and result[-1] == "--weights":
            result += [str(weights), "--backbone", "vgg16"]
        else:
            result.append(word.replace("../shared/data/images/", ""))
    command = result[0]
    if command != "train":
        extra = TINY[command]
        if command == "evaluate":
            extra = [*extra, "--cache-dir", str(cache)]
        return result + extra
    kind = result[1]
    if kind == "style-network":
        extra = ["--image-size", "32", "--steps-per-epoch", "2", "--batch-size", "2"]
        extra += ["--base-filters", "4"]
    else:
        extra = ["--limit", "64", "--batch-size", "32", *TINY_TRAINING[kind]]
    return result + ["--epochs", "1", *extra]


@contextlib.contextmanager
def working_directory(path: Path):
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def write_photos(folder: Path) -> None:
    """Small stand-ins for the README's images in ../shared/data/images."""
    rng = np.random.default_rng(0)
    for name in ("tubingen", "starry_night", "the_scream"):
        pixels = rng.integers(0, 256, (36, 48, 3), np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.jpg")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, vgg16_weights):
    """A folder where the README's `kgen train` commands have run at test size."""
    folder = tmp_path_factory.mktemp("cli")
    write_photos(folder)
    trained = []
    with working_directory(folder):
        for argv in readme_commands():
            if argv[0] == "train":
                assert main(at_test_size(argv, vgg16_weights, folder)) == 0
                trained.append(argv[1])
    assert sorted(trained) == sorted(KINDS), "the README trains every kind"
    return folder


def read_png(path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(int)


def kgen_command(line: str) -> int:
    """Runs `kgen LINE` in this process."""
    return main(shlex.split(line))


def fails(capsys, line: str, status: int = 1) -> str:
    """Runs `kgen LINE`, expects it to fail; returns its one line of stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        kgen_command(line)
    assert exit_info.value.code == status
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("kgen: error: "), error
    return error


@pytest.mark.parametrize("kind", KINDS)
def test_train_writes_keras_file_saved_model_and_samples(workdir, kind):
    run = workdir / "runs" / kind
    name = "adain" if kind == "style-network" else kind
    model = keras.saving.load_model(run / f"{name}.keras", compile=False)
    assert (
        type(model).__name__
        == {
            "gan": "GAN",
            "dcgan": "DCGAN",
            "cgan": "ConditionalGAN",
            "vae": "VAE",
            "style-network": "AdaINStyleTransfer",
        }[kind]
    )
    assert (run / "saved_model" / "saved_model.pb").is_file()
    samples = run / ("samples.png" if kind == "style-network" else "samples")
    assert samples.exists()
    assert not (run / "backup").exists()  # removed after a finished run


def test_generate_same_seed_same_images_from_keras_file_and_saved_model(
    workdir, tmp_path
):
    run = workdir / "runs" / "dcgan"
    grid = "-n 6 --cols 3 -o"
    kgen_command(f"generate {run}/dcgan.keras --seed 1 {grid} {tmp_path}/a.png")
    kgen_command(f"generate {run}/dcgan.keras --seed 1 {grid} {tmp_path}/b.png")
    kgen_command(f"generate {run}/saved_model --seed 1 {grid} {tmp_path}/c.png")
    kgen_command(f"generate {run}/dcgan.keras --seed 2 {grid} {tmp_path}/d.png")
    keras_grid = read_png(tmp_path / "a.png")
    assert keras_grid.shape == (2 * 28, 3 * 28)  # 2 rows of 3 digits
    np.testing.assert_array_equal(keras_grid, read_png(tmp_path / "b.png"))
    assert np.abs(keras_grid - read_png(tmp_path / "d.png")).max() > 10
    # The SavedModel runs on TensorFlow: the same images to rounding.
    assert np.abs(keras_grid - read_png(tmp_path / "c.png")).max() <= 1
    # They are what the model's generate() draws with that seed.
    model = keras.saving.load_model(run / "dcgan.keras", compile=False)
    expected = kgen.images.save_grid(
        model.generate(6, seed=1), tmp_path / "e.png", cols=3, value_range=(-1, 1)
    )
    np.testing.assert_array_equal(keras_grid, read_png(expected))


def test_generate_one_png_per_image_from_a_vae_saved_model(workdir, tmp_path, capsys):
    kgen_command(
        f"generate {workdir}/runs/vae/saved_model -n 5 --output-dir {tmp_path}"
    )
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"{i:04d}.png" for i in range(5)]
    assert read_png(files[0]).shape == (28, 28)
    assert "5 images (seed " in capsys.readouterr().out


def test_generate_with_labels_draws_those_classes(workdir, tmp_path, capsys):
    run = workdir / "runs" / "cgan"
    model = keras.saving.load_model(run / "cgan.keras", compile=False)
    sevens = model.generate(4, labels=7, seed=3)
    expected = read_png(
        kgen.images.save_grid(sevens, tmp_path / "expected.png", value_range=(-1, 1))
    )
    for source in ("cgan.keras", "saved_model"):
        output = tmp_path / f"{source}.png"
        kgen_command(f"generate {run}/{source} --labels 7 -n 4 --seed 3 -o {output}")
        assert np.abs(read_png(output) - expected).max() <= 1
    error = fails(capsys, f"generate {run}/cgan.keras --labels 3 12")
    assert "--labels must be classes 0 to 9, got [12]" in error
    # A SavedModel does not record its classes; an unconditional model has none.
    assert "pass --labels" in fails(capsys, f"generate {run}/saved_model")
    gan = workdir / "runs" / "gan" / "gan.keras"
    assert "unconditional" in fails(capsys, f"generate {gan} --labels 1")


def test_complete_keeps_the_known_pixels(workdir, tmp_path, capsys):
    digit = next(iter(kgen.data.load("glyphs", split="test", batch_size=1)))[0]
    pixels = kgen.images.to_uint8(digit, value_range=(-1, 1))[..., 0]
    Image.fromarray(pixels).save(tmp_path / "digit.png")
    mask = np.zeros((28, 28), np.uint8)
    mask[:, :14] = 255  # the left half is known
    Image.fromarray(mask).save(tmp_path / "mask.png")
    vae = workdir / "runs" / "vae" / "vae.keras"
    kgen_command(
        f"complete {tmp_path}/digit.png {tmp_path}/mask.png --model {vae} "
        f"-o {tmp_path}/out.png --steps 3"
    )
    completed = read_png(tmp_path / "out.png")
    assert completed.shape == (28, 28)
    np.testing.assert_array_equal(completed[:, :14], pixels[:, :14])
    assert "392 of 784 pixels completed" in capsys.readouterr().out
    cgan = workdir / "runs" / "cgan" / "cgan.keras"
    error = fails(capsys, f"complete {tmp_path}/digit.png top --model {cgan} -o x.png")
    assert "pass --label 0 to 9" in error


def test_evaluate_prints_a_table_of_scores(workdir, capsys):
    kgen_command(
        f"evaluate {workdir}/runs/dcgan/dcgan.keras --real glyphs --num-samples 64 "
        f"--num-real 64 --limit 256 --cache-dir {workdir}"
    )
    printed = capsys.readouterr().out
    assert "64 samples (seed 0) against 64 real images" in printed
    scores = dict(re.findall(r"^  (\w+) +([-\d.e+]+)", printed, re.M))
    assert set(scores) == {"fid", "kid", "class_coverage", "class_evenness"}
    assert float(scores["fid"]) > 0 and 0 <= float(scores["class_coverage"]) <= 10


def test_stylize_with_a_feed_forward_network_file_or_saved_model(workdir, tmp_path):
    # The README test runs the optimisation (kgen stylize without --model).
    images = f"{workdir}/tubingen.jpg {workdir}/starry_night.jpg"
    run = workdir / "runs" / "style-network"
    for source in ("adain.keras", "saved_model"):
        output = tmp_path / f"{source}.png"
        kgen_command(f"stylize {images} --model {run}/{source} --alpha 0.5 -o {output}")
    feed_forward = read_png(tmp_path / "adain.keras.png")
    assert feed_forward.shape == (36, 48, 3)  # any size comes back whole
    assert np.abs(feed_forward - read_png(tmp_path / "saved_model.png")).max() <= 1


def test_backend_flag_runs_the_command_again_under_that_backend(monkeypatch):
    calls = []

    def exec_instead(file, args, env):
        calls.append((args, env["KERAS_BACKEND"]))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvpe", exec_instead)
    other = "jax" if keras.backend.backend() != "jax" else "torch"
    argv = ["generate", "model.keras", "--backend", other, "-n", "2"]
    with pytest.raises(SystemExit):
        main(argv)
    assert calls == [([sys.executable, "-m", "kgen.cli", *argv], other)]


@pytest.mark.parametrize(
    "line, status, reason",
    [
        ("generate missing.keras", 1, "No such .keras file or SavedModel directory"),
        ("generate {tmp}/notes.keras", 1, "is not a .keras model file"),
        ("generate {tmp}", 1, "is not a SavedModel directory"),
        (
            "generate {runs}/style-network/adain.keras",
            1,
            "holds the model class AdaINStyleTransfer; this command needs a GAN",
        ),
        (
            "stylize a.jpg b.jpg -o c.png --model {runs}/gan/gan.keras",
            1,
            "needs an AdaINStyleTransfer",
        ),
        (
            "complete {tmp}/notes.keras bottom --model {runs}/vae/vae.keras -o x.png",
            1,
            "Cannot read image file",
        ),
        (
            "complete {tmp}/notes.keras middle --model {runs}/vae/vae.keras -o x.png",
            1,
            "MASK must be an image file or one of top, bottom, left, right",
        ),
        (
            "complete {tmp}/notes.keras top --model {runs}/vae/saved_model -o x.png",
            1,
            "needs the model's .keras file",
        ),
        ("train gan --dataset no_such_set", 1, "Unknown dataset 'no_such_set'"),
        ("train gan --epochs 0", 2, "--epochs: must be a positive integer, got '0'"),
        ("generate m.keras -n many", 2, "--num-samples: must be a positive integer"),
        ("stylize a.jpg b.jpg -o c.png --alpha 2", 2, "must be a number in [0, 1]"),
        ("paint", 2, "invalid choice: 'paint'"),
    ],
)
def test_bad_input_fails_with_one_line(workdir, tmp_path, capsys, line, status, reason):
    (tmp_path / "notes.keras").write_text("not a model")
    line = line.format(tmp=tmp_path, runs=workdir / "runs")
    assert reason in fails(capsys, line, status)


@pytest.mark.parametrize(
    "command", ["train", "generate", "stylize", "complete", "evaluate", "export"]
)
def test_every_subcommand_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"kgen {command}" in capsys.readouterr().out.split("examples:")[1]


def test_readme_command_lines_run(workdir, vgg16_weights, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    commands = [argv for argv in readme_commands() if argv[0] != "train"]
    assert {argv[0] for argv in commands} == set(TINY)
    for argv in commands:
        assert main(at_test_size(argv, vgg16_weights, workdir)) == 0
    assert read_png("out/dcgan.png").shape == (8 * 28, 8 * 28)
    assert len(list(Path("out/dcgan").glob("*.png"))) == 16
    assert read_png("out/sevens.png").shape == (4 * 28, 4 * 28)
    assert read_png("out/completed.png").shape == (28, 28)
    # kgen export (through a TensorFlow process under PyTorch) serves the model.
    served = tf.saved_model.load("saved_models/vae")
    vae = keras.saving.load_model("runs/vae/vae.keras", compile=False)
    z = np.random.default_rng(0).normal(size=(3, vae.latent_dim)).astype("float32")
    decoded = served.decode(z)["images"].numpy()
    np.testing.assert_allclose(decoded, vae.generate(z=z), atol=1e-5)
    for painted in ("out/tubingen_starry.png", "out/tubingen_scream.png"):
        assert Image.open(painted).size == (48, 36)
    printed = capsys.readouterr().out
    assert "fid" in printed and "style_loss" in printed
    # Export says in one line where it wrote what (no Keras "Captures" list).
    assert (
        "\nSavedModel written to saved_models/vae (signatures: decode, encode, "
        "serving_default)\n" in printed
    )
    assert "Captures" not in printed


def test_console_script_help():
    script = Path(sys.executable).parent / "kgen"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: kgen")
    for command in ("train", "generate", "stylize", "complete", "evaluate", "export"):
        assert command in result.stdout
    assert result.stderr == ""


def test_help_loads_no_framework():
    """Every --help answers at once: no Keras, TensorFlow, JAX or PyTorch import."""
    script = """
import contextlib, io, sys
sys.argv[0] = "/venv/bin/kgen"  # what the console script starts with
from kgen.cli import main
for line in sys.argv[1:]:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(line.split())
        except SystemExit as exit:
            assert exit.code == 0, line
print(" ".join(name for name in FRAMEWORKS if name in sys.modules))
""".replace("FRAMEWORKS", repr(FRAMEWORKS))
    commands = [module.__name__.rsplit(".", 1)[1] for module in SUBCOMMANDS]
    lines = ["--help", *(f"{command} --help" for command in commands)]
    lines += [f"train {kind} --help" for kind in KINDS]
    result = subprocess.run(
        [sys.executable, "-c", script, *lines], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"--help imported {result.stdout}"


def test_import_kgen_registers_its_classes_for_keras_loading(tmp_path):
    """Outside the command, `import kgen` loads at once: a .keras file loads after it."""
    model = tiny_model("dcgan")
    model.save(tmp_path / "dcgan.keras")
    script = (
        "import kgen, keras, sys; "
        f"model = keras.saving.load_model({str(tmp_path / 'dcgan.keras')!r}); "
        "print(type(model).__name__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "DCGAN"


def test_complete_help_names_the_halves_completion_knows():
    assert complete_command.HALVES == kgen.completion.HALVES


def test_silence_frameworks_hides_tensorflow_start_up_logs():
    script = (
        "import importlib.util, sys\n"
        "sys.argv[0] = '/venv/bin/kgen'  # an entry point: kgen loads nothing yet\n"
        "from kgen import logs\n"
        "logs.silence_frameworks()\n"
        "importlib.util.find_spec('tensorflow')  # as Keras does before loading it\n"
        "import tensorflow as tf\n"
        "print(int(tf.constant(1) + 1))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2\n"
    assert result.stderr == ""


def test_verbose_keeps_the_frameworks_logs(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    finders = list(sys.meta_path)
    logs.silence_frameworks(verbose=True)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    assert sys.meta_path == finders


def test_bad_input_from_the_shell_is_one_line_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kgen.cli", "generate", str(tmp_path / "missing.keras")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    # One line, and none of the frameworks' start-up logs.
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kgen: error: No such"), lines
