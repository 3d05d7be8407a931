#!/usr/bin/env python3
"""Pair benchmark rows (JSON lines in the shared bench schema) by shape and dtype and print, per
shape, our time and GB/s, each anchor's time and GB/s, and the speedup anchor_us / ours_us
(above 1.0 = ours is faster).

A copy of ../shared/bench/compare.py with two fixes: its docstring called the ratio ours/anchor
while it printed anchor/ours (this one says what it prints), and it showed TFLOP/s only; the
memory-bound serving sets (decode) are judged by GB/s = (Q, K, V read once + O written once) /
time, which rows carry as "gbps" (computed here from the shape when a row lacks it). Rows pair
on (dtype, B, Hq, Hkv, Sq, Skv, D, causal), as in the original.

Usage: compare.py OURS.jsonl ANCHORS.jsonl [--ours-impl NAME] [--impls torch-cudnn,torch-flash]
Rows of OURS whose impl starts with --ours-impl (default: anything not starting with 'torch-')
are 'ours' (the fastest per shape); every other impl in either file is an anchor.
"""
import argparse, json
from collections import defaultdict

ELEM = {"float16": 2, "bfloat16": 2, "float32": 4}

def key(r):
    return (r["dtype"], r["B"], r["Hq"], r["Hkv"], r["Sq"], r["Skv"], r["D"], bool(r["causal"]))

def gbps(r):
    if r.get("gbps"):
        return r["gbps"]
    q = r["B"] * r["Hq"] * r["Sq"] * r["D"]
    kv = r["B"] * r["Hkv"] * r["Skv"] * r["D"]
    return (2 * q + 2 * kv) * ELEM.get(r["dtype"], 2) / r["us_graph"] / 1e3

def load(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]

ap = argparse.ArgumentParser()
ap.add_argument("ours"); ap.add_argument("anchors")
ap.add_argument("--ours-impl", default=None)
ap.add_argument("--impls", default=None, help="comma-separated anchor impls to show (default: all)")
a = ap.parse_args()
is_ours = (lambda r: r["impl"].startswith(a.ours_impl)) if a.ours_impl else (lambda r: not r["impl"].startswith("torch-"))
ours, anchors = {}, defaultdict(dict)
for r in load(a.ours) + load(a.anchors):
    if not r.get("us_graph") or r["us_graph"] <= 0:
        continue
    if is_ours(r):
        if key(r) not in ours or r["us_graph"] < ours[key(r)]["us_graph"]:
            ours[key(r)] = r
    else:
        anchors[key(r)][r["impl"]] = r
impls = sorted({i for d in anchors.values() for i in d})
if a.impls:
    impls = [i for i in a.impls.split(",") if i in impls]
head = f"{'dtype':9s} {'B':>3s} {'Hq':>3s} {'Hkv':>3s} {'Sq':>5s} {'Skv':>6s} {'D':>4s} {'causal':6s} {'ours_us':>9s} {'ours_GB/s':>9s}"
for i in impls:
    n = i.replace("torch-", "")
    head += f" {n + '_us':>10s} {n + '_GB/s':>10s} {'x' + n:>8s}"
print(head)
worst = {}
for k in sorted(ours):
    r = ours[k]
    line = (f"{k[0]:9s} {k[1]:3d} {k[2]:3d} {k[3]:3d} {k[4]:5d} {k[5]:6d} {k[6]:4d} {str(k[7]):6s} "
            f"{r['us_graph']:9.2f} {gbps(r):9.0f}")
    for i in impls:
        an = anchors.get(k, {}).get(i)
        if an:
            ratio = an["us_graph"] / r["us_graph"]
            worst[i] = min(worst.get(i, 9e9), ratio)
            line += f" {an['us_graph']:10.2f} {gbps(an):10.0f} {ratio:8.2f}"
        else:
            line += f" {'-':>10s} {'-':>10s} {'-':>8s}"
    print(line)
for i in impls:
    if i in worst:
        print(f"worst speedup vs {i}: {worst[i]:.2f}x (anchor time / ours; >= 1.0 means ours is never slower)")
