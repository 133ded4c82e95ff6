"""Tests for the embedded glyphs dataset (`kgen.glyphs`)."""

import numpy as np
import pytest

from kgen import data
from kgen.glyphs import glyphs


def _normalized(images):
    """Flattens images to zero-mean unit vectors, so dot products are correlations."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.linalg.norm(flat, axis=1, keepdims=True)


def test_shapes_dtypes_and_pixel_range():
    images, labels = glyphs(300, seed=0)
    assert images.shape == (300, 28, 28)
    assert images.dtype == np.uint8
    assert labels.shape == (300,)
    assert labels.dtype == np.int32
    assert set(np.unique(labels)) == set(range(10))
    # White strokes on black, with antialiased grey edges in between.
    assert images.min() == 0 and images.max() == 255
    assert (images.max(axis=(1, 2)) == 255).all()
    grey = (images > 0) & (images < 255)
    assert grey.mean() > 0.02


def test_digits_are_centred_in_a_20_pixel_box_like_mnist():
    images, _ = glyphs(300, seed=0)
    ink = images.astype(np.float64)
    rows = np.arange(28)
    centre_row = (ink.sum(axis=2) * rows).sum(axis=1) / ink.sum(axis=(1, 2))
    centre_col = (ink.sum(axis=1) * rows).sum(axis=1) / ink.sum(axis=(1, 2))
    assert abs(centre_row.mean() - 13.5) < 0.5
    assert abs(centre_col.mean() - 13.5) < 0.5
    heights = [np.ptp(np.flatnonzero(image.max(axis=1) > 30)) + 1 for image in images]
    assert 17 < np.mean(heights) < 22
    # The outer two-pixel frame is almost empty.
    frame = np.ones((28, 28), bool)
    frame[2:-2, 2:-2] = False
    assert images[:, frame].mean() < 2


def test_labels_are_balanced():
    _, labels = glyphs(1000, seed=3)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [100] * 10)
    _, labels = glyphs(1234, seed=3)
    counts = np.bincount(labels, minlength=10)
    assert counts.max() - counts.min() <= 1


def test_same_seed_same_arrays_and_other_seed_other_arrays():
    images, labels = glyphs(100, seed=7)
    again_images, again_labels = glyphs(100, seed=7)
    np.testing.assert_array_equal(images, again_images)
    np.testing.assert_array_equal(labels, again_labels)
    other_images, other_labels = glyphs(100, seed=8)
    assert not np.array_equal(labels, other_labels)
    assert np.abs(images.astype(int) - other_images).mean() > 10


def test_fewer_examples_give_a_prefix_of_more():
    # 1100 spans two generation chunks of 1000.
    images, labels = glyphs(1100, seed=0)
    for count in (10, 1000, 1050):
        prefix_images, prefix_labels = glyphs(count, seed=0)
        np.testing.assert_array_equal(prefix_images, images[:count])
        np.testing.assert_array_equal(prefix_labels, labels[:count])


def test_examples_of_one_digit_vary():
    images, labels = glyphs(200, seed=0)
    sevens = images[labels == 7].astype(int)
    differences = np.abs(sevens[:, None] - sevens[None, :]).mean(axis=(2, 3))
    off_diagonal = differences[~np.eye(len(sevens), dtype=bool)]
    assert off_diagonal.min() > 3


def test_same_digit_looks_more_alike_than_different_digits():
    images, labels = glyphs(400, seed=0)
    correlation = _normalized(images) @ _normalized(images).T
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    within = correlation[same & off_diagonal].mean()
    between = correlation[~same].mean()
    assert within > between + 0.1


def test_labels_match_images_on_unseen_seed():
    # Class mean images from one seed classify digits drawn with another
    # (nearest centroid by correlation). Around 88% here; chance is 10%.
    images, labels = glyphs(1000, seed=0)
    centroids = np.stack([images[labels == d].mean(axis=0) for d in range(10)])
    test_images, test_labels = glyphs(300, seed=1)
    predicted = (_normalized(test_images) @ _normalized(centroids).T).argmax(axis=1)
    assert (predicted == test_labels).mean() > 0.7


def test_zero_examples():
    images, labels = glyphs(0)
    assert images.shape == (0, 28, 28) and labels.shape == (0,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_examples=-1), "num_examples must be a non-negative integer"),
        (dict(num_examples=2.5), "num_examples must be a non-negative integer"),
        (dict(num_examples=10, seed=-1), "seed must be a non-negative integer"),
        (dict(num_examples=10, seed="a"), "seed must be a non-negative integer"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        glyphs(**kwargs)


def test_reexported_from_data():
    assert data.glyphs is glyphs
