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

`import kgen` alone loads no framework, so that the `kgen` command answers
`--help` at once: kgen's names load, all together, on first use. If Keras is
loaded already, `import kgen` loads them at once, which also registers kgen's
classes for `keras.saving.load_model`; `import kgen.models` does that in any
order.
"""

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
# Modules that loading kgen imports on the way, and so became kgen's names.
_IMPORTED_ON_THE_WAY = ("backend", "export", "glyphs", "models")
_loading = False


def __getattr__(name: str):
    """Loads kgen when one of its names is first used."""
    if _loading or name not in (*__all__, *_IMPORTED_ON_THE_WAY):
        # While loading, `from kgen import data` must import the submodule.
        raise AttributeError(f"module 'kgen' has no attribute {name!r}")
    _load()
    if name in _IMPORTED_ON_THE_WAY:
        return importlib.import_module(f"kgen.{name}")
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _load() -> None:
    """Imports kgen's modules and names, and with them Keras and its backend."""
    global _loading
    _loading = True
    try:
        modules = [name for name in __all__ if name.islower() and name != "complete"]
        for module in modules:
            importlib.import_module(f"kgen.{module}")  # becomes kgen.<module>
        namespace = globals()
        namespace["complete"] = namespace["completion"].complete
        models = importlib.import_module("kgen.models")
        for name in __all__:
            if name[0].isupper():
                namespace[name] = getattr(models, name)
    finally:
        _loading = False


if "keras" in sys.modules:
    _load()
