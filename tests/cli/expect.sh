#!/usr/bin/env bash
# Runs a command and checks its exit code and output.
#   expect.sh [--gpu] EXIT_CODE REGEX -- COMMAND [ARGS...]
# --gpu: exit 77 (CTest "Skipped") when the flashcore CLI sees no usable GPU.
# REGEX "-" skips the output check. The command's output is always printed.
set -u
gpu=0
if [ "$1" = "--gpu" ]; then gpu=1; shift; fi
want=$1; pattern=$2; shift 2
[ "$1" = "--" ] && shift
if [ "$gpu" = 1 ]; then
  if ! "${FLASHCORE_CLI:?}" devices --json | grep -q '"ordinal"'; then
    echo "SKIPPED: no usable GPU"
    exit 77
  fi
fi
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" != "$want" ]; then
  echo "expect.sh: exit code $rc, expected $want" >&2
  exit 1
fi
if [ "$pattern" != "-" ] && ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
  echo "expect.sh: output does not match /$pattern/" >&2
  exit 1
fi
exit 0
