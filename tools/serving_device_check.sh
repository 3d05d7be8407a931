#!/usr/bin/env bash
# Issue 10 on the GPU machine, for an already-built tree (build/): the attention_mma catalogue
# (padded head dims, PackGQA, split variants; decode shapes included) and `auto` on odd shapes,
# compute-sanitizer on a few new variants at small shapes, `flashcore bench --set serving` and
# the SDPA anchors (cuDNN, FlashAttention-2) on the same shapes, then one table: ours vs cuDNN vs
# FA2 in us and GB/s. Logs and JSON lines go to $OUT.
#
#   tools/serving_device_check.sh ANCHOR_SCRIPT [STAGE...]
#
# ANCHOR_SCRIPT is sdpa_anchor.py (../shared/bench/ is not on the device: copy it over). STAGES
# (default: all, in this order; each fits one 10-minute device command on an H200):
#   catalogue  GPU catalogue test of attention_mma + the auto odd-shape test
#   sanitize   memcheck/racecheck/synccheck on new catalogue lines (padded D, PackGQA, splits)
#   bench      flashcore bench --set serving           -> $OUT/serving_ours.jsonl
#   anchors    ANCHOR_SCRIPT --set serving (cudnn,flash) -> $OUT/serving_anchors.jsonl
#   table      tools/bench/compare.py on the two        -> $OUT/serving_table.txt
# DTYPES (default bfloat16, the issue's run) picks the dtypes of bench and anchors.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
anchor=${1:?usage: $0 ANCHOR_SCRIPT [catalogue|sanitize|bench|anchors|table ...]}
shift
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(catalogue sanitize bench anchors table)
out=${OUT:-/tmp/flashcore-serving}
mkdir -p "$out"
dtypes=${DTYPES:-bfloat16}
cli=$root/build/flashcore
export PATH=/usr/local/cuda/bin:$PATH
[ -x "$cli" ] || { echo "no built CLI at $cli: build the tree first (make build)" >&2; exit 2; }
summary=()
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee "$out/gpu.txt"

for stage in "${stages[@]}"; do
    case "$stage" in
    catalogue)
        build/tests/flashcore_gpu_tests "[catalogue][mma]" > "$out/catalogue_mma.log" 2>&1
        summary+=("catalogue attention_mma: rc=$? $(grep -E 'attention_mma catalogue:' "$out/catalogue_mma.log" | tail -1)")
        build/tests/flashcore_gpu_tests "[gpu][auto]" > "$out/auto_odd.log" 2>&1
        summary+=("auto odd shapes: rc=$? $(grep -E 'test cases' "$out/auto_odd.log" | tail -1)")
        ;;
    sanitize)
        # Catalogue lines (1-based, comments skipped): 41 D=80, 42 D=96 splits, 47 D=40 kv groups,
        # 48 D=112 named barriers + splits, 52-54 PackGQA 16/32/64 rows, 56 PackGQA D=80 splits,
        # 59 prefill split-KV. Shapes: a GQA 4:1 decode tile (12 packed rows) and the default tails.
        for shape in 1,8,2,3,133 1,2,1,77,133; do
            python3 tools/sanitize_catalogue.py attention_mma --cli "$cli" --out "$out" --shape "$shape" \
                --lines 41,42,47,48,52,53,54,56,59 > "$out/sanitize_$shape.txt" 2>&1
            summary+=("sanitize $shape: rc=$? $(tail -1 "$out/sanitize_$shape.txt")")
            cp "$out/sanitize-attention_mma.log" "$out/sanitize-attention_mma_$shape.log" 2>/dev/null
        done
        ;;
    bench)
        rm -f "$out/serving_ours.jsonl"
        "$cli" bench --set serving --dtypes "$dtypes" --out "$out/serving_ours.jsonl" > "$out/bench.log" 2>&1
        summary+=("flashcore bench --set serving: rc=$? $(grep -c '^{' "$out/serving_ours.jsonl" 2>/dev/null) rows")
        ;;
    anchors)
        rm -f "$out/serving_anchors.jsonl"
        python3 "$anchor" --set serving --backends cudnn,flash --dtypes "$dtypes" --out "$out/serving_anchors.jsonl" \
            > "$out/anchors.log" 2>&1
        summary+=("sdpa_anchor --set serving: rc=$? $(grep -c '^{' "$out/serving_anchors.jsonl" 2>/dev/null) rows")
        ;;
    table)
        python3 tools/bench/compare.py "$out/serving_ours.jsonl" "$out/serving_anchors.jsonl" \
            --impls torch-cudnn,torch-flash | tee "$out/serving_table.txt"
        summary+=("table: rc=$? ($out/serving_table.txt)")
        # Which variant auto chose per shape (the rules are to be adjusted from these numbers).
        python3 - "$out/serving_ours.jsonl" <<'EOF' | tee "$out/serving_variants.txt"
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        r = json.loads(line)
        print(f"{r['B']},{r['Hq']},{r['Hkv']},{r['Sq']},{r['Skv']},{r['D']} causal={int(r['causal'])} "
              f"{r['us_graph']:.2f} us {r.get('gbps', 0):.0f} GB/s err={r.get('max_abs_err')} {r['selection']} {r['variant']}")
EOF
        ;;
    *) echo "unknown stage '$stage' (catalogue, sanitize, bench, anchors, table)" >&2; exit 2 ;;
    esac
done
echo "==== summary ===="
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
