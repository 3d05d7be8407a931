#!/usr/bin/env bash
# ncu on the mission shape (B=1,H=8,S=512,D=64 f16): the variant `auto` picks (tuned records
# when present, else the heuristic) and the 64/128-row controls; kernel duration, SM and DRAM
# throughput, L2 traffic. Output on stdout.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/cuda/bin:$PATH
cli=build/flashcore
metrics=gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_bytes.sum,lts__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,sm__warps_active.avg.pct_of_peak_sustained_active,launch__grid_size,launch__registers_per_thread
for causal in "" --causal; do
  picked=$($cli bench --set mission --dtypes float16 --no-verify 2>/dev/null |
    python3 -c "import json,sys; [print(r['variant']) for r in map(json.loads, sys.stdin) if r['causal'] == ('$causal' != '')]")
  for v in "$picked" "attention_mma:block_m=64,block_n=128,warps=8,kv_warps=2,stages=2" "attention_mma:block_m=128,block_n=128,warps=4,stages=2"; do
    echo "== mission$causal $v"
    ncu --clock-control none -k regex:attention_mma --launch-skip 2 --launch-count 1 --metrics $metrics \
      $cli run "$v" --shape 1,8,8,512,512,64 $causal --iters 3 2>&1 | grep -vE "^==PROF==|^variant|^problem|^cubin|^launch|^time" | grep -E "__|us/call" | sed 's/^ *//'
  done
done
