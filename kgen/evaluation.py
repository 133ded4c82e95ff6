"""What a trained digit model's samples are worth, in one line a newcomer can read.

`digit_quality` scores a generative model's samples against held-out digits
with kgen's digit classifier (FID, class coverage and evenness, and for a
conditional model the share drawn in the requested class), and scores real
digits the same way: the floor that a perfect generator would reach, so the
number has a yardstick. The recipes and `kgen train` print it at the end.

Example:

```python
scores = kgen.evaluation.digit_quality(gan, train_images, train_labels, held_out)
print(kgen.evaluation.describe(scores))
```
"""

import numpy as np

from kgen import classifier as classifier_lib
from kgen.metrics.sample_quality import SampleQuality


def digit_quality(
    model,
    train_images,
    train_labels,
    held_out_images,
    *,
    num_samples: int = 1000,
    classifier_epochs: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Scores `num_samples` of `model`'s samples against `held_out_images`.

    The classifier (features of FID, classes of coverage) learns all of
    `train_images` but the last `num_samples`, which are scored as the
    real-data floor (`fid_floor`): digits the classifier has not seen, like
    the generated ones. It is cached on disk, so repeated runs on the same
    digits pay for it once.

    Returns `fid`, `fid_floor`, `kid`, `kid_std`, `class_coverage`,
    `class_evenness`, `num_classes` (and `conditional_accuracy` for a
    conditional model).
    """
    train_images = np.asarray(train_images, dtype="float32")
    train_labels = np.asarray(train_labels)
    if len(train_images) < 2 * num_samples:
        raise ValueError(
            f"Scoring {num_samples} samples needs at least {2 * num_samples} "
            f"labelled training digits, got {len(train_images)}; lower num_samples"
        )
    classifier = classifier_lib.train_digit_classifier(
        train_images[:-num_samples],
        train_labels[:-num_samples],
        epochs=classifier_epochs,
        seed=seed,
    )
    quality = SampleQuality(held_out_images, classifier=classifier, seed=seed)
    scores = quality.score_model(model, num_samples, seed=seed)
    scores["fid_floor"] = quality.score(train_images[-num_samples:])["fid"]
    scores["num_classes"] = int(classifier.output_shape[-1])
    return scores


def describe(scores: dict[str, float]) -> str:
    """One line: the FID against its floor, classes covered, evenness."""
    text = (
        f"kgen FID {scores['fid']:.1f} (real digits score {scores['fid_floor']:.1f}; "
        f"lower is better), {scores['class_coverage']:.0f}/{scores['num_classes']} "
        "classes covered, "
        f"evenness {scores['class_evenness']:.2f} (1 = all classes equally often)"
    )
    if "conditional_accuracy" in scores:
        text += f", {scores['conditional_accuracy']:.0%} in the requested class"
    return text
