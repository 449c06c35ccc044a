#!/usr/bin/env bash
# Side-by-side TLS benchmark of nines lb, HAProxy and nginx, each one thread
# terminating TLS (ECDSA P-256 certificate, TLS 1.3) in front of the same
# plain nginx backend. Three loads, each in interleaved rounds:
#   tls-keepalive  wrk over keep-alive HTTPS connections
#   tls-new-full   wrk with "Connection: close": a full handshake per request
#   tls-resumed    openssl s_time -reuse: one connection at a time, each
#                  resuming the session with a ticket
# Prints medians of requests/s and requests per CPU-second of the proxy
# process, and the ratios nines/HAProxy and nines/nginx per load.
#
# usage: bench/lb_tls.sh [NINES_BIN]
#   env: ROUNDS=3 DURATION=10 CONNECTIONS=50 HOST=127.0.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nines=${1:-$here/build/release/nines}
rounds=${ROUNDS:-3}
host=${HOST:-127.0.0.1}
duration=${DURATION:-10}
source "$here/bench/lib.sh"
need wrk haproxy nginx bc curl openssl
[ -x "$nines" ] || { echo "bench: $nines not built (make build)"; exit 1; }

BACKEND=$host:19101
start_nginx_backend $BACKEND
(cd "$bench_dir" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout site.key \
    -out site.pem -days 30 -subj /CN=bench.test -addext subjectAltName=DNS:bench.test 2>/dev/null &&
  cat site.pem site.key >site-haproxy.pem)

cat >"$bench_dir/nines.toml" <<CONF
listen = "$host:19112"
admin = "$host:19122"
balance = "round_robin"
threads = 1
[tls]
listen = "$host:19102"
[[tls.certificate]]
cert = "site.pem"
key = "site.key"
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
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind $host:19103 ssl crt $bench_dir/site-haproxy.pem alpn http/1.1
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
  server { listen $host:19104 ssl; ssl_certificate $bench_dir/site.pem;
    ssl_certificate_key $bench_dir/site.key; ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF

"$nines" lb --config "$bench_dir/nines.toml" --log-level warn & nines_pid=$!; pids+=($!)
haproxy -f "$bench_dir/haproxy.cfg" -q & haproxy_pid=$!; pids+=($!)
nginx -c "$bench_dir/nginx-proxy.conf" -e "$bench_dir/proxy.err" & nginx_pid=$!; pids+=($!)
for p in 19102 19103 19104; do
  for _ in $(seq 200); do
    curl -sk -o /dev/null "https://$host:$p/" && break
    sleep 0.05
  done
done
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

# s_time_run NAME PID PORT: resumed handshakes (one GET each), sequentially.
s_time_run() {
  local name=$1 pid=$2 port=$3 before after out total cpu_s r per_cpu
  before=$(cpu_ticks "$pid")
  out=$(openssl s_time -connect "$host:$port" -reuse -time "$duration" -www / 2>&1 || true)
  after=$(cpu_ticks "$pid")
  total=$(echo "$out" | awk '/connections in/ && /real seconds/ {print $1; exit}')
  r=$(echo "$out" | awk '/connections in/ && /real seconds/ {print ($4 > 0 ? $1 / $4 : 0); exit}')
  [ -n "$total" ] || { total=0; r=0; }
  cpu_s=$(echo "($after - $before) / $hz" | bc -l)
  per_cpu=$(echo "$total / ($cpu_s + 0.000001)" | bc -l)
  rps[$name]+="$r "
  p99[$name]+="0 "
  rpc[$name]+="$per_cpu "
  printf "  %-22s %10.0f conn/s %28.0f conn/CPU-s\n" "$name" "$r" "$per_cpu"
}

echo "nines: $nines"
echo "bench/lb_tls.sh: ${duration}s per run, $rounds interleaved rounds, one proxy thread each"
for round in $(seq "$rounds"); do
  echo "round $round"
  wrk_run nines/keepalive "$nines_pid" "https://$host:19102/"
  wrk_run haproxy/keepalive "$haproxy_pid" "https://$host:19103/"
  wrk_run nginx/keepalive "$nginx_worker" "https://$host:19104/"
  wrk_run nines/new-full "$nines_pid" "https://$host:19102/" -H "Connection: close"
  wrk_run haproxy/new-full "$haproxy_pid" "https://$host:19103/" -H "Connection: close"
  wrk_run nginx/new-full "$nginx_worker" "https://$host:19104/" -H "Connection: close"
  s_time_run nines/resumed "$nines_pid" 19102
  s_time_run haproxy/resumed "$haproxy_pid" 19103
  s_time_run nginx/resumed "$nginx_worker" 19104
done
echo
echo "medians:"
print_medians nines/keepalive haproxy/keepalive nginx/keepalive nines/new-full haproxy/new-full \
  nginx/new-full nines/resumed haproxy/resumed nginx/resumed
echo
for load in keepalive new-full resumed; do
  for other in haproxy nginx; do
    printf "%-26s req/s %.2fx, req/CPU-s %.2fx\n" "nines/$other $load:" \
      "$(ratio "${rps[nines/$load]}" "${rps[$other/$load]}")" \
      "$(ratio "${rpc[nines/$load]}" "${rpc[$other/$load]}")"
  done
done
