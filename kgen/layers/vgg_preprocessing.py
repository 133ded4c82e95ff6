"""`VGGPreprocessing`: what the Caffe-trained VGG networks expect as input."""

import keras
from keras import ops

# ImageNet mean in BGR order, in 0-255 pixel units.
_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="kgen")
class VGGPreprocessing(keras.layers.Layer):
    """Maps RGB images in [0, 1] to VGG's input: BGR, 0-255, ImageNet mean removed.

    This is `keras.applications.vgg19.preprocess_input` as a layer, so that a
    feature extractor (and a SavedModel built on one) takes plain [0, 1] RGB
    images on every backend.

    Example:

    ```python
    x = kgen.layers.VGGPreprocessing()(images)  # images: (batch, H, W, 3) in [0, 1]
    ```
    """

    def call(self, images):
        bgr = ops.flip(images, axis=-1) * 255.0
        return bgr - ops.convert_to_tensor(_BGR_MEAN, dtype=bgr.dtype)
