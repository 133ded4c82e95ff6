"""Train a model and save it as a .keras file and a SavedModel.

Digit models (gan, dcgan, cgan, vae) train on 28x28 grayscale images from
--dataset: the embedded digits ('glyphs', offline), a TFDS name ('mnist',
'fashion_mnist'; downloaded once), an MNIST IDX images file, or a folder of
images (subfolders are the classes, which cgan needs). style-network trains
the feed-forward AdaIN network on --content photos and --style paintings.

Everything goes under --output-dir: sample grids, the .keras file and the
SavedModel saved_model/. Running an interrupted training again with the same
--output-dir resumes it from its last finished epoch.
"""

import argparse
import textwrap

from kgen import recipes
from kgen.cli.arguments import HelpFormatter, add_subcommand
from kgen.config import add_config_arguments, from_args

EPILOG = """\
examples:
  kgen train gan                                   # MLP GAN on the embedded digits
  kgen train dcgan --dataset mnist --epochs 5      # TFDS MNIST (downloads once)
  kgen train cgan --dataset train-images-idx3-ubyte.gz --output-dir runs/cgan
  kgen train vae --architecture conv --no-binarize --likelihood gaussian
  kgen train style-network --content photos/ --style paintings/ --weights hed

Each model has its own --help: kgen train dcgan --help
"""
RESUME = "Running it again with the same --output-dir resumes an interrupted run."
DIGITS = (
    "on 28x28 grayscale digits. Writes sample grids, {name}.keras and the "
    "SavedModel under --output-dir."
)

# name: (what it is, its description, its settings, its kgen.recipes module);
# the settings' defaults and help are the recipe's, but for --output-dir.
MODELS = {
    "gan": ("the classic MLP GAN", DIGITS, recipes.GANConfig, "gan"),
    "dcgan": ("a DCGAN", DIGITS, recipes.DCGANConfig, "dcgan"),
    "cgan": (
        "a class-conditional DCGAN (the dataset needs labels)",
        DIGITS,
        recipes.CGANConfig,
        "cgan",
    ),
    "vae": (
        "a VAE, scored by held-out ELBO and IWAE log-likelihood",
        DIGITS,
        recipes.VAEConfig,
        "vae",
    ),
    "style-network": (
        "the feed-forward AdaIN style network",
        "(Huang & Belongie 2017): a frozen VGG encoder and a decoder trained on "
        "random crops of the --content and --style images. Writes adain.keras, "
        "the SavedModel and samples.png (each photo in each style) under "
        "--output-dir.",
        recipes.StyleNetworkConfig,
        "style_network",
    ),
}
# Flags every subcommand has already (kgen.cli's common parser).
COMMON = ("overwrite", "verbose")


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "train", __doc__, common, epilog=EPILOG)
    models = parser.add_subparsers(
        title="models", dest="model", metavar="MODEL", required=True
    )
    for name, (what, description, settings, _) in MODELS.items():
        subparser = models.add_parser(
            name,
            help=what,
            description=textwrap.fill(
                f"Train {what} {description.format(name=name)} {RESUME}", 79
            ),
            parents=[common],
            formatter_class=HelpFormatter,
        )
        add_config_arguments(
            subparser,
            settings,
            defaults={"output_dir": f"runs/{name}"},
            # The recipe's default is an offline demo on the repository's images.
            required=("content", "style") if name == "style-network" else (),
            exclude=COMMON,
        )
        subparser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    _, _, settings, module = MODELS[args.model]
    name = "adain" if args.model == "style-network" else args.model
    try:
        getattr(recipes, module).train(from_args(settings, args), name)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            "run the same command again to resume from the last finished epoch"
        ) from None
