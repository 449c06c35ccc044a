#!/usr/bin/env bash
# nines store vs the references, on this machine:
#  1. RESP: three `nines store` members (fsync on) vs one redis-server with
#     appendonly yes / appendfsync always, with redis-benchmark (SET, GET, -P 16).
#  2. HTTP: nines HTTP API (PUT and GET /v1/kv/KEY on the leader) vs a
#     three-member etcd (Debian etcd-server, v3 JSON gateway) with wrk + Lua.
# Prints rate, p99 and the nines/reference ratio. Usage: bench/store.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
build=${1:-build/release}
nines=$(cd "$build" && pwd)/nines
need redis-benchmark redis-server wrk curl
N=${N:-100000}
host=127.0.160.1

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
sleep 0.5

declare -A rate lat
resp_run() {  # NAME PORT
  local out
  out=$(redis-benchmark -h $host -p "$2" -t set,get -P 16 -c 50 -n "$N" --csv 2>/dev/null)
  while IFS=, read -r test r _ _ _ _ p99 _; do
    test=${test//\"/}; r=${r//\"/}; p99=${p99//\"/}
    [ "$test" = "test" ] && continue
    rate[$1.$test]=$r; lat[$1.$test]=$p99
    printf "  %-8s %-4s %10.0f req/s  p99 %7.2f ms\n" "$1" "$test" "$r" "$p99"
  done <<< "$out"
}
resp_run nines "1638$leader"
resp_run redis 16390
for t in SET GET; do
  printf "  ratio nines/redis %s: %.2f\n" $t "$(echo "${rate[nines.$t]} / ${rate[redis.$t]}" | bc -l)"
done

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
if command -v etcd > /dev/null; then
  cluster="e1=http://$host:2381,e2=http://$host:2382,e3=http://$host:2383"
  for i in 1 2 3; do
    etcd --name e$i --data-dir "$bench_dir/e$i" --listen-client-urls "http://$host:237$i" \
      --advertise-client-urls "http://$host:237$i" --listen-peer-urls "http://$host:238$i" \
      --initial-advertise-peer-urls "http://$host:238$i" --initial-cluster "$cluster" \
      --initial-cluster-state new > "$bench_dir/etcd$i.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 200); do
    curl -s -X POST "http://$host:2371/v3/kv/put" -d '{"key":"a2V5","value":"dmFsdWU="}' | grep -q header && { etcd_ok=1; break; }
    sleep 0.1
  done
fi
http_run() {  # NAME URL SCRIPT
  local out r p
  out=$(wrk -t1 -c"${CONNECTIONS:-50}" -d"${DURATION:-10}s" --latency -s "$3" "$2")
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
  rate[$1]=$r; lat[$1]=$p
  local non2xx
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf "  %-10s %10.0f req/s  p99 %8.2f ms  non-2xx %s\n" "$1" "$r" "$p" "${non2xx:-0}"
}
cat > "$bench_dir/nines_get.lua" <<'LUA'
request = function()
  return wrk.format("GET", "/v1/kv/key1")
end
LUA
http_run nines-put "http://$host:1738$leader" "$bench_dir/nines_put.lua"
http_run nines-get "http://$host:1738$leader" "$bench_dir/nines_get.lua"
if [ $etcd_ok = 1 ]; then
  http_run etcd-put "http://$host:2371" "$bench_dir/etcd_put.lua"
  http_run etcd-get "http://$host:2371" "$bench_dir/etcd_get.lua"
  for t in put get; do
    printf "  ratio nines/etcd %s: %.2f\n" $t "$(echo "${rate[nines-$t]} / ${rate[etcd-$t]}" | bc -l)"
  done
else
  echo "  etcd not available or did not start: HTTP comparison skipped"
fi
