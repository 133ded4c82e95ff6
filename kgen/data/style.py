"""`(content, style)` pairs of random crops, for training style networks."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from kgen.data.arrays import standardize_images
from kgen.data.folders import check_image_file, image_files
from kgen.data.options import UINT8_RANGE, PipelineOptions
from kgen.data.pipeline import fits_in_memory, import_tensorflow, prefetched
from kgen.networks.validation import check_positive

if TYPE_CHECKING:
    import tensorflow as tf


def style_pairs(
    content,
    style,
    *,
    image_size: tuple[int, int] = (256, 256),
    resize_short_side: int | None = None,
    batch_size: int = 8,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """`(content, style)` batches of random crops, for training style networks.

    Unlike the GAN loaders, this yields float32 RGB in [0, 1] (what
    `kgen.models.AdaINStyleTransfer` and VGG features take). Every image is
    resized, keeping its aspect ratio, so that its short side is
    `resize_short_side` (default: twice the crop's longer side, the paper's
    512 for 256 crops), then cropped at random to `image_size`, with new
    crops every epoch. The two streams are shuffled separately and zipped;
    the one with fewer images is repeated, so an epoch has as many pairs as
    the larger one has images. For a fixed number of steps per epoch, add
    `.repeat()`.

    Example:

    ```python
    pairs = kgen.data.style_pairs("coco/train2014", "wikiart/", seed=0)
    content, style = next(iter(pairs))  # two (8, 256, 256, 3) float32 batches
    ```

    Args:
        content: A folder of images (PNG, JPEG, BMP, GIF; any subfolder, any
            size), an image file, a list of folders and files, or an array `(N, H, W)` or `(N, H, W, C)` with C = 1 or 3:
            uint8 in [0, 255], floats in [0, 1] (or in [-1, 1] when some are
            negative, as kgen's GAN pipelines produce).
        style: The style images, likewise.
        image_size: `(height, width)` of the crops.
        resize_short_side: Short side, in pixels, of the images before
            cropping; at least the crop's longer side.
        batch_size: Pairs per batch.
        shuffle: Whether to shuffle both streams, anew every epoch.
        seed: Seed of the shuffling and of the crops.
        drop_remainder: Whether to drop the last, smaller batch.

    Raises:
        FileNotFoundError: If a folder or file does not exist.
        ValueError: For an empty folder or array, an unreadable image, an
            array of the wrong shape, dtype or range, or bad sizes.
    """
    options = PipelineOptions.of(locals())
    if image_size is None:
        raise ValueError("image_size must be a (height, width) pair, got None")
    crop = options.image_size
    if resize_short_side is None:
        resize_short_side = 2 * max(crop)
    check_positive("resize_short_side", resize_short_side)
    if resize_short_side < max(crop):
        raise ValueError(
            f"resize_short_side={resize_short_side} must be at least the crop's "
            f"longer side, {max(crop)} (image_size={crop})"
        )
    tf = import_tensorflow()
    streams = [
        _style_stream(images, role, resize_short_side, options)
        for images, role in ((content, "content"), (style, "style"))
    ]
    # The larger stream sets the epoch; the other one cycles through its images.
    longest = max(range(2), key=lambda i: streams[i][1])
    datasets = [
        dataset if i == longest else dataset.repeat()
        for i, (dataset, _) in enumerate(streams)
    ]
    pairs = tf.data.Dataset.zip(tuple(datasets))
    # One crop seed per pair, new every epoch yet reproducible with `seed`.
    crop_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    pairs = tf.data.Dataset.zip(pairs, crop_seeds.batch(2)).map(
        lambda images, seeds: tuple(
            _random_crop(image, crop, seeds[i]) for i, image in enumerate(images)
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    pairs = pairs.batch(batch_size, drop_remainder=drop_remainder)
    return prefetched(pairs)


def _style_stream(images, role, short_side, options):
    """One side of `style_pairs`: resized uint8 images, cached and shuffled."""
    tf = import_tensorflow()
    if isinstance(images, (str, os.PathLike, list, tuple)):
        files = image_files(images)
        for file in files:
            check_image_file(file)
        dataset = tf.data.Dataset.from_tensor_slices([str(f) for f in files]).map(
            lambda file: tf.io.decode_image(
                tf.io.read_file(file), channels=3, expand_animations=False
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        count, value_range = len(files), UINT8_RANGE
    elif isinstance(images, np.ndarray):
        try:
            images, value_range = standardize_images(images)
        except ValueError as error:
            raise ValueError(f"{role}: {error}") from None
        dataset = tf.data.Dataset.from_tensor_slices(images)
        count = len(images)
    else:
        raise ValueError(
            f"{role} must be an image folder or file, a list of them, or a "
            f"NumPy array of images; got {type(images).__name__}"
        )
    low, high = value_range

    def resize(image):
        image = (tf.cast(image, tf.float32) - low) / (high - low)
        if image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        scale = short_side / tf.reduce_min(shape)
        # Never below the short side, whatever the rounding.
        size = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), short_side)
        image = tf.image.resize(image, size, antialias=True)
        # Cached as uint8: a quarter of the memory of float32.
        return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8)

    dataset = dataset.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    # A resized image is about short_side x (4/3 short_side) pixels.
    if fits_in_memory(count, 4 * short_side**2):
        dataset = dataset.cache()
    if options.shuffle:
        dataset = dataset.shuffle(
            count, seed=options.seed, reshuffle_each_iteration=True
        )
    return dataset, count


def _random_crop(image, size, seed):
    tf = import_tensorflow()
    crop = tf.image.stateless_random_crop(image, (*size, 3), seed=tf.stack([seed, 0]))
    return tf.cast(crop, tf.float32) / 255.0
