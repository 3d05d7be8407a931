#!/usr/bin/env bash
# A cache that cannot be written, as the CLI meets it: entries written by one user, read by
# another (as root: uid 65534 via setpriv; otherwise the folders are made read-only).
# Hits are served under FLASHCORE_JIT=forbid with one "read-only" warning; verify finds
# nothing damaged; clear and prune fail with rc 1 and remove nothing.
set -u
cli=${FLASHCORE_CLI:?}; templates=${FLASHCORE_TEST_TEMPLATES:?}
work=$(mktemp -d); chmod 755 "$work"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export FLASHCORE_CACHE_DIR="$work/cache"
fail() { echo "read-only cache: FAIL: $*"; exit 1; }
"$cli" --template-dir "$templates" build 'toy_attention:threads=64|128|256,smem_kb=0|40' --arch sm_89 --json >/dev/null ||
  fail "could not fill the cache"
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || { echo "SKIPPED: root without setpriv cannot make a read-only cache"; exit 77; }
  as_reader() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  as_reader test -x "$cli" || { echo "SKIPPED: uid 65534 cannot run $cli (a parent folder is closed)"; exit 77; }
else
  find "$work/cache" -type d -exec chmod a-w {} +
  as_reader() { "$@"; }
fi
cubins() { find "$work/cache" -name kernel.cubin | wc -l; }
[ "$(cubins)" = 6 ] || fail "expected 6 entries"
out=$(as_reader env FLASHCORE_JIT=forbid "$cli" --template-dir "$templates" build \
  'toy_attention:threads=64|128|256,smem_kb=0|40' --arch sm_89 --json 2>"$work/err") || { cat "$work/err"; fail "forbid build failed"; }
echo "$out" | head -2
[ "$(echo "$out" | grep -c '"source":"disk"')" = 6 ] || fail "not 6 disk hits"
[ "$(grep -c 'read-only' "$work/err")" = 1 ] || { cat "$work/err"; fail "expected one read-only warning"; }
as_reader "$cli" cache verify --json | tee "$work/verify" | grep -q '"checked":6,"damaged":\[\]' || fail "verify: $(cat "$work/verify")"
as_reader "$cli" cache clear --json >"$work/out" 2>"$work/err"; rc=$?
cat "$work/err"
[ "$rc" = 1 ] || fail "clear exit $rc, expected 1"
grep -q "nothing was removed" "$work/err" || fail "clear did not say why"
as_reader "$cli" cache prune --max-bytes 0 --json >"$work/out" 2>"$work/err"; rc=$?
[ "$rc" = 1 ] || fail "prune exit $rc, expected 1"
[ "$(cubins)" = 6 ] || fail "entries were removed"
as_reader "$cli" cache stats --json | grep -q '"writable":false' || fail "stats does not say read-only"
echo "read-only cache: ok (6 forbid hits, verify clean, clear/prune rc 1, 6 entries kept)"
