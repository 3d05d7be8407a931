#!/usr/bin/env bash
# One H200 command after the merges: build, every GPU and CLI test, compute-sanitizer on the new
# attention_mma lines (padded D, PackGQA, splits), then the Python package's GPU check.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_DEPS_ROOT=$PWD/.deps/root/usr
t0=$SECONDS
make build JOBS=16 > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
echo "build $((SECONDS - t0)) s; commit $(cat .commit 2>/dev/null)"
(cd build && timeout 330 ctest -j3 -R "gpu:|cli:" --output-on-failure > "$out/gpu-tests.log" 2>&1; echo "gpu+cli tests rc=$?")
grep -E "tests passed|tests failed|\(Failed\)|\(Timeout\)" "$out/gpu-tests.log" | head -12
echo "after tests $((SECONDS - t0)) s"
OUT=$out timeout 90 tools/serving_device_check.sh .bench/sdpa_anchor.py sanitize > "$out/sanitize.log" 2>&1
echo "serving sanitize rc=$?"; grep -E "^(ok|FAIL)|runs," "$out/sanitize.log" | tail -22
nb=$(python3 -c "import nanobind, os; print(os.path.dirname(nanobind.__file__))" 2>/dev/null)
[ -n "$nb" ] && OUT=$out/python timeout 100 tools/python_device_check.sh "$nb" > "$out/python.log" 2>&1
echo "python check rc=$?"; cat "$out/python/summary.txt" 2>/dev/null
tar czf "$out/logs.tgz" -C "$out" . --exclude=logs.tgz 2>/dev/null
