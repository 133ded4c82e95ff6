"""`Evaluate`: sample-quality metrics (FID, KID, ...) in the epoch logs."""

import os

import keras

from kgen import metrics as metrics_lib
from kgen.cache import DEFAULT_CACHE_DIR
from kgen.networks.validation import check_positive


class Evaluate(keras.callbacks.Callback):
    """Writes sample-quality metrics (FID, KID, ...) into the epoch logs.

    Every `every_n_epochs` epochs it generates `num_samples` images with a
    fixed `seed` and scores them with `kgen.metrics.SampleQuality` against
    `real_images`, then adds the results to the epoch's `logs`: they reach
    the progress bar, `History`, `TensorBoard` and callbacks that monitor a
    metric, like any other. Keys: `fid`, `kid`, `kid_std`, and with a
    classifier `class_coverage`, `class_evenness` and, for conditional
    models (which then draw the classes in turn), `conditional_accuracy`;
    with `metrics=` naming them, also `inception_score`,
    `inception_score_std`, `precision`, `recall`, `density` and `coverage`.
    On other epochs the keys are absent, as `val_*` keys are with
    `validation_freq`.

    Keras calls callbacks in list order and `History` and the progress bar
    last, so put `Evaluate` BEFORE any callback that reads its keys
    (`ModelCheckpoint(monitor="fid")`, `EarlyStopping`, `TensorBoard`, a
    `CSVLogger`); those after it see the metrics, those before it do not.

    The real set's features are computed (or loaded from the cache) when
    training begins.

    On several workers (`kgen.distributed`) each worker generates and
    extracts its share of the `num_samples` images (the same latent rows as
    one process), and the features are gathered: every worker logs the
    scores one process would, at 1/N of the cost each.

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
        results = self.quality.score_model(
            self.model, self.num_samples, seed=self.seed, sharded=True
        )
        if logs is not None:
            logs.update(results)
