"""`held_out_split()`: which examples of a file to hold out, drawn at random."""

import numpy as np

from kgen.networks.validation import check_non_negative

# The split's own seed, apart from a run's: every run holds out the same
# examples, so scores of runs with different seeds compare.
SPLIT_SEED = 0


def held_out_split(num_examples: int, held_out: int):
    """`(train, held_out)` index arrays: `held_out` examples drawn at random.

    Files are often ordered (MNIST's test file puts one population of writers
    before another: the shared 8,000 digits' last 3,000 have 20% more ink
    than the first 5,000), so the last examples are no fair sample of the
    rest. The draw is a seeded permutation (`SPLIT_SEED`), the same on every
    run; the training indices keep the permutation's random order, so any
    slice of them is a fair sample too.

    Example:

    ```python
    train, test = kgen.data.held_out_split(len(images), 1000)
    train_images, held_out_images = images[train], images[test]
    ```
    """
    check_non_negative("held_out", held_out)
    if held_out >= num_examples:
        raise ValueError(
            f"held_out={held_out} leaves no training examples of the "
            f"{num_examples}; hold out fewer"
        )
    order = np.random.default_rng(SPLIT_SEED).permutation(num_examples)
    return order[held_out:], order[:held_out]
