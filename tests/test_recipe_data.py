"""The recipes' digit splits, on every kind of source they accept."""

import numpy as np
import pytest
from idx_files import write_idx

from kgen.recipes import digit_splits


@pytest.fixture
def idx_digits(tmp_path):
    images = np.arange(12, dtype=np.uint8)[:, None, None] * np.ones(
        (1, 28, 28), np.uint8
    )
    write_idx(tmp_path / "tiny-images-idx3-ubyte.gz", images, 2051)
    write_idx(tmp_path / "tiny-labels-idx1-ubyte.gz", np.arange(12) % 10, 2049)
    return tmp_path / "tiny-images-idx3-ubyte.gz"


def collect(dataset):
    batches = list(dataset)
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate([b[i].numpy() for b in batches]) for i in range(2))
    return np.concatenate([b.numpy() for b in batches])


def test_idx_file_keeps_its_last_digits_apart(idx_digits):
    train, test = digit_splits(
        str(idx_digits), batch_size=4, seed=0, held_out=3, with_labels=True
    )
    train_images, train_labels = collect(train)
    test_images, test_labels = collect(test)
    assert train_images.shape == (9, 28, 28, 1) and test_images.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(np.sort(train_labels), np.sort(np.arange(9) % 10))
    np.testing.assert_array_equal(test_labels, [9, 0, 1])  # in order, unshuffled
    # Pixel value i / 255 in the file is image i: none of the last three trained on.
    assert test_images[:, 0, 0, 0].min() > train_images[:, 0, 0, 0].max()


def test_idx_file_without_held_out_trains_on_everything(idx_digits):
    train, test = digit_splits(str(idx_digits), batch_size=5, seed=0, binarize=True)
    assert test is None
    images = collect(train)
    assert images.shape == (12, 28, 28, 1)
    assert set(np.unique(images)) <= {-1.0, 1.0}


def test_named_dataset_uses_its_test_split():
    train, test = digit_splits("glyphs", batch_size=8, seed=0, limit=16, held_out=8)
    assert collect(train).shape == (16, 28, 28, 1)
    assert collect(test).shape == (8, 28, 28, 1)


def test_holding_out_everything_is_an_error(idx_digits):
    with pytest.raises(ValueError, match="leaves no training digits"):
        digit_splits(str(idx_digits), batch_size=4, seed=0, held_out=12)
