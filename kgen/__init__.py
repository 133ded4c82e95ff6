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

`import kgen` loads Keras and kgen's models, which also registers kgen's
classes for `keras.saving.load_model`. Only kgen's own entry points (the
`kgen` command and the scripts in `recipes/`) defer that to the first use of
a kgen name, so that `kgen --help` answers at once and the frameworks'
start-up logs can be silenced before TensorFlow loads.
"""

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kgen import (
        augmentation,
        callbacks,
        classifier,
        completion,
        config,
        data,
        distributed,
        evaluation,
        images,
        layers,
        losses,
        metrics,
        networks,
        runs,
        saving,
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
    "augmentation",
    "callbacks",
    "classifier",
    "complete",
    "completion",
    "config",
    "data",
    "distributed",
    "evaluation",
    "images",
    "layers",
    "losses",
    "metrics",
    "networks",
    "runs",
    "saving",
]
# Modules that loading kgen imports on the way, and so became kgen's names.
_IMPORTED_ON_THE_WAY = ("backend", "export", "glyphs", "models", "pipelines")
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


def _started_by_a_kgen_entry_point() -> bool:
    """True in the `kgen` command (`kgen`, `python -m kgen.cli`) and the recipes.

    They silence the frameworks' start-up logs (`kgen.logs`) before anything
    imports TensorFlow, so kgen must not import it first.
    """
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "kgen":
        return True
    if list(getattr(sys, "orig_argv", [])[1:3]) == ["-m", "kgen.cli"]:
        return True
    recipes = Path(__file__).resolve().parents[1] / "recipes"
    return (
        script is not None
        and script.suffix == ".py"
        and (script.resolve().parent == recipes)
    )


# Anywhere else kgen loads at once: a script that imports kgen and then calls
# keras.saving.load_model must find kgen's classes registered.
if "keras" in sys.modules or not _started_by_a_kgen_entry_point():
    _load()
