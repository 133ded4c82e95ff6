"""Small reusable layers."""

from kgen.layers.adaptive_instance_normalization import AdaptiveInstanceNormalization
from kgen.layers.sampling import Sampling
from kgen.layers.spectral_normalization import SpectralNormalization
from kgen.layers.vgg_preprocessing import VGGPreprocessing

__all__ = [
    "AdaptiveInstanceNormalization",
    "Sampling",
    "SpectralNormalization",
    "VGGPreprocessing",
]
