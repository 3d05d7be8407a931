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

# The older templates may not know a catalogue line (a new parameter or value): such lines are
# left out of both builds and counted as new.
printf '%s\n' "${variants[@]}" >"$work/variants.txt"
FLASHCORE_TEMPLATE_DIR=$before_dir "$cli" templates --json >"$work/before_templates.jsonl"
mapfile -t known_variants < <(python3 - "$work" <<'PYEOF'
import json, sys
work = sys.argv[1]
params = {}
for line in open(f"{work}/before_templates.jsonl"):
    if line.startswith("{"):
        t = json.loads(line)
        params[t["template"]] = {p["name"]: {str(v) for v in p["values"]} for p in t["params"]}
for line in open(f"{work}/variants.txt"):
    text = line.strip()
    tmpl, _, rest = text.partition(":")
    items = [item.split("=", 1) for item in rest.split(",") if item]
    if tmpl in params and all(k in params[tmpl] and v in params[tmpl][k] for k, v in items):
        print(text)
PYEOF
)
new_lines=$((${#variants[@]} - ${#known_variants[@]}))

# build SIDE TEMPLATE_DIR: one JSON line per variant and arch
build() {
    FLASHCORE_TEMPLATE_DIR=$2 FLASHCORE_CACHE_DIR=$work/cache_$1 \
        "$cli" build "${known_variants[@]}" --arch "${archs[@]}" --json >"$work/$1.jsonl"
}
build before "$before_dir"
build after "$root/kernel_templates"

python3 - "$work" "$new_lines" <<'EOF'
import json, subprocess, sys
work, new = sys.argv[1], int(sys.argv[2])
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
def fields(variant):
    tmpl, _, rest = variant.partition(":")
    return tmpl, dict(item.split("=", 1) for item in rest.split(",") if item)
before, after = load("before"), load("after")
# A parameter the working tree added (at its default 0) changes the canonical string but not
# the code: pair variants on the fields the older schema knows.
known = {}
for (variant, _) in before:
    tmpl, f = fields(variant)
    known.setdefault(tmpl, set()).update(f)
paired = {}
for (variant, arch), a in after.items():
    tmpl, f = fields(variant)
    if tmpl in known and all(k in known[tmpl] or v == "0" for k, v in f.items()):
        paired[(tmpl + ":" + ",".join(f"{k}={v}" for k, v in f.items() if k in known[tmpl]), arch)] = a
same, differ = 0, []
for k in sorted(before):
    b, a = before[k], paired.get(k)
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
print(f"{same + len(differ)} compared, {same} identical, {len(differ)} different; {new} catalogue lines new "
      f"(the older templates refuse them; work folder {work})")
sys.exit(1 if differ else 0)
EOF
