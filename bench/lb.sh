#!/usr/bin/env bash
# Side-by-side benchmark of nines lb, HAProxy and nginx as reverse proxies,
# each on one thread, in front of the same nginx backend, under the same wrk
# load. Prints requests/s, p99 latency and requests per CPU-second of each
# proxy process (utime+stime from /proc), medians over interleaved rounds,
# and the ratios nines/HAProxy and nines/nginx. A second nines binary (an
# older build, say) runs beside the first as "nines-b", under the same load in
# the same rounds, so that two builds are compared on one noisy machine.
# HTTP/2 rows ("h2 ...") put each proxy's cleartext h2 listener (prior
# knowledge: nines [h2] listen, HAProxy `bind ... proto h2`, nginx `listen
# ... http2`) under h2load; the servers behind are still spoken to in
# HTTP/1.1. H2=0 skips them.
#
# usage: bench/lb.sh [NINES_BIN [NINES_B_BIN]]  (a build directory stands for its nines)
#   env: ROUNDS=3 DURATION=10 CONNECTIONS=50 H2=1 H2_CONNECTIONS=10 H2_STREAMS=5
#        HOST=127.0.0.1 (every process listens there: another 127.x.y.z keeps
#        concurrent runs on one machine apart)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nines=${1:-$here/build/release/nines}
nines_b=${2:-}
[ ! -d "$nines" ] || nines=$nines/nines
[ -z "$nines_b" ] || [ ! -d "$nines_b" ] || nines_b=$nines_b/nines
rounds=${ROUNDS:-3}
host=${HOST:-127.0.0.1}
source "$here/bench/lib.sh"
need wrk haproxy nginx bc curl
h2=${H2:-1}
[ "$h2" = 0 ] || need h2load
[ -x "$nines" ] || { echo "bench: $nines not built (make build)"; exit 1; }
[ -z "$nines_b" ] || [ -x "$nines_b" ] || { echo "bench: $nines_b is not executable"; exit 1; }

BACKEND=$host:19001
start_nginx_backend $BACKEND
nines_config() {  # LISTEN_PORT ADMIN_PORT H2_PORT
  cat <<CONF
listen = "$host:$1"
admin = "$host:$2"
balance = "round_robin"
threads = 1
${3:+[h2]
listen = \"$host:$3\"}
[health]
interval_ms = 1000
timeout_ms = 500
[[server]]
name = "backend"
address = "$BACKEND"
CONF
}
nines_config 19002 19012 19006 >"$bench_dir/nines.toml"
# An older nines without HTTP/2 runs no h2 rows at all.
if [ "$h2" = 0 ] || ! "$nines" check --config "$bench_dir/nines.toml" >/dev/null 2>&1; then
  [ "$h2" = 0 ] || echo "bench: $nines takes no [h2]: h2 rows skipped"
  h2=0
  nines_config 19002 19012 >"$bench_dir/nines.toml"
fi
nines_config 19005 19015 19009 >"$bench_dir/nines-b.toml"
# An older nines-b without HTTP/2 gets no [h2] and no h2 rows.
nines_b_h2=0
if [ -n "$nines_b" ]; then
  if "$nines_b" check --config "$bench_dir/nines-b.toml" >/dev/null 2>&1; then
    nines_b_h2=1
  else
    nines_config 19005 19015 >"$bench_dir/nines-b.toml"
  fi
fi
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
  bind $host:19003
  default_backend be
frontend fe_h2
  bind $host:19007 proto h2
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
  server { listen $host:19004; listen $host:19008 http2;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF

"$nines" lb --config "$bench_dir/nines.toml" --log-level warn & nines_pid=$!; pids+=($!)
haproxy -f "$bench_dir/haproxy.cfg" -q & haproxy_pid=$!; pids+=($!)
nginx -c "$bench_dir/nginx-proxy.conf" -e "$bench_dir/proxy.err" & nginx_pid=$!; pids+=($!)
ports="19002 19003 19004"
if [ -n "$nines_b" ]; then
  "$nines_b" lb --config "$bench_dir/nines-b.toml" --log-level warn & nines_b_pid=$!; pids+=($!)
  ports+=" 19005"
fi
for p in $ports; do wait_http "$host:$p"; done
# nginx's master forks the worker that does the work: measure the worker.
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

echo "nines:   $nines"
[ -z "$nines_b" ] || echo "nines-b: $nines_b"
echo "bench/lb.sh: wrk -t1 -c${CONNECTIONS:-50} -d${DURATION:-10}s, $rounds interleaved rounds, one proxy thread each"
for round in $(seq "$rounds"); do
  echo "round $round"
  wrk_run nines "$nines_pid" "http://$host:19002/"
  wrk_run haproxy "$haproxy_pid" "http://$host:19003/"
  wrk_run nginx "$nginx_worker" "http://$host:19004/"
  [ -z "$nines_b" ] || wrk_run nines-b "$nines_b_pid" "http://$host:19005/"
  if [ "$h2" != 0 ]; then
    h2load_run "h2 nines" "$nines_pid" "http://$host:19006/"
    h2load_run "h2 haproxy" "$haproxy_pid" "http://$host:19007/"
    h2load_run "h2 nginx" "$nginx_worker" "http://$host:19008/"
    [ "$nines_b_h2" = 0 ] || h2load_run "h2 nines-b" "$nines_b_pid" "http://$host:19009/"
  fi
done
names=(nines haproxy nginx)
[ -z "$nines_b" ] || names+=(nines-b)
if [ "$h2" != 0 ]; then
  names+=("h2 nines" "h2 haproxy" "h2 nginx")
  [ "$nines_b_h2" = 0 ] || names+=("h2 nines-b")
fi
echo
echo "medians (h2 rows: the latency column is h2load's mean, not p99):"
print_medians "${names[@]}"
echo
print_ratio() {  # A B [LATENCY_LABEL]
  printf "%-16s req/s %.2fx, ${3:-p99} %.2fx, req/CPU-s %.2fx\n" "$1/$2:" \
    "$(ratio "${rps[$1]}" "${rps[$2]}")" "$(ratio "${p99[$1]}" "${p99[$2]}")" \
    "$(ratio "${rpc[$1]}" "${rpc[$2]}")"
}
print_ratio nines haproxy
print_ratio nines nginx
if [ "$h2" != 0 ]; then
  print_ratio "h2 nines" "h2 haproxy" mean
  print_ratio "h2 nines" "h2 nginx" mean
fi
if [ -n "$nines_b" ]; then
  print_ratio nines-b haproxy
  print_ratio nines-b nginx
  print_ratio nines nines-b
fi
