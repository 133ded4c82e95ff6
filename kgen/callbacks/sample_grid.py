"""`SampleGrid`: a PNG grid of generated images every few epochs, and in TensorBoard."""

import importlib.util
import os
import warnings

import keras
import numpy as np

from kgen import data, distributed
from kgen import images as images_lib
from kgen.networks.validation import check_positive


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of generated images every `every_n_epochs` epochs.

    The images come from `model.generate(..., seed=seed)`, so every grid
    decodes the same latent vectors and shows how those samples evolve. For a
    conditional model (one with `num_classes`) the grid has one row per class,
    `num_samples // num_classes` images each (at least one).
    Files are `<directory>/epoch_0001.png`, ..., each written whole (to a
    temporary file renamed into place). Images with NaN or inf (a diverged
    generator) are not drawn as a black grid: the epoch's grid is skipped
    with a warning. On several workers (`kgen.distributed`) every worker
    generates the images (a step all take together) and only the chief
    writes the grids.

    With `log_dir`, each grid is also written to TensorBoard there, as the
    image summary `samples` at step `epoch` (counted from 0, the step of
    the epoch scalars that `keras.callbacks.TensorBoard` writes), on every
    backend. Give it a directory of its own, not one another writer uses
    (TensorBoard reads one event file per directory at a time):
    `kgen.runs.Run` uses `<output-dir>/logs/samples` beside Keras'
    `logs/train`. Needs the `tensorboard` package, one of kgen's
    dependencies (TensorFlow 2.21 no longer installs it).

    Args:
        directory: where the grids go; created if missing.
        num_samples: images per grid.
        every_n_epochs: how often to save.
        seed: the fixed noise seed.
        log_dir: TensorBoard log directory for the grids, or None.

    Example:

    ```python
    gan.fit(
        train,
        epochs=20,
        callbacks=[kgen.callbacks.SampleGrid("samples/", log_dir="logs/samples")],
    )
    # tensorboard --logdir logs
    ```
    """

    def __init__(
        self,
        directory: str,
        num_samples: int = 64,
        every_n_epochs: int = 1,
        seed: int = 0,
        log_dir: str | os.PathLike | None = None,
    ):
        super().__init__()
        check_positive("num_samples", num_samples)
        check_positive("every_n_epochs", every_n_epochs)
        self.directory = os.fspath(directory)
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.seed = seed
        if log_dir is not None and importlib.util.find_spec("tensorboard") is None:
            raise ImportError(
                "SampleGrid(log_dir=...) writes with tf.summary, which needs the "
                "tensorboard package: pip install tensorboard"
            )
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        path = os.path.join(self.directory, f"epoch_{epoch + 1:04d}.png")
        num_classes = getattr(self.model, "num_classes", None)
        if num_classes is None:
            images = self.model.generate(self.num_samples, seed=self.seed)
            cols = None
        else:
            cols = max(1, self.num_samples // num_classes)
            labels = np.repeat(np.arange(num_classes), cols)
            images = self.model.generate(len(labels), labels=labels, seed=self.seed)
        if not distributed.is_chief():
            return
        if not np.all(np.isfinite(images)):
            warnings.warn(
                f"SampleGrid: the generated images of epoch {epoch + 1} hold NaN "
                f"or inf (training diverged?), so {path} was not written",
                stacklevel=2,
            )
            return
        grid = images_lib.grid_image(images, cols=cols, value_range=(-1.0, 1.0))
        images_lib.save_grid(grid[None], path)  # one image: the grid itself
        if self.log_dir is not None:
            self._write_summary(grid, step=epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write_summary(self, grid, step):
        # tf.summary writes event files on every backend; TensorFlow is a core
        # dependency, imported here only when TensorBoard is asked for.
        tf = data.import_tensorflow()
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        if grid.ndim == 2:
            grid = grid[..., None]
        with self._writer.as_default():
            tf.summary.image("samples", grid[None], step=step)
        self._writer.flush()
