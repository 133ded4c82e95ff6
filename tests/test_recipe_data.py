"""The recipes' digit splits, on every kind of source they accept."""

import numpy as np
import pytest
from idx_files import write_idx

import kgen
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


def test_idx_file_keeps_random_digits_apart_the_same_on_every_run(idx_digits):
    train, test = digit_splits(
        str(idx_digits), batch_size=4, seed=0, held_out=3, with_labels=True
    )
    train_images, train_labels = collect(train)
    test_images, test_labels = collect(test)
    assert train_images.shape == (9, 28, 28, 1) and test_images.shape == (3, 28, 28, 1)
    # Pixel value i / 255 in the file is image i (label i % 10).
    held = np.round((test_images[:, 0, 0, 0] + 1) * 127.5).astype(int)
    trained = np.round((train_images[:, 0, 0, 0] + 1) * 127.5).astype(int)
    _, expected = kgen.data.held_out_split(12, 3)
    np.testing.assert_array_equal(held, expected)  # in the split's order
    np.testing.assert_array_equal(test_labels, expected % 10)
    np.testing.assert_array_equal(
        np.sort(np.concatenate([held, trained])), np.arange(12)
    )
    assert sorted(held) != [9, 10, 11]  # not the file's last digits
    # Another run seed shuffles training differently and holds out the same.
    _, again = digit_splits(str(idx_digits), batch_size=4, seed=5, held_out=3)
    np.testing.assert_array_equal(collect(again)[:, 0, 0, 0], test_images[:, 0, 0, 0])


def test_held_out_split_is_a_fair_sample_of_an_ordered_file():
    # Two populations one after the other, as in MNIST's test file.
    values = np.concatenate([np.zeros(5000), np.ones(3000)])
    train, test = kgen.data.held_out_split(len(values), 1000)
    assert len(train) == 7000 and len(test) == 1000
    assert not set(train) & set(test)
    assert abs(values[test].mean() - 0.375) < 0.05
    # Any slice of the training indices is a fair sample too.
    assert abs(values[train[-1000:]].mean() - 0.375) < 0.05
    first, second = kgen.data.held_out_split(8000, 1000)
    np.testing.assert_array_equal(first, train)
    np.testing.assert_array_equal(second, test)
    assert len(kgen.data.held_out_split(10, 0)[1]) == 0
    with pytest.raises(ValueError, match="hold out fewer"):
        kgen.data.held_out_split(10, 10)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="held_out must be a non-negative"):
            kgen.data.held_out_split(10, bad)


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
