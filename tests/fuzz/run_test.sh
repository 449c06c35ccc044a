#!/usr/bin/env bash
# Checks tests/fuzz/run.sh itself: it must fail, naming the target, when a fuzz
# target declared in tests/fuzz/*.cmake was not built, and pass when all are.
# Stand-in targets are shell scripts that exit 0; nothing is fuzzed here.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mapfile -t declared < <(sed -n 's/^nines_fuzz_target(\([a-z0-9_]*\).*/\1/p' "$here"/*.cmake)
if [ ${#declared[@]} -lt 2 ]; then
  echo "run_test: expected at least two fuzz targets in $here/*.cmake"
  exit 1
fi
fake_build() {  # fake_build DIR NAME...: a build dir holding stand-in targets
  mkdir -p "$1/tests/fuzz"
  local dir=$1
  shift
  for n in "$@"; do
    printf '#!/bin/sh\nexit 0\n' >"$dir/tests/fuzz/$n"
    chmod +x "$dir/tests/fuzz/$n"
  done
}
failures=0
expect() {  # expect CODE PATTERN DESCRIPTION -- run.sh ARGS...
  local want=$1 pattern=$2 what=$3
  shift 4
  local out code
  out=$("$here/run.sh" "$@" 2>&1)
  code=$?
  if { [ "$want" = 0 ] && [ $code -ne 0 ]; } || { [ "$want" != 0 ] && [ $code -eq 0 ]; } ||
    ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: $what: exit $code, output:"
    echo "$out"
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}

fake_build "$work/none"
expect 1 "missing" "no target built" -- "$work/none" 1

missing=${declared[0]}
fake_build "$work/one_missing" "${declared[@]:1}"
expect 1 "$missing" "one target missing" -- "$work/one_missing" 1

fake_build "$work/all" "${declared[@]}"
expect 0 "all targets passed" "every target built" -- "$work/all" 1

[ $failures -eq 0 ] && echo "run_test: passed" || echo "run_test: $failures failed"
[ $failures -eq 0 ]
