"""Training callbacks for kgen's generative models."""

import json
import math
import os
import shutil
import time
import warnings

import keras
import numpy as np

from kgen import images as images_lib
from kgen import metrics as metrics_lib
from kgen import saving
from kgen.cache import DEFAULT_CACHE_DIR
from kgen.networks.validation import check_number, check_positive


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of generated images every `every_n_epochs` epochs.

    The images come from `model.generate(..., seed=seed)`, so every grid
    decodes the same latent vectors and shows how those samples evolve. For a
    conditional model (one with `num_classes`) the grid has one row per class,
    `num_samples // num_classes` images each (at least one).
    Files are `<directory>/epoch_0001.png`, ..., each written whole (to a
    temporary file renamed into place). Images with NaN or inf (a diverged
    generator) are not drawn as a black grid: the epoch's grid is skipped
    with a warning.

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
        if not np.all(np.isfinite(images)):
            warnings.warn(
                f"SampleGrid: the generated images of epoch {epoch + 1} hold NaN "
                f"or inf (training diverged?), so {path} was not written",
                stacklevel=2,
            )
            return
        images_lib.save_grid(images, path, cols=cols, value_range=(-1.0, 1.0))


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` once `seconds` of training have passed, at a step boundary.

    The clock starts when training begins and is read after every batch (or
    every `steps_per_execution` batches); when the budget is spent, training
    stops after that step. Keras then still ends the epoch, so `on_epoch_end`
    callbacks (`SampleGrid`, `Evaluate`, `ModelCheckpoint`,
    `BackupAndRestore`) run, and everything after `fit` (saving, export)
    runs as usual. Time spent in those epoch-end callbacks counts towards the
    budget. `stopped_after` holds the seconds trained when it stopped (None if
    the run ended first).

    Use it to compare models at equal compute, or to bound a run's cost:

    Example:

    ```python
    budget = kgen.callbacks.TimeBudget(120)
    gan.fit(train, epochs=1000, callbacks=[budget, kgen.callbacks.SampleGrid("s/")])
    print(budget.stopped_after)  # ~120.0
    ```
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = check_number(
            "TimeBudget's seconds", seconds, 0.0, low_inclusive=False
        )
        self.stopped_after = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.stopped_after = None

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self.start
        # Only touch self.model when it is time: on JAX reading it syncs state.
        if elapsed >= self.seconds:
            self.stopped_after = elapsed
            self.model.stop_training = True


class Evaluate(keras.callbacks.Callback):
    """Writes sample-quality metrics (FID, KID, ...) into the epoch logs.

    Every `every_n_epochs` epochs it generates `num_samples` images with a
    fixed `seed` and scores them with `kgen.metrics.SampleQuality` against
    `real_images`, then adds the results to the epoch's `logs`: they reach
    the progress bar, `History`, `TensorBoard` and callbacks that monitor a
    metric, like any other. Keys: `fid`, `kid`, `kid_std`, and with a
    classifier `class_coverage`, `class_evenness` and, for conditional
    models (which then draw the classes in turn), `conditional_accuracy`.
    On other epochs the keys are absent, as `val_*` keys are with
    `validation_freq`.

    Keras calls callbacks in list order and `History` and the progress bar
    last, so put `Evaluate` BEFORE any callback that reads its keys
    (`ModelCheckpoint(monitor="fid")`, `EarlyStopping`, `TensorBoard`, a
    `CSVLogger`); those after it see the metrics, those before it do not.

    The real set's features are computed (or loaded from the cache) when
    training begins.

    Args:
        real_images: real images in [-1, 1] to compare with, e.g. held-out
            digits; more images give steadier FIDs.
        extractor, classifier, metrics, batch_size, kid_subsets,
            kid_subset_size, cache_dir: as in `kgen.metrics.SampleQuality`.
        num_samples: images generated per evaluation.
        every_n_epochs: how often to evaluate.
        seed: the fixed noise seed of the generated images (and of KID's
            subsets), so that scores move only with the model.

    Example:

    ```python
    classifier = kgen.classifier.dataset_classifier("glyphs")
    history = gan.fit(
        train,
        epochs=20,
        callbacks=[
            kgen.callbacks.Evaluate(held_out, classifier=classifier),
            keras.callbacks.ModelCheckpoint(
                "best.keras", monitor="fid", mode="min", save_best_only=True
            ),
        ],
    )
    history.history["fid"]  # one value per epoch
    ```
    """

    def __init__(
        self,
        real_images,
        *,
        extractor: keras.Model | str | None = None,
        classifier: keras.Model | None = None,
        metrics: tuple[str, ...] | list[str] | None = None,
        num_samples: int = 1000,
        every_n_epochs: int = 1,
        seed: int = 0,
        batch_size: int = 256,
        kid_subsets: int = 100,
        kid_subset_size: int | None = None,
        cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    ):
        super().__init__()
        check_positive("num_samples", num_samples)
        check_positive("every_n_epochs", every_n_epochs)
        self.quality = metrics_lib.SampleQuality(
            real_images,
            extractor=extractor,
            classifier=classifier,
            metrics=metrics,
            batch_size=batch_size,
            kid_subsets=kid_subsets,
            kid_subset_size=kid_subset_size,
            seed=seed,
            cache_dir=cache_dir,
        )
        self.real_images = self.quality.real_images
        self.extractor = extractor
        self.classifier = classifier
        self.metrics = metrics
        self.num_samples = num_samples
        self.every_n_epochs = every_n_epochs
        self.seed = seed
        self.batch_size = batch_size
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.cache_dir = cache_dir

    def on_train_begin(self, logs=None):
        model = self.model
        if not hasattr(model, "generate"):
            raise ValueError(
                f"Evaluate needs a model with generate(), got {type(model).__name__}"
            )
        if (
            self.metrics is not None
            and "accuracy" in self.metrics
            and getattr(model, "num_classes", None) is None
        ):
            raise ValueError(
                "The 'accuracy' metric needs a conditional model (one with "
                f"num_classes); {type(model).__name__} is unconditional"
            )
        # Paid once, up front, so that a bad extractor fails before training.
        self.quality.prepare()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        # On JAX, reading self.model syncs the trained weights into it.
        results = self.quality.score_model(self.model, self.num_samples, seed=self.seed)
        if logs is not None:
            logs.update(results)


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training when a metric or a weight becomes NaN or inf.

    After every batch it reads the logged metrics (`loss`, `d_loss`, ...;
    they are epoch means, so one bad step keeps them non-finite), and at
    every epoch's end it also checks the weights, which can explode while
    the losses still look finite. On the first non-finite value it stops
    training, prints which metric or weight went bad at which epoch and
    step, and sets `diverged` to that message. Put it BEFORE
    `kgen.callbacks.BackupAndRestore` or `ModelCheckpoint` in the callback
    list: kgen's `BackupAndRestore` then keeps the last good checkpoint.

    Unlike `keras.callbacks.TerminateOnNaN`, it watches every metric (GANs
    log two losses) and the weights, and says where it stopped.

    Example:

    ```python
    guard = kgen.callbacks.DivergenceGuard()
    gan.fit(train, epochs=20, callbacks=[guard, kgen.callbacks.BackupAndRestore("b/")])
    if guard.diverged:
        print(guard.diverged)  # "Training diverged at epoch 3, step 41: ..."
    ```
    """

    def __init__(self):
        super().__init__()
        self.diverged = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.diverged = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = _non_finite_logs(logs)
        if bad:
            self._stop(f"step {batch + 1}: {bad}")

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged:
            return
        bad = _non_finite_logs(logs)
        weights = [] if bad else saving.non_finite_weights(self.model)
        if weights:
            bad = f"weights {', '.join(weights[:3])} are NaN or inf"
        if bad:
            self._stop(f"its end: {bad}")

    def _stop(self, where):
        self.diverged = (
            f"Training diverged at epoch {self._epoch + 1}, {where}; lower the "
            f"learning rate (or add a stabiliser) and resume from the last good "
            f"checkpoint"
        )
        print(self.diverged, flush=True)
        self.model.stop_training = True


def _non_finite_logs(logs) -> str:
    """`"d_loss is nan, ..."` for the non-finite numbers in `logs`; "" if none."""
    bad = []
    for name, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            bad.append(f"{name} is {number}")
    return ", ".join(bad)


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, crash-safe and never keeping a bad state.

    What it adds to `keras.callbacks.BackupAndRestore`:

    - each backup's weights go to a new file, and the metadata that names
      them is renamed into place last: a crash at any moment leaves the
      previous backup whole, its weights and epoch number agreeing;
    - an epoch whose metrics or weights are NaN or inf is not backed up: the
      last good state stays (see `DivergenceGuard`);
    - resuming says so: "Resuming from epoch N (backup in DIR)";
    - a corrupt or foreign backup raises an error naming the file and how
      to start over, instead of h5py's "file signature not found";
    - `delete_checkpoint=True` deletes the backup at the end only if
      training was not stopped by divergence; pass `False` and call
      `delete()` once the final model is safely written.

    Args:
        backup_dir: directory of the backup (created when first needed).
        delete_checkpoint: delete the backup when training ends well.

    Example:

    ```python
    backup = kgen.callbacks.BackupAndRestore("runs/dcgan/backup",
                                             delete_checkpoint=False)
    gan.fit(train, epochs=20, callbacks=[kgen.callbacks.DivergenceGuard(), backup])
    gan.save("runs/dcgan/dcgan.keras")
    backup.delete()  # only now is the backup no longer needed
    ```
    """

    def __init__(self, backup_dir, delete_checkpoint: bool = True):
        super().__init__(os.fspath(backup_dir), delete_checkpoint=delete_checkpoint)
        self.resumed_from_epoch = None
        self._stopped_by_divergence = False

    def on_train_begin(self, logs=None):
        self.resumed_from_epoch = None
        self._stopped_by_divergence = False
        weights = self.weights_file()
        if weights is None:
            return
        try:
            self._restore(weights)
        except Exception as error:
            raise ValueError(
                f"The backup {weights} cannot be restored ({error}): it is "
                f"corrupt or belongs to another model; delete {self.backup_dir} "
                f"to start over, or choose another output directory"
            ) from error
        self.resumed_from_epoch = self.model._initial_epoch
        print(
            f"Resuming from epoch {self.resumed_from_epoch} "
            f"(backup in {self.backup_dir})",
            flush=True,
        )

    def weights_file(self) -> str | None:
        """The weights file of the last complete backup, or None if there is none.

        The metadata names it, so a crash between writing new weights and
        new metadata leaves the previous pair, which still agree. A backup
        written by Keras' own callback (`latest.weights.h5`, no name in the
        metadata) is read too.
        """
        metadata = self._metadata()
        name = metadata.get("weights", os.path.basename(self._weights_path))
        path = os.path.join(self.backup_dir, name)
        return path if os.path.exists(path) else None

    def _metadata(self) -> dict:
        if not os.path.exists(self._training_metadata_path):
            return {}
        with open(self._training_metadata_path) as file:
            return json.load(file)

    def _restore(self, weights):
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights)
        self.model._initial_epoch = self._metadata().get("epoch", 0)

    def on_epoch_end(self, epoch, logs=None):
        if _non_finite_logs(logs) or saving.non_finite_weights(self.model):
            self._stopped_by_divergence = True
            return
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        # New weights go to a file of their own; the metadata, renamed into
        # place last, names them: that rename is the one commit point, so the
        # weights and the epoch number always agree. Then the old file goes.
        name = (
            f"epoch-{self._current_epoch:05d}-batch-{self._last_batch_seen}.weights.h5"
        )
        with saving.atomic_path(os.path.join(self.backup_dir, name)) as partial:
            self.model.save_weights(str(partial), overwrite=True)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights": name,
        }
        saving.write_bytes(self._training_metadata_path, json.dumps(metadata).encode())
        for other in os.listdir(self.backup_dir):
            if other.endswith(".weights.h5") and other != name:
                os.remove(os.path.join(self.backup_dir, other))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and not self._stopped_by_divergence:
            self.delete()

    def delete(self):
        """Deletes the backup directory (once the final model is written)."""
        shutil.rmtree(self.backup_dir, ignore_errors=True)
