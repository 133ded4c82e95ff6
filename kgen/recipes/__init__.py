"""Each task's run settings, and what the recipes and the `kgen` command share.

One module per task. Each declares its settings once, as a dataclass whose
fields carry their defaults, help text, types and choices
(`kgen.config.setting`); the script in `recipes/` parses its flags from it
(`kgen.config.run`), and `kgen train MODEL` / `kgen stylize` build their
subcommands from the same dataclass (`kgen.config.add_config_arguments`),
overriding only the output paths. The functions take that dataclass.

| module | settings | used by |
| --- | --- | --- |
| `training` | `TrainingConfig`: epochs, batch size, output dir, time budget, overwrite, seed | every training run |
| `digits` | `DigitConfig`: dataset, limit, held-out digits, quality samples, latent size | the digit models |
| `gan`, `dcgan`, `cgan`, `vae` | `GANConfig`, `DCGANConfig`, `CGANConfig`, `VAEConfig` | `recipes/*_mnist.py`, `kgen train gan/dcgan/cgan/vae` |
| `style_network` | `StyleNetworkConfig` | `recipes/train_style_network.py`, `kgen train style-network` |
| `style_transfer` | `StyleTransferConfig`, `TextureConfig` | `recipes/style_transfer.py`, `recipes/texture.py`, `kgen stylize` |
| `completion` | `CompletionConfig` | `recipes/complete_mnist.py` |

Reading the settings imports no framework (so `kgen --help` answers at
once): the modules reach Keras and kgen's models through `kgen.<name>`, which
loads them on first use.

```python
config = kgen.recipes.DCGANConfig(epochs=1, output_dir="runs/dcgan")
model = kgen.recipes.dcgan.train(config)  # what `kgen train dcgan --epochs 1` does
```
"""

from kgen.recipes import (
    cgan,
    completion,
    dcgan,
    digits,
    gan,
    style_network,
    style_transfer,
    training,
    vae,
)
from kgen.recipes.cgan import CGANConfig
from kgen.recipes.completion import CompletionConfig
from kgen.recipes.dcgan import DCGANConfig
from kgen.recipes.digits import (
    IMAGE_SHAPE,
    DigitConfig,
    digit_data,
    digit_splits,
    print_sample_quality,
    train_digit_model,
)
from kgen.recipes.gan import GANConfig
from kgen.recipes.style_network import StyleNetworkConfig, style_samples
from kgen.recipes.style_transfer import (
    StyleTransferConfig,
    TextureConfig,
    print_loss_terms,
    stylize,
    vgg_backbone,
)
from kgen.recipes.training import TrainingConfig, fit_and_save, start_run
from kgen.recipes.vae import VAEConfig, print_log_likelihood

__all__ = [
    "CGANConfig",
    "CompletionConfig",
    "DCGANConfig",
    "DigitConfig",
    "GANConfig",
    "IMAGE_SHAPE",
    "StyleNetworkConfig",
    "StyleTransferConfig",
    "TextureConfig",
    "TrainingConfig",
    "VAEConfig",
    "cgan",
    "completion",
    "dcgan",
    "digit_data",
    "digit_splits",
    "digits",
    "fit_and_save",
    "gan",
    "print_log_likelihood",
    "print_loss_terms",
    "print_sample_quality",
    "start_run",
    "style_network",
    "style_samples",
    "style_transfer",
    "stylize",
    "train_digit_model",
    "training",
    "vae",
    "vgg_backbone",
]
