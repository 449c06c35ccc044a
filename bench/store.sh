#!/usr/bin/env bash
# nines store vs the references, on this machine:
#  1. RESP: three `nines store` members (fsync on; the leader takes the load)
#     vs one redis-server with appendonly yes / appendfsync always, with
#     redis-benchmark -t RESP_TESTS -P 16 -c 50 (every test of issue 14 by
#     default), and the nines/redis ratio of each test.
#  2. HTTP: nines HTTP API (PUT and GET /v1/kv/KEY on the leader) vs a
#     three-member etcd (Debian etcd-server, v3 JSON gateway) with wrk + Lua.
# Prints rate, p99, requests per CPU-second (of all three nines members, of
# redis-server, of all three etcd members: run time of every thread from
# /proc/PID/task/*/schedstat; less noisy than the rate on a shared machine)
# and the nines/reference ratios of both.
# Usage: bench/store.sh [BUILD_DIR]   env: N=100000 DURATION=10 CONNECTIONS=50
#   RESP_TESTS=set,get,... (redis-benchmark -t) SKIP_HTTP=1 (RESP only)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
build=${1:-build/release}
nines=$(cd "$build" && pwd)/nines
need redis-benchmark redis-server curl bc
[ "${SKIP_HTTP:-0}" = 1 ] || need wrk
N=${N:-100000}
host=127.0.160.1

cpu_sum() {  # PIDS...: CPU time of all their threads together, in ns (schedstat:
  # finer than /proc/PID/stat's ticks, which a short redis-server run counts in a handful)
  # (%.0f: mawk's %d stops at 2^31 ns)
  local p
  for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done | awk '{t += $1} END {printf "%.0f\n", t}'
}
per_cpu_s() {  # REQUESTS NS
  echo "$1 / ($2 / 1000000000 + 0.000001)" | bc -l
}
nines_pids=()
echo "== RESP: 3 nines store members (fsync on) vs redis-server appendfsync always"
for i in 1 2 3; do
  {
    echo "id = \"s$i\""
    echo "data_dir = \"$bench_dir/s$i\""
    echo "client = \"$host:1638$i\""
    echo "http = \"$host:1738$i\""
    echo "peer = \"$host:1838$i\""
    for j in 1 2 3; do
      printf '[[member]]\nid = "s%s"\npeer = "%s:1838%s"\nclient = "%s:1638%s"\nhttp = "%s:1738%s"\n' \
        $j $host $j $host $j $host $j
    done
  } > "$bench_dir/s$i.toml"
  "$nines" store --config "$bench_dir/s$i.toml" --log-level warn > "$bench_dir/s$i.log" 2>&1 &
  pids+=($!)
  nines_pids+=($!)
done
leader=""
for _ in $(seq 200); do
  for i in 1 2 3; do
    if curl -s "http://$host:1738$i/status" | grep -q '"role":"leader"'; then leader=$i; fi
  done
  [ -n "$leader" ] && break
  sleep 0.05
done
[ -n "$leader" ] || { echo "bench: no leader"; exit 1; }
redis-server --port 16390 --bind $host --save '' --appendonly yes --appendfsync always \
  --dir "$bench_dir" --daemonize no > "$bench_dir/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!
sleep 0.5

declare -A rate lat cpu
resp_tests=()  # redis-benchmark's test names (CSV rows), in order
resp_run() {  # NAME PORT TEST PIDS...: one redis-benchmark test; the CPU time of
  # a run with two rows (lrange_100 fills its list with an LPUSH row first) is shared
  local name=$1 port=$2 t=$3 out before after rows test r p99
  shift 3
  before=$(cpu_sum "$@")
  out=$(redis-benchmark -h $host -p "$port" -t "$t" -P 16 -c 50 -n "$N" --csv 2>/dev/null)
  after=$(cpu_sum "$@")
  rows=$(grep -vc '^"test"' <<< "$out" || true)
  while IFS=, read -r test r _ _ _ _ p99 _; do
    test=${test//\"/}; r=${r//\"/}; p99=${p99//\"/}
    [ "$test" = "test" ] && continue
    [ "$name" = nines ] && resp_tests+=("$test")
    rate[$name.$test]=$r; lat[$name.$test]=$p99
    cpu[$name.$test]=$(per_cpu_s $((N * rows)) $((after - before)))
    printf "  %-6s %-36s %10.0f req/s  p99 %7.2f ms  %10.0f req/CPU-s\n" "$name" "$test" "$r" "$p99" \
      "${cpu[$name.$test]}"
  done <<< "$out"
}
# redis-benchmark -t TESTS -P 16 -c 50, one test at a time, nines then redis
# (interleaved: load from other processes on the machine hits both alike).
RESP_TESTS=${RESP_TESTS:-set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset}
for t in ${RESP_TESTS//,/ }; do
  resp_run nines "1638$leader" "$t" "${nines_pids[@]}"
  resp_run redis 16390 "$t" "$redis_pid"
done
echo "  nines/redis, -P 16 -c 50 -n $N (goal: reads >= 0.8, writes >= 0.4)"
printf "  %-36s %8s %10s %6s\n" test ratio "per CPU-s" goal
for test in "${resp_tests[@]}"; do
  case $test in GET | LRANGE*) goal=0.8 ;; *) goal=0.4 ;; esac
  r=$(echo "${rate[nines.$test]} / ${rate[redis.$test]:-0.000001}" | bc -l)
  c=$(echo "${cpu[nines.$test]} / ${cpu[redis.$test]:-0.000001}" | bc -l)
  printf "  %-36s %8.2f %10.2f %6s%s\n" "$test" "$r" "$c" "$goal" \
    "$([ "$(echo "$r < $goal" | bc -l)" = 1 ] && echo "  below goal")"
done
[ "${SKIP_HTTP:-0}" = 1 ] && exit 0

echo "== HTTP: nines HTTP API (leader) vs 3-member etcd v3 gateway"
cat > "$bench_dir/nines_put.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/key" .. (counter % 1000), nil, "value-" .. counter)
end
LUA
cat > "$bench_dir/etcd_put.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local body = '{"key":"a2V5' .. '","value":"dmFsdWU="}'
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"]="application/json"}, body)
end
LUA
cat > "$bench_dir/etcd_get.lua" <<'LUA'
request = function()
  return wrk.format("POST", "/v3/kv/range", {["Content-Type"]="application/json"}, '{"key":"a2V5"}')
end
LUA
curl -s -X PUT --data v "http://$host:1738$leader/v1/kv/key1" > /dev/null
etcd_ok=0
etcd_pids=()
if command -v etcd > /dev/null; then
  cluster="e1=http://$host:2381,e2=http://$host:2382,e3=http://$host:2383"
  for i in 1 2 3; do
    etcd --name e$i --data-dir "$bench_dir/e$i" --listen-client-urls "http://$host:237$i" \
      --advertise-client-urls "http://$host:237$i" --listen-peer-urls "http://$host:238$i" \
      --initial-advertise-peer-urls "http://$host:238$i" --initial-cluster "$cluster" \
      --initial-cluster-state new > "$bench_dir/etcd$i.log" 2>&1 &
    pids+=($!)
    etcd_pids+=($!)
  done
  for _ in $(seq 200); do
    curl -s -X POST "http://$host:2371/v3/kv/put" -d '{"key":"a2V5","value":"dmFsdWU="}' | grep -q header && { etcd_ok=1; break; }
    sleep 0.1
  done
fi
http_run() {  # NAME URL SCRIPT PIDS...
  local name=$1 url=$2 lua=$3 out r p before after total
  shift 3
  before=$(cpu_sum "$@")
  out=$(wrk -t1 -c"${CONNECTIONS:-50}" -d"${DURATION:-10}s" --latency -s "$lua" "$url")
  after=$(cpu_sum "$@")
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  rate[$name]=$r; lat[$name]=$p; cpu[$name]=$(per_cpu_s "$total" $((after - before)))
  local non2xx
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf "  %-10s %10.0f req/s  p99 %8.2f ms  %10.0f req/CPU-s  non-2xx %s\n" "$name" "$r" "$p" \
    "${cpu[$name]}" "${non2xx:-0}"
}
cat > "$bench_dir/nines_get.lua" <<'LUA'
request = function()
  return wrk.format("GET", "/v1/kv/key1")
end
LUA
http_run nines-put "http://$host:1738$leader" "$bench_dir/nines_put.lua" "${nines_pids[@]}"
http_run nines-get "http://$host:1738$leader" "$bench_dir/nines_get.lua" "${nines_pids[@]}"
if [ $etcd_ok = 1 ]; then
  http_run etcd-put "http://$host:2371" "$bench_dir/etcd_put.lua" "${etcd_pids[@]}"
  http_run etcd-get "http://$host:2371" "$bench_dir/etcd_get.lua" "${etcd_pids[@]}"
  for t in put get; do
    printf "  ratio nines/etcd %s: %.2f\n" $t "$(echo "${rate[nines-$t]} / ${rate[etcd-$t]}" | bc -l)"
    printf "  ratio nines/etcd %s per CPU-s: %.2f\n" $t "$(echo "${cpu[nines-$t]} / ${cpu[etcd-$t]}" | bc -l)"
  done
else
  echo "  etcd not available or did not start: HTTP comparison skipped"
fi
