"""Network outputs that stay float32 under a mixed-precision dtype policy."""

from keras import layers


def float32_output(x, activation: str, name: str):
    """`activation(x)` computed and returned in float32.

    Under `keras.mixed_precision.set_dtype_policy("mixed_float16")` (or
    `"mixed_bfloat16"`) the layers before it compute in 16 bits; images, logits
    and likelihood parameters leave the network in float32, so losses, metrics
    and `generate()` never see 16-bit values. Without a mixed policy it is a
    plain activation layer.
    """
    return layers.Activation(activation, dtype="float32", name=name)(x)
