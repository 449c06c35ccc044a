#!/usr/bin/env bash
# Runs each libFuzzer target briefly (make test) from its seed corpus.
# Every target declared in tests/fuzz/*.cmake must have been built: a missing
# one fails the run instead of being skipped.
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t names < <(sed -n 's/^nines_fuzz_target(\([a-z0-9_]*\).*/\1/p' "$here"/*.cmake)
if [ ${#names[@]} -eq 0 ]; then
  echo "fuzz: no nines_fuzz_target() found in $here/*.cmake" >&2
  exit 1
fi
missing=()
for name in "${names[@]}"; do
  [ -x "$build/tests/fuzz/$name" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: FAILED: missing fuzz targets in $build/tests/fuzz: ${missing[*]}" >&2
  echo "fuzz: build them first (make fuzz)" >&2
  exit 1
fi
for name in "${names[@]}"; do
  t=$build/tests/fuzz/$name
  corpus=$(mktemp -d)
  [ -d "$here/corpus/$name" ] && cp -r "$here/corpus/$name/." "$corpus/"
  echo "fuzz: $name for ${seconds}s"
  dict=()
  case $name in fuzz_http_*) dict=(-dict="$here/http.dict") ;; esac
  if ! "$t" -max_total_time="$seconds" -print_final_stats=0 "${dict[@]}" "$corpus" >"$corpus.log" 2>&1; then
    tail -50 "$corpus.log"
    echo "fuzz: $name FAILED (log: $corpus.log)"
    exit 1
  fi
  grep -E "^#[0-9]+.*DONE" "$corpus.log" | tail -1 || true
  rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: all targets passed"
