"""FlashCore JIT from Python: per-shape specialised attention kernels, compiled with NVRTC,
cached on disk, launched on the caller's stream.

    import torch, flashcore
    q = torch.randn(2, 1024, 16, 128, device="cuda", dtype=torch.float16)   # (B, S, H, D)
    k = v = torch.randn(2, 1024, 4, 128, device="cuda", dtype=torch.float16)  # GQA: 4 kv heads
    o = flashcore.attention(q, k, v, causal=True)

Operands are any CUDA arrays that speak DLPack (torch, CuPy, JAX); torch tensors run on torch's
current stream and come back as torch tensors. Without a GPU, build() compiles and resolve()
answers for an arch; attention() raises FlashcoreError(code="no_driver" or "no_device").
"""
import os as _os
import sys as _sys

from . import _flashcore
from .errors import FlashcoreError, FlashcoreTypeError, FlashcoreValueError

_flashcore._set_error_types(FlashcoreError, FlashcoreValueError, FlashcoreTypeError)

from .api import attention, build, cache_info, gpu_unavailable_reason, resolve, templates  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "attention",
    "build",
    "resolve",
    "cache_info",
    "templates",
    "template_dir",
    "gpu_unavailable_reason",
    "FlashcoreError",
    "FlashcoreValueError",
    "FlashcoreTypeError",
]


def template_dir():
    """The folder of kernel templates this package carries (the library embeds the same files;
    FLASHCORE_TEMPLATE_DIR overrides them)."""
    here = _os.path.join(_os.path.dirname(__file__), "templates")
    return here if _os.path.isdir(here) else None


# With torch already imported, register the torch.library op now, outside any tracing.
if "torch" in _sys.modules:
    from . import api as _api

    _api.enable_torch()
