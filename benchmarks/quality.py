"""How good are the samples after a fixed CPU budget? FID, KID and class coverage.

Trains kgen's digit models with their recipes' settings on the real MNIST
digits in `../shared/data/mnist` (the last `--held-out` digits kept apart),
each for `--budget-seconds` of training time, then scores `--num-samples`
generated digits against the held-out ones:

- FID and KID (mean ± std over subsets) in the feature space of kgen's digit
  classifier (its last hidden layer, 128 values; trained on the training
  digits but the last `--num-samples`, and cached);
- class coverage (classes that get at least a quarter of their even share)
  and evenness (normalised entropy of the predicted classes, 1 = even);
- for the conditional GAN, the fraction drawn in the requested class.

The first row scores `--num-samples` real training digits that the
classifier has not seen: the floor that a perfect generator would reach.
The DCGAN is also scored at `--curve-points` times during its budget,
without and with an exponential moving average of the generator's weights
(`kgen.DCGAN(ema=...)`; that row is skipped with a message where this kgen
has no `ema` argument yet). On a busy 2-core CPU a DCGAN makes about one
step per second, so budgets under a few minutes only show its first steps.

    python benchmarks/quality.py --budget-seconds 120
    python benchmarks/quality.py --budget-seconds 60 --models dcgan dcgan_ema
"""

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

MODELS = ("gan", "dcgan", "dcgan_ema", "cgan", "vae")
ANCHOR_NOTE = (
    "Published anchors (best GANs on MNIST: FID ~6.7-9.8, Lucic et al. 2018) "
    "use InceptionV3 features, 10,000 samples and the full MNIST; these FIDs "
    "use kgen's 128-feature digit classifier and fewer images, a different "
    "scale: compare rows of this table with each other and with the real-data "
    "floor, not with published numbers."
)


@dataclasses.dataclass
class Config:
    images: str = str(SHARED_MNIST)
    budget_seconds: float = dataclasses.field(
        default=120.0, metadata={"help": "training time per model"}
    )
    # A tuple: parse_config reads defaults, not default factories.
    models: list[str] = dataclasses.field(
        default=MODELS, metadata={"help": " ".join(MODELS)}
    )
    held_out: int = 1000
    num_samples: int = 1000
    classifier_epochs: int = 8
    curve_points: int = dataclasses.field(
        default=4, metadata={"help": "FID measurements during the DCGAN budget"}
    )
    ema: float = dataclasses.field(
        default=0.999, metadata={"help": "EMA decay of the dcgan_ema row"}
    )
    seed: int = 0


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` after `seconds` of training, checked after every batch."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # Reading self.model syncs the JAX state, so only when it is time.
        if time.perf_counter() - self.start >= self.seconds:
            self.model.stop_training = True


def build(name: str, config: Config):
    """`(model, training pipeline)` as the model's recipe makes them, or None."""
    common = dict(seed=config.seed, held_out=config.held_out)
    if name == "gan":
        recipe = gan_mnist.Config()
        model = kgen.GAN(
            kgen.networks.mlp_generator(latent_dim=recipe.latent_dim),
            kgen.networks.mlp_discriminator(),
            seed=config.seed,
        )
        train, _ = digit_splits(config.images, batch_size=recipe.batch_size, **common)
    elif name in ("dcgan", "dcgan_ema"):
        recipe = dcgan_mnist.Config()
        ema = {"ema": config.ema} if name == "dcgan_ema" else {}
        try:
            model = kgen.DCGAN(
                image_shape=IMAGE_SHAPE,
                latent_dim=recipe.latent_dim,
                base_filters=recipe.base_filters,
                seed=config.seed,
                **ema,
            )
        except TypeError as error:
            print(f"  {name}: skipped, this kgen.DCGAN takes no ema= ({error})")
            return None
        train, _ = digit_splits(config.images, batch_size=recipe.batch_size, **common)
    elif name == "cgan":
        recipe = cgan_mnist.Config()
        model = kgen.ConditionalGAN(
            kgen.networks.dcgan_generator(
                recipe.latent_dim,
                IMAGE_SHAPE,
                recipe.base_filters,
                num_classes=recipe.num_classes,
            ),
            kgen.networks.dcgan_discriminator(
                IMAGE_SHAPE,
                recipe.base_filters,
                num_classes=recipe.num_classes,
                conditioning=recipe.conditioning,
            ),
            num_classes=recipe.num_classes,
            seed=config.seed,
        )
        train, _ = digit_splits(
            config.images, batch_size=recipe.batch_size, with_labels=True, **common
        )
    elif name == "vae":
        recipe = vae_mnist.Config()
        model = kgen.VAE(
            kgen.networks.mlp_encoder(IMAGE_SHAPE, recipe.latent_dim),
            kgen.networks.mlp_decoder(recipe.latent_dim, IMAGE_SHAPE),
            likelihood=recipe.likelihood,
            beta=recipe.beta,
            seed=config.seed,
        )
        train, _ = digit_splits(
            config.images,
            batch_size=recipe.batch_size,
            binarize=recipe.binarize,
            **common,
        )
    else:
        raise ValueError(f"Unknown model {name!r}; choose from {MODELS}")
    model.compile()
    return model, train


def train_and_score(model, train, quality, config, points):
    """Trains for the budget in `points` equal parts, scoring after each.

    Returns `[(training seconds, optimizer steps, scores), ...]`; scoring time
    is not training time.
    """
    curve, trained = [], 0.0
    for _ in range(points):
        start = time.perf_counter()
        model.fit(
            train,
            epochs=10**6,
            verbose=0,
            shuffle=False,  # the pipeline shuffles
            callbacks=[TimeBudget(config.budget_seconds / points)],
        )
        trained += time.perf_counter() - start
        scores = quality.score_model(model, config.num_samples, seed=config.seed)
        curve.append((trained, int(model.optimizer.iterations), scores))
    return curve


def row(name, seconds, steps, scores):
    accuracy = scores.get("conditional_accuracy")
    return (
        f"{name:24s} {seconds:6.0f} {steps:7d} {scores['fid']:9.2f} "
        f"{scores['kid']:8.3f} ± {scores['kid_std']:6.3f} "
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
    images = kgen.data.read_idx(config.images, magic=2051)
    labels = kgen.data.read_idx(
        kgen.data.labels_path_for(Path(config.images)), magic=2049
    ).astype("int32")
    images = (images[..., None] / 127.5 - 1.0).astype("float32")
    cut = len(images) - config.held_out
    # The floor's real digits are the last training digits, which the
    # classifier does not see: features of digits it was trained on would
    # differ from those of unseen ones and inflate the floor.
    floor = cut - config.num_samples
    classifier = kgen.classifier.train_digit_classifier(
        images[:floor],
        labels[:floor],
        epochs=config.classifier_epochs,
        seed=config.seed,
    )
    accuracy = kgen.metrics.classifier_accuracy(classifier, images[cut:], labels[cut:])
    quality = kgen.metrics.SampleQuality(images[cut:], classifier=classifier)
    quality.prepare()

    print(f"backend {keras.backend.backend()}, keras {keras.__version__}")
    print(
        f"{cut} training digits, {config.held_out} held out; the classifier "
        f"learnt the first {floor} ({accuracy:.1%} right on the held-out ones); "
        f"{config.num_samples} samples per score; budget "
        f"{config.budget_seconds:.0f} s of training per model"
    )
    results = {"real": (0.0, 0, quality.score(images[floor:cut]))}
    curves = {}
    for name in config.models:
        print(f"training {name} ...", flush=True)
        built = build(name, config)
        if built is None:
            continue
        points = config.curve_points if name.startswith("dcgan") else 1
        curves[name] = train_and_score(*built, quality, config, points)
        results[name] = curves[name][-1]

    print()
    print(
        f"{'':24s} {'train s':>6s} {'steps':>7s} {'FID':>9s} {'KID ± std':>17s} "
        f"{'cover':>5s} {'evenness':>9s} {'cGAN acc':>8s}"
    )
    for name, (seconds, steps, scores) in results.items():
        label = "real digits (floor)" if name == "real" else name
        print(row(label, seconds, steps, scores))
    for name in ("dcgan", "dcgan_ema"):
        if name in curves:
            print(f"\n{name}: FID (KID) by training time")
            for seconds, steps, scores in curves[name]:
                print(
                    f"  {seconds:6.0f} s {steps:6d} steps  FID {scores['fid']:8.2f}"
                    f"  KID {scores['kid']:7.3f} ± {scores['kid_std']:.3f}"
                )
    print()
    print(ANCHOR_NOTE)
    return results


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
