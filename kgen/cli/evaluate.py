"""Score a generative model's samples against real images: FID, KID, coverage.

Generates --num-samples images and compares them with --num-real images of
the --real dataset (its test split for named datasets). Features come from a
digit classifier that kgen trains on --real's labelled training images and
caches (28x28 grayscale models; also gives class coverage and evenness, and
the accuracy of a conditional model's classes), or from InceptionV3 with
--extractor inception (ImageNet weights, downloaded once). Lower FID and KID
are better; scores are comparable between kgen runs with the same settings,
not with published figures.
"""

import argparse
from pathlib import Path

import numpy as np

from kgen.cache import DEFAULT_CACHE_DIR, DEFAULT_CACHE_DIR_HELP
from kgen.cli.arguments import add_subcommand, at_least, positive_int

# Fewest images per set: the kernel distance compares random halves of each.
MIN_IMAGES = 4

EPILOG = """\
examples:
  kgen evaluate runs/dcgan/dcgan.keras --real glyphs
  kgen evaluate runs/cgan/saved_model --real mnist --labels 0 1 2 3 4 5 6 7 8 9
  kgen evaluate runs/vae/vae.keras --real glyphs --extractor inception
"""


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "evaluate", __doc__, common, epilog=EPILOG)
    parser.add_argument("model", metavar="MODEL", help=".keras file or SavedModel")
    parser.add_argument(
        "--real",
        required=True,
        help="real images: glyphs, a TFDS name, an MNIST IDX images file or a folder",
    )
    parser.add_argument(
        "-n",
        "--num-samples",
        type=at_least(MIN_IMAGES),
        default=10000,
        help="images to score",
    )
    parser.add_argument(
        "--num-real",
        type=at_least(MIN_IMAGES),
        default=10000,
        help="real images to compare",
    )
    parser.add_argument(
        "--extractor",
        choices=("classifier", "inception"),
        default="classifier",
        help="feature space of FID and KID",
    )
    parser.add_argument(
        "--labels",
        type=int,
        nargs="+",
        metavar="CLASS",
        help="classes of a conditional model, in turn (default: all)",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="train the classifier on at most N images (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument(
        "--batch-size", type=positive_int, default=256, help="images per forward pass"
    )
    parser.add_argument(
        "--cache-dir",
        help="where the classifier and the real statistics are cached "
        f"(default: {DEFAULT_CACHE_DIR_HELP})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from kgen import classifier as classifier_lib
    from kgen import data, metrics
    from kgen.cli.loading import class_labels, generate_images, load_generator

    # Everything that can be checked is checked before the classifier, which
    # may train for minutes, and before the samples are drawn.
    cache_dir = Path(args.cache_dir or DEFAULT_CACHE_DIR)
    if cache_dir.exists() and not cache_dir.is_dir():
        raise ValueError(
            f"--cache-dir '{cache_dir}' is a file; pass a folder (it is created "
            "if missing)"
        )
    generator = load_generator(args.model)
    class_labels(generator, args.labels, args.num_samples)
    height, width, channels = generator.image_shape
    real = data.load(
        args.real,
        split="test",
        batch_size=1024,
        shuffle=False,
        limit=args.num_real,
        image_size=(height, width),
        color_mode="grayscale" if channels == 1 else "rgb",
    )
    digits = args.extractor == "classifier"
    if digits and generator.image_shape != (28, 28, 1):
        raise ValueError(
            f"The digit classifier scores 28x28x1 images; this model makes "
            f"{height}x{width}x{channels}: use --extractor inception"
        )
    real_images = np.concatenate(list(real.as_numpy_iterator()))
    if len(real_images) < MIN_IMAGES:
        raise ValueError(
            f"--real {args.real} gave {len(real_images)} image(s); scoring needs "
            f"at least {MIN_IMAGES}: pass a larger dataset or --num-real"
        )
    metrics.check_images(real_images)
    generated, labels, seed = generate_images(generator, args)
    classifier = None
    if digits:
        print(f"Digit classifier of {args.real} (trained once, then cached)")
        classifier = classifier_lib.dataset_classifier(
            args.real, limit=args.limit, cache_dir=cache_dir, verbose=1
        )
    quality = metrics.SampleQuality(
        real_images,
        extractor="inception" if args.extractor == "inception" else None,
        classifier=classifier,
        batch_size=args.batch_size,
        cache_dir=cache_dir,
    )
    scores = quality.score(generated, labels)
    real_count = len(quality.real_images)
    print(f"{len(generated)} samples (seed {seed}) against {real_count} real images")
    for name, value in scores.items():
        if name != "kid_std":
            spread = f" ± {scores['kid_std']:.4g}" if name == "kid" else ""
            print(f"  {name:<22}{value:>10.4g}{spread}")
