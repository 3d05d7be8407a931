"""torch tensors: the eager fast path (pointers, sizes and strides straight from the tensors,
torch's current stream, workspaces from torch's allocator) and the torch.library op
flashcore::attention with a fake implementation, so torch.compile(fullgraph=True) traces a
model that calls flashcore.attention and CUDA graphs capture it (warm it up once first: the
first call for a shape compiles and loads its kernel, which a capture cannot record)."""
from typing import Optional, Tuple

import torch

from . import _flashcore as _core
from .errors import FlashcoreTypeError, FlashcoreValueError

_DTYPES = {torch.float16: "f16", torch.bfloat16: "bf16", torch.float32: "f32"}
_raw_stream = torch._C._cuda_getCurrentRawStream
# (device, stream) -> uint8 tensor. Kept per stream: two streams must not share split-KV scratch.
_workspaces = {}
# Operand shapes/strides/dtypes and options -> _core.PreparedCall (checked, resolved, compiled).
_prepared = {}
_MAX_PREPARED = 4096


def _dtype_name(t):
    return _DTYPES.get(t.dtype) or str(t.dtype).replace("torch.", "")


def _check_peer(name, t, device):
    if not isinstance(t, torch.Tensor):
        raise FlashcoreTypeError(f"{name}: a {type(t).__name__} is not a torch tensor (q is one)", code="bad_input")
    d = t.get_device()
    if d != device:
        if d < 0:
            raise FlashcoreTypeError(f"{name}: the tensor is on {t.device}; flashcore.attention takes CUDA tensors",
                                     code="bad_input")
        raise FlashcoreValueError(f"{name} is on cuda:{d}, q on cuda:{device}; every operand must be on one GPU",
                                  code="bad_input")


def _prepare(q, k, v, out, lse, device, causal, scale, bshd, variant):
    return _core.prepare_ptrs(q.data_ptr(), q.shape, q.stride(), k.data_ptr(), k.shape, k.stride(), v.data_ptr(),
                              v.shape, v.stride(), out.data_ptr(), out.shape, out.stride(),
                              0 if lse is None else lse.data_ptr(), _dtype_name(q), _dtype_name(k), _dtype_name(v),
                              _dtype_name(out), device, causal, 0.0 if scale is None else float(scale), bshd, variant)


def _run(q, k, v, causal, scale, bshd, out, return_lse, variant):
    device = q.get_device()
    if device < 0:
        raise FlashcoreTypeError(f"q: the tensor is on {q.device}; flashcore.attention takes CUDA tensors",
                                 code="bad_input")
    _check_peer("k", k, device)
    _check_peer("v", v, device)
    if out is None:
        out = q.new_empty(q.shape)  # contiguous, q's dtype and device (the cheapest torch allocation call)
    else:
        _check_peer("out", out, device)
    lse = None
    if return_lse and q.dim() == 4:
        b, s, h = (q.shape[0], q.shape[1], q.shape[2]) if bshd else (q.shape[0], q.shape[2], q.shape[1])
        lse = q.new_empty((b, h, s), dtype=torch.float32)
    # Everything the checks and the plan depend on except the pointers (whose alignment the
    # prepared call compares itself).
    key = (q.shape, q.stride(), k.shape, k.stride(), v.shape, v.stride(), out.shape, out.stride(), q.dtype, k.dtype,
           v.dtype, out.dtype, device, causal, scale, bshd, lse is not None, variant)
    prepared = _prepared.get(key)
    if prepared is None:
        prepared = _prepare(q, k, v, out, lse, device, causal, scale, bshd, variant)
        if len(_prepared) >= _MAX_PREPARED:
            _prepared.clear()  # a host cycling through many shapes re-prepares (the plans stay cached in C++)
        _prepared[key] = prepared
    stream = _raw_stream(device)
    workspace = _workspaces.get((device, stream))
    lse_ptr = 0 if lse is None else lse.data_ptr()
    ptrs = (q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(), lse_ptr, stream)
    if workspace is None:
        need = prepared.launch(*ptrs, 0, 0)
    else:
        need = prepared.launch(*ptrs, workspace.data_ptr(), workspace.numel())
    if need:  # nothing ran: the plan needs (more) scratch
        grown = torch.empty(need, dtype=torch.uint8, device=q.device)
        if workspace is not None:
            _core.forget_workspace(workspace.data_ptr())
        _workspaces[(device, stream)] = grown
        prepared.launch(*ptrs, grown.data_ptr(), grown.numel())
    return out, lse


@torch.library.custom_op("flashcore::attention", mutates_args=())
def _attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                  scale: Optional[float] = None, layout: str = "bshd", variant: str = "auto",
                  return_lse: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    from .api import _bshd

    out, lse = _run(q, k, v, causal, scale, _bshd(layout), None, return_lse, variant)
    return out, (lse if lse is not None else q.new_empty((0,), dtype=torch.float32))


@_attention_op.register_fake
def _attention_fake(q, k, v, causal=False, scale=None, layout="bshd", variant="auto", return_lse=False):
    out = q.new_empty(q.shape)
    if not return_lse:
        return out, q.new_empty((0,), dtype=torch.float32)
    b, s, h = (q.shape[0], q.shape[1], q.shape[2]) if layout == "bshd" else (q.shape[0], q.shape[2], q.shape[1])
    return out, q.new_empty((b, h, s), dtype=torch.float32)


def attention(q, k, v, causal, scale, layout, bshd, out, return_lse, variant):
    if torch.compiler.is_compiling():
        o, lse = torch.ops.flashcore.attention(q, k, v, causal, scale, layout, variant, return_lse)
        if out is not None:
            out.copy_(o)
            o = out
        return (o, lse) if return_lse else o
    o, lse = _run(q, k, v, causal, scale, bshd, out, return_lse, variant)
    return (o, lse) if return_lse else o
