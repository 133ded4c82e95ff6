"""Writes MNIST-format IDX files for tests."""

import gzip

import numpy as np


def write_idx(path, array, magic, compress=True):
    header = magic.to_bytes(4, "big") + b"".join(
        size.to_bytes(4, "big") for size in array.shape
    )
    content = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(content) if compress else content)
    return path
