"""Quiet start-up: hide the frameworks' log lines that say nothing about kgen.

Before a command prints anything, TensorFlow's C++ start-up writes oneDNN
notices, "Could not find cuda drivers", "failed call to cuInit" and CPU
instruction hints, absl warns that it is not initialised, and JAX may announce
its CPU fallback. The `kgen` command and the recipes call
`silence_frameworks()` first thing; their `--verbose` flag keeps the logs.

```python
import sys

import kgen.logs

kgen.logs.silence_frameworks(verbose="--verbose" in sys.argv)

import keras  # noqa: E402  (after silence_frameworks: Keras may load TensorFlow)
```
"""

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import threading

# TensorFlow's C++ log threshold: 3 keeps only fatal lines. Errors that matter
# to a kgen user reach Python as exceptions.
TF_CPP_MIN_LOG_LEVEL = "3"
# Python loggers whose start-up warnings only --verbose shows.
FRAMEWORK_LOGGERS = ("absl", "tensorflow", "jax._src.xla_bridge")
# What TensorFlow's shared libraries write to stderr while they load, before
# absl's logging is initialised, whatever TF_CPP_MIN_LOG_LEVEL says: absl's
# notice and its info, warning and error lines ("I0000 00:00:17.. 745 port.cc:
# 153] oneDNN custom operations are on ..."). Fatal lines (F...) still show.
START_UP_NOISE = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\)"
    rb"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
)


def silence_frameworks(verbose: bool = False) -> None:
    """Hides the frameworks' start-up logs for the rest of this process.

    Call it before TensorFlow is imported (by `import keras` on the
    TensorFlow backend, or by kgen's data pipelines on the others): it sets
    `TF_CPP_MIN_LOG_LEVEL` (unless already set), raises the absl, TensorFlow
    and JAX Python loggers to ERROR, and filters TensorFlow's own start-up
    lines out of stderr while TensorFlow loads. Child processes inherit the
    environment variable. Does nothing when `verbose` is true.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_CPP_MIN_LOG_LEVEL)
    for name in FRAMEWORK_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Loads `tensorflow` with its start-up noise filtered out of stderr.

    TensorFlow's libraries log from C++ as they load, straight to file
    descriptor 2, so only a filter on the descriptor hides them. It is on
    while `import tensorflow` runs, and only then; the finder leaves
    `sys.meta_path` when TensorFlow loads (Keras and others look for
    TensorFlow with `find_spec` before, without loading it).
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None  # installed some other way: imported unfiltered
        spec.loader = _QuietLoader(spec.loader, finder=self)
        return spec


class _QuietLoader(importlib.abc.Loader):
    """Runs `loader` with stderr filtered; the module keeps `loader` as its own."""

    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # As importlib.util.LazyLoader does: the module sees its real loader.
        module.__spec__.loader = module.__loader__ = self.loader
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        with _stderr_without(START_UP_NOISE):
            self.loader.exec_module(module)


@contextlib.contextmanager
def _stderr_without(noise: re.Pattern):
    """Drops the lines that start with `noise` from file descriptor 2 in the block.

    Everything else written to stderr, from Python or C++, passes through in
    order.
    """
    sys.stderr.flush()
    try:
        stderr = os.dup(2)
    except OSError:  # no file descriptor 2 (a GUI process): nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    copier = threading.Thread(
        target=_copy_lines, args=(read_end, stderr, noise), daemon=True
    )
    copier.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(stderr, 2)  # closes the pipe's last write end: the copier sees EOF
        copier.join()
        os.close(stderr)


def _copy_lines(read_end: int, stderr: int, noise: re.Pattern) -> None:
    with open(read_end, "rb") as pipe:
        for line in pipe:
            if not noise.match(line):
                os.write(stderr, line)
