#!/usr/bin/env bash
# GPU sessions for the Hopper family (H200), in two phases that fit one command each:
#   tools/hopper_session.sh check   build, GPU tests (wgmma catalogue, auto, tensor maps), SASS
#                                   of every wgmma catalogue variant, compute-sanitizer subset
#   tools/hopper_session.sh perf    tune tools/hopper_tune_plan.txt, then anchors and our `auto`
#                                   on every bench set in the same run, compared
# Needs .deps (tools/fetch_device_deps.sh) and .bench (copies of shared/bench) carried.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out/logs"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_DEPS_ROOT=$PWD/.deps/root/usr FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
clock() { nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu --format=csv,noheader; }
phase=${1:-check}
if [ ! -x $cli ] || [ "$phase" = check ]; then
  start=$SECONDS
  make build JOBS=16 > "$out/logs/build.log" 2>&1 || { tail -40 "$out/logs/build.log"; exit 1; }
  echo "build $((SECONDS - start)) s"
fi
if [ "$phase" = check ]; then
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
  start=$SECONDS
  (cd build && timeout 300 ctest -R "^gpu:" -E "attention_wmma catalogue|attention_mma catalogue" --output-on-failure \
     > "$out/logs/gpu-tests.log" 2>&1; echo "gpu tests rc=$? ($((SECONDS - start)) s)")
  grep -E "catalogue:|tests passed|tests failed|\(Failed\)|FAILED" "$out/logs/gpu-tests.log" | head -20
  # SASS: every catalogue variant has HGMMA and no local-memory traffic.
  mkdir -p sass-cache
  FLASHCORE_CACHE_DIR=$PWD/sass-cache $cli build $(grep -v '^#' tests/catalogue/attention_wgmma.txt) --arch sm_90a \
    > "$out/logs/sass-build.log" 2>&1
  n=0 bad=0
  for cubin in $(find sass-cache -name kernel.cubin); do
    sass=$(cuobjdump --dump-sass "$cubin")
    hgmma=$(grep -c HGMMA <<< "$sass"); local_mem=$(grep -cE "\b(LDL|STL)\b" <<< "$sass")
    n=$((n + 1)); { [ "$hgmma" -gt 0 ] && [ "$local_mem" = 0 ]; } || bad=$((bad + 1))
    echo "$cubin HGMMA=$hgmma LDL/STL=$local_mem" >> "$out/logs/sass.txt"
  done
  echo "sass: $n cubins, $bad without HGMMA or with local memory"
  start=$SECONDS
  timeout 240 python3 tools/sanitize_catalogue.py attention_wgmma --out "$out/logs" --lines 3,4,14,17,34,35,36 | tail -25
  echo "sanitizer $((SECONDS - start)) s"
fi
if [ "$phase" = perf ]; then
  start=$SECONDS
  OUT=$out/logs TUNE_PLAN=tools/hopper_tune_plan.txt timeout "${TUNE_LIMIT:-300}" tools/tune_session.sh \
    > "$out/logs/tune-session.log" 2>&1
  echo "tune rc=$? ($((SECONDS - start)) s)"
  grep -A4 "^== " "$out/logs/tune-session.log" | grep -vE "^--$" | cut -c1-200 | head -60
  tar czf "$out/tune-records.tgz" -C cache v1/tune
  OUT=$out tools/wgmma_evidence.sh table
fi
tar czf "$out/logs-$phase.tgz" -C "$out" logs && rm -rf "$out/logs"
