"""Imports PyTorch reference implementations (pytorch-fid) beside the CPU torch.

PyPI's torchvision is built against PyTorch's CUDA build: beside the CPU build
that kgen's tests install, its C++ operators do not load, which torchvision
tolerates except that `import torchvision` then fails on registering a meta
kernel for `torchvision::nms` (and `qnms`), operators that were never
declared. The models that the references use are pure Python, so declaring
those two operators is enough to import it.
"""

import sys

import pytest

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
# A torch.library.Library deregisters its operators when garbage-collected.
_LIBRARY = []


def import_torchvision():
    """`torchvision`, importable beside the CPU build of PyTorch; skips without it."""
    torch = pytest.importorskip("torch")
    try:
        import torchvision
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [name for name in sys.modules if name.startswith("torchvision")]:
            del sys.modules[name]
        library = torch.library.Library("torchvision", "FRAGMENT")
        for name, schema in _SCHEMAS.items():
            if not hasattr(torch.ops.torchvision, name):
                library.define(schema)
        _LIBRARY.append(library)
        import torchvision
    except ImportError:
        pytest.skip("torchvision is not installed (pip install -e '.[test]')")
    return torchvision


def import_pytorch_fid():
    """`pytorch_fid.inception` and `pytorch_fid.fid_score`; skips without them."""
    import_torchvision()
    inception = pytest.importorskip("pytorch_fid.inception")
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    return inception, fid_score
