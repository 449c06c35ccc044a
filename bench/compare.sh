#!/usr/bin/env bash
# Two builds of nines under one bench script on a noisy machine: runs the
# script with build A, then build B, for R rounds (A B A B ...), collects every
# row each run prints (rates, p99, req/CPU-s, ratios to the reference servers),
# and prints per row the median over the rounds for A and for B, B/A, and the
# spread of each side ((max-min)/median) so that noise-limited rows show.
#
# usage: bench/compare.sh [-r ROUNDS] SCRIPT BUILD_A BUILD_B
#   SCRIPT  store.sh, lb.sh, ... (a name in bench/ or a path)
#   BUILD_A the "before" build directory (its nines binary: BUILD_A/nines)
#   BUILD_B the "after" build directory
#   -r      rounds (default 5); each round runs SCRIPT once per build
#   The bench script's own environment passes through (N, DURATION,
#   CONNECTIONS, H2, ...); lb.sh runs with ROUNDS=1 per run unless
#   BENCH_ROUNDS is set. Raw outputs are kept in $COMPARE_DIR
#   (default: a new /tmp/nines-compare.XXXXXX).
# example: bench/compare.sh -r 5 store.sh ../wt-old/build/release build/release
set -euo pipefail
usage() {
  sed -n 's/^# \{0,1\}//; /^usage:/,/^example:/p' "$0" | sed '/^example:/q'
  exit 2
}
rounds=5
while getopts r:h opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# = 3 ] || usage
here=$(cd "$(dirname "$0")" && pwd)
script=$1
[ -f "$script" ] || script=$here/$1
[ -f "$script" ] || { echo "compare: no bench script $1"; exit 2; }
build_a=$(cd "$2" && pwd)
build_b=$(cd "$3" && pwd)
for b in "$build_a" "$build_b"; do
  [ -x "$b/nines" ] || { echo "compare: $b/nines is not built"; exit 2; }
done
out=${COMPARE_DIR:-$(mktemp -d /tmp/nines-compare.XXXXXX)}
mkdir -p "$out"
export ROUNDS=${BENCH_ROUNDS:-1}

# Rows of one run's output as "KEY<TAB>VALUE" lines:
#   "  NAME  1234 req/s  p99 1.2 ms [ 5678 req/CPU-s]" (lb.sh, store.sh, ...)
#   "  NAME TEST  1234 req/s  p99 1.2 ms" (store.sh RESP rows)
#   "  ratio A/B TEST: 0.42" (store.sh)
#   "A/B:  req/s 0.9x, p99 1.1x, req/CPU-s 0.8x" (lb.sh)
rows() {
  awk '
    function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
    /^ *ratio .*: *[0-9.]+ *$/ {
      k = $0; sub(/:[^:]*$/, "", k); print trim(k) "\t" $NF; next
    }
    /^[^ ].*: +req\/s [0-9.]+x/ {
      k = $0; sub(/:.*$/, "", k)
      for (i = 1; i <= NF; i++) {
        if ($i == "req/s" || $i == "req/CPU-s") { v = $(i + 1); sub(/x,?$/, "", v); print k " " $i " ratio\t" v }
      }
      next
    }
    / req\/s / && !/^[^ ].*:/ {
      for (i = 2; i <= NF && $i != "req/s"; i++) {}
      if (i < 3 || $(i - 1) !~ /^[0-9.]+$/) next
      k = $1
      for (j = 2; j < i - 1; j++) k = k " " $j
      print k " req/s\t" $(i - 1)
      for (j = i + 1; j <= NF; j++) {
        if (($j == "p99" || $j == "mean") && $(j + 2) == "ms") print k " " $j " ms\t" $(j + 1)
        if ($j == "req/CPU-s") print k " req/CPU-s\t" $(j - 1)
      }
    }'
}

echo "compare: $(basename "$script"), $rounds rounds, A = $build_a, B = $build_b; outputs in $out"
for round in $(seq "$rounds"); do
  for side in A B; do
    [ $side = A ] && build=$build_a || build=$build_b
    log=$out/$side.$round.log
    if ! "$script" "$build" >"$log" 2>&1; then
      echo "compare: round $round $side failed (see $log):"; tail -5 "$log"; exit 1
    fi
    rows <"$log" | sed "s/^/$side\t/" >>"$out/rows.tsv"
    echo "  round $round $side done ($(rows <"$log" | wc -l) rows)"
  done
done

echo
printf "%-34s %12s %12s %8s %9s %9s\n" row "A median" "B median" "B/A" "A spread" "B spread"
awk -F'\t' '
  { key = $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    v[$1, key] = v[$1, key] " " $3 }
  function med(s,   a, m, i, j, t) {
    m = split(s, a, " "); if (m == 0) return ""
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    lo = a[1]; hi = a[m]
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function spread(s,   m) { m = med(s); return (m == "" || m == 0) ? "-" : sprintf("%.0f%%", 100 * (hi - lo) / m) }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]; a = med(v["A", k]); sa = spread(v["A", k]); b = med(v["B", k]); sb = spread(v["B", k])
      r = (a != "" && b != "" && a != 0) ? sprintf("%.2fx", b / a) : "-"
      printf "%-34s %12s %12s %8s %9s %9s\n", k, a == "" ? "-" : sprintf("%.2f", a), \
        b == "" ? "-" : sprintf("%.2f", b), r, sa, sb
    }
  }' "$out/rows.tsv"
echo "(B/A above 1 is better for rates, ratios and req/CPU-s; below 1 is better for p99/mean ms)"
