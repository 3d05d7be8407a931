#!/usr/bin/env python3
"""The ladder / candidate table of tools/wgmma_evidence.sh: our rows (flashcore bench --variant
..., JSON lines) per shape in the order run, with TFLOP/s and the time ratio against cuDNN and
FlashAttention-2 measured before and after ours in the same run (anchor µs / ours µs: above 1.0
ours is faster). Usage: ladder_table.py OURS.jsonl ANCHORS_BEFORE.jsonl [ANCHORS_AFTER.jsonl]"""
import json
import sys
from collections import defaultdict

DEFAULTS = ("head_dim=", "dtype=", "causal=", "splits=1", "q_in_regs=0", "occupancy=1", "stage=full")


def rows(path):
    try:
        return [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    except FileNotFoundError:
        return []


def shape_key(r):
    return (r["B"], r["Hq"], r["Hkv"], r["Sq"], r["Skv"], r["D"], bool(r["causal"]), r["dtype"])


def short(variant):
    template, _, params = variant.partition(":")
    kept = [p for p in params.split(",") if p and not p.startswith(DEFAULTS)]
    return template.replace("attention_", "") + ":" + ",".join(kept)


def main():
    ours = rows(sys.argv[1])
    anchors = defaultdict(lambda: defaultdict(list))
    for path in sys.argv[2:]:
        for r in rows(path):
            if "us_graph" in r:
                anchors[shape_key(r)][r["impl"]].append(r["us_graph"])
    by_shape = defaultdict(list)
    for r in ours:
        by_shape[shape_key(r)].append(r)
    for key, group in by_shape.items():
        b, hq, hkv, sq, skv, d, causal, dtype = key
        a = anchors.get(key, {})
        cudnn, fa2 = a.get("torch-cudnn", []), a.get("torch-flash", [])
        print(f"\n## B={b} Hq={hq} Hkv={hkv} Sq={sq} Skv={skv} D={d} causal={int(causal)} {dtype}; "
              f"cuDNN µs {'/'.join(f'{x:.1f}' for x in cudnn) or '-'}, FA2 µs {'/'.join(f'{x:.1f}' for x in fa2) or '-'}")
        print(f"| variant | µs | TFLOP/s | cuDNN/ours | FA2/ours |")
        print("|---|---|---|---|---|")
        for r in group:
            if "us_graph" not in r:
                print(f"| {short(r.get('variant', r.get('impl', '?')))} | error: {r.get('error', '?')[:80]} | | | |")
                continue
            us = r["us_graph"]
            ratio = lambda xs: f"{min(xs) / us:.2f}–{max(xs) / us:.2f}" if len(xs) > 1 else (f"{xs[0] / us:.2f}" if xs else "-")
            name = short(r["variant"]) + (" (auto)" if r.get("impl") == "flashcore-auto" else "")
            print(f"| {name} | {us:.1f} | {r['tflops']:.0f} | {ratio(cudnn)} | {ratio(fa2)} |")


if __name__ == "__main__":
    main()
