#!/usr/bin/env bash
# Installs the Debian packages FlashCore builds with, if any is missing. As root it runs
# apt-get; otherwise it prints the exact command and stops. The CUDA toolkit itself
# (NVRTC, headers) is expected in $CUDA_HOME (default /usr/local/cuda).
set -euo pipefail
# Machines without a package registry (the GPU machine) can point FLASHCORE_DEPS_ROOT at the
# same Debian packages unpacked with `dpkg -x` (a usr/ folder); the build then searches it.
if [ -n "${FLASHCORE_DEPS_ROOT:-}" ]; then
  [ -d "$FLASHCORE_DEPS_ROOT/include/spdlog" ] && exit 0
  echo "error: FLASHCORE_DEPS_ROOT=$FLASHCORE_DEPS_ROOT has no include/spdlog" >&2
  exit 1
fi
# pkgconf, binutils: the package tests (pkg-config file, exported-symbol check with nm);
# python3-dev, python3-venv: the Python package test (pip install into a venv);
# libhiredis-dev + redis-server: the Redis cache tier (headers at build time, the library opened
# at run time) and the server its tests start on 127.0.0.1.
packages=(cmake g++ make libspdlog-dev libfmt-dev catch2 libxxhash-dev libcli11-dev nlohmann-json3-dev pkgconf binutils
          python3-dev python3-venv libhiredis-dev redis-server)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
cuda=${CUDA_HOME:-/usr/local/cuda}
if [ ! -e "$cuda/include/nvrtc.h" ]; then
  echo "error: the CUDA toolkit (13.x) is not at $cuda; install it or set CUDA_HOME" >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing packages: ${missing[*]}" >&2
  echo "install them with:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" || { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
