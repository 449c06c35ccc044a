#!/usr/bin/env bash
# A flood of distinct client keys (issue 3, acceptance 4): wrk sends requests
# with a new random X-API-Key each, as fast as it can, until a million keys
# were sent, while a well-behaved client asks once every 100 ms. Prints the
# balancer's resident memory over time, the per-client table's size and
# evictions, the bytes each tracked key costs, and whether the well-behaved
# client was answered throughout.
#
# usage: bench/ratelimit_flood.sh [NINES_BIN]   env: KEYS=1000000 MAX_CLIENTS=100000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nines=${1:-$here/build/release/nines}
keys=${KEYS:-1000000}
max_clients=${MAX_CLIENTS:-100000}
source "$here/bench/lib.sh"
need wrk nginx curl
BACKEND=127.0.0.1:19201
start_nginx_backend $BACKEND
cat >"$bench_dir/lb.toml" <<CONF
listen = "127.0.0.1:19202"
admin = "127.0.0.1:19212"
threads = 2
[rate_limit]
per_client = "10/s"
client_key = "header:X-API-Key"
max_clients = $max_clients
[[server]]
name = "backend"
address = "$BACKEND"
CONF
"$nines" lb --config "$bench_dir/lb.toml" --log-level warn & lb=$!; pids+=($!)
wait_http 127.0.0.1:19202
rss() { awk '/VmRSS/ {print $2}' "/proc/$lb/status"; }
rss_start=$(rss)

cat >"$bench_dir/flood.lua" <<'LUA'
local counter = 0
local run = "0"
init = function(args) run = args[1] end
request = function()
  counter = counter + 1
  return wrk.format("GET", "/", { ["X-API-Key"] = string.format("flood-%s-%d", run, counter) })
end
LUA
good_ok=0; good_bad=0
(
  while true; do
    code=$(curl -s -o /dev/null -w "%{http_code}" -H "X-API-Key: well-behaved" http://127.0.0.1:19202/ || true)
    echo "$code" >>"$bench_dir/good.log"
    sleep 0.1
  done
) & pids+=($!)

echo "bench/ratelimit_flood.sh: $keys distinct keys, max_clients $max_clients"
sent=0
run=0
peak=$rss_start
while [ "$sent" -lt "$keys" ]; do
  run=$((run + 1))
  out=$(wrk -t1 -c32 -d5s -s "$bench_dir/flood.lua" http://127.0.0.1:19202/ -- "$run")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  sent=$((sent + n))
  now=$(rss); [ "$now" -gt "$peak" ] && peak=$now
  status=$(curl -s http://127.0.0.1:19212/status)
  clients=$(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rate_limit"]["per_client"]["clients"])')
  echo "  sent $sent keys ($(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s): RSS ${now} kB, table $clients keys"
done
status=$(curl -s http://127.0.0.1:19212/status)
read -r clients evictions < <(echo "$status" | python3 -c 'import json,sys; p=json.load(sys.stdin)["rate_limit"]["per_client"]; print(p["clients"], p["evictions"])')
good_ok=$(grep -c '^200$' "$bench_dir/good.log" || true)
good_bad=$(grep -vc '^200$' "$bench_dir/good.log" || true)
echo
echo "RSS: start ${rss_start} kB, peak ${peak} kB, growth $((peak - rss_start)) kB"
echo "table: $clients keys (max $max_clients), $evictions evictions"
echo "bytes per tracked key (RSS growth / keys held): $(( (peak - rss_start) * 1024 / clients ))"
echo "well-behaved client: $good_ok answered 200, $good_bad otherwise"
