#!/usr/bin/env bash
# The Python package on the GPU machine, which has python3 + torch (+ CuPy) but no package
# registry: builds the extension module in-tree against this repository's CMake build (no pip),
# then runs the GPU tests (pytest if present, else the file's own runner), the CPU tests, the
# overhead benchmark and the Llama example, logging each to $OUT.
#
# nanobind is the one thing pip would have fetched: carry its package folder.
#   here (PyPI reachable):   tools/python_device_check.sh --prepare      # -> .carry/nanobind/
#   on the device:           tools/python_device_check.sh [NANOBIND_DIR]  # default .carry/nanobind
# NANOBIND_DIR holds nanobind's package (cmake/, include/, src/, ext/), or a `pip install
# --target` folder with nanobind/ inside. Also honoured: PYTHON (default python3), BUILD_DIR
# (default build: the library already built there is reused, the option is added to it),
# FLASHCORE_DEPS_ROOT and CUDA_HOME as for `make`, OUT (default .device/python).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
  rm -rf .carry/nanobind-target
  python3 -m pip install --quiet --target .carry/nanobind-target nanobind || exit 1
  rm -rf .carry/nanobind && mv .carry/nanobind-target/nanobind .carry/nanobind && rm -rf .carry/nanobind-target
  echo "carry .carry/nanobind ($(du -sh .carry/nanobind | cut -f1)); run tools/python_device_check.sh on the device"
  exit 0
fi

nanobind=${1:-${FLASHCORE_NANOBIND_DIR:-.carry/nanobind}}
[ -d "$nanobind/nanobind/cmake" ] && nanobind="$nanobind/nanobind"
if [ ! -f "$nanobind/cmake/nanobind-config.cmake" ]; then
  echo "error: $nanobind holds no nanobind package (cmake/nanobind-config.cmake); run --prepare where pip works" >&2
  exit 2
fi
nanobind=$(cd "$nanobind" && pwd)
python=$(command -v "${PYTHON:-python3}")
build=${BUILD_DIR:-build}
OUT=${OUT:-.device/python}
mkdir -p "$OUT"
cuda=${CUDA_HOME:-/usr/local/cuda}
args=(-DCMAKE_BUILD_TYPE=Release -DCUDAToolkit_ROOT="$cuda" -DFLASHCORE_BUILD_PYTHON=ON -DPython_EXECUTABLE="$python"
      -DFLASHCORE_NANOBIND_DIR="$nanobind")
[ -n "${FLASHCORE_DEPS_ROOT:-}" ] && args+=(-DCMAKE_PREFIX_PATH="$FLASHCORE_DEPS_ROOT")

status=0
step() {  # step NAME COMMAND...: runs it, logs to $OUT/NAME.log, remembers a failure
  local name=$1; shift
  local t0=$(date +%s)
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name: rc=$rc ($(( $(date +%s) - t0 )) s)" | tee -a "$OUT/summary.txt"
  [ $rc -eq 0 ] || { status=1; tail -20 "$OUT/$name.log"; }
  return $rc
}
: > "$OUT/summary.txt"
"$python" -c "import sys, torch; print(sys.version); print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())" \
  > "$OUT/environment.log" 2>&1
nvidia-smi -L >> "$OUT/environment.log" 2>&1
step configure cmake -S . -B "$build" "${args[@]}" || exit 1
step build cmake --build "$build" -j "$(nproc)" --target _flashcore flashcore_cli || exit 1
export PYTHONPATH="$PWD/$build/python${PYTHONPATH:+:$PYTHONPATH}"
export FLASHCORE_CACHE_DIR=${FLASHCORE_CACHE_DIR:-$PWD/$build/cache}
if "$python" -c "import pytest" 2> /dev/null; then
  step gpu_tests "$python" -m pytest -v -rs python/tests/test_gpu.py
else
  step gpu_tests "$python" python/tests/test_gpu.py
fi
step cpu_tests "$python" python/tests/test_cpu.py -v
step overhead sh -c "'$python' python/tests/bench_overhead.py --cli '$build/flashcore' > '$OUT/overhead.jsonl'"
step llama_example "$python" examples/python/llama_attention.py
cat "$OUT/overhead.jsonl" 2> /dev/null
echo "logs in $OUT"
exit $status
