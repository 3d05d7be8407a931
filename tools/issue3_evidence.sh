#!/usr/bin/env bash
# Issue-3 numbers from one GPU run: both catalogues (pass counts, worst error per dtype), the
# seed's three variants on the mission shape (graph and plain µs per call), real bisects from
# the seed to its planted faults (local-memory WMMA store, out-of-bounds store), compare against
# the reference, and the sanitizer over the WMMA catalogue. Logs under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
seed="attention_wmma:block_m=32,block_n=32,warps=4,copy=sync,p_dtype=f16"
(cd build && ctest -R "catalogue is correct" -V > "$out/catalogue.log" 2>&1; echo "catalogue tests rc=$?")
grep -h "catalogue: " "$out/catalogue.log" | sed 's/^[0-9]*: //'
for v in "$seed" "attention_wmma:block_m=64,block_n=32,warps=4,copy=pipeline,stages=2" \
         "attention_wmma:block_m=64,block_n=32,warps=4,copy=memcpy_async,stages=2"; do
  for causal in "" --causal; do
    echo "== $v $causal"
    $cli run "$v" --shape 1,8,8,512,512,64 $causal --verify --graph 2>&1 | grep -E "^(variant|time|check)"
  done
done | tee "$out/seed-times.log"
{
  echo '$ flashcore build SEED,fault=local_wmma --arch sm_90'
  $cli build "$seed,fault=local_wmma" --arch sm_90; echo "exit $?"
  echo; echo '$ flashcore bisect --good SEED --bad SEED,fault=local_wmma --allow-warning local-wmma --shape 1,8,8,512,512,64 --sanitize'
  $cli bisect --good "$seed" --bad "$seed,fault=local_wmma" --allow-warning local-wmma --shape 1,8,8,512,512,64 --sanitize --out bisect-local-wmma; echo "exit $?"
  echo; echo '$ flashcore bisect --good SEED --bad "attention_wmma:block_m=64,block_n=32,warps=4,copy=pipeline,stages=2,fault=oob" --shape 1,8,8,512,512,64'
  $cli bisect --good "$seed" --bad "attention_wmma:block_m=64,block_n=32,warps=4,copy=pipeline,stages=2,fault=oob" --shape 1,8,8,512,512,64 --out bisect-oob; echo "exit $?"
  echo; echo '$ flashcore compare SEED reference --shape 1,8,8,512,512,64 --time'
  $cli compare "$seed" reference --shape 1,8,8,512,512,64 --time; echo "exit $?"
} > "$out/bisect.log" 2>&1
tail -25 "$out/bisect.log"
timeout "${SANITIZE_LIMIT:-200}" python3 tools/sanitize_catalogue.py attention_wmma --out "$out" | tail -2
