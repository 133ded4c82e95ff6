"""Does a conditional GAN draw the digit it is asked for?

Trains kgen's digit classifier on real MNIST digits (`../shared/data/mnist`,
cached on disk after the first run) and reports its accuracy on held-out real
digits, then asks a `kgen.ConditionalGAN` for `--samples-per-class` images of
each class and prints the fraction the classifier assigns to the requested
class, per class and overall (target: >= 95%).

The cGAN is the one `recipes/cgan_mnist.py` saved (`--model`), or, when that
file is absent, one trained here with the recipe's settings for `--epochs`.

    python recipes/cgan_mnist.py --dataset ../shared/data/mnist/mnist8k-images-idx3-ubyte.gz \
        --output-dir saved_models/cgan_mnist8k
    python benchmarks/cgan_accuracy.py
"""

import dataclasses
import sys
import time
from pathlib import Path

import keras
import numpy as np

import kgen

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared/data/mnist/mnist8k-images-idx3-ubyte.gz"


@dataclasses.dataclass
class Config:
    images: str = str(SHARED_MNIST)
    model: str = str(ROOT / "saved_models/cgan_mnist8k/cgan_mnist.keras")
    epochs: int = 20
    held_out: int = 1000
    classifier_epochs: int = 8
    samples_per_class: int = 100
    seed: int = 0


def real_digits(path):
    images = kgen.data.read_idx(path, magic=kgen.data.IDX_IMAGES_MAGIC)
    labels = kgen.data.read_idx(
        kgen.data.labels_path_for(Path(path)), magic=kgen.data.IDX_LABELS_MAGIC
    )
    return (images[..., None] / 127.5 - 1.0).astype("float32"), labels.astype("int32")


def conditional_gan(config):
    if Path(config.model).is_file():
        print(f"cGAN: {config.model}")
        return keras.saving.load_model(config.model)
    sys.path.insert(0, str(ROOT / "recipes"))
    import cgan_mnist

    recipe_config = cgan_mnist.Config(
        dataset=config.images,
        epochs=config.epochs,
        output_dir=str(Path(config.model).parent),
        seed=config.seed,
    )
    start = time.perf_counter()
    model = cgan_mnist.main(recipe_config)
    print(
        f"cGAN trained for {config.epochs} epochs in {time.perf_counter() - start:.0f} s"
    )
    return model


def main(config: Config) -> float:
    if not Path(config.images).is_file():
        sys.exit(f"Skipped: {config.images} is absent (../shared beside the repo).")
    images, labels = real_digits(config.images)
    # The cGAN recipe holds out the same digits.
    train, test = kgen.data.held_out_split(len(images), config.held_out)
    classifier = kgen.classifier.train_digit_classifier(
        images[train], labels[train], epochs=config.classifier_epochs, seed=config.seed
    )
    real_accuracy = np.mean(
        classifier.predict(images[test], verbose=0).argmax(-1) == labels[test]
    )
    print(
        f"classifier accuracy on {config.held_out} held-out real digits: {real_accuracy:.1%}"
    )

    model = conditional_gan(config)
    num_classes = model.num_classes
    requested = np.repeat(np.arange(num_classes), config.samples_per_class)
    samples = model.generate(len(requested), labels=requested, seed=config.seed)
    predicted = classifier.predict(samples, verbose=0).argmax(-1)
    print(f"{config.samples_per_class} samples per class; class: accuracy")
    for digit in range(num_classes):
        hits = predicted[requested == digit] == digit
        print(f"  {digit}: {hits.mean():.1%}")
    accuracy = float(np.mean(predicted == requested))
    print(f"overall: {accuracy:.1%} (target >= 95%)")
    return accuracy


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
