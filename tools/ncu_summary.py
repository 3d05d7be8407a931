#!/usr/bin/env python3
"""Side-by-side of the ncu metrics that say where an attention kernel's time goes (tensor-pipe
activity, issue slots, stall reasons, clocks, memory), from `ncu --page raw --csv` exports of
one kernel each. Usage: ncu_summary.py OURS.csv [OTHER.csv ...]; missing metrics print '-'.
       ncu_summary.py --sass OURS-sass.csv [OTHER-sass.csv ...]: warp-stall samples by SASS opcode
       (from `ncu --import R --page source --csv --print-source sass`)."""
import csv
import sys

METRICS = [
    ("kernel", "Kernel Name"),
    ("duration (ns)", "gpu__time_duration.sum"),
    ("SM clock (cycles/ns)", "sm__cycles_elapsed.avg.per_second"),
    ("grid", "launch__grid_size"),
    ("block", "launch__block_size"),
    ("registers/thread", "launch__registers_per_thread"),
    ("dyn smem/block", "launch__shared_mem_per_block_dynamic"),
    ("tensor pipe (HGMMA) active % of peak", "sm__pipe_tensor_op_hgmma_cycles_active.avg.pct_of_peak_sustained_active"),
    ("tensor pipe active % (all ops)", "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active"),
    ("SM throughput % of peak", "sm__throughput.avg.pct_of_peak_sustained_elapsed"),
    ("issue slots busy %", "sm__inst_issued.avg.pct_of_peak_sustained_active"),
    ("warp-scheduler issue active %", "smsp__issue_active.avg.pct_of_peak_sustained_active"),
    ("FMA pipe %", "sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active"),
    ("ALU pipe %", "sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active"),
    ("XU (MUFU ex2) pipe %", "sm__pipe_xu_cycles_active.avg.pct_of_peak_sustained_active"),
    ("instructions executed", "smsp__inst_executed.sum"),
    ("warps active / scheduler", "smsp__warps_active.avg.per_cycle_active"),
    ("DRAM throughput %", "dram__throughput.avg.pct_of_peak_sustained_elapsed"),
    ("L2 throughput %", "lts__throughput.avg.pct_of_peak_sustained_elapsed"),
    ("shared-memory pipe %", "l1tex__data_pipe_lsu_wavefronts_mem_shared.avg.pct_of_peak_sustained_elapsed"),
]
STALL_PREFIX = "smsp__average_warps_issue_stalled_"
STALL_SUFFIX = "_per_issue_active.ratio"


def load(path):
    with open(path, newline="") as f:
        lines = [l for l in f if not l.startswith("==")]
    table = list(csv.reader(lines))
    if len(table) < 3:
        return {}
    header, data = table[0], table[2]  # row 1 holds units
    return dict(zip(header, data))


def stalls_by_opcode(path):
    rows = list(csv.reader(l for l in open(path, newline="") if not l.startswith("==")))
    head = next(i for i, r in enumerate(rows) if "Source" in r)
    header = rows[head]
    col, src = header.index("Warp Stall Sampling (All Samples)"), header.index("Source")
    counts = {}
    for r in rows[head + 1:]:
        try:
            samples = float(r[col])
        except (IndexError, ValueError):
            continue
        words = [w for w in r[src].split() if not w.startswith("@")]  # drop a predicate guard
        op = words[0].split(".")[0] if words else "?"
        counts[op] = counts.get(op, 0.0) + samples
    total = sum(counts.values()) or 1.0
    return {op: 100.0 * n / total for op, n in counts.items()}


def main_sass(paths):
    runs = [stalls_by_opcode(p) for p in paths]
    names = [p.rsplit("/", 1)[-1].replace("-sass.csv", "") for p in paths]
    ops = sorted({op for r in runs for op in r}, key=lambda op: -max(r.get(op, 0.0) for r in runs))
    print("warp-stall samples by SASS opcode (% of each kernel's samples):")
    print("| opcode | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for op in ops[:14]:
        print(f"| {op} | " + " | ".join(f"{r.get(op, 0.0):.1f}" for r in runs) + " |")


def main():
    if sys.argv[1:2] == ["--sass"]:
        return main_sass(sys.argv[2:])
    runs = [load(p) for p in sys.argv[1:]]
    names = [p.rsplit("/", 1)[-1].replace("-raw.csv", "") for p in sys.argv[1:]]
    print("| metric | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, metric in METRICS:
        values = [r.get(metric, "-")[:60] for r in runs]
        print(f"| {label} | " + " | ".join(values) + " |")
    stalls = sorted({k for r in runs for k in r if k.startswith(STALL_PREFIX) and k.endswith(STALL_SUFFIX)})
    def num(r, k):
        try:
            return float(r.get(k, "nan").replace(",", ""))
        except ValueError:
            return float("nan")
    ranked = sorted(stalls, key=lambda k: -max((num(r, k) for r in runs), default=0))
    print("\nwarp stall reasons (warps stalled per issued instruction), largest first:")
    print("| reason | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k in ranked[:12]:
        label = k[len(STALL_PREFIX):-len(STALL_SUFFIX)]
        print(f"| {label} | " + " | ".join(f"{num(r, k):.2f}" for r in runs) + " |")


if __name__ == "__main__":
    main()
