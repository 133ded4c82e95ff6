"""`AdaINStyleTransfer`: arbitrary style transfer in one forward pass."""

import os

import keras
import numpy as np
from keras import ops

from kgen import backend, images, losses
from kgen.layers.adaptive_instance_normalization import AdaptiveInstanceNormalization
from kgen.models.model import Model
from kgen.models.training_data import check_pixels
from kgen.networks import vgg
from kgen.networks.adain import adain_decoder, encoder_channels, encoder_layer_position
from kgen.networks.validation import check_number
from kgen.networks.vgg import vgg_features

# relu1_1 ... relu4_1, as in the paper: Gatys et al.'s style layers up to block 4.
STYLE_LAYERS = vgg.STYLE_LAYERS[:4]


@keras.saving.register_keras_serializable(package="kgen")
class AdaINStyleTransfer(Model):
    """Feed-forward transfer of any style (Huang & Belongie 2017).

    A frozen VGG encoder maps the content and the style image to features at
    `encoder_layer`; adaptive instance normalisation gives the content
    features the style features' channel means and standard deviations; a
    trained decoder maps the result `t` back to an image. Training (`fit` on
    `(content, style)` batches, e.g. from `kgen.data.style_pairs`) minimises
    `content_weight * content_loss + style_weight * style_loss` in VGG space:
    the decoded image's `encoder_layer` features against `t`, and the channel
    statistics of its `style_layers` features against the style image's. Only
    the decoder learns. At inference, one forward pass stylises an image with
    any style, and `alpha` trades content (0) for style (1).

    Images are float32 RGB in [0, 1], channels last. The network is fully
    convolutional; `call` returns images whose height and width are rounded
    down to a multiple of `2**(block - 1)` (8 for `block4_conv1`), since VGG's
    max-pooling drops odd rows; `stylize` pads and crops so that any size
    comes back whole.

    Args:
        decoder: `features -> image` network; default
            `kgen.networks.adain_decoder(encoder_layer, backbone=backbone)`.
        backbone: `"vgg19"` (the paper's) or `"vgg16"`.
        weights: The encoder's weights: `"imagenet"` (downloaded by Keras on
            first use), a path to a weights file, or None (random: shapes only).
        encoder_layer: The VGG layer whose features AdaIN mixes and the
            decoder inverts (the paper's relu4_1).
        style_layers: VGG layers whose feature statistics make the style loss
            (the paper's relu1_1 ... relu4_1).
        style_weight: Weight of the style loss (10 in the paper).
        content_weight: Weight of the content loss.

    Example:

    ```python
    model = kgen.models.AdaINStyleTransfer()  # VGG19, ImageNet weights
    model.compile()  # Adam(1e-4)
    model.fit(kgen.data.style_pairs("photos/", "paintings/"), epochs=10)
    image = model.stylize("tubingen.jpg", "starry_night.jpg", alpha=0.8)
    kgen.images.save_image(image, "out/tubingen_starry.png")
    model.export("saved_models/adain")  # stylize(content, style, alpha)
    ```
    """

    # Content and style images are [0, 1] pixels, like kgen.images'.
    pixel_range = (0.0, 1.0)
    network_config_keys = ("decoder",)

    def __init__(
        self,
        decoder: keras.Model | None = None,
        backbone: str = "vgg19",
        weights: str | os.PathLike | None = "imagenet",
        encoder_layer: str = "block4_conv1",
        style_layers=STYLE_LAYERS,
        style_weight: float = 10.0,
        content_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # Checked before the encoder is built, so that mistakes fail fast.
        block, _ = encoder_layer_position(encoder_layer, backbone)
        if isinstance(style_layers, str):
            style_layers = (style_layers,)
        style_layers = tuple(style_layers)
        if not style_layers:
            raise ValueError("style_layers must name at least one VGG layer")
        check_number("style_weight", style_weight, 0.0)
        check_number("content_weight", content_weight, 0.0)
        # Built here, not lazily: fit() and export need every variable up
        # front, and a missing ImageNet download fails now, with
        # vgg_features' WeightsDownloadError, rather than mid-training.
        encoder = vgg_features(
            tuple(dict.fromkeys((*style_layers, encoder_layer))),
            backbone=backbone,
            weights=None if weights is None else str(weights),
            name="encoder",
        )
        encoder.trainable = False
        if decoder is None:
            decoder = adain_decoder(encoder_layer, backbone=backbone)
        if not isinstance(decoder, keras.Model):
            raise ValueError(f"decoder must be a keras.Model, got {decoder!r}")
        channels = encoder_channels(encoder_layer, backbone)
        if decoder.inputs[0].shape[-1] != channels or decoder.outputs[0].shape[-1] != 3:
            raise ValueError(
                f"The decoder must map {channels}-channel {encoder_layer} features "
                f"to RGB images; it maps {tuple(decoder.inputs[0].shape)} to "
                f"{tuple(decoder.outputs[0].shape)}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.backbone = backbone
        # `weights` is a read-only property of Keras layers (their variables):
        # the argument is kept as `weights_source`, as in StyleTransfer, and
        # is `weights` in the config.
        self.weights_source = None if weights is None else str(weights)
        self.encoder_layer = encoder_layer
        self.style_layers = style_layers
        self.style_weight = float(style_weight)
        self.content_weight = float(content_weight)
        # Sizes are rounded down to a multiple of this by VGG's max-pooling.
        self.size_multiple = 2 ** (block - 1)
        # float32 under mixed precision: its output is the content loss's target.
        self.adain = AdaptiveInstanceNormalization(name="adain", dtype="float32")
        self.adain.build([(None, None, None, channels)] * 2 + [(None, 1)])
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.content_loss_tracker = keras.metrics.Mean(name="content_loss")
        self.style_loss_tracker = keras.metrics.Mean(name="style_loss")
        self.built = True

    def default_optimizer(self):
        """What `compile()` uses without an optimizer: `Adam(1e-4)`, the paper's."""
        return keras.optimizers.Adam(learning_rate=1e-4)

    @property
    def metrics(self):
        return [self.loss_tracker, self.content_loss_tracker, self.style_loss_tracker]

    def check_training_data(self, data):
        content, style, _ = keras.utils.unpack_x_y_sample_weight(data)
        check_pixels("Content images", content, self.pixel_range)
        check_pixels("Style images", style, self.pixel_range)

    def call(self, inputs, training=False):
        """`[content, style]` or `[content, style, alpha]` -> images in [0, 1].

        `content` and `style` are `(batch, H, W, 3)` float images in [0, 1]
        (their sizes may differ); `alpha` is `(batch, 1)`, default 1.
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(
                "AdaINStyleTransfer takes [content, style] or [content, style, "
                f"alpha], got {type(inputs).__name__}"
            )
        content = _check_images("content", inputs[0])
        style = _check_images("style", inputs[1])
        features = self._encode(content)[self.encoder_layer]
        style_features = self._encode(style)[self.encoder_layer]
        mixed = [features, style_features]
        if len(inputs) == 3:
            mixed.append(_check_alpha(inputs[2]))
        decoded = self.decoder(self.adain(mixed), training=training)
        return ops.clip(decoded, 0.0, 1.0)

    def _encode(self, images):
        return self.encoder(images, training=False)

    def _loss_fn(self, data, training):
        content, style = _unpack_pairs(data)
        style_features = self._encode(style)
        # The AdaIN target is a constant of the loss: only the decoder learns.
        target = self.adain(
            [
                self._encode(content)[self.encoder_layer],
                style_features[self.encoder_layer],
            ]
        )

        def loss_fn():
            # Unclipped: the loss must see, and correct, out-of-range pixels.
            decoded = self.decoder(target, training=training)
            features = self._encode(decoded)
            content_loss = ops.mean(
                losses.content_loss(features[self.encoder_layer], target)
            )
            style_loss = sum(
                ops.mean(losses.statistics_loss(features[layer], style_features[layer]))
                for layer in self.style_layers
            )
            loss = self.content_weight * content_loss + self.style_weight * style_loss
            return loss, (content_loss, style_loss)

        return loss_fn

    def stateful_train_step(self, data):
        variables = self.trainable_variables
        loss, (content_loss, style_loss) = backend.minimize(
            self.optimizer, self._loss_fn(data, training=True), variables
        )
        return self.update_metrics(loss, content_loss, style_loss)

    def stateful_test_step(self, data):
        loss, (content_loss, style_loss) = self._loss_fn(data, training=False)()
        return self.update_metrics(loss, content_loss, style_loss)

    def stylize(
        self,
        content,
        style,
        *,
        alpha: float = 1.0,
        max_size: int | None = None,
        style_max_size: int | None = None,
    ) -> np.ndarray:
        """Stylises one image: a float32 `(H, W, 3)` NumPy array in [0, 1].

        Example:

        ```python
        image = model.stylize("photo.jpg", "painting.jpg", alpha=0.6)
        ```

        Args:
            content: Path, PIL image or array (see `kgen.images.read_image`),
                any size; the result has the same size.
            style: The style image, likewise; any size.
            alpha: From 0 (the content, through the autoencoder) to 1 (full
                style).
            max_size: Shrink the content so its longer side is at most this.
            style_max_size: Shrink the style image likewise. The style's
                scale matters: brush strokes are measured in VGG's pixels.

        Raises:
            ValueError: For alpha outside [0, 1], or unreadable images.
            FileNotFoundError: If a path does not exist.
        """
        alpha = check_number("alpha", alpha, 0.0, 1.0)
        content = images.read_image(content, max_size=max_size)
        style = images.read_image(style, max_size=style_max_size)
        height, width = content.shape[:2]
        # VGG's max-pooling floors odd sizes, so the decoder would return an
        # image up to size_multiple - 1 pixels short; reflect-padding to a
        # multiple and cropping back keeps every pixel without dark borders.
        content = images.pad_to_multiple(content, self.size_multiple)
        style = images.pad_to_multiple(style, self.size_multiple)
        stylized = self(
            [
                ops.convert_to_tensor(content[None]),
                ops.convert_to_tensor(style[None]),
                ops.convert_to_tensor(np.full((1, 1), alpha, np.float32)),
            ],
            training=False,
        )
        return ops.convert_to_numpy(stylized)[0, :height, :width].astype(np.float32)

    def export_endpoints(self):
        """`stylize(content, style, alpha) -> {"images"}`, images in [0, 1].

        `content` `(batch, H, W, 3)` and `style` `(batch, H', W', 3)` are
        float32 RGB in [0, 1], `alpha` `(batch, 1)` float32 in [0, 1]; one
        style and alpha per content image. H and W come back rounded down to a
        multiple of `size_multiple` (8 for block4_conv1): pad beforehand to
        keep every pixel.
        """

        def stylize(content, style, alpha):
            return {"images": self([content, style, alpha])}

        return [
            (
                "stylize",
                stylize,
                [
                    keras.InputSpec(
                        shape=(None, None, None, 3), dtype="float32", name="content"
                    ),
                    keras.InputSpec(
                        shape=(None, None, None, 3), dtype="float32", name="style"
                    ),
                    keras.InputSpec(shape=(None, 1), dtype="float32", name="alpha"),
                ],
            )
        ]

    def export_input_ranges(self):
        """The served `stylize` refuses `alpha` outside [0, 1] and NaN."""
        return {"alpha": (0.0, 1.0)}

    def get_config(self):
        config = super().get_config()
        config.update(
            decoder=keras.saving.serialize_keras_object(self.decoder),
            backbone=self.backbone,
            weights=self.weights_source,
            encoder_layer=self.encoder_layer,
            style_layers=list(self.style_layers),
            style_weight=self.style_weight,
            content_weight=self.content_weight,
        )
        return config


def _check_images(role, images):
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise ValueError(
            f"{role} must be a batch of RGB images (batch, height, width, 3), "
            f"got shape {shape}"
        )
    dtype = keras.backend.standardize_dtype(images.dtype)
    if "float" not in dtype:
        raise ValueError(
            f"{role} must be float images in [0, 1], got dtype {dtype}; "
            "kgen.images.read_image converts uint8 images"
        )
    return images


def _check_alpha(alpha):
    shape = tuple(alpha.shape)
    if len(shape) != 2 or shape[-1] != 1:
        raise ValueError(f"alpha must have shape (batch, 1), got shape {shape}")
    return alpha


def _unpack_pairs(data):
    # fit() on a dataset of pairs and train_on_batch(content, style) both
    # arrive as Keras' (x, y, sample_weight) packing.
    content, style, _ = keras.utils.unpack_x_y_sample_weight(data)
    if style is None:
        raise ValueError(
            "AdaINStyleTransfer trains on (content, style) batches, e.g. from "
            "kgen.data.style_pairs; got content images only"
        )
    return _check_images("content", content), _check_images("style", style)
