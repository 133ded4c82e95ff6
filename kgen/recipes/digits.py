"""28x28 digit data for the digit models: splits, and the held-out scores."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import kgen
from kgen.config import setting
from kgen.recipes.training import TrainingConfig, fit_and_save, start_run

if TYPE_CHECKING:
    import keras

IMAGE_SHAPE = (28, 28, 1)
# Labelled training digits that the quality report's classifier learns from:
# ~99.7% on held-out glyphs after 3 epochs, in ~20 s on 2 CPU cores (cached).
QUALITY_CLASSIFIER_DIGITS = 10_000


@dataclasses.dataclass
class DigitConfig(TrainingConfig):
    """Settings of every digit model's run: the data, held-out digits, latent size."""

    dataset: str = setting(
        "glyphs",
        "TFDS name (mnist, fashion_mnist), MNIST IDX images file, image folder, "
        "or glyphs (embedded, offline)",
    )
    limit: int | None = setting(None, "use at most N training images", metavar="N")
    held_out: int = setting(
        1000, "digits kept apart to score the model on (0: none)", check="non-negative"
    )
    quality_samples: int = setting(
        1000,
        "generated digits scored against the held-out ones at the end: kgen FID "
        "and class coverage (0: skip)",
        check="non-negative",
    )
    latent_dim: int = setting(100, "size of the latent vectors z")
    distributed: bool = setting(
        False,
        "train on every worker that kgen launch (or TF_CONFIG, "
        "KERAS_DISTRIBUTION_* on a cluster) starts, --batch-size being the "
        "global batch: TensorFlow MultiWorkerMirroredStrategy or JAX "
        "DataParallel; only worker 0 writes files",
    )


def digit_splits(
    dataset: str,
    *,
    batch_size: int,
    seed: int,
    limit: int | None = None,
    held_out: int = 0,
    with_labels: bool = False,
    binarize: bool = False,
    drop_remainder: bool = False,
):
    """Training and held-out pipelines of 28x28 grayscale digits.

    The held-out pipeline has `held_out` digits: the first of a named dataset's
    (`"glyphs"`, TFDS names) `test` split, or digits of an IDX images file
    drawn at random (`kgen.data.held_out_split`: the same ones on every run),
    which training then leaves out. It is None when `held_out` is 0 and
    for image folders. `limit` caps the training examples. `drop_remainder`
    drops each pipeline's last, smaller batch (several workers split every
    batch in equal shares).
    """
    options = dict(
        batch_size=batch_size,
        drop_remainder=drop_remainder,
        image_size=IMAGE_SHAPE[:2],
        color_mode="grayscale",
        binarize=binarize,
        seed=seed,
    )
    path = Path(dataset)
    if path.is_file():
        images = kgen.data.read_idx(path, magic=kgen.data.IDX_IMAGES_MAGIC)
        labels = (
            kgen.data.read_idx(
                kgen.data.labels_path_for(path), magic=kgen.data.IDX_LABELS_MAGIC
            )
            if with_labels
            else None
        )
        if held_out >= len(images):
            raise ValueError(
                f"held_out={held_out} leaves no training digits in {path} "
                f"({len(images)} images); hold out fewer"
            )
        train_indices, test_indices = kgen.data.held_out_split(len(images), held_out)

        def part(select, **extra):
            return kgen.data.from_numpy(
                images[select],
                None if labels is None else labels[select],
                **options,
                **extra,
            )

        train = part(train_indices, limit=limit)
        test = part(test_indices, shuffle=False) if held_out else None
        return train, test
    options["with_labels"] = with_labels
    if path.is_dir():
        return kgen.data.load(dataset, limit=limit, **options), None
    train = kgen.data.load(dataset, split="train", limit=limit, **options)
    if not held_out:
        return train, None
    test = kgen.data.load(
        dataset, split="test", limit=held_out, shuffle=False, **options
    )
    return train, test


def digit_data(
    config: DigitConfig, *, with_labels: bool = False, binarize: bool = False
):
    """`(train, held_out)` pipelines of `config.dataset` (see `digit_splits`).

    With `config.distributed` the last, smaller batch of each is dropped.
    """
    return digit_splits(
        config.dataset,
        batch_size=config.batch_size,
        seed=config.seed,
        limit=config.limit,
        held_out=config.held_out,
        with_labels=with_labels,
        binarize=binarize,
        drop_remainder=config.distributed,
    )


def print_sample_quality(model: keras.Model, config: DigitConfig, held_out) -> None:
    """Prints `kgen.evaluation.digit_quality` of `model`'s samples.

    Scores `config.quality_samples` generated digits against the held-out
    digits; skipped without held-out digits (`held_out` None) or with
    `quality_samples` 0. The held-out digits are read again as they are,
    with labels (a VAE's were binarised for its likelihood), and the
    classifier learns from `QUALITY_CLASSIFIER_DIGITS` training digits.
    On several workers only the chief scores and prints (the classifier is
    cached on disk, and every worker would print the same scores).
    """
    if held_out is None or not config.quality_samples:
        return
    if not kgen.distributed.is_chief():
        return
    try:
        labelled, held_out = digit_splits(
            config.dataset,
            batch_size=1024,
            seed=config.seed,
            limit=QUALITY_CLASSIFIER_DIGITS + config.quality_samples,
            held_out=config.held_out,
            with_labels=True,
        )
    except (ValueError, OSError) as error:
        print(
            f"Sample quality: skipped, the classifier needs labelled digits ({error})"
        )
        return
    batches = list(labelled.as_numpy_iterator())
    held_out_digits = np.concatenate([x for x, _ in held_out.as_numpy_iterator()])
    scores = kgen.evaluation.digit_quality(
        model,
        np.concatenate([images for images, _ in batches]),
        np.concatenate([labels for _, labels in batches]),
        held_out_digits[: config.quality_samples],
        num_samples=config.quality_samples,
        seed=config.seed,
    )
    print(f"Sample quality ({config.quality_samples} samples vs held-out digits):")
    print(f"  {kgen.evaluation.describe(scores)}")


def train_digit_model(
    build: Callable[[DigitConfig], keras.Model],
    config: DigitConfig,
    name: str,
    *,
    with_labels: bool = False,
):
    """Trains a generative digit model as its recipe does, for `kgen train`.

    Builds the compiled model with `build(config)` and fits it in the scope
    `config.distributed` asks for (`kgen.distributed.training_scope`), on
    the digits but `config.held_out` (`digit_data`; with labels for a
    conditional model); saves it (`fit_and_save`), then prints the sample
    quality against the held-out digits (`print_sample_quality`).
    """
    # The run first: a finished one is refused before the model is built.
    run = start_run(config, name)
    with kgen.distributed.training_scope(config.distributed):
        model = build(config)
        train, held_out = digit_data(config, with_labels=with_labels)
        fit_and_save(model, config, name, train, run=run)
    print_sample_quality(model, config, held_out)
    return model
