#!/usr/bin/env bash
# Quick first look on a GPU: a few variants on the mission shape, verified and timed.
cli=${CLI:-build/flashcore}
for v in reference_attention \
         "attention_wmma:block_m=32,block_n=32,warps=4,copy=sync,p_dtype=f16" \
         "attention_wmma:block_m=64,block_n=32,warps=4,copy=pipeline,stages=2" \
         "attention_wmma:block_m=64,block_n=32,warps=4,copy=memcpy_async,stages=2" \
         "attention_mma:block_m=64,block_n=64,warps=4,stages=2,splits=1" \
         "attention_mma:block_m=64,block_n=64,warps=4,stages=2,splits=2" \
         "attention_mma:block_m=128,block_n=128,warps=4,stages=2,splits=1" \
         auto; do
  for c in "" --causal; do
    $cli run "$v" --shape 1,8,8,512,512,64 --verify --graph $c --json 2>&1 | python3 -c '
import json,sys
for line in sys.stdin:
    line=line.strip()
    if not line.startswith("{"): print(line[:300]); continue
    j=json.loads(line)
    print("%-8s %7.2f us graph %7.2f us eager err %.2e %s  %s causal=%s" % ("PASS" if j.get("passed") else "FAIL", j.get("us_graph",-1), j.get("us_eager",-1), j.get("max_abs_err",-1), j.get("source"), j["variant"][:90], j["causal"]))'
  done
done
