#!/usr/bin/env bash
# Runs a command and checks its exit code and output.
#   expect.sh [--gpu] [--absent REGEX] [--stderr REGEX] [--json-lines] EXIT_CODE REGEX -- COMMAND [ARGS...]
# --gpu: exit 77 (CTest "Skipped") when the flashcore CLI sees no usable GPU.
# REGEX must match a line of stdout + stderr ("-" skips that check); --absent REGEX must match
# none; --stderr REGEX must match a line of stderr alone; --json-lines: every non-empty stdout
# line is one JSON object (starts with '{', ends with '}'). The command's output is always printed.
set -u
gpu=0 absent= err_pattern= json_lines=0
while :; do
  case "$1" in
    --gpu) gpu=1; shift ;;
    --absent) absent=$2; shift 2 ;;
    --stderr) err_pattern=$2; shift 2 ;;
    --json-lines) json_lines=1; shift ;;
    *) break ;;
  esac
done
want=$1; pattern=$2; shift 2
[ "$1" = "--" ] && shift
if [ "$gpu" = 1 ]; then
  if ! "${FLASHCORE_CLI:?}" devices --json | grep -q '"ordinal"'; then
    echo "SKIPPED: no usable GPU"
    exit 77
  fi
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$@" >"$scratch/out" 2>"$scratch/err"
rc=$?
out=$(cat "$scratch/out" "$scratch/err")
echo "---- stdout"; cat "$scratch/out"; echo "---- stderr"; cat "$scratch/err"
fail() { echo "expect.sh: $*" >&2; exit 1; }
[ "$rc" = "$want" ] || fail "exit code $rc, expected $want"
if [ "$pattern" != "-" ] && ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
  fail "output does not match /$pattern/"
fi
if [ -n "$absent" ] && printf '%s\n' "$out" | grep -Eq -- "$absent"; then
  fail "output matches /$absent/, which must not appear"
fi
if [ -n "$err_pattern" ] && ! grep -Eq -- "$err_pattern" "$scratch/err"; then
  fail "stderr does not match /$err_pattern/"
fi
if [ "$json_lines" = 1 ] && grep -v '^$' "$scratch/out" | grep -Evq '^\{.*\}$'; then
  fail "stdout has a line that is not a JSON object"
fi
exit 0
