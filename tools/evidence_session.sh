#!/usr/bin/env bash
# One H200 command: build, the Python package's GPU check and overhead (issue 11), then
# tools/wgmma_evidence.sh PHASES (issue 9; default "ladder ncu"). Logs and data under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_DEPS_ROOT=$PWD/.deps/root/usr
t0=$SECONDS
echo "commit $(cat .commit 2>/dev/null); $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader)"
make build JOBS=16 > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
echo "build $((SECONDS - t0)) s"
if [ "${PYTHON_CHECK:-1}" = 1 ]; then
  nb=$(python3 -c "import nanobind, os; print(os.path.dirname(nanobind.__file__))" 2>/dev/null)
  python3 -c "import jax; print('jax', jax.__version__, jax.devices())" > "$out/jax.txt" 2>&1 || echo "jax: not importable here" >> "$out/jax.txt"
  OUT=$out/python timeout 150 tools/python_device_check.sh "$nb" > "$out/python.log" 2>&1
  echo "python check rc=$? ($((SECONDS - t0)) s)"; cat "$out/python/summary.txt" 2>/dev/null
  grep -E "passed|failed|skipped|FAIL|Error" "$out/python/gpu_tests.log" | tail -8
  python3 -c "
import json
for l in open('$out/python/overhead.jsonl'):
    r = json.loads(l); print(r['impl'], r.get('step', ''), r['measure'], round(r.get('us_median', r.get('us', 0)) or 0, 2))
" 2>/dev/null
fi
for phase in ${PHASES:-ladder ncu}; do
  OUT=$out timeout "${PHASE_LIMIT:-300}" tools/wgmma_evidence.sh "$phase" > "$out/$phase.log" 2>&1
  echo "== $phase rc=$? ($((SECONDS - t0)) s)"
  grep -E "clock|rc=" "$out/$phase.log" | head -12
done
for f in ladder check order; do [ -f "$out/$f.txt" ] && cat "$out/$f.txt"; done
[ -f "$out/ncu-summary.txt" ] && cat "$out/ncu-summary.txt"
# The device tool brings back few files: one archive of everything, the tables beside it.
(cd "$out" && tar czf /tmp/evidence.tgz --exclude='*.ncu-rep' . && mkdir -p keep &&
  mv /tmp/evidence.tgz keep/ && for f in *.ncu-rep; do [ -f "$f" ] && mv "$f" keep/; done
  find . -maxdepth 1 -type f ! -name '*.txt' -delete; rm -rf python)
echo "total $((SECONDS - t0)) s"
