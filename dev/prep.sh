#!/bin/bash
# Compiles attention_wgmma variants locally (NVRTC, sm_90a) into OUT_DIR and writes a manifest
# for dev/wgmma_harness.cpp. Usage: dev/prep.sh OUT_DIR REL_PREFIX VARIANT...
set -e
out=$1; rel=$2; shift 2
mkdir -p $out/cubins
: > $out/manifest.txt
FC=/work/wt-hopper/build/flashcore
for v in "$@"; do
  tmp=$(mktemp -d)
  json=$(FLASHCORE_CACHE_DIR=$tmp FLASHCORE_TEMPLATE_DIR=/work/wt-hopper/kernel_templates $FC build "attention_wgmma:$v" --arch sm_90 --json | grep '^{')
  d=$(ls -d $tmp/v1/*/*/ | head -1)
  python3 - "$json" "$d" "$out" "$rel" "$v" <<'PY'
import json, sys, shutil, re
j = json.loads(sys.argv[1]); d = sys.argv[2]; out = sys.argv[3]; rel = sys.argv[4]; short = sys.argv[5]
assert j["ok"], j
canon = j["variant"]
f = dict(kv.split("=") for kv in canon.split(":", 1)[1].split(","))
label = re.sub(r"[^A-Za-z0-9_=.,-]", "_", short)
name = "v%03d.cubin" % sum(1 for _ in open(out + "/manifest.txt"))
shutil.copy(d + "/kernel.cubin", out + "/cubins/" + name)
threads = 128 * (int(f["consumer_wgs"]) + 1)
block_m = 64 * int(f["consumer_wgs"])
line = " ".join(str(x) for x in [label, rel + "/cubins/" + name, j["lowered_name"], threads, j["dynamic_shared_bytes"],
       block_m, f["block_n"], f["persistent"], f["dtype"], f["head_dim"], f["causal"], f.get("stage", "full")])
open(out + "/manifest.txt", "a").write(line + "\n")
print(line, "spill", j["spill_bytes"], "regs", j["registers"])
PY
  rm -rf $tmp
done
