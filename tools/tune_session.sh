#!/usr/bin/env bash
# GPU session: optionally check the attention_mma catalogue (correctness + sanitizer), then
# tune buckets with curated candidate patterns and bring the records back (tune-records.tgz).
#   CHECK=1 TUNE_PLAN=tools/tune_plan.txt tools/tune_session.sh
# A plan line is `SHAPE DTYPES CAUSAL PATTERN` (CAUSAL: 0, 1 or 01); the tuner appends each
# pattern's new candidates to the bucket's records, so several lines may share a shape.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
if [ "${CHECK:-0}" = 1 ]; then
  start=$SECONDS
  (cd build && ctest -R "attention_mma catalogue|auto through" --output-on-failure > "$out/catalogue.log" 2>&1; echo "mma catalogue + auto tests rc=$?")
  grep -E "catalogue:|FAILED|passed|Passed|Failed" "$out/catalogue.log" | head -8
  python3 tools/sanitize_catalogue.py attention_mma --out "$out" | tail -2
  echo "check took $((SECONDS - start)) s"
fi
plan=${TUNE_PLAN:-tools/tune_plan.txt}
grep -v '^#' "$plan" | grep . | while read -r shape dtypes causals pattern; do
  for dtype in ${dtypes//,/ }; do
    for causal in $(echo "$causals" | grep -o .); do
      start=$SECONDS
      flag=""; [ "$causal" = 1 ] && flag=--causal
      log="$out/tune-${shape//,/x}-$dtype-$causal-$(echo "$pattern" | cksum | cut -c1-6).log"
      $cli tune --shape "$shape" --dtype "$dtype" $flag --candidates "$pattern" --timeout 60 --top 3 > "$log" 2>&1
      echo "== $shape $dtype causal=$causal ($((SECONDS - start)) s) $pattern"
      sed -n '/^tuned/,+4p' "$log"
      grep -E "^  (launch_fault|mismatch|timeout|compile_error) " "$log" | head -3
    done
  done
done
tar czf "$out/tune-records.tgz" -C cache v1/tune
