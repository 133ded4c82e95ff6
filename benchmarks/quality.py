"""How good are the samples after a fixed CPU budget? FID, KID and class coverage.

Trains kgen's digit models with their recipes' settings on the real MNIST
digits in `../shared/data/mnist` (`--held-out` digits drawn at random kept
apart, `kgen.data.held_out_split`, as the recipes do),
each for `--budget-seconds` of training time (or, with `--budget-images`, on
that many training images, which compares learning per image and does not
depend on the machine or on what else it runs), then scores `--num-samples`
generated digits against the held-out ones:

- FID and KID (mean ± std over subsets) in the feature space of kgen's digit
  classifier (its last hidden layer, 128 values; trained on the training
  digits but `--num-samples` of them, and cached);
- class coverage (classes that get at least a quarter of their even share)
  and evenness (normalised entropy of the predicted classes, 1 = even);
- for the conditional GAN, the fraction drawn in the requested class.

The first row scores `--num-samples` real training digits that the
classifier has not seen: the floor that a perfect generator would reach.
The `peer` row is what users copy instead of kgen: TensorFlow's DCGAN
tutorial networks trained by a plain `tf.GradientTape` + `tf.function` loop
(`benchmarks/tutorial_dcgan.py`), on the same digits, for the same budget,
scored by the same code (TensorFlow backend only). `--variants` adds DCGAN
rows that change the defaults, each `key=value,key=value` with keys of
`kgen.DCGAN` (`normalization`, `spectral_normalization`, `dropout`,
`kernel_size`, `base_filters`, `ema`), of `compile` (`loss`,
`d_learning_rate`, `g_learning_rate`, `r1_weight`, `r1_subsample`, ...) or
`batch_size`; this is how the DCGAN's defaults were chosen. The DCGAN rows are scored
`--curve-points` times during their budget.

    python benchmarks/quality.py --budget-seconds 760 --models dcgan peer
    python benchmarks/quality.py --budget-images 192000 --models dcgan peer
    python benchmarks/quality.py --budget-seconds 120 --models dcgan \
        --variants "normalization=batch,dropout=0,ema=None" "loss=hinge"
"""

import ast
import dataclasses
import sys
import time
from pathlib import Path

import keras

import kgen
from kgen.recipes import IMAGE_SHAPE, digit_splits

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared/data/mnist/mnist8k-images-idx3-ubyte.gz"
sys.path.insert(0, str(ROOT / "recipes"))

import cgan_mnist  # noqa: E402
import dcgan_mnist  # noqa: E402
import gan_mnist  # noqa: E402
import vae_mnist  # noqa: E402

MODELS = ("gan", "dcgan", "peer", "cgan", "vae")
ANCHOR_NOTE = (
    "Published anchors (best GANs on MNIST: FID ~6.7-9.8, Lucic et al. 2018) "
    "use InceptionV3 features, 10,000 samples and the full MNIST; these FIDs "
    "use kgen's 128-feature digit classifier and fewer images, a different "
    "scale: compare rows of this table with each other and with the real-data "
    "floor, not with published numbers."
)
# compile() arguments a variant may set; the other keys go to kgen.DCGAN.
COMPILE_KEYS = (
    "loss",
    "d_learning_rate",
    "g_learning_rate",
    "r1_weight",
    "r2_weight",
    "r1_subsample",
    "label_smoothing",
    "instance_noise",
    "augmentation",
    "jit_compile",
)


@dataclasses.dataclass
class Config:
    images: str = str(SHARED_MNIST)
    budget_seconds: float = dataclasses.field(
        default=120.0, metadata={"help": "training time per model"}
    )
    budget_images: int | None = dataclasses.field(
        default=None,
        metadata={"help": "train on this many images instead of for a time"},
    )
    # A tuple: parse_config reads defaults, not default factories.
    models: list[str] = dataclasses.field(
        default=MODELS, metadata={"help": " ".join(MODELS)}
    )
    variants: list[str] = dataclasses.field(
        default=(),
        metadata={"help": "extra DCGAN rows, each 'key=value,key=value'"},
    )
    held_out: int = 1000
    num_samples: int = 1000
    classifier_epochs: int = 8
    curve_points: int = dataclasses.field(
        default=4, metadata={"help": "FID measurements during the DCGAN budget"}
    )
    seed: int = 0


def parse_variant(text: str) -> dict:
    """`"dropout=0.3,ema=None"` -> `{"dropout": 0.3, "ema": None}`.

    An item without `=` continues the previous value, so that
    `"augmentation=translation,cutout"` keeps its comma.
    """
    items = []
    for item in filter(None, text.split(",")):
        if "=" in item or not items:
            items.append(item)
        else:
            items[-1] += "," + item
    settings = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            settings[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            settings[key.strip()] = value.strip()  # a bare word: a string
    return settings


def build_dcgan(settings: dict, config: Config):
    """`(model, pipeline)`: the recipe's DCGAN with `settings` changed."""
    settings = dict(settings)
    batch_size = settings.pop("batch_size", dcgan_mnist.Config().batch_size)
    compile_args = {k: settings.pop(k) for k in COMPILE_KEYS if k in settings}
    model = kgen.DCGAN(image_shape=IMAGE_SHAPE, seed=config.seed, **settings)
    model.compile(**compile_args)
    train, _ = digit_splits(
        config.images, batch_size=batch_size, seed=config.seed, held_out=config.held_out
    )
    return model, train


def build(name: str, config: Config):
    """`(model, training pipeline)` as the model's recipe makes them.

    The compiled models come from `kgen.recipes.<task>.build_model`, the
    builders of the recipes and `kgen train`, with the benchmark's seed.
    """
    common = dict(seed=config.seed, held_out=config.held_out)
    if name == "dcgan":
        return build_dcgan({}, config)
    if name == "peer":
        if keras.backend.backend() != "tensorflow":
            print("  peer: skipped, the tutorial's loop needs KERAS_BACKEND=tensorflow")
            return None
        from tutorial_dcgan import BATCH_SIZE, TutorialDCGAN

        train, _ = digit_splits(config.images, batch_size=BATCH_SIZE, **common)
        return TutorialDCGAN(seed=config.seed), train
    recipes = {"gan": gan_mnist, "cgan": cgan_mnist, "vae": vae_mnist}
    if name not in recipes:
        raise ValueError(f"Unknown model {name!r}; choose from {MODELS}")
    recipe = recipes[name].Config(seed=config.seed)
    model = getattr(kgen.recipes, name).build_model(recipe)
    train, _ = digit_splits(
        config.images,
        batch_size=recipe.batch_size,
        with_labels=name == "cgan",
        binarize=getattr(recipe, "binarize", False),
        **common,
    )
    return model, train


def train_part(model, train, config, points):
    """Trains `model` for 1/points of the budget; returns (seconds, images seen)."""
    batch = next(iter(train))
    batch_size = int((batch[0] if isinstance(batch, tuple) else batch).shape[0])
    images = None if config.budget_images is None else config.budget_images // points
    start = time.perf_counter()
    if hasattr(model, "train"):  # the tutorial's plain loop
        steps = model.train(
            train.repeat(),
            seconds=None if images else config.budget_seconds / points,
            images=images,
        )
    elif images:
        steps = max(1, images // batch_size)
        model.fit(
            train.repeat(), epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False
        )
    else:
        before = int(model.optimizer.iterations)
        model.fit(
            train,
            epochs=10**6,
            verbose=0,
            shuffle=False,  # the pipeline shuffles
            callbacks=[kgen.callbacks.TimeBudget(config.budget_seconds / points)],
        )
        steps = int(model.optimizer.iterations) - before
    return time.perf_counter() - start, steps * batch_size


def train_and_score(model, train, quality, config, points):
    """Trains for the budget in `points` equal parts, scoring after each.

    Returns `[(training seconds, images seen, scores), ...]`; scoring time
    is not training time.
    """
    curve, trained, seen = [], 0.0, 0
    for _ in range(points):
        seconds, images = train_part(model, train, config, points)
        trained += seconds
        seen += images
        scores = quality.score_model(model, config.num_samples, seed=config.seed)
        curve.append((trained, seen, scores))
    return curve


def row(name, seconds, images, scores):
    accuracy = scores.get("conditional_accuracy")
    return (
        f"{name:44s} {seconds:6.0f} {images:8d} {scores['fid']:7.2f} "
        f"{scores['kid']:7.3f} ± {scores['kid_std']:5.3f} "
        f"{scores['class_coverage']:5.0f} {scores['class_evenness']:9.3f} "
        + ("" if accuracy is None else f"{accuracy:8.1%}")
    )


def main(config: Config) -> dict:
    if not Path(config.images).is_file():
        sys.exit(f"Skipped: {config.images} is absent (../shared beside the repo).")
    unknown = sorted(set(config.models) - set(MODELS))
    if unknown:
        sys.exit(f"Unknown models {unknown}; choose from {' '.join(MODELS)}.")
    keras.utils.set_random_seed(config.seed)
    images = kgen.data.read_idx(config.images, magic=kgen.data.IDX_IMAGES_MAGIC)
    labels = kgen.data.read_idx(
        kgen.data.labels_path_for(Path(config.images)),
        magic=kgen.data.IDX_LABELS_MAGIC,
    ).astype("int32")
    images = (images[..., None] / 127.5 - 1.0).astype("float32")
    # The digits the models train on (digit_splits) and the held-out ones,
    # drawn at random: the file's last digits are another population of
    # writers (more ink) than its first, and no fair sample of the rest.
    train, test = kgen.data.held_out_split(len(images), config.held_out)
    # The floor's real digits are training digits the classifier does not
    # see: features of digits it was trained on would differ from those of
    # unseen ones and inflate the floor.
    learnt, floor_digits = train[: -config.num_samples], train[-config.num_samples :]
    classifier = kgen.classifier.train_digit_classifier(
        images[learnt],
        labels[learnt],
        epochs=config.classifier_epochs,
        seed=config.seed,
    )
    accuracy = kgen.metrics.classifier_accuracy(classifier, images[test], labels[test])
    quality = kgen.metrics.SampleQuality(images[test], classifier=classifier)
    quality.prepare()

    budget = (
        f"{config.budget_images} training images"
        if config.budget_images
        else f"{config.budget_seconds:.0f} s of training"
    )
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}")
    print(
        f"{len(train)} training digits, {config.held_out} held out (drawn at random); "
        f"the classifier learnt {len(learnt)} of the training digits "
        f"({accuracy:.1%} right on the held-out ones); "
        f"{config.num_samples} samples per score; budget {budget} per model"
    )
    results = {"real digits (floor)": (0.0, 0, quality.score(images[floor_digits]))}
    curves = {}
    runs = [(name, None) for name in config.models]
    runs += [(f"dcgan[{text}]", parse_variant(text)) for text in config.variants]
    for name, settings in runs:
        print(f"training {name} ...", flush=True)
        keras.utils.set_random_seed(config.seed)
        built = (
            build(name, config) if settings is None else build_dcgan(settings, config)
        )
        if built is None:
            continue
        dcgan_like = name.startswith("dcgan") or name == "peer"
        points = config.curve_points if dcgan_like else 1
        curves[name] = train_and_score(*built, quality, config, points)
        results[name] = curves[name][-1]
        print(row(name, *results[name]), flush=True)

    print()
    print(
        f"{'':44s} {'train s':>6s} {'images':>8s} {'FID':>7s} {'KID ± std':>15s} "
        f"{'cover':>5s} {'evenness':>9s} {'cGAN acc':>8s}"
    )
    for name, result in results.items():
        print(row(name, *result))
    for name, curve in curves.items():
        if len(curve) > 1:
            print(f"\n{name}: FID (KID) by training time")
            for seconds, seen, scores in curve:
                print(
                    f"  {seconds:6.0f} s {seen:8d} images  FID {scores['fid']:7.2f}"
                    f"  KID {scores['kid']:6.3f} ± {scores['kid_std']:.3f}"
                    f"  cover {scores['class_coverage']:.0f}"
                    f"  evenness {scores['class_evenness']:.3f}"
                )
    print()
    print(ANCHOR_NOTE)
    return results


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
