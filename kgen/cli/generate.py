"""Generate images with a trained GAN, DCGAN, conditional GAN or VAE.

MODEL is a .keras file or a SavedModel directory, as `kgen train` writes
them. Images go to one PNG grid (-o) or to one PNG each (--output-dir). The
same --seed gives the same images; without it, new ones every time.
"""

import argparse
from pathlib import Path

from kgen.cli.arguments import add_subcommand, positive_int

EPILOG = """\
examples:
  kgen generate runs/dcgan/dcgan.keras -n 64 -o samples.png --seed 0
  kgen generate runs/cgan/saved_model --labels 7 -n 16 -o sevens.png
  kgen generate runs/cgan/cgan.keras --labels 0 1 2 3 4 5 6 7 8 9 -n 100 --cols 10
  kgen generate runs/vae/vae.keras -n 1000 --output-dir samples/
"""


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "generate", __doc__, common, epilog=EPILOG)
    parser.add_argument("model", metavar="MODEL", help=".keras file or SavedModel")
    parser.add_argument(
        "-n", "--num-samples", type=positive_int, default=64, help="how many images"
    )
    parser.add_argument(
        "--labels",
        type=int,
        nargs="+",
        metavar="CLASS",
        help="classes of a conditional model, repeated to fill -n (default: "
        "each class in turn)",
    )
    parser.add_argument("--seed", type=int, help="noise seed (default: random)")
    parser.add_argument(
        "--batch-size", type=positive_int, default=256, help="images per forward pass"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "-o", "--output", default="samples.png", help="PNG grid of all the images"
    )
    output.add_argument(
        "--output-dir", help="write one PNG per image here instead: 0000.png, ..."
    )
    parser.add_argument(
        "--cols",
        type=positive_int,
        help="grid columns (default: a square grid, or one column per class)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from kgen import images as images_lib
    from kgen import runs
    from kgen.loading import generate_images, load_generator

    runs.refuse_to_overwrite(args.output_dir or args.output, args.overwrite)
    generator = load_generator(args.model)
    images, labels, seed = generate_images(generator, args)
    if args.output_dir is not None:
        folder = Path(args.output_dir)
        for index, image in enumerate(images):
            images_lib.save_grid(
                image[None], folder / f"{index:04d}.png", value_range=(-1.0, 1.0)
            )
        print(f"{len(images)} images (seed {seed}): {folder}/0000.png ...")
        return
    cols = args.cols
    if cols is None and labels is not None and args.labels is None:
        cols = min(len(images), generator.num_classes)
    path = images_lib.save_grid(images, args.output, cols=cols, value_range=(-1.0, 1.0))
    print(f"{len(images)} images (seed {seed}): {path}")
