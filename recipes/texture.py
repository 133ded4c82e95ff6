"""Synthesize a texture from a painting: its style alone, grown from noise.

    python recipes/texture.py ../shared/data/images/starry_night.jpg -o out/starry_texture.png
    python recipes/texture.py painting.jpg --height 256 --width 512 --optimizer lbfgs --steps 200

Texture synthesis (Gatys, Ecker & Bethge 2015) matches the Gram matrices of the
painting's VGG features, with no content term. `--weights hed` works offline.
"""

import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import time

import numpy as np

import kgen
from kgen.recipes import print_loss_terms, vgg_backbone

# Every setting, with its default and help: the flags of this script.
Config = kgen.recipes.TextureConfig


def main(config: Config) -> np.ndarray:
    kgen.runs.refuse_to_overwrite(config.output, config.overwrite)
    # The model: the style and smoothness terms over a frozen VGG's features.
    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = kgen.StyleTransfer(
        backbone=backbone,
        weights=weights,
        total_variation_weight=config.total_variation_weight,
    )
    painting = kgen.images.read_image(config.style, max_size=config.max_style_size)
    # The optimisation of an image grown from noise.
    start = time.perf_counter()
    texture = model.synthesize_texture(
        painting,
        size=(config.height, config.width),
        steps=config.steps,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        scales=config.scales,
        style_scale=config.style_scale,
        frames_dir=config.frames_dir,
        frame_every=config.frame_every,
        seed=config.seed,
    )
    seconds = time.perf_counter() - start
    print_loss_terms(model, ["style_loss"])
    path = kgen.images.save_image(texture, config.output)
    print(f"{config.width}x{config.height} px in {seconds:.1f} s: {path}")
    return texture


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
