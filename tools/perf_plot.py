#!/usr/bin/env python3
"""TFLOP/s by sequence length on the sweep rows (B*S = 16k tokens, H*D = 2048): ours against
cuDNN and FlashAttention-2 (PyTorch SDPA), one panel per head dim and mask, y axis from 0.
Both files must come from one device session (compute-bound timing follows the clock).

usage: tools/perf_plot.py OURS.jsonl ANCHORS.jsonl --out docs/perf_tflops.png
                          [--dtype bfloat16] [--title-note "H200, commit abc1234"]"""
import argparse
import json
from collections import defaultdict


def key(r):
    return (r["dtype"], r["B"], r["Hq"], r["Hkv"], r["Sq"], r["Skv"], r["D"], bool(r["causal"]))


def load(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]


def plot(ours, anchors, path, dtype="float16", title=""):
    """ours: {key: row}; anchors: {key: {impl: row}}. Writes the figure to `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    top = 0.0
    for ax, (d, causal) in zip(axes.flat, [(64, False), (64, True), (128, False), (128, True)]):
        for impl, label, style in (("ours", "FlashCore auto", "o-"), ("torch-cudnn", "cuDNN 9 (SDPA)", "s--"),
                                   ("torch-flash", "FlashAttention-2 (SDPA)", "^:")):
            xs, ys = [], []
            for k in sorted(ours, key=lambda k: k[4]):
                if k[0] != dtype or k[6] != d or k[7] != causal or k[1] * k[4] != 16384 or k[2] * k[6] != 2048:
                    continue
                r = ours[k] if impl == "ours" else anchors.get(k, {}).get(impl)
                if r:
                    xs.append(k[4])
                    ys.append(r["tflops"])
            ax.plot(xs, ys, style, label=label)
            top = max([top] + ys)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{dtype}, D={d}, {'causal' if causal else 'non-causal'}")
        ax.set_xlabel("sequence length (B*S = 16k tokens)")
        ax.grid(alpha=0.3)
    for ax in axes.flat:  # one scale for all panels, from 0
        ax.set_ylim(0, top * 1.08)
    axes[0][0].set_ylabel("TFLOP/s")
    axes[1][0].set_ylabel("TFLOP/s")
    axes[0][0].legend(loc="lower right")
    fig.suptitle(title or "Attention forward")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("anchors")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    ours = {key(r): r for r in load(a.ours) if "us_graph" in r and not r["impl"].startswith("torch-")}
    anchors = defaultdict(dict)
    for r in load(a.anchors):
        if "us_graph" in r:
            anchors[key(r)][r["impl"]] = r
    plot(ours, anchors, a.out, a.dtype, a.title)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
