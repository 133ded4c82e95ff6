"""Image completion: fill in the missing part of an image from what is known.

The generator of a trained model spans a manifold of plausible images;
`complete` searches it for the latent code whose image best matches the known
pixels (Yeh et al. 2017's contextual loss plus a Gaussian prior on z), then
keeps the known pixels exactly and takes only the missing ones from the model.
"""

import keras
import numpy as np
from keras import ops

from kgen import backend
from kgen.models.vae import VAE
from kgen.networks.validation import check_number

# The halves `half_mask` can leave out.
HALVES = ("top", "bottom", "left", "right")


def complete(model, images, mask, *, labels=None, **search) -> np.ndarray:
    """Completes `images` where `mask` is 0, using a trained GAN, DCGAN, cGAN or VAE.

    Finds latent codes with `fit_latents`, generates their images, and keeps
    every known pixel of `images` bit for bit.

    Args:
        model: a `kgen.VAE`, `kgen.GAN`, `kgen.DCGAN` or `kgen.ConditionalGAN`.
        images: `(N, H, W, C)` floats in [-1, 1], the model's image shape.
        mask: 1 where a pixel is known, 0 where it is missing; the images'
            shape, or one that broadcasts to it (`(H, W)`, `(N, H, W, 1)`, ...).
        labels: class labels, for a `ConditionalGAN` only.
        **search: `steps`, `learning_rate`, `prior_weight`, `seed`, `verbose`,
            as in `fit_latents`.

    Returns:
        float32 NumPy images in [-1, 1].

    Example:

    ```python
    mask = np.ones((28, 28, 1), "float32")
    mask[14:] = 0  # the bottom half is missing
    completed = kgen.complete(vae, digits, mask, steps=300)
    ```
    """
    images, known = _check_inputs(model, images, mask, labels)
    z = fit_latents(model, images, mask, labels=labels, **search)
    generated = model.generate(z=z, labels=labels)
    return np.where(known, images, generated).astype("float32")


def fit_latents(
    model,
    images,
    mask,
    *,
    labels=None,
    steps: int = 300,
    learning_rate: float = 0.05,
    prior_weight: float = 0.01,
    seed: int = 0,
    verbose: int = 0,
) -> np.ndarray:
    """Finds latent codes whose generated images match `images` where `mask` is 1.

    Minimises `sum(mask * (G(z) - x)^2) + prior_weight * ||z||^2 / 2` with Adam.
    A VAE's search starts from the encoder's mean for the masked image; a
    GAN's from prior noise drawn with `seed`.

    Args:
        model, images, mask, labels: as in `complete`.
        steps: Adam steps (0 returns the starting point).
        learning_rate: Adam's learning rate.
        prior_weight: weight of the Gaussian prior, which keeps codes plausible.
        seed: seed of a GAN's starting noise.
        verbose: 1 shows a progress bar over the steps.

    Returns:
        `(N, latent_dim)` float32 NumPy codes; `model.generate(z=codes)` draws them.
    """
    images, known = _check_inputs(model, images, mask, labels)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    check_number("learning_rate", learning_rate, 0.0, low_inclusive=False)
    check_number("prior_weight", prior_weight, 0.0)
    weights = ops.convert_to_tensor(known.astype("float32"))
    targets = ops.convert_to_tensor(images)
    z = keras.Variable(_initial_codes(model, images, known, seed), name="z")

    def objective(codes):
        inputs = model.generator_feed(codes, labels)
        drawn = model.call(*_as_list(inputs), training=False)
        error = ops.sum(weights * ops.square(drawn - targets), axis=(1, 2, 3))
        return error + prior_weight * 0.5 * ops.sum(ops.square(codes), axis=-1)

    optimizer = keras.optimizers.Adam(learning_rate)
    progress = keras.utils.Progbar(steps, unit_name="step") if verbose else None
    for step in range(steps):
        grads = ops.stop_gradient(backend.input_gradient(objective, z.value))
        optimizer.apply([grads], [z])
        if progress is not None:
            progress.update(step + 1)
    return ops.convert_to_numpy(z.value)


def half_mask(image_shape, missing: str) -> np.ndarray:
    """A mask for `complete` whose `missing` half (`"top"`, `"bottom"`, ...) is 0.

    Example:

    ```python
    mask = kgen.completion.half_mask((28, 28, 1), "bottom")  # rows 14-27 missing
    ```
    """
    if missing not in HALVES:
        raise ValueError(f"missing must be one of {HALVES}, got {missing!r}")
    mask = np.ones(image_shape, "float32")
    height, width = mask.shape[:2]
    rows, cols = slice(None), slice(None)
    if missing in ("top", "bottom"):
        rows = slice(0, height // 2) if missing == "top" else slice(height // 2, None)
    else:
        cols = slice(0, width // 2) if missing == "left" else slice(width // 2, None)
    mask[rows, cols] = 0
    return mask


def _as_list(feed):
    return feed if isinstance(feed, list) else [feed]


def _initial_codes(model, images, known, seed):
    if isinstance(model, VAE):
        # Missing pixels read as background before the encoder sees them.
        mean, _ = model.encode(np.where(known, images, -1.0))
        return mean
    noise = keras.random.normal((len(images), model.latent_dim), seed=seed)
    return ops.convert_to_numpy(noise)


def _check_inputs(model, images, mask, labels):
    image_shape = getattr(model, "image_shape", None)
    if image_shape is None or not hasattr(model, "generator_feed"):
        raise ValueError(
            f"complete() needs a kgen GAN, DCGAN, ConditionalGAN or VAE, got {model!r}"
        )
    if labels is None and getattr(model, "num_classes", None):
        raise ValueError(
            f"{type(model).__name__} is conditional: pass labels=, the class of "
            "each image to complete (one integer for all, or one per image)"
        )
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4 or images.shape[1:] != tuple(image_shape):
        raise ValueError(
            f"images must have shape (N, *{tuple(image_shape)}), got {images.shape}"
        )
    if not len(images):
        raise ValueError("images is empty; pass at least one image to complete")
    if not np.isfinite(images).all():
        raise ValueError(
            f"images contain {np.size(images) - np.isfinite(images).sum()} NaN or "
            "infinite pixels; pass finite pixels in [-1, 1] (mark unknown ones "
            "with mask=0 and give them any finite value)"
        )
    if np.abs(images).max() > 1.0:
        raise ValueError(
            f"images must be in [-1, 1] (kgen.data's range), got values from "
            f"{images.min():g} to {images.max():g}; scale 0..255 pixels with "
            "x / 127.5 - 1"
        )
    mask = np.asarray(mask)
    if mask.ndim == 2:
        mask = mask[..., None]
    try:
        known = np.broadcast_to(mask, images.shape) > 0.5
    except ValueError:
        raise ValueError(
            f"mask of shape {np.shape(mask)} does not match images of shape "
            f"{images.shape}; use the images' shape, (H, W) or (H, W, C)"
        ) from None
    if not np.isin(mask, (0, 1)).all():
        raise ValueError("mask must contain only 0 (missing) and 1 (known)")
    return images, known
