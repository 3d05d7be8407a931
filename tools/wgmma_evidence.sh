#!/usr/bin/env bash
# Issue 9's evidence on the H200, one command per phase:
#   tools/wgmma_evidence.sh ladder   the technique ladder (one schema parameter per step) at D=128
#                                    and D=64, S=8k, and the small-grid candidates, each with the
#                                    cuDNN/FA2 anchors of the same shapes before and after ours
#   tools/wgmma_evidence.sh check    auto's picks against their persistent / larger-tile
#                                    counterparts on causal and small-grid rows, with anchors
#   tools/wgmma_evidence.sh order    head_major x persistent on long rows, with anchors
#   tools/wgmma_evidence.sh gputest  the wgmma / auto / tensor-map GPU tests and compute-sanitizer
#                                    on catalogue lines of both tile orders
#   tools/wgmma_evidence.sh table    the `all` set: anchors, ours (auto), cuDNN sweep again
#                                    (DTYPES, SECOND_PASS=0 to shorten it)
#   tools/wgmma_evidence.sh ncu      ncu --set full of our D=128 S=8k kernel and of cuDNN's on the
#                                    same shape; a metric summary of both
# Needs a build (make build), .deps and .bench carried. Results under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/flashcore-out}; mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH FLASHCORE_DEPS_ROOT=$PWD/.deps/root/usr FLASHCORE_CACHE_DIR=$PWD/cache
cli=build/flashcore
clock() { nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu --format=csv,noheader; }
w=attention_wgmma
anchors() {  # anchors FILE SHAPE...
  local file=$1; shift
  local args=(); for s in "$@"; do args+=(--shape "$s"); done
  python3 tools/anchor_shapes.py .bench/sdpa_anchor.py "${args[@]}" --backends cudnn,flash --dtypes bfloat16 \
    --out "$file" > /dev/null 2>> "$out/anchors.err"
}
ours() {  # ours SHAPE CAUSAL VARIANT...
  local shape=$1 causal=$2; shift 2
  local args=() bound=() d=${shape##*,}
  for v in "$@"; do
    args+=(--variant "$v")
    [ "$v" = auto ] || bound+=("$v,head_dim=$d,dtype=bf16,causal=$([ -n "$causal" ] && echo 1 || echo 0)")
  done
  # compile them in parallel first (bench would compile one after another)
  [ ${#bound[@]} -gt 0 ] && $cli build "${bound[@]}" -j 16 > /dev/null 2>> "$out/ours.err"
  $cli bench --shape "$shape" $causal --dtypes bfloat16 --no-verify "${args[@]}" --out "$out/ladder.jsonl" \
    > /dev/null 2>> "$out/ours.err"
}
# rows_against ROW... -- SUFFIX...: for each row (B,Hq,Hkv,Sq,Skv,D,causal) auto and the row's
# base variant (2 consumer warpgroups, 3 at D=64, 128-key tiles, overlap) with each suffix.
rows_against() {
  local rows=() r s b hq hkv sq skv d c
  while [ "$1" != -- ]; do rows+=("$1"); shift; done
  shift
  for r in "${rows[@]}"; do
    IFS=, read -r b hq hkv sq skv d c <<< "$r"
    local cw=2 flag="" variants=()
    [ "$d" = 64 ] && cw=3
    [ "$c" = 1 ] && flag=--causal
    for s in "$@"; do variants+=("$w:consumer_wgs=$cw,block_n=128,stages=2,overlap=1,pingpong=0,$s"); done
    ours "$b,$hq,$hkv,$sq,$skv,$d" "$flag" auto "${variants[@]}"
  done
}
case ${1:-ladder} in
ladder)
  d128="2,16,16,8192,8192,128" d64="2,32,32,8192,8192,64"
  small=("1,8,8,512,512,64" "1,8,8,1024,1024,64" "1,8,8,2048,2048,64" "4,16,16,1024,1024,64" "32,32,32,512,512,64")
  echo "clock at start: $(clock)"
  anchors "$out/anchors-before.jsonl" "$d128,0" "$d128,1" "$d64,0" "${small[@]}"
  echo "anchors done: $(clock)"
  # The ladder at D=128: each line adds one technique to the one above.
  ours $d128 "" \
    "$w:consumer_wgs=1,block_n=128,stages=1,overlap=0,pingpong=0,persistent=0" \
    "$w:consumer_wgs=1,block_n=128,stages=2,overlap=0,pingpong=0,persistent=0" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=0,pingpong=0,persistent=0" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=0,persistent=0" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=0,persistent=1" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=0,pingpong=1,persistent=1" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=1,persistent=1" \
    "$w:consumer_wgs=2,block_n=176,stages=2,overlap=1,pingpong=0,persistent=1" \
    "$w:consumer_wgs=2,block_n=176,stages=2,overlap=1,pingpong=1,persistent=1" \
    "$w:consumer_wgs=2,block_n=144,stages=2,overlap=1,pingpong=1,persistent=1" \
    "$w:consumer_wgs=3,block_n=96,stages=2,overlap=1,pingpong=0,persistent=1"
  echo "ladder d128 done: $(clock)"
  ours $d128 --causal \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=0,persistent=0" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=0,persistent=1" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=1,persistent=1"
  ours $d64 "" \
    "$w:consumer_wgs=1,block_n=128,stages=2,overlap=0,pingpong=0,persistent=0" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=0,pingpong=0,persistent=0" \
    "$w:consumer_wgs=3,block_n=128,stages=2,overlap=0,pingpong=0,persistent=0" \
    "$w:consumer_wgs=3,block_n=128,stages=2,overlap=1,pingpong=0,persistent=0" \
    "$w:consumer_wgs=3,block_n=128,stages=2,overlap=1,pingpong=0,persistent=1" \
    "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=1,persistent=1" \
    "$w:consumer_wgs=3,block_n=176,stages=2,overlap=1,pingpong=0,persistent=1"
  echo "ladder d64 done: $(clock)"
  # Small grids: fewer consumer warpgroups (more CTAs) against the mma family and auto.
  for s in "${small[@]}"; do
    IFS=, read -r b h _ sq _ d <<< "$s"
    ours "$b,$h,$h,$sq,$sq,$d" "" auto \
      "$w:consumer_wgs=1,block_n=128,stages=2,overlap=1,persistent=1" \
      "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,persistent=1" \
      "$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,persistent=1,pdl=1" \
      "$w:consumer_wgs=3,block_n=128,stages=2,overlap=1,persistent=1" \
      "attention_mma:block_m=64,block_n=64,warps=4,stages=2" \
      "attention_mma:block_m=128,block_n=64,warps=8,kv_warps=2,stages=2" \
      "attention_mma:block_m=32,block_n=64,warps=8,kv_warps=4,stages=2,pdl=1"
  done
  echo "small done: $(clock)"
  anchors "$out/anchors-after.jsonl" "$d128,0" "$d128,1" "$d64,0" "${small[@]}"
  echo "anchors again: $(clock)"
  python3 tools/ladder_table.py "$out/ladder.jsonl" "$out/anchors-before.jsonl" "$out/anchors-after.jsonl" \
    | tee "$out/ladder.txt"
  ;;
check)
  rows=("2,32,32,8192,8192,64,1" "8,32,32,2048,2048,64,1" "8,16,16,2048,2048,128,1" "1,16,16,16384,16384,128,1"
        "2,16,16,8192,8192,128,1" "1,8,8,1024,1024,64,0" "1,8,8,2048,2048,64,0" "1,32,32,512,512,128,0")
  echo "clock at start: $(clock)"
  anchors "$out/anchors-before.jsonl" "${rows[@]}"
  rows_against "${rows[@]}" -- persistent=1 persistent=0
  anchors "$out/anchors-after.jsonl" "${rows[@]}"
  echo "anchors again: $(clock)"
  python3 tools/ladder_table.py "$out/ladder.jsonl" "$out/anchors-before.jsonl" "$out/anchors-after.jsonl" \
    | tee "$out/check.txt"
  ;;
order)
  # head_major (L2-friendly tile order) against rank-outermost, persistent or not.
  rows=("2,16,16,8192,8192,128,0" "2,16,16,8192,8192,128,1" "2,32,32,8192,8192,64,0" "8,16,16,2048,2048,128,1"
        "1,16,16,16384,16384,128,1")
  echo "clock at start: $(clock)"
  anchors "$out/anchors-before.jsonl" "${rows[@]}"
  rows_against "${rows[@]}" -- persistent=1,head_major=0 persistent=1,head_major=1 persistent=0,head_major=0 \
    persistent=0,head_major=1
  echo "clock after ours: $(clock)"
  python3 tools/ladder_table.py "$out/ladder.jsonl" "$out/anchors-before.jsonl" | tee "$out/order.txt"
  ;;
gputest)
  (cd build && timeout 200 ctest -R "^gpu: ?(attention_wgmma|auto|tma_copy)" --output-on-failure > "$out/gpu-tests.log" 2>&1
   echo "gpu tests rc=$?")
  grep -E "tests passed|tests failed|\(Failed\)|catalogue:" "$out/gpu-tests.log" | head -12
  # head_major=0 lines 3 and 16, head_major=1 persistent lines 4, 33 and 36
  [ "${SANITIZE:-1}" = 1 ] || exit 0
  mkdir -p "$out/sanitize"
  timeout 150 python3 tools/sanitize_catalogue.py attention_wgmma --out "$out/sanitize" --lines 3,4,16,33,36 | tail -14
  ;;
table)
  echo "clock before anchors: $(clock)"
  dtypes=${DTYPES:-float16,bfloat16}
  python3 .bench/sdpa_anchor.py --set all --backends cudnn,flash --dtypes "$dtypes" --out "$out/anchors.jsonl" \
    > /dev/null 2>> "$out/anchors.err"
  echo "anchors rc=$? clock after: $(clock)"
  $cli bench --set all --dtypes "$dtypes" --out "$out/ours.jsonl" > /dev/null 2> "$out/ours.err"
  echo "bench rc=$? clock after: $(clock)"
  if [ "${SECOND_PASS:-1}" = 1 ]; then
    python3 .bench/sdpa_anchor.py --set sweep --backends cudnn --dtypes "$dtypes" --out "$out/anchors2.jsonl" \
      > /dev/null 2>> "$out/anchors.err"
    echo "anchors (second pass, cudnn sweep) rc=$? clock after: $(clock)"
  fi
  python3 .bench/compare.py "$out/ours.jsonl" "$out/anchors.jsonl" > "$out/compare.txt" 2>&1
  cat "$out/compare.txt"
  ;;
ncu)
  v="$w:consumer_wgs=2,block_n=128,stages=2,overlap=1,pingpong=0,persistent=1"
  [ -n "${NCU_VARIANT:-}" ] && v=$NCU_VARIANT
  echo "variant: $v"
  $cli run "$v" --shape 2,16,16,8192,8192,128 --dtype bf16 --iters 0 > /dev/null 2>&1  # compile outside ncu
  timeout 200 ncu --clock-control none --set full --import-source yes -k regex:attention_wgmma --launch-skip 1 \
    --launch-count 1 -f -o "$out/ncu-ours" $cli run "$v" --shape 2,16,16,8192,8192,128 --dtype bf16 --iters 2 \
    > "$out/ncu-ours.log" 2>&1
  echo "ncu ours rc=$?"
  cat > /tmp/cudnn_one.py <<'PY'
import torch, torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend
q, k, v = (torch.randn(2, 16, 8192, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
    for _ in range(3):
        F.scaled_dot_product_attention(q, k, v)
torch.cuda.synchronize()
PY
  timeout 200 ncu --clock-control none --set full -k "regex:(?i)(sdpa|fmha|attn|cudnn|flash)" --launch-skip 1 \
    --launch-count 1 -f -o "$out/ncu-cudnn" python3 /tmp/cudnn_one.py > "$out/ncu-cudnn.log" 2>&1
  echo "ncu cudnn rc=$?"
  for r in ours cudnn; do
    [ -f "$out/ncu-$r.ncu-rep" ] || continue
    ncu --import "$out/ncu-$r.ncu-rep" --page details > "$out/ncu-$r-details.txt" 2>&1
    ncu --import "$out/ncu-$r.ncu-rep" --page raw --csv > "$out/ncu-$r-raw.csv" 2>&1
    ncu --import "$out/ncu-$r.ncu-rep" --page source --csv --print-source sass > "$out/ncu-$r-sass.csv" 2>&1
  done
  python3 tools/ncu_summary.py "$out/ncu-ours-raw.csv" "$out/ncu-cudnn-raw.csv" | tee "$out/ncu-summary.txt"
  python3 tools/ncu_summary.py --sass "$out/ncu-ours-sass.csv" "$out/ncu-cudnn-sass.csv" | tee -a "$out/ncu-summary.txt"
  ;;
esac
