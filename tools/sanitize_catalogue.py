#!/usr/bin/env python3
"""Runs every variant of a correctness catalogue under compute-sanitizer (memcheck,
racecheck, synccheck) on a small awkward shape. Variants that share the problem-bound
fields (dtype, head_dim, causal) run in one `flashcore probe` process per tool.

usage: tools/sanitize_catalogue.py TEMPLATE [--cli build/flashcore] [--out DIR] [--shape B,Hq,Hkv,Sq,Skv]
                                   [--lines 1,5,9]  (a subset of the catalogue's variant lines, 1-based)
"""
import argparse, json, os, re, subprocess, sys
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("template")
ap.add_argument("--cli", default="build/flashcore")
ap.add_argument("--out", default=os.environ.get("OUT", "/tmp"))
ap.add_argument("--shape", default="1,2,1,77,133")
ap.add_argument("--tools", default="memcheck,racecheck,synccheck")
ap.add_argument("--lines", default="", help="comma-separated 1-based indices of catalogue variants to run")
a = ap.parse_args()

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
schema = json.load(open(os.path.join(root, "kernel_templates", a.template + ".schema.json")))
defaults = {p["name"]: str(p["default"]) for p in schema["params"]}
groups = defaultdict(list)
wanted = {int(i) for i in a.lines.split(",") if i}
index = 0
for line in open(os.path.join(root, "tests", "catalogue", a.template + ".txt")):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    index += 1
    if wanted and index not in wanted:
        continue
    fields = dict(defaults)
    if ":" in line:
        fields.update(kv.split("=", 1) for kv in line.split(":", 1)[1].split(","))
    groups[(fields["dtype"], fields["head_dim"], fields["causal"])].append(line)

log = open(os.path.join(a.out, "sanitize-%s.log" % a.template), "w")
rows, bad = [], 0
for (dtype, d, causal), variants in sorted(groups.items()):
    for tool in a.tools.split(","):
        cmd = ["compute-sanitizer", "--tool", tool, "--error-exitcode", "9", a.cli, "probe", *variants,
               "--shape", "%s,%s" % (a.shape, d), "--dtype", dtype, "--lse"] + (["--causal"] if causal == "1" else [])
        p = subprocess.run(cmd, capture_output=True, text=True)
        text = p.stdout + p.stderr
        log.write("$ %s\n%s\n" % (" ".join(cmd), text))
        verdicts = [json.loads(l)["verdict"] for l in p.stdout.splitlines() if l.startswith("{")]
        summary = re.findall(r"(ERROR SUMMARY: .*|RACECHECK SUMMARY: .*)", text)
        ok = p.returncode == 0 and len(verdicts) == len(variants) and all(v == "ok" for v in verdicts)
        bad += not ok
        rows.append("%-4s %-9s dtype=%-4s D=%-3s causal=%s %2d variants: %s %s" % (
            "ok" if ok else "FAIL", tool, dtype, d, causal, len(variants),
            ",".join(sorted(set(verdicts))) or "no verdicts", summary[-1] if summary else "rc=%d" % p.returncode))
print("\n".join(rows))
print("%s: %d sanitizer runs, %d failed" % (a.template, len(rows), bad))
sys.exit(1 if bad else 0)
