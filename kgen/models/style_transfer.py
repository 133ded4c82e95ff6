"""`StyleTransfer`: Gatys et al.'s optimisation of an image against VGG features."""

import os

import keras
import numpy as np
from keras import ops

from kgen import backend, losses
from kgen.models.model import Model
from kgen.networks.validation import check_number
from kgen.networks.vgg import CONTENT_LAYERS, STYLE_LAYERS, layer_block, vgg_features
from kgen.pipelines import style_transfer as pipeline


@keras.saving.register_keras_serializable(package="kgen")
class StyleTransfer(Model):
    """Paints a photo in the style of a painting (Gatys, Ecker & Bethge 2016).

    The model's only trainable variable is the image being painted; the VGG
    feature extractor is frozen. Each step lowers

    `content_weight * content_loss + style_weight * style_strength * style_loss
    + total_variation_weight * total_variation_loss`

    where the content loss compares feature maps with the photo's at
    `content_layers`, and the style loss compares Gram matrices with the
    painting's at `style_layers`. The targets are computed once per
    `stylize()` call (per resolution), not per step. The model is the loss
    and one step over its canvas; `stylize` and `synthesize_texture` run it
    through `kgen.pipelines.style_transfer`, whose Adam steps run through
    `model.fit` (progress bar, callbacks) and whose L-BFGS runs through
    SciPy's L-BFGS-B, which also keeps the pixels in [0, 1].

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
        # `weights` is a read-only property of Keras layers (their variables):
        # the argument is kept as `weights_source`, and is `weights` in the config.
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
        # Set per stylize() call (and per resolution): see set_canvas.
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

    def canvas_loss(self):
        """`(loss, terms)` of the canvas: what each step minimises."""
        terms = self.loss_terms(ops.convert_to_tensor(self.canvas))
        return terms["loss"], terms

    def stateful_train_step(self, data):
        _, terms = backend.minimize(self.optimizer, self.canvas_loss, [self.canvas])
        # Adam can step out of the valid pixel range; project back.
        self.canvas.assign(ops.clip(self.canvas, 0.0, 1.0))
        return terms

    def default_optimizer(self, learning_rate: float = 0.02):
        """Adam in pixel units ([0, 1]), with the TensorFlow tutorial's settings."""
        return keras.optimizers.Adam(learning_rate, beta_1=0.99, epsilon=0.1)

    def min_size(self) -> int:
        """Pixels per side VGG needs: layers in block k follow k-1 poolings."""
        if isinstance(self.backbone, keras.Model):
            return 1
        layers = self.content_layers + self.style_layers
        blocks = [layer_block(name) for name in layers]
        return 2 ** (max((b for b in blocks if b), default=1) - 1)

    # --- what users call ------------------------------------------------------

    def stylize(self, content, style, **options) -> np.ndarray:
        """Paints `content` in the style of `style`; returns float32 `(H, W, 3)` in [0, 1].

        Runs `kgen.pipelines.style_transfer.stylize(self, content, style,
        **options)`, which documents the options: `steps`, `optimizer`
        (`"adam"`, `"lbfgs"` or a Keras optimizer), `learning_rate`, `init`,
        `max_size`, `scales`, `preserve_color`, `style_blend_weights`,
        `style_strength`, `style_scale`, `frames_dir`, `frame_every`, `seed`
        and `verbose`. After the call, `optimization_log` maps each loss term
        (`loss`, `content_loss`, `style_loss`, `total_variation_loss`) to its
        values: for each resolution, the starting image's, then the image's
        after every step.
        """
        return pipeline.stylize(self, content, style, **options)

    def synthesize_texture(self, style, **options) -> np.ndarray:
        """Texture synthesis (Gatys et al. 2015): the style alone, from noise.

        Runs `kgen.pipelines.style_transfer.synthesize_texture(self, style,
        **options)`: a float32 `(height, width, 3)` image in [0, 1] of `size`
        (default 256x256) whose Gram statistics match the painting's.
        """
        return pipeline.synthesize_texture(self, style, **options)

    # --- per-call state: the canvas and the targets --------------------------------

    def export(self, filepath, format="tf_saved_model", verbose=None, **kwargs):
        """Raises: Gatys' style transfer is an optimisation, not a network."""
        raise ValueError(
            "StyleTransfer cannot be exported (to a SavedModel or ONNX) because it "
            "optimises each image at stylize() time rather than holding a network "
            "to serve; train and export an AdaINStyleTransfer (kgen train "
            "style-network) for a servable style network"
        )

    def set_canvas(self, image):
        """Sets the image being painted (a new variable only for a new size)."""
        self._set_variables("canvas", [image[None]], trainable=True)

    def set_targets(self, content, styles, blend):
        """Computes the content and (blended) style targets, once per resolution.

        `content` (`(H, W, 3)`, or None for texture synthesis) and `styles`
        are arrays in [0, 1]; `blend` weighs the styles' Gram matrices.
        """
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
