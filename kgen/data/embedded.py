"""The embedded glyphs: MNIST-like digits generated on the fly, no download."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kgen.data.arrays import numpy_dataset
from kgen.data.options import PipelineOptions
from kgen.glyphs import glyphs

if TYPE_CHECKING:
    import tensorflow as tf

# Seed and size of each split. Different seeds make the test digits differ
# from the training digits.
GLYPHS_SPLITS = {"train": (0, 60000), "test": (1, 10000)}


def glyphs_dataset(
    split: str, with_labels: bool, options: PipelineOptions
) -> tf.data.Dataset:
    """The glyphs split `split` (see `load("glyphs")`), only as many as needed."""
    if split not in GLYPHS_SPLITS:
        raise ValueError(
            f"glyphs has splits {tuple(GLYPHS_SPLITS)}, got split={split!r}"
        )
    seed, num_examples = GLYPHS_SPLITS[split]
    if options.limit is not None:
        # Generation is prefix-stable, so this is the start of the full split.
        num_examples = min(num_examples, options.limit)
    images, labels = glyphs(num_examples, seed=seed)
    return numpy_dataset(images, labels if with_labels else None, options)
