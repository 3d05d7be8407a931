#!/usr/bin/env bash
# CTest: the Python package as a user installs it. Installs the already-built library to a scratch
# prefix, makes a fresh virtualenv, `pip install`s the repository into it (scikit-build-core and
# nanobind come from PyPI into pip's isolated build environment; the wheel links the prefix's
# library instead of rebuilding it), then runs the CPU tests against the installed package.
# Usage: package_test.sh PYTHON SOURCE_DIR BUILD_DIR WORK_DIR. Exit 77 (skipped) when PyPI is
# unreachable, 0 when the tests pass.
set -euo pipefail
python=$1 source=$2 build=$3 work=$4
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
"$python" -m venv "$work/venv"
pip_log="$work/pip.log"
start=$(date +%s)
if ! timeout 600 "$work/venv/bin/pip" install --disable-pip-version-check "$source" \
    -Ccmake.define.FLASHCORE_PREFIX="$work/prefix" -Cbuild-dir="$work/wheel-build" > "$pip_log" 2>&1; then
  if grep -qE "No matching distribution found|Could not find a version|Failed to establish a new connection|Temporary failure in name resolution" "$pip_log"; then
    echo "SKIPPED: PyPI unreachable (scikit-build-core and nanobind are build requirements):"
    tail -5 "$pip_log"
    exit 77
  fi
  cat "$pip_log"
  echo "pip install failed" >&2
  exit 1
fi
echo "pip install: $(( $(date +%s) - start )) s"
cd "$work"  # away from the source tree: `import flashcore` must find the installed package
FLASHCORE_EXPECT_WHEEL=1 FLASHCORE_CACHE_DIR="$work/cache" "$work/venv/bin/python" "$source/python/tests/test_cpu.py" -v
