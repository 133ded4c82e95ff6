"""kgen: GANs, VAEs and style transfer as Keras 3 models.

Everything trains with `model.fit` on the TensorFlow, JAX and PyTorch backends
and exports as a SavedModel.

```python
import kgen

train = kgen.data.load("glyphs", batch_size=128)  # offline, embedded digits
gan = kgen.DCGAN(image_shape=(28, 28, 1), latent_dim=100)
gan.compile()
gan.fit(train, epochs=5, callbacks=[kgen.callbacks.SampleGrid("samples/")])
images = gan.generate(64, seed=0)
```
"""

from kgen import (
    callbacks,
    classifier,
    completion,
    config,
    data,
    images,
    layers,
    losses,
    metrics,
    networks,
)
from kgen.completion import complete
from kgen.models import (
    DCGAN,
    GAN,
    VAE,
    AdaINStyleTransfer,
    ConditionalGAN,
    StyleTransfer,
)

__version__ = "0.1.0"

__all__ = [
    "AdaINStyleTransfer",
    "ConditionalGAN",
    "DCGAN",
    "GAN",
    "StyleTransfer",
    "VAE",
    "callbacks",
    "classifier",
    "complete",
    "completion",
    "config",
    "data",
    "images",
    "layers",
    "losses",
    "metrics",
    "networks",
]
