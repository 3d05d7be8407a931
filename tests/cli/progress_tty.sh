#!/usr/bin/env bash
# The progress line on a terminal: script(1) runs a cold `build` of 6 variants with a pseudo
# terminal; its output must hold the live line (count/total, rate, ETA, the variant compiling,
# redrawn in place with "\r\033[K") and the results. SKIPPED (77) without script(1).
#   progress_tty.sh FLASHCORE_CLI
set -u
cli=${1:?flashcore CLI}
command -v script >/dev/null || { echo "SKIPPED: script(1) is not installed"; exit 77; }
: "${FLASHCORE_CACHE_DIR:?}"
rm -rf "$FLASHCORE_CACHE_DIR"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
script -qec "'$cli' build 'reference_attention:dtype=*' --arch sm_89 --arch sm_90 -j 1" /dev/null >"$log"
rc=$?
cat -v "$log"
fail() { echo "progress_tty.sh: $*" >&2; exit 1; }
[ $rc = 0 ] || fail "build exited $rc"
grep -q $'\r\033\\[K\\[[0-9]/6 ' "$log" || fail "no live line redrawn in place"
grep -Eq '\[[1-5]/6 [0-9]+s, [0-9.]+(/s|s each), ETA [0-9]+s\] building reference_attention:dtype=' "$log" ||
  fail "the live line lacks count, rate, ETA or the variant"
grep -q '6 builds (3 variants x 2 targets)' "$log" || fail "the pattern's size was not announced"
[ "$(grep -c 'ok   reference_attention' "$log")" = 6 ] || fail "expected 6 result rows"
exit 0
