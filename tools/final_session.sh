#!/usr/bin/env bash
# One GPU session for the performance table: tune the curated plan, then time the anchors
# (cuDNN, FlashAttention-2) and our `auto` on every bench shape in the same run, plus the
# host overhead of a warm `auto` call. Few files come back: logs go into one tarball.
#   tools/final_session.sh          (after `make build`; writes under $OUT)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out" "$out/logs"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
sets=${SETS:-all}
if [ -f .carry/tune-records.tgz ]; then
  # Records from an earlier session of the same template digest: `auto` uses them as they are.
  mkdir -p cache && tar xzf .carry/tune-records.tgz -C cache && echo "tune records carried: $(find cache/v1/tune -name '*.jsonl' | wc -l) buckets"
else
  start=$SECONDS
  OUT=$out/logs timeout "${TUNE_LIMIT:-270}" tools/tune_session.sh > "$out/logs/tune-session.log" 2>&1
  echo "tune rc=$? ($((SECONDS - start)) s)"; grep -c "^tuned" "$out/logs/tune-session.log"
  mv "$out/logs/tune-records.tgz" "$out/" 2>/dev/null || tar czf "$out/tune-records.tgz" -C cache v1/tune
fi
$cli bench --set mission --overhead --dtypes float16 > "$out/overhead.jsonl" 2> "$out/logs/overhead.err"
echo "overhead rc=$?"
{
  echo "== graph floor: a trivial copy kernel on the mission shape"
  $cli --template-dir tests/templates run toy_attention --shape 1,8,8,512,512,64 --graph --iters 20
  tools/mission_profile.sh
} > "$out/profile.log" 2>&1
start=$SECONDS
python3 .bench/sdpa_anchor.py --set "$sets" --backends cudnn,flash --out "$out/anchors.jsonl" > /dev/null 2> "$out/logs/anchors.err"
echo "anchors rc=$? ($((SECONDS - start)) s)"
start=$SECONDS
$cli bench --set "$sets" --out "$out/ours.jsonl" > /dev/null 2> "$out/logs/ours.err"
echo "bench rc=$? ($((SECONDS - start)) s)"
{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv; git log -1 --format=%H 2>/dev/null; } > "$out/logs/device.txt" 2>&1
tar czf "$out/logs.tgz" -C "$out" logs && rm -rf "$out/logs"
python3 .bench/compare.py "$out/ours.jsonl" "$out/anchors.jsonl" > "$out/compare.txt" 2>&1
cat "$out/compare.txt"
cat "$out/overhead.jsonl"
tail -30 "$out/profile.log"
