#!/usr/bin/env bash
# The cache verbs on a real cache: stats, ls, verify (healthy and damaged), prune, clear.
set -eu
cli=${FLASHCORE_CLI:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FLASHCORE_CACHE_DIR="$work/cache"
"$cli" build 'reference_attention:dtype=f16|bf16' --arch sm_89 --json >/dev/null
"$cli" cache stats --json | tee /dev/stderr | grep -q '"entries":2'
[ "$("$cli" cache ls --json | wc -l)" = 2 ]
"$cli" cache verify
key=$("$cli" cache ls --json | head -1 | sed -E 's/.*"key":"([0-9a-f]+)".*/\1/')
truncate -s 100 "$work/cache/v1/${key:0:2}/$key/kernel.cubin"
if "$cli" cache verify; then echo "verify missed a truncated cubin"; exit 1; fi
"$cli" cache stats --json | grep -q '"entries":1'
"$cli" cache stats --json | grep -q '"quarantined":1'
"$cli" cache prune --max-bytes 0 | grep -q "removed 1"
"$cli" build reference_attention --arch sm_89 >/dev/null
"$cli" cache clear | grep -q "removed 1"
"$cli" cache stats --json | grep -q '"entries":0'
echo "cache verbs ok"
