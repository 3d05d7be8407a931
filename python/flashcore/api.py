"""The package's functions. attention() dispatches on the operands' framework: torch tensors
take flashcore._torch_support (pointers and strides read directly, torch's stream and
allocator, a torch.library op under torch.compile); anything else goes through DLPack."""
import sys

from . import _flashcore as _core
from .errors import FlashcoreValueError

_LAYOUTS = {"bshd": True, "bhsd": False}
_torch = None  # the torch module, once enable_torch() ran
_torch_attention = None


def enable_torch():
    """Imports torch support (and registers the flashcore::attention op). Idempotent."""
    global _torch, _torch_attention
    if _torch is None:
        from . import _torch_support

        _torch_attention = _torch_support.attention
        _torch = _torch_support.torch


def _bshd(layout):
    try:
        return _LAYOUTS[layout]
    except (KeyError, TypeError):
        raise FlashcoreValueError(f"layout {layout!r} is not one of 'bshd', 'bhsd'", code="bad_input") from None


def _scale(scale):
    return 0.0 if scale is None else float(scale)


def attention(q, k, v, *, causal=False, scale=None, layout="bshd", out=None, return_lse=False, variant="auto"):
    """Scaled dot-product attention softmax(scale * q k^T [+ causal mask]) v.

    q: (B, Sq, Hq, D) for layout="bshd" (flash-attn's), (B, Hq, Sq, D) for "bhsd" (SDPA's);
    k, v: the same with Skv and Hkv, where Hq is a multiple of Hkv (GQA; Hkv=1 is MQA). Strided
    views (a slice of a packed QKV tensor, a transpose) run without a copy when the head dim is
    contiguous and rows are 16-byte aligned. causal masks bottom-right (query i sees keys
    j <= i + Skv - Sq). scale defaults to 1/sqrt(D). out: an array shaped like q to write into.
    return_lse: also return the log-sum-exp per row, float32 (B, Hq, Sq). variant: "auto" or a
    variant string (flashcore templates()).

    Returns out (and lse). Raises FlashcoreTypeError / FlashcoreValueError (also TypeError /
    ValueError) for unusable operands, FlashcoreError for failures (no GPU, compile error).
    """
    if _torch is None and "torch" in sys.modules:
        enable_torch()
    bshd = _bshd(layout)
    if _torch is not None and isinstance(q, _torch.Tensor):
        return _torch_attention(q, k, v, bool(causal), scale, layout, bshd, out, bool(return_lse), variant)
    return _attention_dlpack(q, k, v, bool(causal), _scale(scale), bshd, out, bool(return_lse), variant)


def _framework(array):
    module = type(array).__module__.split(".")[0]
    return module if module in ("cupy", "jax", "jaxlib") else "dlpack"


def _lse_shape(q, bshd):
    shape = tuple(q.shape)
    if len(shape) != 4:
        return None  # the call below reports the rank
    return (shape[0], shape[2], shape[1]) if bshd else (shape[0], shape[1], shape[2])


def _attention_dlpack(q, k, v, causal, scale, bshd, out, return_lse, variant):
    framework = _framework(q)
    lse = None
    stream = 0
    if framework == "cupy":
        import cupy

        stream = cupy.cuda.get_current_stream().ptr
        if out is None and hasattr(q, "shape"):
            out = cupy.empty(q.shape, dtype=q.dtype)
        if return_lse and _lse_shape(q, bshd):
            lse = cupy.empty(_lse_shape(q, bshd), dtype=cupy.float32)
    else:
        if framework in ("jax", "jaxlib"):
            for array in (q, k, v):  # JAX dispatches asynchronously: the inputs must exist
                array.block_until_ready()
        device = _cuda_device_of(q)
        if out is None and device is not None:
            out = _core.empty(list(q.shape), str(q.dtype), device)
        if return_lse and device is not None and _lse_shape(q, bshd):
            lse = _core.empty(list(_lse_shape(q, bshd)), "f32", device)
    # Not a CUDA array: the library's check names the operand and the reason.
    _core.attention_dlpack(q, k, v, q if out is None else out, lse, causal, scale, bshd, variant, stream)
    if framework != "cupy" and out is not None and stream == 0:
        _core.synchronize(_cuda_device_of(q))  # JAX and plain DLPack consumers know no stream of ours
    if framework in ("jax", "jaxlib"):
        import jax.numpy as jnp

        out = jnp.from_dlpack(out)
        lse = jnp.from_dlpack(lse) if lse is not None else None
    return (out, lse) if return_lse else out


def _cuda_device_of(array):
    try:
        device_type, device_id = array.__dlpack_device__()
    except Exception:
        return None
    return int(device_id) if int(device_type) == 2 else None  # kDLCUDA


def _shape6(shape):
    if isinstance(shape, str):
        parts = [p.strip() for p in shape.split(",")]
    else:
        parts = list(shape)
    try:
        parts = [int(p) for p in parts]
    except (TypeError, ValueError):
        raise FlashcoreValueError(f"shape {shape!r}: every size must be an integer", code="bad_input") from None
    if len(parts) == 4:
        b, h, s, d = parts
        return [b, h, h, s, s, d]
    if len(parts) == 6:
        return parts
    raise FlashcoreValueError(f"shape {shape!r} must be B,Hq,Hkv,Sq,Skv,D or B,H,S,D", code="bad_input")


def resolve(q=None, k=None, v=None, *, shape=None, dtype="f16", causal=False, scale=None, layout="bshd",
            variant="auto", arch=None, device=0):
    """What attention() runs and why: {"variant", "source" (tuned|heuristic|fallback|explicit), "why"}.

    Either for operands (q, k, v as attention() takes them; their layout counts), or for
    shape="B,Hq,Hkv,Sq,Skv,D" (or a tuple) with dtype and causal on GPU `device`, or, without a
    GPU, for arch="sm_90" (device facts of that arch)."""
    if q is not None:
        if k is None or v is None:
            raise FlashcoreValueError("resolve(q, k, v): pass all three operands, or shape=", code="bad_input")
        if _torch is None and "torch" in sys.modules:
            enable_torch()
        return _core.resolve_views(q, k, v, bool(causal), _scale(scale), _bshd(layout), variant)
    if shape is None:
        raise FlashcoreValueError("resolve(): pass q, k, v or shape=", code="bad_input")
    return _core.resolve_problem(_shape6(shape), str(dtype), bool(causal), _scale(scale), variant, arch or "",
                                 int(device))


def build(variant, arch=None):
    """Compile-only: the cubin of `variant` for `arch` ("sm_90a", or a list; default sm_89 and
    sm_90a) from the memory or disk cache or NVRTC. Works without a GPU. Returns one dict per
    arch: variant (canonical), arch, key, source (memory|disk|compiled), registers, spills,
    static shared memory, warnings."""
    arches = ["sm_89", "sm_90a"] if arch is None else [arch] if isinstance(arch, str) else list(arch)
    results = [_core.build(variant, a) for a in arches]
    return results[0] if isinstance(arch, str) else results


def cache_info():
    """The kernel cache: folder, entries and bytes on disk, and this process's hits, misses and
    compiles."""
    return _core.cache_info()


def templates():
    """Every kernel template: id, summary, min_sm/max_sm and its parameters with their values."""
    return _core.templates()


def gpu_unavailable_reason():
    """"" when a CUDA driver with a GPU is usable, else why not."""
    return _core.gpu_unavailable_reason()
