#!/usr/bin/env bash
# Runs each libFuzzer target briefly (make test) from its seed corpus.
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
shopt -s nullglob
targets=("$build"/tests/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets built"
  exit 0
fi
for t in "${targets[@]}"; do
  name=$(basename "$t")
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
