"""Fill in the missing part of an image with a trained VAE, GAN, DCGAN or cGAN.

MASK says which pixels are known: an image file whose white (bright) pixels
are known and whose black (dark) pixels are missing, or one of top, bottom,
left, right: that half of IMAGE is missing. IMAGE and MASK are resized to
the model's image size (28x28 for the digit models); IMAGE is read as the
model's digits are, light strokes on a dark background.

The completion searches the model's latent space for the image that matches
the known pixels best, then keeps the known pixels exactly.
"""

import argparse
from pathlib import Path

import numpy as np

from kgen.cli.arguments import add_subcommand, non_negative_int, positive_float

# kgen.completion.HALVES, which loads Keras; a test checks that they agree.
HALVES = ("top", "bottom", "left", "right")

EPILOG = """\
examples:
  kgen complete digit.png bottom --model runs/vae/vae.keras -o completed.png
  kgen complete digit.png mask.png --model runs/dcgan/dcgan.keras -o completed.png
  kgen complete digit.png right --model runs/cgan/cgan.keras --label 7 -o seven.png
"""


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "complete", __doc__, common, epilog=EPILOG)
    parser.add_argument("image", metavar="IMAGE", help="the image to complete")
    parser.add_argument(
        "mask",
        metavar="MASK",
        help="image file (white: known, black: missing) or the missing half: "
        f"{', '.join(HALVES)}",
    )
    parser.add_argument(
        "--model", required=True, help=".keras file of a VAE, GAN, DCGAN or cGAN"
    )
    parser.add_argument("-o", "--output", required=True, help="completed image (PNG)")
    parser.add_argument(
        "--label", type=int, help="the class to complete it as (conditional GANs)"
    )
    parser.add_argument(
        "--steps", type=non_negative_int, default=300, help="search steps"
    )
    parser.add_argument(
        "--learning-rate", type=positive_float, default=0.05, help="Adam's step size"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of a GAN's starting point"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from kgen import completion, images, runs
    from kgen.loading import load_generative_model

    runs.refuse_to_overwrite(args.output, args.overwrite)
    half = args.mask in completion.HALVES
    if not half and not Path(args.mask).is_file():
        raise FileNotFoundError(
            f"MASK must be an image file or one of {', '.join(completion.HALVES)}; "
            f"no such file: '{args.mask}'"
        )
    model = load_generative_model(args.model)
    labels = _labels(model, args.label)
    height, width, channels = model.image_shape
    image = _read(args.image, (height, width), channels) * 2.0 - 1.0
    if half:
        mask = completion.half_mask((height, width, 1), args.mask)
    else:
        mask = (_read(args.mask, (height, width), 1) > 0.5).astype("float32")
    completed = completion.complete(
        model,
        image[None],
        mask,
        labels=labels,
        steps=args.steps,
        learning_rate=args.learning_rate,
        seed=args.seed,
        verbose=1,
    )
    path = images.save_grid(completed, args.output, value_range=(-1.0, 1.0))
    missing = int(mask.size - mask.sum())
    print(f"{missing} of {mask.size} pixels completed: {path}")


def _read(path, size, channels) -> np.ndarray:
    """The image at `path` as `(height, width, channels)` floats in [0, 1]."""
    from kgen import images

    pixels = images.read_image(path, size=size)
    if channels == 3:
        return pixels
    return np.clip(images.rgb_to_yuv(pixels)[..., :1], 0.0, 1.0)


def _labels(model, label):
    num_classes = getattr(model, "num_classes", None)
    if num_classes is None:
        if label is not None:
            raise ValueError("--label needs a conditional GAN; this model has none")
        return None
    if label is None or not 0 <= label < num_classes:
        raise ValueError(
            f"A conditional GAN completes an image as one class: pass --label "
            f"0 to {num_classes - 1}"
        )
    return np.array([label], "int32")
