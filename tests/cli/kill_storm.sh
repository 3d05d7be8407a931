#!/usr/bin/env bash
# Kill storm on one cache: a few workers build random toy variants in a loop while a killer
# SIGKILLs one running `flashcore build` every 0.3-1 s. Then, counts asserted:
#   - among the runs that survived, every key was compiled at most once;
#   - `cache verify` finds nothing damaged;
#   - every key a survivor reported is still there (a fill build compiles none of them), and a
#     FLASHCORE_JIT=forbid rebuild of every variant is all hits;
#   - after `cache prune`, no debris (temp folders of killed writers) and no quarantine is left.
# Bounded: STORM_SECONDS (default 30) of storm on 3 workers.
set -u
cli=${FLASHCORE_CLI:?}; templates=${FLASHCORE_TEST_TEMPLATES:?}
seconds=${STORM_SECONDS:-30}; workers=3
work=$(mktemp -d)
trap 'touch "$work/stop"; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export FLASHCORE_CACHE_DIR="$work/cache"
mkdir -p "$work/runs"
fc() { "$cli" --template-dir "$templates" "$@"; }
# 4 option sets x 6 variants = 24 keys, each a ~0.2 s compile.
variants=(threads=64,smem_kb=0 threads=64,smem_kb=40 threads=128,smem_kb=0 threads=128,smem_kb=40
          threads=256,smem_kb=0 threads=256,smem_kb=40)
worker() {
  local w=$1 n=0
  while [ ! -e "$work/stop" ]; do
    n=$((n + 1))
    local opt=$((RANDOM % 4)) a=${variants[RANDOM % 6]} b=${variants[RANDOM % 6]}
    # "$cli" itself in the background ($! is its pid, not a subshell's)
    "$cli" --template-dir "$templates" build "toy_attention:$a" "toy_attention:$b" --nvrtc-opt -DSTORM=$opt --arch sm_89 --json -j 1 \
      >"$work/runs/$w-$n.out" 2>"$work/runs/$w-$n.err" &
    echo $! >"$work/pid.$w"
    wait $!
    echo $? >"$work/runs/$w-$n.rc"
  done
}
for w in $(seq 1 $workers); do worker "$w" & done
kills=0
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
  sleep 0.$((3 + RANDOM % 7))
  pid=$(cat "$work/pid.$((1 + RANDOM % workers))" 2>/dev/null) || continue
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
done
touch "$work/stop"
wait
fail() { echo "kill storm: FAIL: $*"; exit 1; }
runs=0; survived=0; killed=0
for rc in "$work"/runs/*.rc; do
  runs=$((runs + 1))
  case $(cat "$rc") in
    0) survived=$((survived + 1)); cat "${rc%.rc}.out" >>"$work/survivors.jsonl" ;;
    137) killed=$((killed + 1)) ;;
    *) echo "--- a run failed without being killed:"; cat "${rc%.rc}.err"; fail "rc $(cat "$rc") in ${rc##*/}" ;;
  esac
done
echo "kill storm: $runs runs, $survived survived, $killed killed ($kills kills sent) in ${seconds} s"
[ "$killed" -ge 3 ] || fail "fewer than 3 runs were killed: the storm did not storm"
[ "$survived" -ge 10 ] || fail "fewer than 10 runs survived"
twice=$(grep -h '"source":"compiled"' "$work/survivors.jsonl" | grep -o '"key":"[0-9a-f]*"' | sort | uniq -d)
[ -z "$twice" ] || fail "keys compiled more than once among survivors: $twice"
compiled=$(grep -c '"source":"compiled"' "$work/survivors.jsonl")
keys_seen=$(grep -o '"key":"[0-9a-f]*"' "$work/survivors.jsonl" | sort -u)
echo "survivors compiled $compiled keys, each once; they saw $(echo "$keys_seen" | wc -l) keys"
fc cache verify --json >"$work/verify.json" || { cat "$work/verify.json"; fail "verify found damage"; }
grep -q '"damaged":\[\]' "$work/verify.json" || fail "verify: $(cat "$work/verify.json")"
# Fill in the keys no run finished; none a survivor saw may need compiling again.
all=()
for v in "${variants[@]}"; do all+=("toy_attention:$v"); done
for opt in 0 1 2 3; do
  fc build "${all[@]}" --nvrtc-opt -DSTORM=$opt --arch sm_89 --json >>"$work/fill.jsonl" || fail "fill build failed"
done
for key in $(grep '"source":"compiled"' "$work/fill.jsonl" | grep -o '"key":"[0-9a-f]*"'); do
  echo "$keys_seen" | grep -qx "$key" && fail "$key was built by a survivor but had to be compiled again"
done
for opt in 0 1 2 3; do
  FLASHCORE_JIT=forbid fc build "${all[@]}" --nvrtc-opt -DSTORM=$opt --arch sm_89 --json >>"$work/forbid.jsonl" ||
    fail "forbid rebuild failed"
done
hits=$(grep -c '"source":"disk"' "$work/forbid.jsonl")
[ "$hits" = 24 ] || fail "forbid rebuild: $hits of 24 from disk"
fc cache stats --json >"$work/before.json"
fc cache prune --json >/dev/null || fail "prune failed"
fc cache stats --json >"$work/after.json"
echo "before prune: $(cat "$work/before.json")"
echo "after prune:  $(cat "$work/after.json")"
grep -q '"debris":0,' "$work/after.json" || fail "debris left after prune"
grep -q '"quarantined":0,' "$work/after.json" || fail "quarantine not empty"
grep -q '"entries":24,' "$work/after.json" || fail "entries lost"
echo "kill storm: ok (24 forbid hits, verify clean, no debris after prune)"
