#!/usr/bin/env bash
# Side-by-side benchmark of nines lb, HAProxy and nginx as reverse proxies,
# each on one thread, in front of the same nginx backend, under the same wrk
# load. Prints requests/s, p99 latency and requests per CPU-second of each
# proxy process (utime+stime from /proc), medians over interleaved rounds,
# and the ratios nines/HAProxy.
#
# usage: bench/lb.sh [NINES_BIN]   env: ROUNDS=3 DURATION=10 CONNECTIONS=50
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nines=${1:-$here/build/release/nines}
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
conns=${CONNECTIONS:-50}
for tool in wrk haproxy nginx; do
  command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
done
[ -x "$nines" ] || { echo "bench: $nines not built (make build)"; exit 1; }

dir=$(mktemp -d /tmp/nines-bench-lb.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

BACKEND=127.0.0.1:19001
cat >"$dir/backend.conf" <<CONF
worker_processes 1; daemon off; pid $dir/backend.pid; error_log $dir/backend.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen $BACKEND reuseport; location / { return 200 "ok\n"; } } }
CONF
cat >"$dir/nines.toml" <<CONF
listen = "127.0.0.1:19002"
admin = "127.0.0.1:19012"
balance = "round_robin"
threads = 1
[health]
interval_ms = 1000
timeout_ms = 500
[[server]]
name = "backend"
address = "$BACKEND"
CONF
cat >"$dir/haproxy.cfg" <<CONF
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
  bind 127.0.0.1:19003
  default_backend be
backend be
  http-reuse always
  option httpchk GET /healthz
  server s1 $BACKEND check inter 1000
CONF
cat >"$dir/nginx-proxy.conf" <<CONF
worker_processes 1; daemon off; pid $dir/proxy.pid; error_log $dir/proxy.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream be { server $BACKEND; keepalive 64; }
  server { listen 127.0.0.1:19004;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF

nginx -c "$dir/backend.conf" -e "$dir/backend.err" & pids+=($!)
"$nines" lb --config "$dir/nines.toml" --log-level warn 2>"$dir/nines.log" & nines_pid=$!; pids+=($nines_pid)
haproxy -f "$dir/haproxy.cfg" -q & haproxy_pid=$!; pids+=($haproxy_pid)
nginx -c "$dir/nginx-proxy.conf" -e "$dir/proxy.err" & nginx_pid=$!; pids+=($nginx_pid)

wait_port() {
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://$1/" && return 0
    sleep 0.05
  done
  echo "bench: nothing answers on $1"; exit 1
}
for p in $BACKEND 127.0.0.1:19002 127.0.0.1:19003 127.0.0.1:19004; do wait_port $p; done
# nginx's master forks the worker that does the work: measure the worker.
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

declare -A rps p99 rpc
run_one() {  # name pid port
  local name=$1 pid=$2 port=$3
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$pid")
  local total req99 r
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  req99=$(echo "$out" | awk '$1=="99%" {print $2}')
  local cpu_s
  cpu_s=$(echo "($after - $before) / $hz" | bc -l)
  local per_cpu
  per_cpu=$(echo "$total / ($cpu_s + 0.000001)" | bc -l)
  rps[$name]+="$r "
  p99[$name]+="$(to_ms "$req99") "
  rpc[$name]+="$per_cpu "
  printf "  %-8s %10.0f req/s  p99 %8.2f ms  %10.0f req/CPU-s\n" "$name" "$r" "$(to_ms "$req99")" "$per_cpu"
}
to_ms() {  # wrk prints 1.23ms / 456.00us / 1.20s
  local v=$1
  case $v in
    *us) echo "${v%us} / 1000" | bc -l ;;
    *ms) echo "${v%ms}" ;;
    *s) echo "${v%s} * 1000" | bc -l ;;
    *) echo 0 ;;
  esac
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "bench/lb.sh: wrk -t1 -c$conns -d${duration}s, $rounds interleaved rounds, one proxy thread each"
for round in $(seq "$rounds"); do
  echo "round $round"
  run_one nines "$nines_pid" 19002
  run_one haproxy "$haproxy_pid" 19003
  run_one nginx "$nginx_worker" 19004
done

echo
echo "medians:"
printf "  %-8s %12s %12s %16s\n" proxy "req/s" "p99 ms" "req/CPU-s"
for name in nines haproxy nginx; do
  printf "  %-8s %12.0f %12.2f %16.0f\n" "$name" "$(echo "${rps[$name]}" | median)" \
    "$(echo "${p99[$name]}" | median)" "$(echo "${rpc[$name]}" | median)"
done
ratio() { echo "$(echo "${1}" | median) / $(echo "${2}" | median)" | bc -l; }
printf "\nnines/haproxy: req/s %.2fx, p99 %.2fx, req/CPU-s %.2fx\n" \
  "$(ratio "${rps[nines]}" "${rps[haproxy]}")" "$(ratio "${p99[nines]}" "${p99[haproxy]}")" \
  "$(ratio "${rpc[nines]}" "${rpc[haproxy]}")"
printf "nines/nginx:   req/s %.2fx, p99 %.2fx, req/CPU-s %.2fx\n" \
  "$(ratio "${rps[nines]}" "${rps[nginx]}")" "$(ratio "${p99[nines]}" "${p99[nginx]}")" \
  "$(ratio "${rpc[nines]}" "${rpc[nginx]}")"
