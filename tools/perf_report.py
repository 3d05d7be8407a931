#!/usr/bin/env python3
"""Writes docs/performance.md and docs/perf_tflops.png from one benchmark run: our rows
(`flashcore bench` JSON lines) and the anchors' (`sdpa_anchor.py`), both taken in the same
device session.

usage: tools/perf_report.py OURS.jsonl ANCHORS.jsonl --commit SHA --date YYYY-MM-DD
                            [--overhead OVERHEAD.jsonl] [--notes FILE] [--out docs]
"""
import argparse, json, os
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("ours"); ap.add_argument("anchors")
ap.add_argument("--commit", required=True); ap.add_argument("--date", required=True)
ap.add_argument("--overhead"); ap.add_argument("--notes"); ap.add_argument("--out", default="docs")
a = ap.parse_args()

def rows(path):
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]

def key(r):
    return (r["dtype"], r["B"], r["Hq"], r["Hkv"], r["Sq"], r["Skv"], r["D"], bool(r["causal"]))

ours = {key(r): r for r in rows(a.ours) if "us_graph" in r and not r["impl"].startswith("torch-")}
anchors = defaultdict(dict)
for r in rows(a.anchors):
    if "us_graph" in r:
        anchors[key(r)][r["impl"]] = r
device = next(iter(ours.values()))["device"] if ours else "?"

mission = [(k, r) for k, r in ours.items() if (k[1], k[2], k[4], k[6]) == (1, 8, 512, 64)]
lines = ["# Performance", "",
         f"Device: {device}. Date: {a.date}. Commit: `{a.commit}`. One session: our rows and the anchors",
         "(PyTorch SDPA through cuDNN and FlashAttention-2, `../shared/bench/sdpa_anchor.py`) were measured in",
         "the same run. Times are per call: CUDA events around a captured graph of 20 back-to-back calls,",
         "median of 7 timings (`us_graph`); `us_eager` is back-to-back plain launches. Ratios are anchor",
         "time / ours: above 1.0 ours is faster. `max_abs_err` is ours against fp64 (CPU) or fp32",
         "(reference_attention on the GPU) for large shapes.", "",
         "Reproduce: `flashcore bench --set all --out ours.jsonl` and `sdpa_anchor.py --set all --out anchors.jsonl`,",
         "then `tools/perf_report.py ours.jsonl anchors.jsonl --commit ... --date ... --notes docs/perf-data/notes.md` (the notes are the hand-written part above the table).", ""]
if a.notes and os.path.exists(a.notes):
    lines += [open(a.notes).read().rstrip(), ""]
lines += ["## All rows", "",
          "| dtype | B | Hq | Hkv | Sq | Skv | D | causal | ours µs (graph) | ours µs (plain) | TFLOP/s | cuDNN µs | FA2 µs | cuDNN/ours | FA2/ours | max abs err | variant (selection) |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
worst = {}
for k in sorted(ours, key=lambda k: (k[0], k[6], k[4], k[1], k[7])):
    r = ours[k]
    cells = []
    for impl in ("torch-cudnn", "torch-flash"):
        an = anchors[k].get(impl)
        cells.append(an)
    ratio = lambda an: an["us_graph"] / r["us_graph"] if an else None
    for impl, an in zip(("torch-cudnn", "torch-flash"), cells):
        if an: worst[impl] = min(worst.get(impl, 9e9), ratio(an))
    fmt = lambda x, f="%.2f": (f % x) if x is not None else "-"
    err = r.get("max_abs_err")
    lines.append("| %s | %d | %d | %d | %d | %d | %d | %s | %s | %s | %.1f | %s | %s | %s | %s | %s | `%s` (%s) |" % (
        k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], fmt(r["us_graph"]), fmt(r.get("us_eager")), r["tflops"],
        fmt(cells[0]["us_graph"] if cells[0] else None), fmt(cells[1]["us_graph"] if cells[1] else None),
        fmt(ratio(cells[0])), fmt(ratio(cells[1])), fmt(err, "%.1e"),
        r.get("variant", "").replace("attention_mma:", ""), r.get("selection", "")))
lines += ["", "Worst ratio over all rows: " + ", ".join("%s %.2f" % (i, w) for i, w in sorted(worst.items())), ""]
if a.overhead and os.path.exists(a.overhead):
    for r in rows(a.overhead):
        if r.get("impl") == "flashcore-overhead":
            lines += ["## Host overhead", "",
                      "A warm `Runtime::attention(problem, buffers, stream)` call (`auto`) against a bare",
                      "`cuLaunchKernel` of the same kernel with the same arguments; host time per call, median of",
                      "30 batches of 200 launches (`flashcore bench --overhead`):", "",
                      f"- variant `{r['variant']}` on {r['problem']}",
                      f"- bare launch {r['us_host_bare_launch']:.3f} µs, auto call {r['us_host_auto_call']:.3f} µs,"
                      f" overhead **{r['us_overhead']:.3f} µs** per call", ""]

# TFLOP/s by sequence length on the sweep (B*S = 16k, H*D = 2048).
try:
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from perf_plot import plot
    plot(ours, anchors, os.path.join(a.out, "perf_tflops.png"), "float16",
         f"Attention forward on {device} ({a.date}, {a.commit[:10]})")
    lines += ["## TFLOP/s by sequence length", "", "![TFLOP/s by sequence length](perf_tflops.png)", ""]
except ImportError:
    lines += ["(matplotlib missing: no plot)", ""]
open(os.path.join(a.out, "performance.md"), "w").write("\n".join(lines) + "\n")
print("wrote", os.path.join(a.out, "performance.md"))
