"""Style transfer, run end to end: `stylize` and `synthesize_texture`.

`kgen.StyleTransfer` (the model) holds the loss terms and one optimisation
step over its canvas. This pipeline runs it on user images: it reads them,
matches luminance for colour preservation, climbs the resolution ladder
(`scales`), computes the targets and starts the canvas at each level, drives
the steps with Adam (through `fit`: progress bar, callbacks) or SciPy's
L-BFGS-B, saves frames, and puts the photo's colours back. `StyleTransfer`'s
`stylize` and `synthesize_texture` methods call these functions.

```python
model = kgen.StyleTransfer()
painted = kgen.pipelines.style_transfer.stylize(model, "tubingen.jpg", "starry_night.jpg")
```
"""

import os
from pathlib import Path

import keras
import numpy as np

from kgen import backend, images
from kgen.networks.validation import check_number, check_optimizer, check_positive

OPTIMIZERS = ("adam", "lbfgs")
TERMS = ("loss", "content_loss", "style_loss", "total_variation_loss")


def stylize(
    model,
    content,
    style,
    *,
    steps: int = 500,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    learning_rate: float = 0.02,
    init="content",
    max_size: int | None = None,
    scales: int = 1,
    preserve_color: bool = False,
    style_blend_weights=None,
    style_strength: float = 1.0,
    style_scale: float = 1.0,
    frames_dir: str | os.PathLike | None = None,
    frame_every: int = 50,
    seed: int | None = None,
    verbose="auto",
) -> np.ndarray:
    """Paints `content` in the style of `style`; returns float32 `(H, W, 3)` in [0, 1].

    Convert with `kgen.images.to_uint8` or write with
    `kgen.images.save_image`. After the call, `model.optimization_log` maps each
    loss term (`loss`, `content_loss`, `style_loss`,
    `total_variation_loss`) to its values: for each resolution, the
    starting image's, then the image's after every step.

    Args:
        content: The photo: a path, PIL image or `(H, W[, C])` array
        (uint8, or float in [0, 1]); grayscale is converted to RGB.
        style: The painting, in the same forms, or a list of them to blend.
        steps: Optimisation steps at each resolution.
        optimizer: `"adam"` (Adam with `learning_rate`), a Keras optimizer,
        or `"lbfgs"` (SciPy's L-BFGS-B: far fewer steps needed).
        learning_rate: Adam's learning rate, in pixel units ([0, 1]).
        init: Where the painting starts: `"content"`, `"noise"` (uniform
        white noise, reproducible with `seed`), or an image.
        max_size: Work at most at this many pixels on the longer side (the
        content is shrunk with a warning); None keeps its size.
        scales: Coarse-to-fine levels: the image is painted at
        1/2^(scales-1) of the size first, and each result is enlarged
        to start the next level.
        preserve_color: Luminance-only transfer: paint the photo's and the
        painting's luminance, then put back the photo's colours.
        style_blend_weights: With several styles, their relative weights
        (default: equal).
        style_strength: Multiplies `style_weight` for this call.
        style_scale: Size of the painting relative to the content (the
        painting is resized so its longer side is this multiple of the
        content's): larger means larger brush strokes.
        frames_dir: Folder to save intermediate images to, every
        `frame_every` steps and at the end of each resolution.
        seed: Seed of the noise for `init="noise"`.
        verbose: Progress bar: `"auto"`, 0, 1 or 2, as in `fit`.
    """
    content = images.read_image(content, max_size=max_size)
    styles = _read_styles(style)
    target = content
    if preserve_color:
        target = images.luminance(content)
        styles = [images.match_luminance(images.luminance(s), target) for s in styles]
    painted = paint(
        model,
        target,
        styles,
        steps=steps,
        optimizer=optimizer,
        learning_rate=learning_rate,
        init=init,
        scales=scales,
        style_blend_weights=style_blend_weights,
        style_strength=style_strength,
        style_scale=style_scale,
        frames_dir=frames_dir,
        frame_every=frame_every,
        seed=seed,
        verbose=verbose,
    )
    return images.keep_colors(painted, content) if preserve_color else painted


def synthesize_texture(
    model,
    style,
    *,
    size=(256, 256),
    steps: int = 500,
    optimizer="adam",
    learning_rate: float = 0.02,
    scales: int = 1,
    style_scale: float = 1.0,
    frames_dir=None,
    frame_every: int = 50,
    seed: int | None = None,
    verbose="auto",
) -> np.ndarray:
    """Texture synthesis (Gatys et al. 2015): the style alone, from noise.

    Returns a float32 `(height, width, 3)` image in [0, 1] of `size` whose
    Gram statistics match the painting's; `seed` picks the noise. Other
    arguments as in `stylize`.
    """
    if len(size) != 2 or not all(int(s) == s and s > 0 for s in size):
        raise ValueError(
            f"size must be a (height, width) pair of positive integers, got {size!r}"
        )
    blank = np.zeros((int(size[0]), int(size[1]), 3), np.float32)
    return paint(
        model,
        blank,
        _read_styles(style),
        steps=steps,
        optimizer=optimizer,
        learning_rate=learning_rate,
        init="noise",
        scales=scales,
        style_blend_weights=None,
        style_strength=1.0,
        style_scale=style_scale,
        frames_dir=frames_dir,
        frame_every=frame_every,
        seed=seed,
        verbose=verbose,
        use_content=False,
    )


def paint(
    model,
    content,
    styles,
    *,
    steps,
    optimizer,
    learning_rate,
    init,
    scales,
    style_blend_weights,
    style_strength,
    style_scale,
    frames_dir,
    frame_every,
    seed,
    verbose,
    use_content=True,
):
    """The resolution ladder: paints `content` (an array) level by level.

    At each of `scales` levels, coarsest first, the model's targets are
    computed at that size and its canvas starts from the previous level's
    result, enlarged; then `steps` steps run. Returns the last canvas as
    `(H, W, 3)` in [0, 1].
    """
    check_positive("steps", steps)
    check_positive("scales", scales)
    check_positive("frame_every", frame_every)
    check_number("style_strength", style_strength, 0.0)
    check_number("style_scale", style_scale, 0.0, low_inclusive=False)
    check_number("learning_rate", learning_rate, 0.0, low_inclusive=False)
    check_optimizer("optimizer", optimizer)
    blend = _blend_weights(style_blend_weights, len(styles))
    if not (
        isinstance(optimizer, keras.optimizers.Optimizer) or optimizer in OPTIMIZERS
    ):
        raise ValueError(
            f"optimizer must be one of {OPTIMIZERS} or a keras.optimizers."
            f"Optimizer, got {optimizer!r}"
        )
    # A variable the traced step reads: each call applies its own strength.
    model.style_strength.assign(float(style_strength))
    height, width = content.shape[:2]
    coarsest = (height // 2 ** (scales - 1), width // 2 ** (scales - 1))
    min_size = model.min_size()
    if min(coarsest) < min_size:
        raise ValueError(
            f"The image is {coarsest[0]}x{coarsest[1]} pixels at its coarsest "
            f"scale, too small for the VGG layers used (at least "
            f"{min_size} pixels per side): use a larger image or fewer "
            "scales."
        )
    image = _initial_image(init, content, seed)
    model.optimization_log = {term: [] for term in TERMS}
    for level in reversed(range(scales)):
        size = (max(1, height // 2**level), max(1, width // 2**level))
        level_content = images.resize(content, size)
        scaled_styles = [
            images.resize_relative(s, size, style_scale, min_size) for s in styles
        ]
        model.set_targets(level_content if use_content else None, scaled_styles, blend)
        model.set_canvas(images.resize(image, size))
        frames = (
            None if frames_dir is None else Path(frames_dir) / f"{size[0]}x{size[1]}"
        )
        if optimizer == "lbfgs":
            run_lbfgs(model, steps, frames, frame_every, verbose)
        else:
            run_adam(
                model, steps, optimizer, learning_rate, frames, frame_every, verbose
            )
        image = keras.ops.convert_to_numpy(model.canvas)[0]
    return image


def default_jit_compile(model):
    """Whether `fit` compiles the Adam step: the model's `jit_compile`, resolved.

    `"auto"` is XLA always on JAX (its only compiler), on TensorFlow only
    with a GPU, never on PyTorch.
    """
    if model.xla_setting != "auto":
        return model.xla_setting
    name = keras.backend.backend()
    return name == "jax" or (
        name == "tensorflow" and bool(keras.distribution.list_devices("gpu"))
    )


def run_adam(model, steps, optimizer, learning_rate, frames, frame_every, verbose):
    """`steps` steps of `optimizer` (`"adam"` or a Keras optimizer) through `fit`."""
    if optimizer == "adam":
        optimizer = model.default_optimizer(learning_rate)
    else:
        optimizer = keras.optimizers.get(keras.saving.serialize_keras_object(optimizer))
    optimizer.build([model.canvas])
    if (
        model.compiled
        and model.train_function is not None
        and type(optimizer) is type(model.optimizer)
        and _settings(optimizer) == _settings(model.optimizer)
    ):
        # Same optimizer, same shapes: start its slots afresh but keep the
        # traced step (re-tracing costs seconds, on JAX more than the steps).
        for slot, fresh in zip(
            model.optimizer.variables, optimizer.variables, strict=True
        ):
            slot.assign(fresh)
    else:
        model.compile(optimizer=optimizer, jit_compile=default_jit_compile(model))
    callbacks = [_LossLog()]
    if frames is not None:
        callbacks.append(_Frames(frames, frame_every))
    # fit() needs data; each "example" is one step on the same image.
    model.fit(
        np.zeros((steps, 1), np.float32),
        batch_size=1,
        epochs=1,
        shuffle=False,
        verbose=verbose,
        callbacks=callbacks,
    )
    _log(model, _floats(model.canvas_loss()[1]))


def run_lbfgs(model, steps, frames, frame_every, verbose):
    """At most `steps` iterations of SciPy's L-BFGS-B, pixels bounded to [0, 1]."""
    from scipy import optimize

    shape = tuple(model.canvas.shape)
    evaluate = backend.gradient_function(
        model.canvas_loss, [model.canvas], model.variables
    )
    last = {}

    def loss_and_gradient(x):
        model.canvas.assign(x.reshape(shape).astype(np.float32))
        loss, terms, (grad,) = evaluate()
        last.update(x=x.copy(), terms=_floats(terms))
        grad = keras.ops.convert_to_numpy(grad).astype(np.float64).ravel()
        return float(keras.ops.convert_to_numpy(loss)), grad

    progbar = keras.utils.Progbar(
        steps, verbose=1 if verbose == "auto" else verbose, stateful_metrics=TERMS
    )

    def after_iteration(x):
        # SciPy's line search usually ends on the accepted point.
        if not np.array_equal(x, last["x"]):
            loss_and_gradient(x)
        _log(model, last["terms"])
        progbar.add(1, list(last["terms"].items()))
        step = len(model.optimization_log["loss"]) - 1
        if frames is not None and step % frame_every == 0:
            _save_frame(frames, step, x.reshape(shape)[0])

    x0 = keras.ops.convert_to_numpy(model.canvas).astype(np.float64).ravel()
    _log(model, _floats(model.canvas_loss()[1]))
    result = optimize.minimize(
        loss_and_gradient,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=optimize.Bounds(0.0, 1.0),
        callback=after_iteration,
        options={"maxiter": steps, "maxfun": 2 * steps + 20},
    )
    model.canvas.assign(result.x.reshape(shape).astype(np.float32))
    if frames is not None:
        _save_frame(
            frames,
            len(model.optimization_log["loss"]) - 1,
            result.x.reshape(shape)[0],
        )


def _log(model, terms):
    for key in TERMS:
        model.optimization_log[key].append(terms[key])


class _LossLog(keras.callbacks.Callback):
    """Logs the loss terms of every step (before its update) in `optimization_log`."""

    def on_train_batch_end(self, batch, logs=None):
        _log(self.model, _floats(logs))


def _floats(terms):
    return {key: float(keras.ops.convert_to_numpy(terms[key])) for key in TERMS}


class _Frames(keras.callbacks.Callback):
    """Saves the image every `every` steps and at the end."""

    def __init__(self, folder, every):
        super().__init__()
        self.folder = folder
        self.every = every
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            _save_frame(self.folder, self.step, self.model.canvas.numpy()[0])

    def on_train_end(self, logs=None):
        if self.step % self.every:
            _save_frame(self.folder, self.step, self.model.canvas.numpy()[0])


def _settings(optimizer):
    """An optimizer's config without its name (Keras numbers new instances)."""
    config = optimizer.get_config()
    config.pop("name", None)
    return config


def _save_frame(folder, step, image):
    images.save_image(np.asarray(image), Path(folder) / f"step_{step:05d}.png")


def _read_styles(style):
    styles = style if isinstance(style, (list, tuple)) else [style]
    if not styles:
        raise ValueError("style must be an image or a non-empty list of images")
    return [images.read_image(s) for s in styles]


def _blend_weights(weights, count):
    if weights is None:
        return [1.0 / count] * count
    weights = [float(w) for w in weights]
    if (
        len(weights) != count
        or not np.isfinite(weights).all()
        or min(weights) < 0
        or sum(weights) <= 0
    ):
        raise ValueError(
            f"style_blend_weights must be {count} non-negative numbers with a "
            f"positive sum (one per style), got {weights}"
        )
    return [w / sum(weights) for w in weights]


def _initial_image(init, content, seed):
    if isinstance(init, str):
        if init == "content":
            return content
        if init == "noise":
            rng = np.random.default_rng(seed)
            return rng.uniform(0.0, 1.0, content.shape).astype(np.float32)
        raise ValueError(f"init must be 'content', 'noise' or an image, got {init!r}")
    return images.resize(images.read_image(init), content.shape[:2])
