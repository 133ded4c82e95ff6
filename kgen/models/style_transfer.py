"""`StyleTransfer`: Gatys et al.'s optimisation of an image against VGG features."""

import os
import re
from pathlib import Path

import keras
import numpy as np
from keras import ops

from kgen import backend, images, losses
from kgen.networks.validation import check_number, check_optimizer, check_positive
from kgen.networks.vgg import CONTENT_LAYERS, STYLE_LAYERS, vgg_features

OPTIMIZERS = ("adam", "lbfgs")
_TERMS = ("loss", "content_loss", "style_loss", "total_variation_loss")


@keras.saving.register_keras_serializable(package="kgen")
class StyleTransfer(backend.BackendSteps, keras.Model):
    """Paints a photo in the style of a painting (Gatys, Ecker & Bethge 2016).

    The model's only trainable variable is the image being painted; the VGG
    feature extractor is frozen. Each step lowers

    `content_weight * content_loss + style_weight * style_strength * style_loss
    + total_variation_weight * total_variation_loss`

    where the content loss compares feature maps with the photo's at
    `content_layers`, and the style loss compares Gram matrices with the
    painting's at `style_layers`. The targets are computed once per
    `stylize()` call (per resolution), not per step. Adam steps run through
    `model.fit` (progress bar, callbacks); L-BFGS runs through SciPy's
    L-BFGS-B, which also keeps the pixels in [0, 1].

    Args:
        backbone: `"vgg19"` (default), `"vgg16"`, or a Keras model taking RGB
            images in [0, 1] and containing the named layers.
        weights: For VGG backbones: `"imagenet"` (downloaded by Keras the
            first time), or a path to a weights file. Without internet,
            `backbone="vgg16", weights=kgen.networks.hed_vgg16_weights()` gives
            real pretrained (edge-detection fine-tuned) features.
        content_layers: Layers whose activations define the content.
        style_layers: Layers whose Gram matrices define the style.
        style_layer_weights: One weight per style layer (default: equal
            weights summing to 1).
        content_weight, style_weight, total_variation_weight: Weights of the
            three loss terms.
        jit_compile: Whether `fit` compiles the Adam step with XLA. `"auto"`:
            always on JAX (its only compiler), on TensorFlow only with a GPU
            (on a CPU, XLA's step ran no faster than TensorFlow's own kernels
            but took ~9 s longer to compile at 256 px, see
            `benchmarks/style_transfer_speed.py`), never on PyTorch.

    Example:

    ```python
    model = kgen.StyleTransfer()  # VGG19, ImageNet weights
    painted = model.stylize("tubingen.jpg", "starry_night.jpg", max_size=512, steps=500)
    kgen.images.save_image(painted, "tubingen_starry.png")
    texture = model.synthesize_texture("starry_night.jpg", size=(256, 256))
    ```
    """

    def __init__(
        self,
        backbone="vgg19",
        weights: str | os.PathLike | None = "imagenet",
        content_layers=CONTENT_LAYERS,
        style_layers=STYLE_LAYERS,
        style_layer_weights=None,
        content_weight: float = 1.0,
        style_weight: float = 1e-3,
        total_variation_weight: float = 1e2,
        jit_compile="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        content_layers = tuple(content_layers)
        style_layers = tuple(style_layers)
        if not style_layers:
            raise ValueError("style_layers must name at least one layer")
        if style_layer_weights is None:
            style_layer_weights = (1.0 / len(style_layers),) * len(style_layers)
        style_layer_weights = tuple(float(w) for w in style_layer_weights)
        if len(style_layer_weights) != len(style_layers):
            raise ValueError(
                f"style_layer_weights has {len(style_layer_weights)} entries for "
                f"{len(style_layers)} style_layers"
            )
        weights_to_check = {
            "content_weight": content_weight,
            "style_weight": style_weight,
            "total_variation_weight": total_variation_weight,
        }
        weights_to_check.update(
            (f"style_layer_weights[{i}]", w) for i, w in enumerate(style_layer_weights)
        )
        for name, value in weights_to_check.items():
            check_number(name, value, 0.0)
        self.backbone = backbone
        self.weights_source = None if weights is None else str(weights)
        self.content_layers = content_layers
        self.style_layers = style_layers
        self.style_layer_weights = style_layer_weights
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.total_variation_weight = total_variation_weight
        if jit_compile not in ("auto", True, False):
            raise ValueError(
                f"jit_compile must be 'auto', True or False, got {jit_compile!r}"
            )
        # Not `self.jit_compile`: Keras' trainer owns that attribute, and
        # compile() overwrites it with the resolved value.
        self.xla_setting = jit_compile
        self._extractor = None
        # A variable, not a Python float: the traced step, reused across
        # stylize() calls at the same size, must read each call's value.
        self.style_strength = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="style_strength"
        )
        # Set per stylize() call (and per resolution): see _set_variables.
        self.canvas = None
        self.content_targets = []
        self.style_targets = []
        self.optimization_log = {}

    @property
    def extractor(self) -> keras.Model:
        """The frozen `images -> {layer: features}` model, built on first use."""
        if self._extractor is None:
            layers = tuple(dict.fromkeys(self.content_layers + self.style_layers))
            self._extractor = vgg_features(
                layers, backbone=self.backbone, weights=self.weights_source
            )
        return self._extractor

    # --- the optimisation step ------------------------------------------------

    def call(self, inputs=None):
        """Returns the image being painted, `(1, H, W, 3)` in [0, 1]."""
        return ops.convert_to_tensor(self.canvas)

    def loss_terms(self, image):
        """The loss and its terms for `image` `(1, H, W, 3)`, as scalar tensors.

        The targets are those of the last `stylize()` call, at its last
        resolution: `image` must have that size.
        """
        if not self.style_targets:
            raise ValueError("loss_terms() compares with targets: call stylize() first")
        features = self.extractor(image)
        content_loss = ops.zeros(())
        # Texture synthesis has no content targets.
        for layer, target in zip(
            self.content_layers, self.content_targets, strict=False
        ):
            content_loss += ops.mean(losses.content_loss(features[layer], target))
        if self.content_targets:
            content_loss /= len(self.content_layers)
        style_loss = ops.zeros(())
        for layer, weight, target in zip(
            self.style_layers, self.style_layer_weights, self.style_targets, strict=True
        ):
            gram = losses.gram_matrix(features[layer])
            style_loss += weight * ops.mean(losses.style_loss(gram, target))
        total_variation_loss = ops.mean(losses.total_variation_loss(image))
        loss = (
            self.content_weight * content_loss
            + self.style_weight * self.style_strength * style_loss
            + self.total_variation_weight * total_variation_loss
        )
        return {
            "loss": loss,
            "content_loss": content_loss,
            "style_loss": style_loss,
            "total_variation_loss": total_variation_loss,
        }

    def stateful_train_step(self, data):
        _, terms = backend.minimize(self.optimizer, self._canvas_loss, [self.canvas])
        # Adam can step out of the valid pixel range; project back.
        self.canvas.assign(ops.clip(self.canvas, 0.0, 1.0))
        return terms

    # --- what users call ------------------------------------------------------

    def stylize(
        self,
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
        `kgen.images.save_image`. After the call, `optimization_log` maps each
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
            target = _luminance(content)
            styles = [_match_luminance(_luminance(s), target) for s in styles]
        painted = self._paint(
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
        self,
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
        return self._paint(
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

    # --- the optimisation loop --------------------------------------------------

    def _paint(
        self,
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
        self.style_strength.assign(float(style_strength))
        height, width = content.shape[:2]
        coarsest = (height // 2 ** (scales - 1), width // 2 ** (scales - 1))
        if min(coarsest) < self._min_size():
            raise ValueError(
                f"The image is {coarsest[0]}x{coarsest[1]} pixels at its coarsest "
                f"scale, too small for the VGG layers used (at least "
                f"{self._min_size()} pixels per side): use a larger image or fewer "
                "scales."
            )
        image = _initial_image(init, content, seed)
        self.optimization_log = {term: [] for term in _TERMS}
        for level in reversed(range(scales)):
            size = (max(1, height // 2**level), max(1, width // 2**level))
            level_content = images.resize(content, size)
            scaled_styles = [
                _scale_style(s, size, style_scale, self._min_size()) for s in styles
            ]
            self._set_targets(
                level_content if use_content else None, scaled_styles, blend
            )
            self._set_canvas(images.resize(image, size))
            frames = (
                None
                if frames_dir is None
                else Path(frames_dir) / f"{size[0]}x{size[1]}"
            )
            if optimizer == "lbfgs":
                self._run_lbfgs(steps, frames, frame_every, verbose)
            else:
                self._run_fit(
                    steps, optimizer, learning_rate, frames, frame_every, verbose
                )
            image = keras.ops.convert_to_numpy(self.canvas)[0]
        return image

    def _xla(self):
        if self.xla_setting != "auto":
            return self.xla_setting
        name = keras.backend.backend()
        return name == "jax" or (
            name == "tensorflow" and bool(keras.distribution.list_devices("gpu"))
        )

    def _min_size(self):
        """Pixels per side VGG needs: layers in block k follow k-1 poolings."""
        if isinstance(self.backbone, keras.Model):
            return 1
        layers = self.content_layers + self.style_layers
        blocks = [int(m[1]) for name in layers if (m := re.match(r"block(\d)", name))]
        return 2 ** (max(blocks, default=1) - 1)

    def _run_fit(self, steps, optimizer, learning_rate, frames, frame_every, verbose):
        if optimizer == "adam":
            # Pixel-space settings of the TensorFlow style-transfer tutorial.
            optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.99, epsilon=0.1)
        else:
            optimizer = keras.optimizers.get(
                keras.saving.serialize_keras_object(optimizer)
            )
        optimizer.build([self.canvas])
        if (
            self.compiled
            and self.train_function is not None
            and type(optimizer) is type(self.optimizer)
            and _settings(optimizer) == _settings(self.optimizer)
        ):
            # Same optimizer, same shapes: start its slots afresh but keep the
            # traced step (re-tracing costs seconds, on JAX more than the steps).
            for slot, fresh in zip(
                self.optimizer.variables, optimizer.variables, strict=True
            ):
                slot.assign(fresh)
        else:
            self.compile(optimizer=optimizer, jit_compile=self._xla())
        callbacks = [_LossLog(self._log)]
        if frames is not None:
            callbacks.append(_Frames(frames, frame_every))
        # fit() needs data; each "example" is one step on the same image.
        self.fit(
            np.zeros((steps, 1), np.float32),
            batch_size=1,
            epochs=1,
            shuffle=False,
            verbose=verbose,
            callbacks=callbacks,
        )
        self._log(_floats(self._canvas_loss()[1]))

    def _run_lbfgs(self, steps, frames, frame_every, verbose):
        from scipy import optimize

        shape = tuple(self.canvas.shape)
        evaluate = backend.gradient_function(
            self._canvas_loss, [self.canvas], self.variables
        )
        last = {}

        def loss_and_gradient(x):
            self.canvas.assign(x.reshape(shape).astype(np.float32))
            loss, terms, (grad,) = evaluate()
            last.update(x=x.copy(), terms=_floats(terms))
            grad = keras.ops.convert_to_numpy(grad).astype(np.float64).ravel()
            return float(keras.ops.convert_to_numpy(loss)), grad

        progbar = keras.utils.Progbar(
            steps, verbose=1 if verbose == "auto" else verbose, stateful_metrics=_TERMS
        )

        def after_iteration(x):
            # SciPy's line search usually ends on the accepted point.
            if not np.array_equal(x, last["x"]):
                loss_and_gradient(x)
            self._log(last["terms"])
            progbar.add(1, list(last["terms"].items()))
            step = len(self.optimization_log["loss"]) - 1
            if frames is not None and step % frame_every == 0:
                _save_frame(frames, step, x.reshape(shape)[0])

        x0 = keras.ops.convert_to_numpy(self.canvas).astype(np.float64).ravel()
        self._log(_floats(self._canvas_loss()[1]))
        result = optimize.minimize(
            loss_and_gradient,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=optimize.Bounds(0.0, 1.0),
            callback=after_iteration,
            options={"maxiter": steps, "maxfun": 2 * steps + 20},
        )
        self.canvas.assign(result.x.reshape(shape).astype(np.float32))
        if frames is not None:
            _save_frame(
                frames,
                len(self.optimization_log["loss"]) - 1,
                result.x.reshape(shape)[0],
            )

    def _canvas_loss(self):
        terms = self.loss_terms(ops.convert_to_tensor(self.canvas))
        return terms["loss"], terms

    def _log(self, terms):
        for key in _TERMS:
            self.optimization_log[key].append(terms[key])

    # --- per-call state: the canvas and the targets --------------------------------

    def _set_canvas(self, image):
        """Sets the image being painted (a new variable only for a new size)."""
        self._set_variables("canvas", [image[None]], trainable=True)

    def _set_targets(self, content, styles, blend):
        """Computes the content and (blended) style targets, once per resolution."""
        content_targets = []
        if content is not None and self.content_weight > 0:
            features = self.extractor(content[None])
            content_targets = [features[layer] for layer in self.content_layers]
        grams = [0.0] * len(self.style_layers)
        for style, weight in zip(styles, blend, strict=True):
            features = self.extractor(style[None])
            for i, layer in enumerate(self.style_layers):
                grams[i] = grams[i] + weight * losses.gram_matrix(features[layer])
        self._set_variables("content_targets", content_targets, trainable=False)
        self._set_variables("style_targets", grams, trainable=False)

    def _set_variables(self, name, values, trainable):
        """Assigns `values` to the variables in attribute `name`.

        Variables of the right shapes are reused, so that repeated calls at one
        size keep the traced training step. Otherwise new ones replace them:
        Keras locks a built model's state, and its own layers unlock it the
        same way to add variables later (`Dense.enable_lora`); the next `fit()`
        then traces a new step.
        """
        old = getattr(self, name)
        old_list = old if isinstance(old, list) else [v for v in [old] if v is not None]
        shapes = [tuple(keras.ops.shape(value)) for value in values]
        if [tuple(v.shape) for v in old_list] == shapes:
            for variable, value in zip(old_list, values, strict=True):
                variable.assign(value)
            return
        locked = self._tracker.locked
        self._tracker.unlock()
        for variable in old_list:
            self._untrack_variable(variable)
        object.__delattr__(self, name)
        new = [
            keras.Variable(value, trainable=trainable, name=f"{name}_{i}")
            for i, value in enumerate(values)
        ]
        setattr(self, name, new if isinstance(old, list) else new[0])
        if locked:
            self._lock_state()
        self.train_function = None

    def get_config(self):
        config = super().get_config()
        backbone = self.backbone
        if isinstance(backbone, keras.Model):
            backbone = keras.saving.serialize_keras_object(backbone)
        config.update(
            backbone=backbone,
            weights=self.weights_source,
            content_layers=list(self.content_layers),
            style_layers=list(self.style_layers),
            style_layer_weights=list(self.style_layer_weights),
            content_weight=self.content_weight,
            style_weight=self.style_weight,
            total_variation_weight=self.total_variation_weight,
            jit_compile=self.xla_setting,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.saving.deserialize_keras_object(
                config["backbone"]
            )
        return cls(**config)


class _LossLog(keras.callbacks.Callback):
    """Passes the loss terms of every step (before its update) to `log`."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def on_train_batch_end(self, batch, logs=None):
        self.log(_floats(logs))


def _floats(terms):
    return {key: float(keras.ops.convert_to_numpy(terms[key])) for key in _TERMS}


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


def _scale_style(style, content_size, style_scale, min_size):
    """Resizes a painting so its longer side is `style_scale` x the content's.

    Its shorter side is kept at `min_size` or more: Gram matrices do not depend
    on the image size, but VGG's deepest layers need some pixels.
    """
    target = style_scale * max(content_size)
    scale = max(target / max(style.shape[:2]), min_size / min(style.shape[:2]))
    size = tuple(max(1, round(s * scale)) for s in style.shape[:2])
    return images.resize(style, size)


def _initial_image(init, content, seed):
    if isinstance(init, str):
        if init == "content":
            return content
        if init == "noise":
            rng = np.random.default_rng(seed)
            return rng.uniform(0.0, 1.0, content.shape).astype(np.float32)
        raise ValueError(f"init must be 'content', 'noise' or an image, got {init!r}")
    return images.resize(images.read_image(init), content.shape[:2])


def _luminance(image):
    """The image's luminance as a gray RGB image."""
    y = images.rgb_to_yuv(image)[..., :1]
    return np.repeat(np.clip(y, 0.0, 1.0), 3, axis=-1)


def _match_luminance(style, content):
    """Shifts and scales the style's luminance to the content's mean and std.

    Gatys et al. (2016) do this before luminance-only transfer, so that the
    painting's overall brightness does not carry over.
    """
    std = style.std() or 1.0
    matched = (style - style.mean()) * (content.std() / std) + content.mean()
    return np.clip(matched, 0.0, 1.0).astype(np.float32)
