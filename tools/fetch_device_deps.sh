#!/usr/bin/env bash
# The GPU machine has the CUDA toolkit but no package registry and none of the Debian headers
# FlashCore builds with. Run this here (a Debian machine with apt): it downloads the packages
# and unpacks them into .deps/root (git-ignored). Carry `.deps` to the GPU machine and build
# there with FLASHCORE_DEPS_ROOT=$PWD/.deps/root/usr (tools/device_check.sh does).
# libfmt9 and libspdlog1.10 ride along because fmt's CMake config refuses to configure unless
# libfmt.so.9.1.0 exists.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 catch2 libxxhash-dev libxxhash0 libcli11-dev
          nlohmann-json3-dev libhiredis-dev libhiredis0.14 pybind11-dev)
rm -rf .deps/debs .deps/root
mkdir -p .deps/debs .deps/root
(cd .deps/debs && apt-get download "${packages[@]}")
for deb in .deps/debs/*.deb; do dpkg -x "$deb" .deps/root; done
rm -rf .deps/debs
du -sh .deps/root
