"""Complete held-out digits whose bottom (or another) half is missing.

Uses a model trained by `vae_mnist.py` (default), `dcgan_mnist.py` or
`gan_mnist.py`:

    python recipes/vae_mnist.py --epochs 10
    python recipes/complete_mnist.py
    python recipes/complete_mnist.py --model saved_models/dcgan_mnist/dcgan_mnist.keras

Writes a PNG with four rows per digit group: the untouched digits, the masked
input, the model's starting point and the completion; prints the error on the
missing pixels before and after the search.
"""

import sys
from pathlib import Path

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import numpy as np

import kgen
from kgen.recipes import digit_splits

# Every setting, with its default and help: the flags of this script.
Config = kgen.recipes.CompletionConfig


def main(config: Config) -> np.ndarray:
    # Imported here, so that --help answers without loading Keras. kgen's
    # loader registers kgen's classes (this script loads kgen lazily) and names
    # a missing file, a SavedModel or another kind of model.
    from kgen.loading import load_generative_model

    kgen.runs.refuse_to_overwrite(config.output, config.overwrite)
    model = load_generative_model(config.model)
    _, test = digit_splits(
        config.dataset,
        batch_size=config.num_images,
        seed=config.seed,
        held_out=config.held_out,
    )
    if test is None:
        raise ValueError(f"{config.dataset} has no held-out digits to complete")
    digits = next(iter(test)).numpy()
    mask = kgen.completion.half_mask((28, 28, 1), config.missing)
    search = dict(learning_rate=config.learning_rate, seed=config.seed)
    start = kgen.complete(model, digits, mask, steps=0, **search)
    completed = kgen.complete(model, digits, mask, steps=config.steps, **search)
    missing = np.broadcast_to(mask == 0, digits.shape)
    for name, images in (("start", start), ("completed", completed)):
        error = np.mean((images[missing] - digits[missing]) ** 2)
        print(f"Missing-pixel MSE ({name}): {error:.4f}")
    masked = np.where(mask == 1, digits, -1.0)
    grid = np.concatenate([digits, masked, start, completed])
    path = kgen.images.save_grid(
        grid, Path(config.output), cols=len(digits), value_range=(-1, 1)
    )
    print(f"Completions: {path}")
    return completed


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
