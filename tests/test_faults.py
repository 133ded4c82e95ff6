"""Nothing lost, nothing silent: crashes while writing, overwrites, divergence.

Crashes are simulated by a writer that fails half-way (it has written part
of its file when it raises), or by a child process killed while training.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from tiny_models import tiny_model

import kgen
import kgen.cli
from kgen import runs

ROOT = Path(__file__).resolve().parents[1]


def tiny_gan():
    model = tiny_model("gan")
    model.compile()
    return model


def leftovers(directory):
    """Temporary siblings that a writer left behind."""
    return sorted(p.name for p in Path(directory).rglob(".partial-*"))


class Poison(keras.callbacks.Callback):
    """Sets one generator weight to NaN at `batch` of `epoch` (0-based)."""

    def __init__(self, epoch, batch=0):
        super().__init__()
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        # With steps_per_execution > 1 Keras calls this once per execution,
        # with its first step: poison the execution that holds `batch`.
        steps = self.model.steps_per_execution
        if self.current == self.epoch and batch <= self.batch < batch + steps:
            weight = self.model.generator.weights[0]
            weight.assign(np.full(weight.shape, np.nan, "float32"))


def half_written(path_argument="filepath"):
    """A stand-in writer that writes some bytes to its target and then crashes."""

    def writer(self, *args, **kwargs):
        path = kwargs.get(path_argument, args[0] if args else None)
        Path(path).write_bytes(b"half")
        raise OSError("disk full (simulated)")

    return writer


# Crash-safe writing.


def test_a_crash_while_saving_keeps_the_previous_keras_file(tmp_path, monkeypatch):
    model = tiny_gan()
    path = tmp_path / "gan.keras"
    model.save(path)
    before = path.read_bytes()
    monkeypatch.setattr(keras.Model, "save", half_written())
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    keras.saving.load_model(path)  # still whole


@pytest.mark.parametrize("crash_in", ["weights", "metadata"])
def test_a_crash_while_backing_up_keeps_the_previous_backup(
    crash_in, tiny_images, tmp_path, monkeypatch
):
    """Killed while writing the new weights, or between them and the metadata."""
    backup_dir = tmp_path / "backup"
    model = tiny_gan()
    backup = kgen.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)
    model.fit(tiny_images, batch_size=16, epochs=1, callbacks=[backup], verbose=0)
    weights = Path(backup.weights_file())
    good = weights.read_bytes()
    epoch_1 = [w.copy() for w in model.get_weights()]
    if crash_in == "weights":
        monkeypatch.setattr(keras.Model, "save_weights", half_written())
    else:
        # The new weights are written whole; the metadata never is.
        def killed(path, payload):
            raise OSError("disk full (simulated)")

        monkeypatch.setattr(kgen.saving, "write_bytes", killed)
    with pytest.raises(OSError, match="disk full"):
        model.fit(
            tiny_images,
            batch_size=16,
            epochs=2,
            callbacks=[kgen.callbacks.BackupAndRestore(backup_dir)],
            verbose=0,
        )
    monkeypatch.undo()
    assert backup.weights_file() == str(weights)
    assert weights.read_bytes() == good
    assert leftovers(backup_dir) == []
    # A new run resumes from the last complete backup (epoch 1 of 2), with
    # that epoch's weights, whatever the crash left beside them.
    resumed = tiny_gan()
    backup = kgen.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)
    resumed.fit(tiny_images, batch_size=16, epochs=1, callbacks=[backup], verbose=0)
    assert backup.resumed_from_epoch == 1
    for expected, restored in zip(epoch_1, resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(expected, restored)
    history = resumed.fit(
        tiny_images, batch_size=16, epochs=2, callbacks=[backup], verbose=0
    )
    assert len(history.history["loss"]) == 1
    assert int(keras.ops.convert_to_numpy(resumed.optimizer.iterations)) == 4


def test_a_crash_while_saving_the_final_model_keeps_the_run(
    tiny_images, tmp_path, monkeypatch, capsys
):
    model = tiny_gan()
    run = runs.Run(tmp_path, "gan")
    model.fit(
        tiny_images, batch_size=16, epochs=2, verbose=0, callbacks=run.callbacks()
    )
    monkeypatch.setattr(keras.Model, "save", half_written())
    with pytest.raises(OSError, match="disk full"):
        run.finish(model)
    monkeypatch.undo()
    assert not run.keras_path.exists() and leftovers(tmp_path) == []
    assert run.backup_dir.is_dir()  # the trained state survived
    # The same run again: not refused as finished, resumed after its last
    # epoch, so nothing is trained twice, and then saved.
    again = tiny_gan()
    run = runs.Run(tmp_path, "gan")
    again.fit(
        tiny_images, batch_size=16, epochs=2, verbose=0, callbacks=run.callbacks()
    )
    assert "Resuming from epoch 2" in capsys.readouterr().out
    run.finish(again)
    assert not run.backup_dir.exists()
    restored = keras.saving.load_model(run.keras_path)
    assert int(keras.ops.convert_to_numpy(restored.optimizer.iterations)) == 4


def test_a_corrupt_backup_names_the_file_and_how_to_start_over(tiny_images, tmp_path):
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / "latest.weights.h5").write_bytes(b"")  # killed mid-write
    model = tiny_gan()
    with pytest.raises(ValueError, match=r"latest\.weights\.h5.*delete .*backup"):
        model.fit(
            tiny_images,
            batch_size=16,
            callbacks=[kgen.callbacks.BackupAndRestore(backup_dir)],
            verbose=0,
        )


def test_a_backup_of_another_model_is_refused(tiny_images, tmp_path):
    backup_dir = tmp_path / "backup"
    other = tiny_model("vae")
    other.compile()
    other.fit(
        tiny_images,
        batch_size=16,
        callbacks=[
            kgen.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)
        ],
        verbose=0,
    )
    with pytest.raises(ValueError, match="corrupt or belongs to another model"):
        tiny_gan().fit(
            tiny_images,
            batch_size=16,
            callbacks=[kgen.callbacks.BackupAndRestore(backup_dir)],
            verbose=0,
        )


def test_sample_grids_and_images_are_written_whole(tmp_path, monkeypatch):
    grid = tmp_path / "grid.png"
    kgen.images.save_grid(np.zeros((4, 8, 8, 1), "float32"), grid)
    before = grid.read_bytes()
    from PIL import Image

    monkeypatch.setattr(Image.Image, "save", half_written("fp"))
    with pytest.raises(OSError):
        kgen.images.save_grid(np.ones((4, 8, 8, 1), "float32"), grid)
    with pytest.raises(OSError):
        kgen.images.save_image(np.ones((8, 8, 3), "float32"), grid)
    assert grid.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_a_killed_recipe_resumes_and_says_so(tmp_path):
    """kill -9 in the middle of a recipe, then the same command: it resumes."""
    output_dir = tmp_path / "run"
    command = [
        sys.executable,
        str(ROOT / "recipes/gan_mnist.py"),
        *("--limit", "64", "--batch-size", "32", "--quality-samples", "0"),
        *("--output-dir", str(output_dir)),
    ]
    metadata_path = output_dir / "backup/training_metadata.json"
    log = tmp_path / "first_run.log"
    with open(log, "w") as output:
        child = subprocess.Popen(
            [*command, "--epochs", "100000"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while not metadata_path.exists() and child.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a few more epochs, then killed wherever it is
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert metadata_path.exists(), log.read_text()[-3000:]
    epoch = json.loads(metadata_path.read_text())["epoch"]
    assert epoch >= 1
    assert not (output_dir / "gan_mnist.keras").exists()
    result = subprocess.run(
        [*command, "--epochs", str(epoch + 1)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Resuming from epoch {epoch}" in result.stdout
    restored = keras.saving.load_model(output_dir / "gan_mnist.keras")
    assert int(restored.optimizer.iterations.numpy()) == 2 * (epoch + 1)
    assert not (output_dir / "backup").exists()
    # Once more: the run is finished, so the recipe stops in one line.
    again = subprocess.run(
        [*command, "--epochs", "1"], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1].startswith("gan_mnist.py: error: ")
    assert "already holds a finished run" in again.stderr
    assert "Traceback" not in again.stderr


# Overwriting finished work.


def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path, capsys):
    run = runs.Run(tmp_path, "gan")
    tiny_gan().save(run.keras_path)
    (run.samples).mkdir()
    (run.samples / "epoch_0009.png").write_bytes(b"old grid")
    before = run.keras_path.read_bytes()
    with pytest.raises(
        FileExistsError, match="already holds a finished run.*--overwrite"
    ):
        runs.Run(tmp_path, "gan")
    assert run.keras_path.read_bytes() == before
    runs.Run(tmp_path, "gan", overwrite=True)
    assert not run.samples.exists()  # stale grids go; the model is replaced later
    assert run.keras_path.read_bytes() == before


@pytest.mark.parametrize("task", ["gan", "vae"])
def test_kgen_train_refuses_a_finished_run_before_building_anything(
    task, tmp_path, monkeypatch
):
    module = getattr(kgen.recipes, task)
    run = runs.Run(tmp_path, f"{task}_mnist")
    run.keras_path.write_bytes(b"a finished model")

    def build_model(config):
        raise AssertionError("the model was built for a finished run")

    monkeypatch.setattr(module, "build_model", build_model)
    config = getattr(module, f"{task.upper()}Config")(output_dir=str(tmp_path))
    with pytest.raises(FileExistsError, match="already holds a finished run"):
        module.train(config)
    assert run.keras_path.read_bytes() == b"a finished model"


def test_recipe_refuses_to_overwrite_and_replaces_with_overwrite(tmp_path):
    from test_recipes import run_recipe

    run_recipe("gan_mnist", tmp_path, epochs=2)
    keras_file = tmp_path / "gan_mnist.keras"
    first = keras_file.read_bytes()
    with pytest.raises(FileExistsError, match="--overwrite"):
        run_recipe("gan_mnist", tmp_path, epochs=1)
    assert keras_file.read_bytes() == first
    assert (tmp_path / "samples/epoch_0002.png").is_file()
    run_recipe("gan_mnist", tmp_path, epochs=1, overwrite=True)
    assert keras_file.read_bytes() != first
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "epoch_0001.png"
    ]


def test_an_unwritable_output_dir_fails_before_training(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(ValueError, match="is a file.*another --output-dir"):
        runs.Run(not_a_dir, "gan")
    with pytest.raises(OSError, match="Cannot write to --output-dir"):
        runs.Run(not_a_dir / "below", "gan")


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "{model}", "-n", "2", "-o", "{existing}"],
        ["export", "{model}", "{existing_dir}"],
    ],
)
def test_cli_refuses_to_overwrite_outputs(argv, tmp_path, capsys):
    model_path = tmp_path / "gan.keras"
    tiny_gan().save(model_path)
    existing = tmp_path / "samples.png"
    existing.write_bytes(b"finished work")
    existing_dir = tmp_path / "saved"
    existing_dir.mkdir()
    (existing_dir / "saved_model.pb").write_bytes(b"another model")
    names = dict(model=model_path, existing=existing, existing_dir=existing_dir)
    argv = [arg.format(**names) for arg in argv]
    with pytest.raises(SystemExit) as exit_info:
        kgen.cli.main(argv)
    assert exit_info.value.code == 1
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert existing.read_bytes() == b"finished work"
    assert (existing_dir / "saved_model.pb").read_bytes() == b"another model"
    kgen.cli.main([*argv, "--overwrite"])
    assert existing.read_bytes() != b"finished work" or argv[0] == "export"


# Divergence.


def test_gans_log_a_loss_that_keras_callbacks_can_watch(tiny_images):
    model = tiny_gan()
    history = model.fit(tiny_images, batch_size=16, epochs=1, verbose=0).history
    assert history["loss"][0] == pytest.approx(
        history["d_loss"][0] + history["g_loss"][0], rel=1e-5
    )
    poisoned = tiny_gan()
    history = poisoned.fit(
        tiny_images,
        batch_size=16,
        epochs=3,
        verbose=0,
        callbacks=[Poison(epoch=0, batch=1), keras.callbacks.TerminateOnNaN()],
    ).history
    assert len(history["loss"]) == 1  # Keras' TerminateOnNaN stopped it


def test_a_diverging_run_stops_keeps_its_last_good_backup_and_saves_nothing(
    tiny_images, tmp_path, capsys
):
    model = tiny_gan()
    run = runs.Run(tmp_path, "gan")
    grids = kgen.callbacks.SampleGrid(run.samples, num_samples=4)
    with pytest.warns(UserWarning, match="NaN or inf.*was not written"):
        history = model.fit(
            tiny_images,
            batch_size=16,
            epochs=5,
            verbose=0,
            callbacks=run.callbacks(Poison(epoch=1, batch=1), grids),
        ).history
    assert len(history["loss"]) == 2  # stopped in the second epoch
    assert "Training diverged at epoch 2, step 2: " in run.guard.diverged
    assert "d_loss is nan" in run.guard.diverged
    assert "Training diverged at epoch 2" in capsys.readouterr().out
    metadata = json.loads((run.backup_dir / "training_metadata.json").read_text())
    assert metadata["epoch"] == 1  # the good epoch, not the poisoned one
    assert sorted(p.name for p in run.samples.iterdir()) == ["epoch_0001.png"]
    with pytest.raises(
        runs.TrainingDivergedError, match="last good checkpoint is kept"
    ):
        run.finish(model)
    assert not run.keras_path.exists() and not run.saved_model.exists()
    # The good epoch restores into a fresh model: finite weights.
    fresh = tiny_gan()
    fresh.load_weights(run.backup.weights_file())
    assert kgen.saving.non_finite_weights(fresh) == []


def test_exploded_weights_stop_training_at_the_epoch_end(tiny_images):
    model = tiny_gan()
    guard = kgen.callbacks.DivergenceGuard()

    class Explode(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weight = self.model.discriminator.weights[0]
            weight.assign(np.full(weight.shape, np.inf, "float32"))

    model.fit(
        tiny_images, batch_size=16, epochs=3, verbose=0, callbacks=[Explode(), guard]
    )
    assert "weights" in guard.diverged and "NaN or inf" in guard.diverged


def test_save_and_export_refuse_non_finite_weights(tmp_path):
    model = tiny_gan()
    weight = model.generator.weights[0]
    weight.assign(np.full(weight.shape, np.nan, "float32"))
    for write in (
        lambda: model.save(tmp_path / "gan.keras"),
        lambda: model.save_weights(tmp_path / "gan.weights.h5"),
        lambda: model.export(str(tmp_path / "saved"), verbose=False),
    ):
        with pytest.raises(ValueError, match="NaN or inf.*allow_non_finite=True"):
            write()
    assert list(tmp_path.iterdir()) == []
    model.save(tmp_path / "gan.keras", allow_non_finite=True)
    assert (tmp_path / "gan.keras").is_file()
