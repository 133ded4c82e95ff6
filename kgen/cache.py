"""Where kgen caches downloaded or derived files: one default, read once.

`$KGEN_CACHE` if set, else `~/.cache/kgen`. The classifier behind `kgen
evaluate`, the real-image statistics and the offline VGG16 weights
(`kgen.networks.hed_vgg16_weights`) are written under it. No heavy imports, so
the CLI can show it in `--help`.
"""

import os
from pathlib import Path

CACHE_ENV = "KGEN_CACHE"
DEFAULT_CACHE_DIR = Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "kgen"))
# How the default reads in help texts and docstrings.
DEFAULT_CACHE_DIR_HELP = f"${CACHE_ENV}, else ~/.cache/kgen"
