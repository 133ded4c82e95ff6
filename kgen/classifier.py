"""A small digit classifier that kgen trains itself and caches on disk.

Judges generated digits without any download: trained on real labelled digits
(e.g. `../shared/data/mnist`), it tells whether a conditional GAN's "7" is a 7,
and its penultimate layer (`feature_extractor`) is the feature space in which
`kgen.metrics` measures FID and KID for 28x28 data. `dataset_classifier` trains
it on any labelled kgen dataset: the embedded glyphs, an MNIST IDX file, or
TFDS' `"mnist"` and `"fashion_mnist"`.
The trained model is cached under `cache_dir`, keyed by a hash of the training
data and settings, and written atomically so an interrupted run never leaves a
half-written file behind.
"""

import hashlib
import os
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import layers

from kgen import data, saving
from kgen.cache import DEFAULT_CACHE_DIR
from kgen.networks.validation import check_image_shape, check_positive


def digit_classifier_network(
    image_shape: tuple = (28, 28, 1), num_classes: int = 10, name: str = "classifier"
) -> keras.Model:
    """Builds `image -> class logits`: two conv blocks and a dense layer (~99% on MNIST).

    Example:

    ```python
    classifier = kgen.classifier.digit_classifier_network()
    logits = classifier(images)  # (batch, 10)
    ```
    """
    check_positive("num_classes", num_classes)
    image_shape = check_image_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    x = layers.Conv2D(32, 3, activation="relu", padding="same")(images)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(images, logits, name=name)


def train_digit_classifier(
    images,
    labels,
    *,
    epochs: int = 5,
    batch_size: int = 128,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    verbose: int = 0,
) -> keras.Model:
    """Returns a classifier trained on `images` in [-1, 1] and integer `labels`.

    With `cache_dir`, a classifier trained before on the same data and settings
    is loaded instead of trained again.

    Example:

    ```python
    images, labels = ...  # real digits in [-1, 1], (N, 28, 28, 1)
    classifier = kgen.classifier.train_digit_classifier(images, labels)
    predicted = classifier.predict(generated).argmax(-1)
    ```
    """
    images = np.asarray(images, dtype="float32")
    labels = np.asarray(labels, dtype="int32")
    if images.ndim != 4 or len(images) != len(labels):
        raise ValueError(
            f"Expected images (N, H, W, C) and N labels, got {images.shape} and "
            f"{labels.shape}"
        )
    num_classes = int(labels.max()) + 1
    key = hashlib.sha256(
        images.tobytes() + labels.tobytes() + repr((epochs, batch_size, seed)).encode()
    ).hexdigest()[:16]
    path = (
        None if cache_dir is None else Path(cache_dir) / f"digit_classifier_{key}.keras"
    )
    if path is not None and path.is_file():
        try:
            return keras.saving.load_model(path)
        except Exception as error:
            # A truncated or foreign file is a cache miss: trained again below.
            warnings.warn(
                f"Retraining the digit classifier: its cache '{path}' is "
                f"unreadable ({type(error).__name__}: {error})",
                stacklevel=2,
            )
    keras.utils.set_random_seed(seed)
    model = digit_classifier_network(images.shape[1:], num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(images, labels, epochs=epochs, batch_size=batch_size, verbose=verbose)
    if path is not None:
        with saving.atomic_path(path) as partial:
            model.save(partial)
    return model


def dataset_classifier(
    dataset: str | os.PathLike = "glyphs",
    *,
    split: str = "train",
    limit: int | None = None,
    epochs: int = 5,
    batch_size: int = 128,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    verbose: int = 0,
) -> keras.Model:
    """Returns the classifier of `train_digit_classifier` for a labelled dataset.

    `dataset` is anything `kgen.data.load` reads with labels, as 28x28
    grayscale: `"glyphs"` (embedded, offline), the path of an MNIST-format IDX
    images file with its labels file beside it (`../shared/data/mnist`), or a
    TFDS name such as `"mnist"` or `"fashion_mnist"` (downloaded on first use).
    The first call trains; later calls with the same data and settings load
    the cached model.

    Example:

    ```python
    classifier = kgen.classifier.dataset_classifier("fashion_mnist", epochs=5)
    features = kgen.classifier.feature_extractor(classifier)  # for kgen.metrics
    ```
    """
    images, labels = [], []
    for image_batch, label_batch in data.load(
        dataset,
        split=split,
        with_labels=True,
        shuffle=False,
        limit=limit,
        image_size=(28, 28),
        color_mode="grayscale",
        batch_size=1024,
    ):
        images.append(np.asarray(image_batch))
        labels.append(np.asarray(label_batch))
    return train_digit_classifier(
        np.concatenate(images),
        np.concatenate(labels),
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        cache_dir=cache_dir,
        verbose=verbose,
    )


def feature_extractor(
    classifier: keras.Model, name: str = "classifier_features"
) -> keras.Model:
    """Returns `images -> features`: the classifier's last hidden activations.

    These are the inputs of its final (logits) layer: 128 values per image for
    `digit_classifier_network`. Trained to tell digits apart, they make a
    feature space for FID and KID on 28x28 data that needs no download.

    Example:

    ```python
    classifier = kgen.classifier.dataset_classifier("glyphs")
    extractor = kgen.classifier.feature_extractor(classifier)
    features = extractor(images)  # (batch, 128)
    ```
    """
    if not isinstance(classifier, keras.Model) or not classifier.layers:
        raise ValueError(
            f"classifier must be a built keras.Model with layers, got {classifier!r}"
        )
    try:
        features = classifier.layers[-1].input
    except (AttributeError, ValueError):
        raise ValueError(
            f"The classifier {classifier.name!r} must be a functional or "
            "Sequential model, so that the input of its last layer can be read"
        ) from None
    extractor = keras.Model(classifier.inputs, features, name=name)
    extractor.trainable = False
    return extractor
