#!/usr/bin/env bash
# Replays each numbered case of issue 12 against a flashcore binary and prints command + output.
#   probe.sh /path/to/flashcore TEMPLATE_DIR   (run as root: it drops to uid 65534 for the
#   read-only cases). Used for the before/after record in cache-hardening.md.
set -u
cli=${1:?flashcore binary}; tpl=${2:?tests/templates folder}
work=$(mktemp -d /tmp/fc-probe.XXXXXX); chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
show() { echo "\$ $*"; "$@" 2>&1 | LC_ALL=C cut -c1-300 | head -${LINES_MAX:-6}; echo "rc=${PIPESTATUS[0]}"; }
fc() { "$cli" --template-dir "$tpl" "$@"; }
export FLASHCORE_CACHE_DIR=$work/c
build6() { fc build 'toy_attention:threads=64|128|256,smem_kb=0|40' --arch sm_89 --json >/dev/null 2>&1; }

echo "## 1. read-only cache (entries written by root, read by uid 65534)"
build6
show nobody env FLASHCORE_JIT=forbid "$cli" --template-dir "$tpl" build toy_attention:threads=64 --arch sm_89
echo "## 2. verify on it"
show nobody "$cli" cache verify --json
show find "$work/c/v1" -name kernel.cubin -printf x
echo
echo "## 3. clear / prune on it"
show nobody "$cli" cache clear --json
show nobody "$cli" cache prune --max-bytes 0 --json
echo "entries still on disk: $(find "$work/c/v1" -name kernel.cubin | wc -l)"
echo "## 4. prune --older-than-days huge"
for d in 1e12 1e30 inf 1e400 -1; do
  rm -rf "$work/c"; build6
  show fc cache prune --older-than-days $d --json
done
echo "## 5. byte sizes"
rm -rf "$work/c"; build6
show env FLASHCORE_CACHE_MAX_BYTES=17179869184G "$cli" --template-dir "$tpl" build toy_attention:threads=128,mode=fancy --arch sm_89 --json
echo "entries left: $(find "$work/c/v1" -name kernel.cubin | wc -l)"
rm -rf "$work/c"; build6
show fc cache prune --max-bytes 17179869184G --json
show fc cache prune --max-bytes 99999999999999999999999 --json
show env FLASHCORE_CACHE_MAX_BYTES=99999999999999999999999 "$cli" cache stats --json
echo "## 8. debris"
rm -rf "$work/c"; build6
key=$(fc cache ls --json | head -1 | sed -E 's/.*"key":"([0-9a-f]+)".*/\1/')
mkdir -p "$work/c/v1/${key:0:2}/.tmp-$key-999-0-0"; head -c 50000 /dev/zero > "$work/c/v1/${key:0:2}/.tmp-$key-999-0-0/kernel.cubin"
head -c 10 /dev/zero > "$work/c/v1/${key:0:2}/$key/last_use.tmp.999"
echo probe > "$work/c/v1/.probe-999-0-0"
mkdir -p "$work/c/v1/quarantine/$key-999"; head -c 70000 /dev/zero > "$work/c/v1/quarantine/$key-999/kernel.cubin"
touch -d '2 days ago' "$work/c/v1/${key:0:2}/.tmp-$key-999-0-0" "$work/c/v1/${key:0:2}/.tmp-$key-999-0-0/kernel.cubin" \
  "$work/c/v1/${key:0:2}/$key/last_use.tmp.999" "$work/c/v1/.probe-999-0-0" "$work/c/v1/quarantine/$key-999" \
  "$work/c/v1/quarantine/$key-999/kernel.cubin"
show fc cache stats --json
fc cache verify >/dev/null 2>&1; fc cache prune >/dev/null 2>&1
echo "\$ find debris after verify + prune"; find "$work/c/v1" \( -name '.tmp-*' -o -name '*.tmp.*' -o -name '.probe-*' -o -path '*quarantine/*' \) -maxdepth 3 | sed "s|$work|W|"
fc cache clear >/dev/null 2>&1
echo "\$ find debris after clear"; find "$work/c/v1" \( -name '.tmp-*' -o -name '*.tmp.*' -o -name '.probe-*' \) | sed "s|$work|W|"
echo "## 9. clear while another process holds a key's lock (a python fcntl lock stands in for a compiler)"
rm -rf "$work/c" "$work/k"
v=toy_attention:threads=256
key=$(FLASHCORE_CACHE_DIR=$work/k fc build "$v" --arch sm_89 --json | sed -E 's/.*"key":"([0-9a-f]+)".*/\1/')
fc cache stats >/dev/null 2>&1   # creates v1/locks
lock="$work/c/v1/locks/$key.lock"
python3 -c 'import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT); fcntl.lockf(fd, fcntl.LOCK_EX); open(sys.argv[2],"w").close(); time.sleep(8)' "$lock" "$work/held" &
holder=$!
while [ ! -e "$work/held" ]; do sleep 0.05; done
show fc cache clear --json
echo "lock file after clear: $([ -e "$lock" ] && echo kept || echo unlinked)"
start=$(date +%s.%N)
echo "\$ timeout 4 flashcore build $v (the holder is still alive), FLASHCORE_CACHE_LOCK_TIMEOUT=2s"
FLASHCORE_CACHE_LOCK_TIMEOUT=2s timeout 4 "$cli" --template-dir "$tpl" build "$v" --arch sm_89 --json 2>&1 | grep -o '"source":"[a-z]*"\|waited.*lock' | head -2
echo "rc=${PIPESTATUS[0]} after $(echo "$(date +%s.%N) - $start" | bc | cut -c1-4) s"
kill $holder 2>/dev/null; wait $holder 2>/dev/null
echo "## 10. smaller"
show env FLASHCORE_TEMPLATE_DIR=/nonexistent "$cli" cache stats
rm -rf "$work/c"; build6
key=$(fc cache ls --json | head -1 | sed -E 's/.*"key":"([0-9a-f]+)".*/\1/')
printf '{"format":1,"key":"\xff\xfe\x80garbled' > "$work/c/v1/${key:0:2}/$key/entry.json"
echo "\$ cache verify (garbled entry.json), stderr bytes that are not UTF-8:"
fc cache verify 2>"$work/err" >/dev/null; echo "rc=$?"; LC_ALL=C grep -c -P '[\x80-\xff]' "$work/err"; LC_ALL=C cut -c1-200 "$work/err" | cat -v
pat='attention_wmma:block_m=*,block_n=*,warps=*,copy=*,stages=*,p_dtype=*,causal=*'
echo "\$ timeout 10 flashcore build '$pat' --arch sm_89 -j 1 --json | wc -l"
timeout 10 "$cli" build "$pat" --arch sm_89 -j 1 --json 2>"$work/err" | wc -l; echo "rc=${PIPESTATUS[0]}"; LC_ALL=C cut -c1-200 "$work/err" | head -3
show env FLASHCORE_CACHE_LOCK_TIMEOUT=abc "$cli" cache stats --json
