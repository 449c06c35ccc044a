#!/usr/bin/env bash
# What rate limiting costs when it is configured but not triggered: nines lb
# with and without per-client and global limits, and HAProxy with and without
# a stick-table rate limit, same backend, same wrk load, one thread each.
# Prints throughput and requests per CPU-second of each, and each proxy's
# cost of its limiter (goal: nines at most 5%, and less than HAProxy).
#
# usage: bench/ratelimit.sh [NINES_BIN]   env: ROUNDS=3 DURATION=10 CONNECTIONS=50
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nines=${1:-$here/build/release/nines}
rounds=${ROUNDS:-3}
source "$here/bench/lib.sh"
need wrk haproxy nginx bc curl
[ -x "$nines" ] || { echo "bench: $nines not built (make build)"; exit 1; }

BACKEND=127.0.0.1:19101
start_nginx_backend $BACKEND

nines_config() {  # PORT ADMIN EXTRA
  cat <<CONF
listen = "127.0.0.1:$1"
admin = "127.0.0.1:$2"
balance = "round_robin"
threads = 1
[health]
interval_ms = 1000
timeout_ms = 500
[[server]]
name = "backend"
address = "$BACKEND"
$3
CONF
}
nines_config 19102 19112 "" >"$bench_dir/plain.toml"
nines_config 19103 19113 '[rate_limit]
per_client = "100000000/s"
global = "100000000/s"' >"$bench_dir/limited.toml"

haproxy_config() {  # PORT LIMIT_LINES
  cat <<CONF
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$1
$2
  default_backend be
backend be
  http-reuse always
  server s1 $BACKEND
CONF
}
haproxy_config 19104 "" >"$bench_dir/haproxy-plain.cfg"
haproxy_config 19105 '  stick-table type ip size 100k expire 30s store http_req_rate(10s)
  http-request track-sc0 src
  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }' >"$bench_dir/haproxy-limited.cfg"

"$nines" lb --config "$bench_dir/plain.toml" --log-level warn & nines_plain=$!; pids+=($!)
"$nines" lb --config "$bench_dir/limited.toml" --log-level warn & nines_limited=$!; pids+=($!)
haproxy -f "$bench_dir/haproxy-plain.cfg" -q & haproxy_plain=$!; pids+=($!)
haproxy -f "$bench_dir/haproxy-limited.cfg" -q & haproxy_limited=$!; pids+=($!)
for p in 19102 19103 19104 19105; do wait_http 127.0.0.1:$p; done

echo "bench/ratelimit.sh: wrk -t1 -c${CONNECTIONS:-50} -d${DURATION:-10}s, $rounds interleaved rounds"
for round in $(seq "$rounds"); do
  echo "round $round"
  wrk_run nines "$nines_plain" http://127.0.0.1:19102/
  wrk_run nines+limits "$nines_limited" http://127.0.0.1:19103/
  wrk_run haproxy "$haproxy_plain" http://127.0.0.1:19104/
  wrk_run haproxy+limits "$haproxy_limited" http://127.0.0.1:19105/
done
echo
echo "medians:"
print_medians nines nines+limits haproxy haproxy+limits
cost() { echo "(1 - $(ratio "${rpc[$1]}" "${rpc[$2]}")) * 100" | bc -l; }
printf "\nlimiter cost in requests per CPU-second: nines %.1f%%, haproxy %.1f%%\n" \
  "$(cost nines+limits nines)" "$(cost haproxy+limits haproxy)"
printf "limiter cost in requests per second:     nines %.1f%%, haproxy %.1f%%\n" \
  "$(echo "(1 - $(ratio "${rps[nines+limits]}" "${rps[nines]}")) * 100" | bc -l)" \
  "$(echo "(1 - $(ratio "${rps[haproxy+limits]}" "${rps[haproxy]}")) * 100" | bc -l)"
