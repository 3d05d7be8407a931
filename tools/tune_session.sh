#!/usr/bin/env bash
# GPU session: check the attention_mma catalogue (correctness + sanitizer), then tune the
# buckets where the heuristic is weakest and bring the records back (tune-records.tgz).
#   TUNE_SHAPES="1,8,8,512,512,64 2,16,16,1,4096,128" TUNE_CANDIDATES="attention_mma:..." tools/tune_session.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
(cd build && ctest -R "mma catalogue|auto through" --output-on-failure > "$out/catalogue.log" 2>&1; echo "mma catalogue + auto tests rc=$?")
grep -E "catalogue:|FAILED|passed" "$out/catalogue.log" | head -5
python3 tools/sanitize_catalogue.py attention_mma --out "$out" | tail -2
for shape in ${TUNE_SHAPES:-1,8,8,512,512,64}; do
  for dtype in f16 bf16; do
    for causal in "" --causal; do
      [ "$shape" = "2,16,16,1,4096,128" ] && [ -n "$causal" ] && continue
      $cli tune --shape "$shape" --dtype $dtype $causal ${TUNE_CANDIDATES:+--candidates "$TUNE_CANDIDATES"} --timeout 60 --top 5 2>&1 \
        | tee -a "$out/tune.log" | grep -E "^tuned|^  [0-9]" | head -4
    done
  done
done
tar czf "$out/tune-records.tgz" -C cache v1/tune
