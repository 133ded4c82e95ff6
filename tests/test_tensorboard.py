"""TensorBoard logs: fit's scalars, Evaluate's metrics and SampleGrid's images.

The event files are read back as TensorBoard reads them: TFRecords of
`Event` protocol buffers.
"""

import io
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tiny_models import tiny_model

import kgen


def read_events(directory):
    """`{tag: [(step, value), ...]}` of every event file under `directory`;
    a value is a float for scalars, a decoded image array for images."""
    found = {}
    for path in sorted(Path(directory).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                if value.metadata.plugin_data.plugin_name == "images":
                    # width, height, then one encoded PNG per image.
                    read = np.asarray(Image.open(io.BytesIO(tensor[2])))
                else:
                    read = float(tensor)
                found.setdefault(value.tag, []).append((event.step, read))
    return found


def test_sample_grid_writes_its_png_grid_as_an_image_summary(tmp_path):
    model = tiny_model("cgan")
    grid = kgen.callbacks.SampleGrid(
        tmp_path / "samples", num_samples=6, every_n_epochs=2, log_dir=tmp_path / "logs"
    )
    grid.set_model(model)
    for epoch in range(4):
        grid.on_epoch_end(epoch)
    grid.on_train_end()
    images = read_events(tmp_path / "logs")["samples"]
    # Steps are Keras' epoch steps (from 0); the files count from 1.
    assert [step for step, _ in images] == [1, 3]
    png = np.asarray(Image.open(tmp_path / "samples" / "epoch_0004.png"))
    assert png.shape == (3 * 28, 2 * 28)  # one row per class
    np.testing.assert_array_equal(images[-1][1], png)


def test_a_run_logs_fit_scalars_evaluate_metrics_and_sample_grids(tmp_path):
    model = tiny_model("dcgan")
    model.compile()
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    extractor = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )
    run = kgen.runs.Run(tmp_path / "run", "dcgan")
    model.fit(
        images,
        batch_size=8,
        epochs=2,
        verbose=0,
        callbacks=run.callbacks(
            kgen.callbacks.SampleGrid(run.samples, num_samples=4),
            kgen.callbacks.Evaluate(
                images,
                extractor=extractor,
                metrics=("fid",),
                num_samples=16,
                cache_dir=None,
            ),
        ),
    )
    scalars = read_events(run.logs / "train")
    for key in ("d_loss", "g_loss", "fid"):
        steps = [step for step, _ in scalars[f"epoch_{key}"]]
        assert steps == [0, 1], key
        assert all(np.isfinite(value) for _, value in scalars[f"epoch_{key}"])
    grids = read_events(run.logs / "samples")["samples"]
    assert [step for step, _ in grids] == [0, 1]
    assert grids[0][1].shape == (2 * 28, 2 * 28)
