"""Small reusable layers."""

from kgen.layers.sampling import Sampling

__all__ = ["Sampling"]
