"""Scores from a classifier: conditional accuracy and class coverage.

A trained classifier (e.g. `kgen.classifier.dataset_classifier()`) labels the
generated images. A conditional model should draw the class it is asked for
(`classifier_accuracy`); any model should draw every class, about equally
often (`class_coverage`): a collapsed GAN covers few classes, unevenly.
"""

import keras
import numpy as np
from keras import ops

from kgen.metrics.features import check_images

# A class counts as covered when it gets at least this share of an even split
# of the samples: a few stray predictions of the classifier do not count.
DEFAULT_MIN_SHARE = 0.25


def predict_classes(
    classifier: keras.Model, images, *, batch_size: int = 256
) -> np.ndarray:
    """The classifier's most likely class for each image, as int64 NumPy."""
    return predict_logits(classifier, images, batch_size=batch_size).argmax(axis=-1)


def predict_logits(
    classifier: keras.Model, images, *, batch_size: int = 256
) -> np.ndarray:
    """The classifier's outputs `(num_images, num_classes)` as float32 NumPy."""
    if not isinstance(classifier, keras.Model):
        raise ValueError(f"classifier must be a keras.Model, got {classifier!r}")
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    images = check_images(images)
    logits = []
    for start in range(0, len(images), batch_size):
        chunk = ops.convert_to_tensor(images[start : start + batch_size])
        output = ops.convert_to_numpy(classifier(chunk, training=False))
        logits.append(output.reshape(len(output), -1).astype(np.float32))
    return np.concatenate(logits)


def classifier_accuracy(
    classifier: keras.Model, images, labels, *, batch_size: int = 256
) -> float:
    """The fraction of `images` the classifier assigns to their `labels`.

    For a conditional model's samples, `labels` are the requested classes.

    Example:

    ```python
    labels = np.arange(1000) % 10
    images = cgan.generate(1000, labels=labels, seed=0)
    accuracy = kgen.metrics.classifier_accuracy(classifier, images, labels)
    ```
    """
    labels = np.asarray(labels)
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be {len(images)} integers, one per image, got "
            f"{labels.dtype} of shape {labels.shape}"
        )
    predicted = predict_classes(classifier, images, batch_size=batch_size)
    return float(np.mean(predicted == labels))


def class_coverage(
    classifier: keras.Model,
    images,
    *,
    num_classes: int | None = None,
    min_share: float = DEFAULT_MIN_SHARE,
    batch_size: int = 256,
) -> tuple[int, float]:
    """How many classes the images cover, and how evenly.

    Returns `(covered, evenness)`:

    - `covered`: the number of classes that receive at least `min_share` of
      an even split (`min_share * N / num_classes` images), so that a few
      misclassified images do not count as a class;
    - `evenness`: the entropy of the predicted class frequencies divided by
      `log(num_classes)` (Pielou's evenness): 1 when every class is predicted
      equally often, 0 when all images fall in one class.

    Args:
        num_classes: classes to expect; default: the classifier's outputs.

    Example:

    ```python
    covered, evenness = kgen.metrics.class_coverage(classifier, gan.generate(1000))
    ```
    """
    if num_classes is None:
        num_classes = int(classifier.outputs[0].shape[-1])
    predicted = predict_classes(classifier, images, batch_size=batch_size)
    return predicted_class_coverage(
        predicted, num_classes=num_classes, min_share=min_share
    )


def predicted_class_coverage(
    predicted, *, num_classes: int, min_share: float = DEFAULT_MIN_SHARE
) -> tuple[int, float]:
    """`class_coverage` of classes already predicted: `(covered, evenness)`.

    For images that stream past in batches (`kgen.metrics.compare`), whose
    predicted classes are kept rather than the images.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share must be in (0, 1], got {min_share!r}")
    predicted = np.asarray(predicted)
    counts = np.bincount(predicted, minlength=num_classes)[:num_classes]
    covered = int(np.sum(counts >= min_share * len(predicted) / num_classes))
    frequencies = counts[counts > 0] / counts.sum()
    entropy = np.sum(frequencies * np.log(1.0 / frequencies))
    return covered, float(entropy / np.log(num_classes))
