#!/usr/bin/env bash
# Side-by-side benchmark of nines lb, HAProxy and nginx as reverse proxies,
# each on one thread, in front of the same nginx backend, under the same wrk
# load. Prints requests/s, p99 latency and requests per CPU-second of each
# proxy process (utime+stime from /proc), medians over interleaved rounds,
# and the ratios nines/HAProxy and nines/nginx.
#
# usage: bench/lb.sh [NINES_BIN]   env: ROUNDS=3 DURATION=10 CONNECTIONS=50
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nines=${1:-$here/build/release/nines}
rounds=${ROUNDS:-3}
source "$here/bench/lib.sh"
need wrk haproxy nginx bc curl
[ -x "$nines" ] || { echo "bench: $nines not built (make build)"; exit 1; }

BACKEND=127.0.0.1:19001
start_nginx_backend $BACKEND
cat >"$bench_dir/nines.toml" <<CONF
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
cat >"$bench_dir/haproxy.cfg" <<CONF
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
cat >"$bench_dir/nginx-proxy.conf" <<CONF
worker_processes 1; daemon off; pid $bench_dir/proxy.pid; error_log $bench_dir/proxy.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream be { server $BACKEND; keepalive 64; }
  server { listen 127.0.0.1:19004;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF

"$nines" lb --config "$bench_dir/nines.toml" --log-level warn & nines_pid=$!; pids+=($!)
haproxy -f "$bench_dir/haproxy.cfg" -q & haproxy_pid=$!; pids+=($!)
nginx -c "$bench_dir/nginx-proxy.conf" -e "$bench_dir/proxy.err" & nginx_pid=$!; pids+=($!)
for p in 19002 19003 19004; do wait_http 127.0.0.1:$p; done
# nginx's master forks the worker that does the work: measure the worker.
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

echo "bench/lb.sh: wrk -t1 -c${CONNECTIONS:-50} -d${DURATION:-10}s, $rounds interleaved rounds, one proxy thread each"
for round in $(seq "$rounds"); do
  echo "round $round"
  wrk_run nines "$nines_pid" http://127.0.0.1:19002/
  wrk_run haproxy "$haproxy_pid" http://127.0.0.1:19003/
  wrk_run nginx "$nginx_worker" http://127.0.0.1:19004/
done
echo
echo "medians:"
print_medians nines haproxy nginx
printf "\nnines/haproxy: req/s %.2fx, p99 %.2fx, req/CPU-s %.2fx\n" \
  "$(ratio "${rps[nines]}" "${rps[haproxy]}")" "$(ratio "${p99[nines]}" "${p99[haproxy]}")" \
  "$(ratio "${rpc[nines]}" "${rpc[haproxy]}")"
printf "nines/nginx:   req/s %.2fx, p99 %.2fx, req/CPU-s %.2fx\n" \
  "$(ratio "${rps[nines]}" "${rps[nginx]}")" "$(ratio "${p99[nines]}" "${p99[nginx]}")" \
  "$(ratio "${rpc[nines]}" "${rpc[nginx]}")"
