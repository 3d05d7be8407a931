"""Overhead of the Python entry point on a small shape, as one JSON line per measurement:
  - eager host time per call (µs, warm, 200 calls per timed batch so the GPU queue never
    blocks the host): flashcore.attention vs torch.nn.functional.scaled_dot_product_attention;
  - where the eager time goes: each step of the torch path timed alone (allocation, the key,
    the stream query, the prepared launch);
  - GPU time per call inside a CUDA graph of 20 calls: flashcore.attention captured by torch
    vs the C++ path (`flashcore run VARIANT --graph --json`, when --cli names the binary).
Usage: python bench_overhead.py [--cli build/flashcore] [--shape B,H,S,D] [--rounds 21]"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

import flashcore


def host_us_per_call(fn, batch=200, rounds=21):
    samples = []
    for r in range(rounds + 1):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        t1 = time.perf_counter()
        if r:  # the first round warms caches
            samples.append((t1 - t0) / batch * 1e6)
    torch.cuda.synchronize()
    return statistics.median(samples), min(samples)


def graph_us_per_call(fn, calls=20, replays=50):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g, stream=s):
        for _ in range(calls):
            fn()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(replays):
        start.record()
        g.replay()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e3 / calls)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="1,8,512,64", help="B,H,S,D (MHA, fp16)")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--cli", default="", help="the flashcore binary, for the C++ graph time")
    args = ap.parse_args()
    b, h, s, d = (int(x) for x in args.shape.split(","))
    dev = torch.cuda.get_device_name()
    q = torch.randn(b, h, s, d, device="cuda", dtype=torch.float16)
    k, v = torch.randn_like(q), torch.randn_like(q)
    qs, ks, vs = (t.transpose(1, 2).contiguous() for t in (q, k, v))
    chosen = flashcore.resolve(q, k, v, layout="bhsd")["variant"]
    calls = {
        "flashcore-bshd": lambda: flashcore.attention(qs, ks, vs),
        "flashcore-bhsd": lambda: flashcore.attention(q, k, v, layout="bhsd"),
        "flashcore-bhsd-out": (lambda o: lambda: flashcore.attention(q, k, v, layout="bhsd", out=o))(torch.empty_like(q)),
        "torch-sdpa": lambda: F.scaled_dot_product_attention(q, k, v),
    }
    for name, fn in calls.items():
        fn()
        median, best = host_us_per_call(fn, rounds=args.rounds)
        print(json.dumps({"impl": name, "measure": "eager_host_us_per_call", "shape": args.shape, "us_median": median,
                          "us_min": best, "variant": chosen if name.startswith("flashcore") else "", "device": dev}))
    from flashcore import _torch_support as ts

    o = torch.empty_like(q)
    prepared = ts._prepare(q, k, v, o, None, q.get_device(), False, None, False, "auto")
    stream = ts._raw_stream(q.get_device())
    scratch = torch.empty(max(prepared.workspace_bytes, 1), dtype=torch.uint8, device=q.device)
    steps = {
        "torch.empty(shape, dtype, device)": lambda: torch.empty(q.shape, dtype=q.dtype, device=q.device),
        "q.new_empty(q.shape)": lambda: q.new_empty(q.shape),
        "plan key (shapes, strides, dtypes)": lambda: (q.shape, q.stride(), k.shape, k.stride(), v.shape, v.stride(),
                                                      o.shape, o.stride(), q.dtype, k.dtype, v.dtype, o.dtype),
        "current raw stream": lambda: ts._raw_stream(0),
        "prepared launch (pointers only)": lambda: prepared.launch(q.data_ptr(), k.data_ptr(), v.data_ptr(),
                                                                   o.data_ptr(), 0, stream, scratch.data_ptr(),
                                                                   scratch.numel()),
    }
    for name, fn in steps.items():
        fn()
        median, best = host_us_per_call(fn, rounds=args.rounds)
        print(json.dumps({"impl": "flashcore-step", "step": name, "measure": "eager_host_us_per_call",
                          "shape": args.shape, "us_median": median, "us_min": best, "device": dev}))
    for name in ("flashcore-bhsd", "torch-sdpa"):
        us = graph_us_per_call(calls[name])
        print(json.dumps({"impl": name, "measure": "graph_gpu_us_per_call", "shape": args.shape, "us": us,
                          "variant": chosen if name.startswith("flashcore") else "", "device": dev}))
    if args.cli:
        shape6 = f"{b},{h},{h},{s},{s},{d}"
        run = subprocess.run([args.cli, "run", chosen, "--shape", shape6, "--graph", "--json"], capture_output=True,
                             text=True, check=False)
        row = {"impl": "flashcore-cpp", "measure": "graph_gpu_us_per_call", "shape": args.shape, "variant": chosen,
               "device": dev}
        try:
            report = json.loads(run.stdout.strip().splitlines()[-1])
            row["us"] = report.get("us_graph")
        except (IndexError, ValueError):
            row["error"] = (run.stderr or run.stdout)[-400:]
        print(json.dumps(row))


if __name__ == "__main__":
    main()
