#!/usr/bin/env bash
# One GPU-machine session: build with the carried Debian package files, run the whole test
# suite, the demo, and compute-sanitizer on the given variants; logs go to $OUT.
#   tools/device_check.sh [--no-test] [--no-demo] [--sanitize "VARIANT|SHAPE|FLAGS" ...]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}
mkdir -p "$out"
export FLASHCORE_DEPS_ROOT=${FLASHCORE_DEPS_ROOT:-$PWD/.deps/root/usr}
export PATH=/usr/local/cuda/bin:$PATH
run_test=1 run_demo=1 sanitize=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-test) run_test=0 ;;
    --no-demo) run_demo=0 ;;
    --sanitize) sanitize+=("$2"); shift ;;
  esac
  shift
done
summary=()
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee "$out/gpu.txt"
{ time make build JOBS=16 > "$out/build.log" 2>&1; } 2>&1 | tail -3
[ -x build/flashcore ] || { tail -30 "$out/build.log"; exit 1; }
if [ "$run_test" = 1 ]; then
  make test JOBS=8 > "$out/test.log" 2>&1
  summary+=("make test: rc=$? $(grep -E 'tests passed|tests failed' "$out/test.log" | tail -1)")
  grep -E "Failed|\*\*\*" "$out/test.log" | head -20
fi
if [ "$run_demo" = 1 ]; then
  rm -rf cache/v1
  make demo > "$out/demo.log" 2>&1
  summary+=("make demo: rc=$?")
fi
for spec in "${sanitize[@]}"; do
  IFS='|' read -r variant shape flags <<< "$spec"
  for tool in memcheck racecheck synccheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 build/flashcore run "$variant" --shape "$shape" $flags \
      --verify --iters 0 >> "$out/sanitize.log" 2>&1
    rc=$?
    summary+=("sanitize $tool $variant $shape $flags: rc=$rc")
  done
done
echo "==== summary ===="
printf '%s\n' "${summary[@]}"
