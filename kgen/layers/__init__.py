"""Small reusable layers."""

from kgen.layers.adaptive_instance_normalization import AdaptiveInstanceNormalization
from kgen.layers.conv2d import Conv2D
from kgen.layers.conv2d_transpose import Conv2DTranspose
from kgen.layers.sampling import Sampling
from kgen.layers.spectral_normalization import SpectralNormalization
from kgen.layers.vgg_preprocessing import VGGPreprocessing

__all__ = [
    "AdaptiveInstanceNormalization",
    "Conv2D",
    "Conv2DTranspose",
    "Sampling",
    "SpectralNormalization",
    "VGGPreprocessing",
]
