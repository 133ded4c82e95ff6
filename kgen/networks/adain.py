"""The decoder of AdaIN style transfer (Huang & Belongie 2017).

The decoder inverts a frozen VGG encoder: it maps features at one VGG layer
(`block4_conv1`, i.e. relu4_1, in the paper) back to an RGB image. Its layers
mirror VGG's in reverse: every VGG convolution becomes a 3x3 convolution with
ReLU that maps back to that convolution's input width, every max-pooling a
nearest-neighbour upsampling by 2, and VGG's first convolution becomes the
final 3x3 convolution to RGB.
"""

import keras
from keras import layers

from kgen.networks.precision import float32_output
from kgen.networks.validation import check_positive
from kgen.networks.vgg import VGG_BLOCKS, VGG_WIDTHS, conv_position


def encoder_layer_position(encoder_layer: str, backbone: str = "vgg19") -> tuple:
    """`(block, conv)` of a VGG convolution such as `"block4_conv1"`, or raises."""
    return conv_position(encoder_layer, backbone, name="encoder_layer")


def encoder_channels(encoder_layer: str, backbone: str = "vgg19") -> int:
    """How many channels VGG's `encoder_layer` outputs (512 for block4_conv1)."""
    block, _ = encoder_layer_position(encoder_layer, backbone)
    return VGG_WIDTHS[block - 1]


def adain_decoder(
    encoder_layer: str = "block4_conv1",
    *,
    backbone: str = "vgg19",
    base_filters: int = 64,
    name: str = "adain_decoder",
) -> keras.Model:
    """Builds `VGG features -> RGB image`, the trained half of AdaIN.

    The input has VGG's width at `encoder_layer` (512 for `block4_conv1`) and
    any height and width; the output is `2**(block - 1)` times larger (8 for
    block 4), with 3 channels. The output is not squashed into [0, 1]: as in
    the paper, `kgen.models.AdaINStyleTransfer` trains on the raw output and
    clips it only for the images it returns, because clipping or a sigmoid in
    training would stop or shrink the gradient of every out-of-range pixel.
    The last convolution starts at zero weights and bias 0.5, so the untrained
    decoder paints flat mid-grey: random weights would paint values far
    outside [0, 1], whose VGG losses are ~1000 times larger and cost the
    first hundreds of steps.

    Example:

    ```python
    decoder = kgen.networks.adain_decoder("block4_conv1", base_filters=64)
    images = decoder(features)  # (batch, H/8, W/8, 512) -> (batch, H, W, 3)
    ```

    Args:
        encoder_layer: The VGG convolution whose output the decoder inverts.
        backbone: `"vgg19"` (the paper's) or `"vgg16"`: which VGG to mirror.
        base_filters: Width of the last block; the others scale with it as in
            VGG (64, 128, 256, 512). 64 is the paper's decoder; smaller is
            faster and coarser.
        name: Name of the returned model.
    """
    check_positive("base_filters", base_filters)
    block, conv = encoder_layer_position(encoder_layer, backbone)
    widths = [base_filters * width // 64 for width in VGG_WIDTHS]
    # VGG's convolutions up to encoder_layer, as (block, index, input width).
    vgg_convs = []
    for b, count in enumerate(VGG_BLOCKS[backbone][:block], start=1):
        for c in range(1, (conv if b == block else count) + 1):
            in_width = 3 if (b, c) == (1, 1) else widths[b - 2 if c == 1 else b - 1]
            vgg_convs.append((b, c, in_width))

    features = keras.Input((None, None, VGG_WIDTHS[block - 1]), name="features")
    x = features
    for b, c, in_width in reversed(vgg_convs):
        if (b, c) == (1, 1):
            x = layers.Conv2D(
                3,
                3,
                padding="same",
                kernel_initializer="zeros",
                bias_initializer=keras.initializers.Constant(0.5),
                name="to_rgb",
            )(x)
            x = float32_output(x, "linear", "rgb")
            break
        x = layers.Conv2D(
            in_width, 3, padding="same", activation="relu", name=f"block{b}_conv{c}"
        )(x)
        if c == 1:
            # Undoes the max-pooling in front of VGG's block b.
            x = layers.UpSampling2D(2, interpolation="nearest", name=f"block{b}_up")(x)
    return keras.Model(features, x, name=name)
