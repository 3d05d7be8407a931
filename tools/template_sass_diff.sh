#!/usr/bin/env bash
# Proves that a template change changes no generated code: renders every catalogue variant
# (tests/catalogue/*.txt, plus reference_attention for each dtype) from an older version of
# kernel_templates/ and from the working tree, compiles both with the CLI (NVRTC, no GPU) and
# compares the SASS of each pair instruction by instruction, encodings included.
#
#   tools/template_sass_diff.sh REV|DIR [ARCH...]     (default arch: sm_90)
#
# REV is a git revision whose kernel_templates/ is the "before" (or DIR a copy of it). Needs a
# built CLI (build/flashcore, or FLASHCORE_CLI) and cuobjdump + nvdisasm on PATH (the toolkit's,
# or pip's nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm). Exits 1 when any pair differs; the
# differing SASS is left in the work folder it prints.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
before=${1:?usage: $0 REV|DIR [ARCH...]}
shift
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(sm_90)
cli=${FLASHCORE_CLI:-$root/build/flashcore}
command -v cuobjdump >/dev/null || { echo "cuobjdump not on PATH" >&2; exit 2; }
work=$(mktemp -d /tmp/template_sass_diff.XXXXXX)
if [ -d "$before" ]; then
    before_dir=$before
else
    git -C "$root" archive "$before" kernel_templates | tar -x -C "$work"
    before_dir=$work/kernel_templates
fi
variants=()
for cat in "$root"/tests/catalogue/*.txt; do
    while IFS= read -r line; do
        line=${line%%#*}
        line=$(echo "$line" | xargs)
        [ -n "$line" ] && variants+=("$line")
    done <"$cat"
done
variants+=(reference_attention:dtype=f16 reference_attention:dtype=bf16 reference_attention:dtype=f32)

# build SIDE TEMPLATE_DIR: one JSON line per variant and arch
build() {
    FLASHCORE_TEMPLATE_DIR=$2 FLASHCORE_CACHE_DIR=$work/cache_$1 \
        "$cli" build "${variants[@]}" --arch "${archs[@]}" --json >"$work/$1.jsonl"
}
build before "$before_dir"
build after "$root/kernel_templates"

python3 - "$work" <<'EOF'
import json, subprocess, sys
work = sys.argv[1]
def load(side):
    out = {}
    for line in open(f"{work}/{side}.jsonl"):
        if line.startswith("{"):
            j = json.loads(line)
            out[(j["variant"], j["arch"])] = j
    return out
def sass(side, key):
    cubin = f"{work}/cache_{side}/v1/{key[:2]}/{key}/kernel.cubin"
    return subprocess.run(["cuobjdump", "-sass", cubin], capture_output=True, text=True, check=True).stdout
before, after = load("before"), load("after")
same, differ = 0, []
for k in sorted(before):
    b, a = before[k], after.get(k)
    if not a or not a.get("ok") or not b.get("ok"):
        differ.append(f"{k[0]} [{k[1]}]: not built on both sides")
        continue
    sb, sa = sass("before", b["key"]), sass("after", a["key"])
    if sb == sa:
        same += 1
        continue
    n = len(differ)
    open(f"{work}/diff{n}.before.sass", "w").write(sb)
    open(f"{work}/diff{n}.after.sass", "w").write(sa)
    differ.append(f"{k[0]} [{k[1]}]: SASS differs (registers {b['registers']} -> {a['registers']}; {work}/diff{n}.*.sass)")
for d in differ:
    print("DIFF", d)
print(f"{same + len(differ)} compared, {same} identical, {len(differ)} different (work folder {work})")
sys.exit(1 if differ else 0)
EOF
