"""Which exceptions mean "bad input", and how kgen's commands print them.

The `kgen` command and the recipes end on bad input (a missing file, a bad
number, a finished run without `--overwrite`, a diverged run) with one line,
`<program>: error: <reason>`, and exit status 1. Anything else is a bug and
keeps its traceback. `KGEN_DEBUG=1` shows the traceback for both.

```python
try:
    main(config)
except Exception as error:
    if not kgen.errors.is_input_error(error):
        raise
    sys.exit(f"train: error: {kgen.errors.one_line(error)}")
```
"""

import os
import sys

# What bad input raises; anything else is a bug and keeps its traceback.
INPUT_ERRORS = (ValueError, OSError, ImportError)
# kgen's own input errors, by module: a module that is not loaded raised none.
KGEN_INPUT_ERRORS = {
    "kgen.data": "DatasetDownloadError",
    "kgen.networks.vgg": "WeightsDownloadError",
    "kgen.runs": "TrainingDivergedError",
}


def is_input_error(error: BaseException) -> bool:
    """Whether `error` says the input was bad (rather than that kgen has a bug)."""
    errors = list(INPUT_ERRORS)
    for module, name in KGEN_INPUT_ERRORS.items():
        if module in sys.modules:
            errors.append(getattr(sys.modules[module], name))
    return isinstance(error, tuple(errors))


def one_line(error: BaseException) -> str:
    """The error's message on one line (Keras' messages span several)."""
    return " ".join(str(error).split()) or type(error).__name__


def show_traceback() -> bool:
    """True when `KGEN_DEBUG` asks for tracebacks of input errors too."""
    return bool(os.environ.get("KGEN_DEBUG"))
