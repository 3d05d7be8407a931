#!/usr/bin/env bash
# Caches for deployment: build in "CI", export a checksummed bundle, import it on a "host"
# with no NVRTC, serve every kernel under FLASHCORE_JIT=forbid; a damaged or truncated bundle
# is refused before anything is stored; a prebuilt folder on FLASHCORE_CACHE_PATH is read
# and never written.
set -u
cli=${FLASHCORE_CLI:?}; templates=${FLASHCORE_TEST_TEMPLATES:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deploy: FAIL: $*"; exit 1; }
fc() { "$cli" --template-dir "$templates" "$@"; }
variants='toy_attention:threads=64|128|256,smem_kb=0|40'
no_nvrtc="FLASHCORE_NVRTC_LIBRARY=$work/no/libnvrtc.so.13"

FLASHCORE_CACHE_DIR=$work/ci fc build "$variants" --arch sm_89 --json >/dev/null || fail "CI build"
FLASHCORE_CACHE_DIR=$work/ci fc cache export "$work/kernels.fcb" --json | tee "$work/export.json"
grep -q '"entries":6' "$work/export.json" || fail "export did not write 6 entries"
grep -q '"toolkits":[1-9]' "$work/export.json" || fail "export carries no toolkit record"

# Damaged and truncated bundles: rc 2, nothing stored.
cp "$work/kernels.fcb" "$work/flipped.fcb"
printf 'X' | dd of="$work/flipped.fcb" bs=1 seek=3000 conv=notrunc status=none
head -c 20000 "$work/kernels.fcb" >"$work/short.fcb"
for bad in flipped short; do
  FLASHCORE_CACHE_DIR=$work/host fc cache import "$work/$bad.fcb" 2>"$work/err"; rc=$?
  cat "$work/err"
  [ "$rc" = 2 ] || fail "import of the $bad bundle: rc $rc, expected 2"
  grep -q "not a whole FlashCore cache bundle" "$work/err" || fail "import of the $bad bundle did not say why"
done
[ -z "$(find "$work/host" -name kernel.cubin 2>/dev/null)" ] || fail "a refused bundle stored entries"

FLASHCORE_CACHE_DIR=$work/host fc cache import "$work/kernels.fcb" --json | tee "$work/import.json"
grep -q '"entries":6' "$work/import.json" || fail "import did not store 6 entries"
FLASHCORE_CACHE_DIR=$work/host fc cache verify >/dev/null || fail "imported cache does not verify"

# The host has no NVRTC: forbid serves all 6 from disk.
env $no_nvrtc FLASHCORE_JIT=forbid FLASHCORE_CACHE_DIR=$work/host \
  "$cli" --template-dir "$templates" build "$variants" --arch sm_89 --json >"$work/forbid.jsonl" 2>"$work/err" ||
  { cat "$work/err"; fail "forbid build without NVRTC failed"; }
[ "$(grep -c '"source":"disk"' "$work/forbid.jsonl")" = 6 ] || fail "forbid without NVRTC: not 6 disk hits"
# A miss there says that nothing can compile it.
env $no_nvrtc FLASHCORE_CACHE_DIR=$work/host "$cli" --template-dir "$templates" build toy_attention:mode=fancy \
  --arch sm_89 >"$work/out" 2>&1; rc=$?
cat "$work/out"
[ "$rc" = 1 ] || fail "a miss without NVRTC: rc $rc, expected 1"
grep -q "NVRTC cannot be opened" "$work/out" || fail "a miss without NVRTC did not say why"

# A prebuilt folder: hits served from it, the writable cache stays empty.
chmod -R a-w "$work/ci"
env $no_nvrtc FLASHCORE_JIT=forbid FLASHCORE_CACHE_DIR=$work/empty FLASHCORE_CACHE_PATH=$work/nowhere:$work/ci \
  "$cli" --template-dir "$templates" build "$variants" --arch sm_89 --json >"$work/prebuilt.jsonl" 2>"$work/err" ||
  { cat "$work/err"; chmod -R u+w "$work/ci"; fail "forbid build from the prebuilt path failed"; }
chmod -R u+w "$work/ci"
[ "$(grep -c '"source":"disk"' "$work/prebuilt.jsonl")" = 6 ] || fail "prebuilt path: not 6 hits"
[ -z "$(find "$work/empty" -name kernel.cubin)" ] || fail "prebuilt hits were copied into the writable cache"
FLASHCORE_CACHE_DIR=$work/empty FLASHCORE_CACHE_PATH=$work/ci "$cli" cache stats --json | tee "$work/stats.json"
grep -q '"prebuilt_hits":6' "$work/stats.json" || fail "stats does not count 6 prebuilt hits"
grep -q '"prebuilt":\[{"bytes":[0-9]*,"dir":"[^"]*/ci","enabled":true,"entries":6' "$work/stats.json" ||
  fail "stats does not list the prebuilt folder"
echo "deploy: ok (export 6, damaged/truncated refused, import 6, forbid without NVRTC 6 hits, prebuilt 6 hits)"
