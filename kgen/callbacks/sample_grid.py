"""`SampleGrid`: a PNG grid of generated images every few epochs."""

import os
import warnings

import keras
import numpy as np

from kgen import distributed
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

    Args:
        directory: where the grids go; created if missing.
        num_samples: images per grid.
        every_n_epochs: how often to save.
        seed: the fixed noise seed.

    Example:

    ```python
    gan.fit(train, epochs=20, callbacks=[kgen.callbacks.SampleGrid("samples/")])
    ```
    """

    def __init__(
        self,
        directory: str,
        num_samples: int = 64,
        every_n_epochs: int = 1,
        seed: int = 0,
    ):
        super().__init__()
        check_positive("num_samples", num_samples)
        check_positive("every_n_epochs", every_n_epochs)
        self.directory = os.fspath(directory)
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.seed = seed

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
        images_lib.save_grid(images, path, cols=cols, value_range=(-1.0, 1.0))
