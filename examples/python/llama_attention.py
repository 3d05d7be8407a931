"""Swap a Llama-style attention block's attention call for flashcore.attention and check it.

The block is the usual one (q/k/v projections, rotary embeddings, grouped-query attention with
16 query heads over 4 key/value heads, causal). Its original call transposes to (B, H, S, D),
repeats the kv heads and calls torch SDPA; flashcore takes the projections' (B, S, H, D) views
and the 4 kv heads as they are. Random weights, no download. Run: python llama_attention.py"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import flashcore


def rotary(x, base=10000.0):
    """Rotary position embedding on (B, S, H, D)."""
    s, d = x.shape[1], x.shape[3]
    inv = 1.0 / base ** (torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d)
    angles = torch.outer(torch.arange(s, device=x.device, dtype=torch.float32), inv)
    cos, sin = angles.cos()[None, :, None, :].to(x.dtype), angles.sin()[None, :, None, :].to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


def sdpa_attention(q, k, v):
    """The model's original call: (B, H, S, D), kv heads repeated, top-left causal (Sq == Skv here)."""
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    groups = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)


def flashcore_attention(q, k, v):
    """The swap: (B, S, H, D) views straight from the projections, GQA by head counts."""
    return flashcore.attention(q, k, v, causal=True)


class LlamaAttention(nn.Module):
    def __init__(self, hidden=2048, heads=16, kv_heads=4, attention=sdpa_attention):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.q_proj = nn.Linear(hidden, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, hidden, bias=False)
        self.attention = attention

    def forward(self, x):
        b, s, _ = x.shape
        q = rotary(self.q_proj(x).view(b, s, self.heads, self.head_dim))
        k = rotary(self.k_proj(x).view(b, s, self.kv_heads, self.head_dim))
        v = self.v_proj(x).view(b, s, self.kv_heads, self.head_dim)
        return self.o_proj(self.attention(q, k, v).reshape(b, s, -1))


def timed(fn, x, iters=20):
    fn(x)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn(x)
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / iters * 1e3


def main():
    if not torch.cuda.is_available():
        print(f"no CUDA GPU ({flashcore.gpu_unavailable_reason() or 'torch sees none'}): nothing to run")
        return 0
    torch.manual_seed(0)
    block = LlamaAttention().cuda().half().eval()
    x = torch.randn(2, 1024, 2048, device="cuda", dtype=torch.float16)
    with torch.no_grad():
        expected = block(x)
        block.attention = flashcore_attention
        got = block(x)
        print("flashcore picked:", flashcore.resolve(shape=(2, 16, 4, 1024, 1024, 128), causal=True)["variant"])
        err = (got.float() - expected.float()).abs().max().item()
        scale = expected.float().abs().max().item()
        print(f"max |flashcore - sdpa| = {err:.3e} (output magnitude {scale:.3e})")
        ms_flashcore = timed(block, x)
        block.attention = sdpa_attention
        ms_sdpa = timed(block, x)
    print(f"block forward: flashcore {ms_flashcore:.3f} ms, sdpa {ms_sdpa:.3f} ms")
    ok = err <= 1e-2 * max(scale, 1.0)
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
