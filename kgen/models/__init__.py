"""Algorithms: subclassed `keras.Model`s with their own `train_step`.

`Model` is what they all share (the backend step adapter, the recorded
`compile`, checked `fit`, safe `save`, SavedModel `export`);
`GenerativeModel` adds the one `generate()`:

```
keras.Model
└── Model                 StyleTransfer, AdaINStyleTransfer
    └── GenerativeModel   VAE
        └── GAN           DCGAN, ConditionalGAN
```
"""

from kgen.models.adain_style_transfer import AdaINStyleTransfer
from kgen.models.conditional_gan import ConditionalGAN
from kgen.models.dcgan import DCGAN
from kgen.models.gan import GAN
from kgen.models.generative_model import GenerativeModel
from kgen.models.model import Model
from kgen.models.style_transfer import StyleTransfer
from kgen.models.vae import VAE

__all__ = [
    "AdaINStyleTransfer",
    "ConditionalGAN",
    "DCGAN",
    "GAN",
    "GenerativeModel",
    "Model",
    "StyleTransfer",
    "VAE",
]
