"""Training callbacks for kgen's generative models."""

import os

import keras
import numpy as np

from kgen import data


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of generated images every `every_n_epochs` epochs.

    The images come from `model.generate(..., seed=seed)`, so every grid
    decodes the same latent vectors and shows how those samples evolve. For a
    conditional model (one with `num_classes`) the grid has one row per class,
    `num_samples // num_classes` images each (at least one).
    Files are `<directory>/epoch_0001.png`, ...

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
        for name, value in (
            ("num_samples", num_samples),
            ("every_n_epochs", every_n_epochs),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
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
            data.save_grid(images, path)
            return
        per_class = max(1, self.num_samples // num_classes)
        labels = np.repeat(np.arange(num_classes), per_class)
        images = self.model.generate(len(labels), labels=labels, seed=self.seed)
        data.save_grid(images, path, cols=per_class)
