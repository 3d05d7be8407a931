#!/usr/bin/env bash
# Editing a template on disk and re-running recompiles it, with no host rebuild.
set -eu
cli=${FLASHCORE_CLI:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "${FLASHCORE_SOURCE_TEMPLATES:?}" "$work/templates"
export FLASHCORE_CACHE_DIR="$work/cache" FLASHCORE_TEMPLATE_DIR="$work/templates"
first=$("$cli" build reference_attention --arch sm_90 --json)
again=$("$cli" build reference_attention --arch sm_90 --json)
echo "// an edit" >> "$work/templates/common/attention_mask.cuh"
edited=$("$cli" build reference_attention --arch sm_90 --json)
echo "$first"; echo "$again"; echo "$edited"
echo "$first" | grep -q '"source":"compiled"'
echo "$again" | grep -q '"source":"disk"'
echo "$edited" | grep -q '"source":"compiled"'
key() { sed -E 's/.*"key":"([0-9a-f]+)".*/\1/'; }
[ "$(echo "$first" | key)" = "$(echo "$again" | key)" ]
[ "$(echo "$first" | key)" != "$(echo "$edited" | key)" ]
# The miss explains itself: the content changed, nothing else.
FLASHCORE_LOG_LEVEL=info "$cli" build reference_attention --arch sm_90 --cache-dir "$work/cache2" >/dev/null 2>&1
echo "// another edit" >> "$work/templates/reference_attention.cu"
FLASHCORE_LOG_LEVEL=info "$cli" build reference_attention --arch sm_90 --cache-dir "$work/cache2" 2>&1 \
  | tee /dev/stderr | grep -q "differs in: content"
echo "template edit picked up without a rebuild"
