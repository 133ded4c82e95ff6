"""Score generated images against real ones: FID, KID, coverage and more.

Either side may be a generative model (.keras file or SavedModel, which draws
--num-samples images), an image folder, a .npy/.npz array (uint8 [0, 255] or
float [-1, 1]) or reference statistics (.npz with mu and sigma: FID only);
--real may also be a dataset (glyphs, a TFDS name, an MNIST IDX file; its
test split). Folders and arrays give their first --num-samples/--num-real
images, read in batches with bounded memory. Features come from a digit
classifier that kgen trains on labelled digits and caches (28x28 grayscale;
also gives class coverage and evenness, the accuracy of a conditional model's
classes and, with --metrics, a digit Inception Score), from InceptionV3
with --extractor inception (ImageNet weights, downloaded once), or from the
FID Inception network of pytorch-fid, clean-fid and TF-GAN with --extractor
fid_inception (pytorch-fid's weights file, downloaded once or given with
--extractor-weights; --fid-mode picks the resize convention). Lower FID and
KID are better; classifier and InceptionV3 scores are comparable between kgen
runs with the same settings; fid_inception scores with published FIDs computed
in the same mode.
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
  kgen evaluate samples/ --real fid_stats.npz --extractor fid_inception \
      --extractor-weights pt_inception-2015-12-05-6726825d.pth
  kgen evaluate samples/ --real real.npz --metrics fid precision_recall density_coverage
"""
# What --metrics may name (kgen.metrics.METRICS, which imports Keras; a test
# checks that the two agree).
METRIC_NAMES = (
    "fid",
    "kid",
    "coverage",
    "accuracy",
    "inception_score",
    "precision_recall",
    "density_coverage",
)
# Paths that are image sources; other --real values are datasets.
SOURCE_SUFFIXES = (".npy", ".npz", ".keras")


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    parser = add_subcommand(subparsers, "evaluate", __doc__, common, epilog=EPILOG)
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="images to score: a .keras file, a SavedModel, an image folder, a "
        ".npy/.npz array or statistics .npz",
    )
    parser.add_argument(
        "--real",
        required=True,
        help="real images: glyphs, a TFDS name, an MNIST IDX images file, or any "
        "kind MODEL may be",
    )
    parser.add_argument(
        "-n",
        "--num-samples",
        type=at_least(MIN_IMAGES),
        default=10000,
        help="images to score (a model draws them; a folder or array gives its first)",
    )
    parser.add_argument(
        "--num-real",
        type=at_least(MIN_IMAGES),
        default=10000,
        help="real images to compare",
    )
    parser.add_argument(
        "--extractor",
        choices=("classifier", "inception", "fid_inception"),
        default="classifier",
        help="feature space of FID and KID (fid_inception: the published FIDs' "
        "network)",
    )
    parser.add_argument(
        "--extractor-weights",
        metavar="PATH",
        help="weights file of --extractor inception (.h5/.keras) or fid_inception "
        "(pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or an .npz of its "
        "arrays); default: downloaded once",
    )
    parser.add_argument(
        "--fid-mode",
        choices=("clean", "legacy_tensorflow", "pytorch_fid"),
        default="clean",
        help="how --extractor fid_inception resizes images to 299x299: clean-fid's "
        "antialiased bicubic, the TensorFlow FID code's bilinear, or "
        "pytorch-fid's (default: %(default)s)",
    )
    parser.add_argument(
        "--metrics",
        nargs="+",
        choices=METRIC_NAMES,
        metavar="NAME",
        help=f"scores to compute, from {', '.join(METRIC_NAMES)} (default: fid, "
        "kid, and with the classifier coverage and a conditional model's accuracy)",
    )
    parser.add_argument(
        "--classifier-data",
        metavar="DATASET",
        help="labelled digits the classifier is trained on (default: --real when "
        "it is a dataset, else glyphs)",
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

    # Everything that can be checked is checked before the classifier, which
    # may train for minutes, and before the samples are drawn.
    cache_dir = Path(args.cache_dir or DEFAULT_CACHE_DIR)
    if cache_dir.exists() and not cache_dir.is_dir():
        raise ValueError(
            f"--cache-dir '{cache_dir}' is a file; pass a folder (it is created "
            "if missing)"
        )
    digits = args.extractor == "classifier"
    wanted = set(args.metrics or ())
    if not digits and wanted & {"coverage", "accuracy", "inception_score"}:
        raise ValueError(
            "--metrics coverage, accuracy and inception_score use the digit "
            f"classifier: drop --extractor {args.extractor}"
        )
    labels = args.labels
    generated = _source(args.model, args.num_samples, labels, args.seed, "MODEL")
    if labels and not isinstance(generated, metrics.sources.GeneratorSource):
        raise ValueError("--labels needs a conditional model; MODEL is not a model")
    real_is_dataset = not _is_source(args.real)
    if real_is_dataset:
        real = None
    else:
        real = _source(args.real, args.num_real, None, args.seed, "--real")
    shape = _image_shape(generated, real, digits)
    if digits and shape is not None and shape != (28, 28, 1):
        height, width, channels = shape
        raise ValueError(
            f"The digit classifier scores 28x28x1 images; MODEL's are "
            f"{height}x{width}x{channels}: use --extractor inception or "
            "fid_inception"
        )
    if real_is_dataset:
        if shape is None:
            raise ValueError(
                "With reference statistics as MODEL, --real must be images, "
                "a model or statistics, not a dataset"
            )
        real = _dataset_images(data, metrics, args, shape)
    classifier = None
    # Two sets of statistics need no features, so no classifier either.
    if digits and any(
        isinstance(side, (metrics.ImageSource, np.ndarray))
        for side in (generated, real)
    ):
        name = args.classifier_data or (args.real if real_is_dataset else "glyphs")
        print(f"Digit classifier of {name} (trained once, then cached)")
        classifier = classifier_lib.dataset_classifier(
            name, limit=args.limit, cache_dir=cache_dir, verbose=1
        )
    extractor = None if digits else args.extractor
    if (
        not digits
        and shape is not None
        and (args.extractor_weights or args.extractor == "fid_inception")
    ):
        options = {"weights": args.extractor_weights} if args.extractor_weights else {}
        if args.extractor == "fid_inception":
            options["mode"] = args.fid_mode
        extractor = metrics.named_extractor(args.extractor, shape, **options)
    scores = metrics.compare(
        generated,
        real,
        extractor=extractor,
        classifier=classifier,
        metrics=args.metrics,
        seed=args.seed,
        image_shape=shape,
        batch_size=args.batch_size,
        cache_dir=cache_dir,
    )
    print(f"{_describe(generated, args.seed)} against {_describe(real, args.seed)}")
    for name, value in scores.items():
        if not name.endswith("_std"):
            spread = scores.get(f"{name}_std")
            spread = "" if spread is None else f" ± {spread:.4g}"
            print(f"  {name:<22}{value:>10.4g}{spread}")


def _is_source(path: str) -> bool:
    """Whether --real names an image source rather than a dataset."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in SOURCE_SUFFIXES


def _source(path, count, labels, seed, flag):
    """The image source or statistics at `path`, with at least MIN_IMAGES images."""
    from kgen import metrics

    source = metrics.image_source(path, num_samples=count, labels=labels, seed=seed)
    if isinstance(source, metrics.ImageSource):
        source.limit(count)
        if source.count < MIN_IMAGES:
            raise ValueError(
                f"{flag} {path} gave {source.count} image(s); scoring needs at "
                f"least {MIN_IMAGES}"
            )
    return source


def _image_shape(generated, real, digits):
    """The shape both sides are scored at: a model's, the classifier's, or MODEL's."""
    from kgen.metrics import ImageSource
    from kgen.metrics.sources import GeneratorSource

    for side in (generated, real):
        if isinstance(side, GeneratorSource):
            return side.image_shape
    if digits:
        return (28, 28, 1)
    for side in (generated, real):
        if isinstance(side, ImageSource):
            return side.image_shape
    return None


def _dataset_images(data, metrics, args, shape):
    """--num-real images of the dataset --real, in [-1, 1], at `shape`."""
    height, width, channels = shape
    real = data.load(
        args.real,
        split="test",
        batch_size=1024,
        shuffle=False,
        limit=args.num_real,
        image_size=(height, width),
        color_mode="grayscale" if channels == 1 else "rgb",
    )
    images = np.concatenate(list(real.as_numpy_iterator()))
    if len(images) < MIN_IMAGES:
        raise ValueError(
            f"--real {args.real} gave {len(images)} image(s); scoring needs at "
            f"least {MIN_IMAGES}: pass a larger dataset or --num-real"
        )
    return metrics.check_images(images)


def _describe(side, seed=None) -> str:
    from kgen.metrics.sources import GeneratorSource

    if isinstance(side, np.ndarray):
        return f"{len(side)} real images"
    if isinstance(side, GeneratorSource):
        return f"{side.count} samples (seed {seed})"
    if hasattr(side, "count"):
        return f"{side.count} images"
    if side.features is not None:
        return f"the statistics of {len(side.features)} images"
    return "reference statistics"
