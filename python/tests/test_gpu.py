"""GPU tests of the flashcore package (device machine: CUDA + torch; CuPy optional). Skipped
without them. Run `python -m pytest python/tests/test_gpu.py`, or `python test_gpu.py` where
pytest is absent (a small runner at the bottom calls every test_* function)."""
import math
import os
import sys

try:
    import pytest
except ImportError:  # the fallback runner below stands in
    pytest = None

try:
    import torch
    import torch.nn.functional as F

    HAVE_CUDA = torch.cuda.is_available()
except ImportError:
    torch = None
    HAVE_CUDA = False

import flashcore

if pytest is not None:
    pytestmark = pytest.mark.skipif(not HAVE_CUDA, reason="needs torch with a CUDA GPU")

TOL = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float32: 1e-4} if torch else {}


def reference(q, k, v, causal, scale=None, layout="bshd"):
    """fp64 attention with bottom-right causal masking; rows that see no key give O = 0 and
    lse = -inf (flashcore's convention). Returns (o, lse) in the operands' layout, lse (B, Hq, Sq)."""
    if layout == "bshd":
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    q, k, v = (t.double() for t in (q, k, v))
    hq, hkv, sq, skv, d = q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3]
    k = k.repeat_interleave(hq // hkv, dim=1)
    v = v.repeat_interleave(hq // hkv, dim=1)
    scale = 1 / math.sqrt(d) if scale is None else scale
    mask = None
    if causal:
        i = torch.arange(sq, device=q.device)[:, None]
        j = torch.arange(skv, device=q.device)[None, :]
        mask = j <= i + (skv - sq)
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    scores = (q @ k.transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)
    if mask is not None:
        empty = ~mask.any(dim=-1)
        o = o.masked_fill(empty[None, None, :, None], 0.0)
    if layout == "bshd":
        o = o.transpose(1, 2)
    return o, lse


def max_error(a, b):
    a, b = a.double(), b.double()
    both_inf = torch.isinf(a) & torch.isinf(b) & (torch.sign(a) == torch.sign(b))
    return (a - b).abs().masked_fill(both_inf, 0.0).max().item()


def make(shape, dtype, layout, seed):
    b, hq, hkv, sq, skv, d = shape
    g = torch.Generator(device="cuda").manual_seed(seed)

    def one(h, s):
        dims = (b, s, h, d) if layout == "bshd" else (b, h, s, d)
        return torch.randn(dims, generator=g, device="cuda", dtype=torch.float32).to(dtype)

    return one(hq, sq), one(hkv, skv), one(hkv, skv)


# (B, Hq, Hkv, Sq, Skv, D), dtype, causal, layout
CASES = [
    ((1, 8, 8, 512, 512, 64), torch.float16, False, "bshd"),
    ((1, 8, 8, 512, 512, 64), torch.float16, True, "bhsd"),
    ((2, 4, 4, 1, 77, 64), torch.float16, False, "bshd"),
    ((1, 2, 2, 77, 1013, 128), torch.bfloat16, False, "bhsd"),
    ((1, 32, 8, 64, 96, 128), torch.bfloat16, False, "bshd"),
    ((1, 32, 8, 70, 70, 64), torch.float16, True, "bshd"),
    ((2, 3, 1, 100, 37, 64), torch.float16, True, "bhsd"),
    ((1, 2, 2, 37, 100, 128), torch.bfloat16, True, "bshd"),
    ((3, 2, 2, 129, 255, 96), torch.float16, False, "bhsd"),
    ((1, 4, 2, 200, 333, 256), torch.bfloat16, True, "bshd"),
    ((1, 2, 1, 45, 45, 64), torch.float32, True, "bhsd"),
    ((4, 16, 1, 1, 2048, 128), torch.float16, False, "bshd"),
] if torch else []


def test_matches_sdpa_fp64_on_shapes():
    for n, (shape, dtype, causal, layout) in enumerate(CASES):
        q, k, v = make(shape, dtype, layout, n)
        o, lse = flashcore.attention(q, k, v, causal=causal, layout=layout, return_lse=True)
        assert o.shape == q.shape and o.dtype == dtype and o.device == q.device
        ref_o, ref_lse = reference(q, k, v, causal, layout=layout)
        err = max_error(o, ref_o)
        assert err <= TOL[dtype], f"{shape} {dtype} causal={causal} {layout}: max |o - ref| = {err}"
        assert lse.shape == (shape[0], shape[1], shape[3]) and lse.dtype == torch.float32
        err = max_error(lse, ref_lse)
        assert err <= 1e-3, f"{shape} {dtype} causal={causal} {layout}: max |lse - ref| = {err}"


def test_packed_qkv_slices_run_without_a_copy():
    b, s, h, d = 2, 300, 8, 64
    qkv = torch.randn(b, s, 3, h, d, device="cuda", dtype=torch.float16)
    q, k, v = qkv.unbind(dim=2)  # views: strides (s*3*h*d, 3*h*d, d, 1)
    assert not q.is_contiguous()
    o = flashcore.attention(q, k, v, causal=True)
    ref, _ = reference(q, k, v, True)
    assert max_error(o, ref) <= TOL[torch.float16]
    # The same through a transpose (BHSD view of BSHD memory).
    o2 = flashcore.attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal=True, layout="bhsd")
    assert torch.equal(o2.transpose(1, 2), o)


def test_gqa_mqa_scale_and_out():
    q, k, v = make((2, 16, 2, 128, 200, 128), torch.bfloat16, "bshd", 7)
    out = torch.empty_like(q)
    got = flashcore.attention(q, k, v, scale=0.05, out=out)
    assert got is out
    assert max_error(out, reference(q, k, v, False, scale=0.05)[0]) <= TOL[torch.bfloat16]
    q, k, v = make((1, 8, 1, 64, 64, 64), torch.float16, "bhsd", 8)
    assert max_error(flashcore.attention(q, k, v, layout="bhsd"), reference(q, k, v, False, layout="bhsd")[0]) <= 2e-3


def test_explicit_variants_agree():
    q, k, v = make((1, 4, 4, 100, 900, 64), torch.float16, "bshd", 9)
    ref, _ = reference(q, k, v, True)
    for variant in ("reference_attention", "attention_wmma", "attention_mma", "attention_mma:splits=4,block_m=64"):
        o = flashcore.attention(q, k, v, causal=True, variant=variant)
        assert max_error(o, ref) <= TOL[torch.float16], variant
    chosen = flashcore.resolve(q, k, v, causal=True)
    assert chosen["source"] in ("tuned", "heuristic", "fallback") and chosen["variant"]


def test_runs_on_the_current_torch_stream():
    q, k, v = make((1, 8, 8, 256, 256, 64), torch.float16, "bshd", 10)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        torch.cuda._sleep(50_000_000)  # the launch must queue behind this, not race it
        q2 = q * 1.0
        o = flashcore.attention(q2, k, v)
    torch.cuda.current_stream().wait_stream(s)
    assert max_error(o, reference(q, k, v, False)[0]) <= TOL[torch.float16]


def test_cuda_graph_capture():
    for variant in ("auto", "attention_mma:splits=4,block_m=64"):
        q, k, v = make((1, 2, 2, 64, 1024, 64), torch.float16, "bshd", 11)
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):  # warm-up: compile, load, plan, workspace
            flashcore.attention(q, k, v, variant=variant)
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g, stream=s):
            o = flashcore.attention(q, k, v, variant=variant)
        for seed in (12, 13):
            q2, k2, v2 = make((1, 2, 2, 64, 1024, 64), torch.float16, "bshd", seed)
            q.copy_(q2), k.copy_(k2), v.copy_(v2)
            g.replay()
            torch.cuda.synchronize()
            assert max_error(o, reference(q2, k2, v2, False)[0]) <= TOL[torch.float16], variant
    # A capture on the graph's own stream that was never warmed: workspace from torch's graph pool.
    q, k, v = make((1, 2, 2, 64, 1024, 64), torch.float16, "bshd", 14)
    flashcore.attention(q, k, v, variant="attention_mma:splits=4,block_m=64")
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        o = flashcore.attention(q, k, v, variant="attention_mma:splits=4,block_m=64")
    g.replay()
    torch.cuda.synchronize()
    assert max_error(o, reference(q, k, v, False)[0]) <= TOL[torch.float16]


def test_torch_compile_fullgraph():
    def block(x, wq, wk, wv):
        b, s, _ = x.shape
        q = (x @ wq).view(b, s, 8, 64)
        k = (x @ wk).view(b, s, 2, 64)
        v = (x @ wv).view(b, s, 2, 64)
        return flashcore.attention(q, k, v, causal=True).reshape(b, s, 512) * 2

    x = torch.randn(2, 128, 512, device="cuda", dtype=torch.float16)
    wq = torch.randn(512, 512, device="cuda", dtype=torch.float16) / 23
    wk = torch.randn(512, 128, device="cuda", dtype=torch.float16) / 23
    wv = torch.randn(512, 128, device="cuda", dtype=torch.float16) / 23
    eager = block(x, wq, wk, wv)
    compiled = torch.compile(block, fullgraph=True)
    assert max_error(compiled(x, wq, wk, wv), eager) <= 1e-3
    graphed = torch.compile(block, fullgraph=True, mode="reduce-overhead")
    for _ in range(3):
        got = graphed(x, wq, wk, wv)
    assert max_error(got, eager) <= 1e-3
    o, lse = torch.ops.flashcore.attention(x.view(2, 128, 8, 64), x.view(2, 128, 8, 64), x.view(2, 128, 8, 64),
                                           False, None, "bshd", "auto", True)
    assert lse.shape == (2, 8, 128)


def test_cupy_arrays():
    try:
        import cupy
    except ImportError:
        if pytest is not None:
            pytest.skip("CuPy is not installed")
        return
    q, k, v = make((1, 8, 2, 100, 150, 64), torch.float16, "bshd", 15)
    cq, ck, cv = (cupy.from_dlpack(t) for t in (q, k, v))
    o, lse = flashcore.attention(cq, ck, cv, causal=True, return_lse=True)
    assert isinstance(o, cupy.ndarray) and o.shape == cq.shape
    cupy.cuda.get_current_stream().synchronize()
    ref_o, ref_lse = reference(q, k, v, True)
    assert max_error(torch.from_dlpack(o), ref_o) <= TOL[torch.float16]
    assert max_error(torch.from_dlpack(lse), ref_lse) <= 1e-3
    # A strided CuPy view: every second head of a wider tensor.
    wide = cupy.zeros((1, 100, 16, 64), dtype=cupy.float16)
    wide[:, :, ::2] = cq
    o2 = flashcore.attention(wide[:, :, ::2], ck, cv, causal=True)
    cupy.cuda.get_current_stream().synchronize()
    assert max_error(torch.from_dlpack(o2), ref_o) <= TOL[torch.float16]


def test_prepared_calls_take_new_pointers_and_check_them():
    # Warm calls reuse one prepared call per shape/stride key: fresh tensors of that key must
    # give their own results, and a base address the key cannot tell apart (misaligned by one
    # element, same strides) must be refused, not launched.
    shape = (1, 4, 4, 96, 96, 64)
    for seed in (20, 21, 22):
        q, k, v = make(shape, torch.float16, "bshd", seed)
        o = flashcore.attention(q, k, v, causal=True)
        assert max_error(o, reference(q, k, v, True)[0]) <= TOL[torch.float16], seed
    n = q.numel()
    flat = torch.randn(n + 1, device="cuda", dtype=torch.float16)
    shifted = flat[1:].view(q.shape)  # same shape and strides as q, base 2 bytes off
    assert shifted.stride() == q.stride()
    try:
        flashcore.attention(shifted, k, v, causal=True)
    except ValueError as e:
        assert "q: the base address" in str(e) and "aligned" in str(e), str(e)
    else:
        raise AssertionError("a misaligned q was accepted")
    # and the key still works afterwards, with lse now asked for (another key)
    o, lse = flashcore.attention(q, k, v, causal=True, return_lse=True)
    ref_o, ref_lse = reference(q, k, v, True)
    assert max_error(o, ref_o) <= TOL[torch.float16] and max_error(lse, ref_lse) <= 1e-3


def test_jax_arrays():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        if pytest is not None:
            pytest.skip("JAX is not installed")
        return
    if not any(d.platform == "gpu" for d in jax.devices()):
        if pytest is not None:
            pytest.skip("JAX has no GPU backend here")
        return
    q, k, v = make((1, 4, 2, 80, 120, 64), torch.float16, "bshd", 23)
    jq, jk, jv = (jnp.asarray(t.cpu().numpy()) for t in (q, k, v))
    o = flashcore.attention(jq, jk, jv, causal=True)
    assert isinstance(o, jax.Array) and o.shape == jq.shape
    got = torch.from_numpy(jax.device_get(o).astype("float32")).cuda()
    assert max_error(got, reference(q, k, v, True)[0]) <= TOL[torch.float16]


def test_argument_errors_on_the_gpu():
    q, k, v = make((1, 4, 4, 64, 64, 64), torch.float16, "bshd", 16)
    for args, exc, text in [
        ((q.cpu(), k, v), TypeError, "q: the tensor is on cpu"),
        ((q, k.float(), v), TypeError, "k: dtype f32 differs from the problem's f16"),
        ((q.double(), k, v), TypeError, "q: dtype 'float64' is not one of"),
        ((q, k[:, :32], v), ValueError, "v: shape"),  # Skv comes from k, so v is the one that disagrees
        ((q[..., ::2], k[..., ::2], v[..., ::2]), ValueError, "head dimension must be contiguous"),
        ((q, k, v[0]), ValueError, "v: the array has 3 dimensions"),
    ]:
        try:
            flashcore.attention(*args)
        except exc as e:
            assert text in str(e), (text, str(e))
            assert isinstance(e, flashcore.FlashcoreError)
        else:
            raise AssertionError(f"accepted: expected {exc.__name__} with {text!r}")


if __name__ == "__main__":
    if not HAVE_CUDA:
        print("SKIPPED: needs torch with a CUDA GPU")
        sys.exit(0)
    tests = [(name, fn) for name, fn in sorted(globals().items()) if name.startswith("test_") and callable(fn)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"PASS {name}")
        except Exception as e:  # report every test, not just the first failure
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
