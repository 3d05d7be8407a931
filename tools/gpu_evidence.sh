#!/usr/bin/env bash
# Issue-3 evidence on the GPU machine: sanitizer over both catalogues, real bisects of the
# planted faults, and environment facts for the NVRTC-log investigation. Logs under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
seed="attention_wmma:block_m=32,block_n=32,warps=4,copy=sync,p_dtype=f16"
{
  echo "== environment"; env | grep -iE 'nv|cuda|cache|tmp' | sort; ls -la ~/.nv 2>&1 | head; 
  echo "== same program compiled by two fresh processes"
  for i in 1 2; do $cli --cache-dir /tmp/nvcheck$i --template-dir tests/templates build local_wmma --arch sm_90 --json --allow-warning local-wmma; done
  echo "== with CUDA_CACHE_DISABLE=1"
  CUDA_CACHE_DISABLE=1 $cli --cache-dir /tmp/nvcheck3 --template-dir tests/templates build local_wmma --arch sm_90 --json --allow-warning local-wmma
  ls -la ~/.nv ~/.cache 2>&1 | head -20
} > "$out/env.log" 2>&1
# Compile both catalogues up front, in parallel, so the sanitizer runs load from the cache.
$cli build $(grep -hv '^#' tests/catalogue/attention_wmma.txt tests/catalogue/attention_mma.txt | grep .) --arch sm_90 --json > "$out/catalogue-build.jsonl" 2>&1
echo "catalogue compiled: $(grep -c '"ok":true' "$out/catalogue-build.jsonl") ok, $(grep -c '"ok":false' "$out/catalogue-build.jsonl") failed"
python3 tools/sanitize_catalogue.py attention_wmma --out "$out" | tail -20
python3 tools/sanitize_catalogue.py attention_mma --out "$out" | tail -12
{
  echo '$ flashcore build '"$seed"',fault=local_wmma --arch sm_90'
  $cli build "$seed,fault=local_wmma" --arch sm_90; echo "exit $?"
  echo; echo '$ flashcore bisect --good SEED --bad SEED,fault=local_wmma --allow-warning local-wmma --shape 1,8,8,512,512,64 --sanitize'
  $cli bisect --good "$seed" --bad "$seed,fault=local_wmma" --allow-warning local-wmma --shape 1,8,8,512,512,64 --sanitize --out bisect-local-wmma; echo "exit $?"
  echo; echo '$ flashcore bisect --good SEED --bad "attention_wmma:block_m=64,block_n=32,warps=4,copy=pipeline,stages=2,fault=oob" --shape 1,8,8,512,512,64'
  $cli bisect --good "$seed" --bad "attention_wmma:block_m=64,block_n=32,warps=4,copy=pipeline,stages=2,fault=oob" --shape 1,8,8,512,512,64 --out bisect-oob; echo "exit $?"
  echo; echo '$ flashcore compare SEED reference --shape 1,8,8,512,512,64 --time'
  $cli compare "$seed" reference --shape 1,8,8,512,512,64 --time; echo "exit $?"
} > "$out/bisect.log" 2>&1
tail -40 "$out/bisect.log"
tar czf "$out/bisect-folders.tgz" bisect-local-wmma bisect-oob 2>/dev/null

{
  python3 .bench/sdpa_anchor.py --set mission --backends cudnn,flash 2>&1
  $cli bench --set mission 2>&1
  $cli bench --set mission --overhead --dtypes float16 2>&1
} > "$out/mission.jsonl"
python3 .bench/compare.py "$out/mission.jsonl" "$out/mission.jsonl"
grep overhead "$out/mission.jsonl"
