#!/usr/bin/env bash
# GPU check of pdl=1 (programmatic dependent launch): the attention_mma catalogue (pdl entries
# included), compute-sanitizer on the pdl entries, then the mission shape with pdl=0 and pdl=1
# side by side (tune, bench) and the anchors in the same run. Logs under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; log=$out/logs; mkdir -p "$log"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
(cd build && ctest -R "attention_mma catalogue|auto through" -V > "$log/catalogue.log" 2>&1; echo "mma catalogue + auto rc=$?")
grep -h "catalogue: " "$log/catalogue.log" | sed 's/^[0-9]*: //'
grep -v '^#' tests/catalogue/attention_mma.txt | grep "pdl=1" | while read -r v; do
  d=$(echo "$v" | sed 's/.*head_dim=\([0-9]*\).*/\1/'); dt=$(echo "$v" | sed 's/.*dtype=\([a-z0-9]*\).*/\1/')
  c=""; echo "$v" | grep -q "causal=1" && c=--causal
  for tool in memcheck racecheck synccheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 $cli probe "$v" --shape 1,2,1,77,133,$d --dtype $dt $c --lse >> "$log/sanitize-pdl.log" 2>&1
    echo "sanitize $tool rc=$? ${v:14:60}"
  done
done
for dt in f16 bf16; do
  for c in "" --causal; do
    $cli tune --shape 1,8,8,512,512,64 --dtype $dt $c --candidates "attention_mma:block_m=16|32,block_n=64,warps=4|8,kv_warps=2|4,stages=1|2,pdl=0|1" --top 6 > "$log/tune-mission-$dt$c.log" 2>&1
    sed -n '/^tuned/,+8p' "$log/tune-mission-$dt$c.log"
  done
done
tar czf "$out/tune-records.tgz" -C cache v1/tune
python3 .bench/sdpa_anchor.py --set mission --backends cudnn,flash --out "$out/anchors.jsonl" > /dev/null 2>&1
$cli bench --set mission --out "$out/ours.jsonl" > /dev/null 2> "$log/bench.err"; echo "bench rc=$?"
$cli bench --set mission --overhead --dtypes float16 > "$out/overhead.jsonl" 2>&1
python3 .bench/compare.py "$out/ours.jsonl" "$out/anchors.jsonl"
cat "$out/overhead.jsonl"
tar czf "$out/logs.tgz" -C "$out" logs && rm -rf "$log"
