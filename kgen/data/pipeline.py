"""The pipeline every source goes through: limit, cache, shuffle, batch, rescale.

`tf.data` works with every Keras backend. TensorFlow is imported on first use
only (`import_tensorflow()`), so `import kgen` stays fast for JAX and PyTorch
users who bring their own data.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import keras

from kgen.data.options import PipelineOptions, Source

if TYPE_CHECKING:
    import tensorflow as tf

# Sources bigger than this (decoded) are streamed rather than cached in memory.
MAX_CACHE_BYTES = 2**30
# Shuffle buffer for sources that are not in memory; in-memory sources are
# shuffled over their whole length.
_STREAM_SHUFFLE_BUFFER = 10000


@functools.cache
def import_tensorflow():
    """Imports TensorFlow for `tf.data`, keeping it off the GPU under JAX/PyTorch.

    TensorFlow reserves most of the GPU memory when it starts, which would starve
    a JAX or PyTorch model; the data pipeline only needs the CPU. Use this, not
    `import tensorflow`, wherever kgen needs TensorFlow next to another backend
    (`tf.data`, loading SavedModels).

    Example:

    ```python
    tf = kgen.data.import_tensorflow()
    served = tf.saved_model.load("saved_models/dcgan_glyphs")
    ```
    """
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:
            # TensorFlow was already initialised by someone else; leave it.
            pass
    return tf


def make_pipeline(source: Source, options: PipelineOptions) -> tf.data.Dataset:
    """Limits, caches, shuffles, batches, rescales and prefetches `source`.

    The batches are float32 in [-1, 1], with int32 labels when `source`
    yields `(image, label)` pairs.
    """
    tf = import_tensorflow()
    dataset = source.dataset
    num_examples = source.num_examples
    if options.limit is not None:
        dataset = dataset.take(options.limit)
        if num_examples is not None:
            num_examples = min(num_examples, options.limit)
    in_memory = source.in_memory
    if not in_memory and fits_in_memory(num_examples, source.example_bytes):
        # Reading and decoding then happen in the first epoch only.
        dataset = dataset.cache()
        in_memory = True
    if options.shuffle and (in_memory or not source.shuffled):
        buffer = num_examples if in_memory else _STREAM_SHUFFLE_BUFFER
        dataset = dataset.shuffle(
            buffer, seed=options.seed, reshuffle_each_iteration=True
        )
    dataset = dataset.batch(options.batch_size, drop_remainder=options.drop_remainder)
    preprocess = functools.partial(
        _preprocess,
        value_range=source.value_range,
        image_size=options.image_size,
        color_mode=options.color_mode,
    )
    if isinstance(dataset.element_spec, tuple):
        dataset = dataset.map(
            lambda images, labels: (preprocess(images), tf.cast(labels, tf.int32)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        dataset = dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if options.binarize:
        # One fresh seed per batch, different every epoch yet reproducible.
        seeds = tf.data.Dataset.random(
            seed=options.seed, rerandomize_each_iteration=True
        )
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            _binarize, num_parallel_calls=tf.data.AUTOTUNE
        )
    return prefetched(dataset)


def prefetched(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset.prefetch(AUTOTUNE)` without tf.data's autotuning thread.

    Keras makes a new iterator of a dataset every epoch, and destroying the
    previous one waits for that thread (seen with py-spy): on 2 CPU cores
    the DCGAN recipe stood still for 2-10 s at the start of most epochs of
    6,016 digits, and for ~80 s at its second epoch of 60,000. Without the thread no epoch waited (8 of 8); the
    `AUTOTUNE` maps then run on every core and the prefetch buffer still
    grows as needed.

    Example:

    ```python
    dataset = prefetched(images.batch(64).map(rescale, num_parallel_calls=-1))
    ```
    """
    tf = import_tensorflow()
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def fits_in_memory(num_examples: int | None, example_bytes: int | None) -> bool:
    """Whether `num_examples` of `example_bytes` each fit the in-memory cache."""
    if num_examples is None or example_bytes is None:
        return False
    return num_examples * example_bytes <= MAX_CACHE_BYTES


def _binarize(batch, seed):
    """Samples {-1, 1} pixels, 1 with probability `(x + 1) / 2`."""
    tf = import_tensorflow()
    images, labels = batch if isinstance(batch, tuple) else (batch, None)
    noise = tf.random.stateless_uniform(tf.shape(images), seed=tf.stack([seed, 0]))
    binary = tf.where(noise < (images + 1.0) / 2.0, 1.0, -1.0)
    return binary if labels is None else (binary, labels)


def _preprocess(images, *, value_range, image_size, color_mode):
    """Maps a batch to float32 in [-1, 1] with the requested size and channels."""
    tf = import_tensorflow()
    low, high = value_range
    # Centring then dividing maps low and high to exactly -1 and 1.
    images = (tf.cast(images, tf.float32) - (low + high) / 2) / ((high - low) / 2)
    channels = images.shape[-1]
    if color_mode == "grayscale" and channels == 3:
        # ITU-R 601 luma; unlike tf.image.rgb_to_grayscale's, these weights sum
        # to 1, so black and white stay exactly -1 and 1.
        images = tf.reduce_sum(images * (0.299, 0.587, 0.114), axis=-1, keepdims=True)
    elif color_mode == "rgb" and channels == 1:
        images = tf.image.grayscale_to_rgb(images)
    if image_size is not None and tuple(images.shape[1:3]) != image_size:
        images = tf.image.resize(images, image_size, antialias=True)
    # Resizing can overshoot slightly; keep the documented range exact.
    return tf.clip_by_value(images, -1.0, 1.0)
