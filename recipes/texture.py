"""Synthesize a texture from a painting: its style alone, grown from noise.

    python recipes/texture.py ../shared/data/images/starry_night.jpg -o out/starry_texture.png
    python recipes/texture.py painting.jpg --height 256 --width 512 --optimizer lbfgs --steps 200

Texture synthesis (Gatys, Ecker & Bethge 2015) matches the Gram matrices of the
painting's VGG features, with no content term. `--weights hed` works offline.
"""

import dataclasses
import sys
import time

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import vgg_backbone


@dataclasses.dataclass
class Config:
    style: str = dataclasses.field(
        default=None, metadata={"positional": True, "help": "the painting"}
    )
    output: str = dataclasses.field(
        default="texture.png", metadata={"short": "-o", "help": "output image"}
    )
    height: int = 256
    width: int = 256
    steps: int = dataclasses.field(
        default=500, metadata={"help": "optimisation steps per resolution"}
    )
    optimizer: str = dataclasses.field(
        default="adam", metadata={"help": "adam or lbfgs"}
    )
    learning_rate: float = 0.02
    scales: int = dataclasses.field(
        default=1, metadata={"help": "coarse-to-fine resolutions"}
    )
    style_scale: float = dataclasses.field(
        default=1.0, metadata={"help": "painting size relative to the texture"}
    )
    max_style_size: int = dataclasses.field(
        default=512, metadata={"help": "longer side of the painting (larger shrink)"}
    )
    total_variation_weight: float = 1e2
    frames_dir: str | None = None
    frame_every: int = 50
    backbone: str = "vgg19"
    weights: str = dataclasses.field(
        default="imagenet", metadata={"help": "imagenet, hed (offline), or a file"}
    )
    overwrite: bool = False
    verbose: bool = False
    seed: int = 0


def main(config: Config):
    kgen.runs.refuse_to_overwrite(config.output, config.overwrite)
    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = kgen.StyleTransfer(
        backbone=backbone,
        weights=weights,
        total_variation_weight=config.total_variation_weight,
    )
    painting = kgen.images.read_image(config.style, max_size=config.max_style_size)
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
    style = model.optimization_log["style_loss"]
    print(f"style_loss: {style[0]:.4g} -> {style[-1]:.4g}")
    path = kgen.images.save_image(texture, config.output)
    print(f"{config.width}x{config.height} px in {seconds:.1f} s: {path}")
    return texture


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
