#!/usr/bin/env bash
# Performance baseline on the GPU machine: anchors (cuDNN, FlashAttention-2) and our `auto`
# on every bench shape, the graph-replay floor of a trivial kernel, ncu durations.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
sets=${SETS:-all}
python3 .bench/sdpa_anchor.py --set "$sets" --backends cudnn,flash --out "$out/anchors.jsonl" > /dev/null 2> "$out/anchors.err"
$cli bench --set "$sets" --out "$out/ours.jsonl" > /dev/null 2> "$out/ours.err"; echo "bench rc=$?"
python3 .bench/compare.py "$out/ours.jsonl" "$out/anchors.jsonl" | tee "$out/compare.txt"
{
  echo "== graph floor: a trivial copy kernel on the mission shape"
  $cli --template-dir tests/templates run toy_attention --shape 1,8,8,512,512,64 --graph --iters 20
  for v in "attention_mma:block_m=64,block_n=64,warps=4,stages=2,splits=2" \
           "attention_mma:block_m=64,block_n=64,warps=4,stages=2,splits=1" \
           "attention_mma:block_m=64,block_n=128,warps=4,stages=1,splits=4"; do
    echo "== ncu $v"
    ncu --clock-control none --metrics gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,launch__grid_size,launch__registers_per_thread,sm__warps_active.avg.pct_of_peak_sustained_active \
        $cli run "$v" --shape 1,8,8,512,512,64 --iters 3 2>&1 | grep -E "attention_mma|duration|throughput|grid_size|registers|warps_active" | head -12
  done
} > "$out/profile.log" 2>&1
tail -40 "$out/profile.log"
