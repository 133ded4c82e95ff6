"""`AdaptiveInstanceNormalization`: content features with the style's statistics."""

import keras
from keras import ops

from kgen.losses import channel_statistics


@keras.saving.register_keras_serializable(package="kgen")
class AdaptiveInstanceNormalization(keras.layers.Layer):
    """AdaIN (Huang & Belongie 2017), blended with the content by `alpha`.

    `AdaIN(c, s) = std(s) * (c - mean(c)) / std(c) + mean(s)`, with means and
    standard deviations per example and channel over the spatial positions. The
    output is `alpha * AdaIN(c, s) + (1 - alpha) * c`: `alpha = 1` is full
    style, `alpha = 0` the content features unchanged.

    Example:

    ```python
    layer = kgen.layers.AdaptiveInstanceNormalization()
    mixed = layer([content_features, style_features, alpha])  # alpha: (batch, 1)
    ```

    Call arguments:
        inputs: `[content, style]` or `[content, style, alpha]`, features of
            shape `(batch, H, W, C)` (the two may differ in H and W) and
            `alpha` of shape `(batch, 1)`; without it, alpha is 1.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        if len(inputs) not in (2, 3):
            raise ValueError(
                "AdaptiveInstanceNormalization takes [content, style] or "
                f"[content, style, alpha], got {len(inputs)} inputs"
            )
        content, style = inputs[0], inputs[1]
        content_mean, content_std = channel_statistics(content, self.epsilon)
        style_mean, style_std = channel_statistics(style, self.epsilon)
        stylized = (content - content_mean) / content_std * style_std + style_mean
        if len(inputs) == 2:
            return stylized
        alpha = ops.reshape(ops.cast(inputs[2], content.dtype), (-1, 1, 1, 1))
        return alpha * stylized + (1.0 - alpha) * content

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        config = super().get_config()
        config["epsilon"] = self.epsilon
        return config
