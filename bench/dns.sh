#!/usr/bin/env bash
# bench/dns.sh: `nines dns` against gdnsd 3 (its geoip plugin with `nets`
# and http_status checks: the same three regions, client networks, failover
# order and health endpoints), one server thread each, the same dnsperf load
# one after the other. Prints queries per second for each and the ratio.
#
# usage: bench/dns.sh [NINES_BIN]      env: SECONDS_PER_RUN (10), ROUNDS (2),
#                                           CLIENTS (4), ECS (1: also an ECS run)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
nines=${1:-$here/build/release/nines}
seconds=${SECONDS_PER_RUN:-10}
rounds=${ROUNDS:-2}
clients=${CLIENTS:-4}
with_ecs=${ECS:-1}
for tool in gdnsd dnsperf python3; do
  command -v "$tool" >/dev/null || { echo "dns bench: $tool is not installed (scripts/deps.sh)"; exit 2; }
done
[ -x "$nines" ] || { echo "dns bench: $nines not built (make build)"; exit 2; }

work=$(mktemp -d /tmp/nines-dns-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
nines_port=$(free_port)
gdnsd_port=$(free_port)
admin_port=$(free_port)
health_port=$(free_port)

# Health endpoints: one per region's load balancer address.
mkdir -p "$work/www" && echo ok >"$work/www/healthz"
for n in 1 2 3; do
  python3 -m http.server "$health_port" --bind "127.0.$n.1" --directory "$work/www" \
    >/dev/null 2>&1 &
  pids+=($!)
done

cat >"$work/dns.toml" <<EOF
listen = "127.0.0.1:$nines_port"
admin = "127.0.0.1:$admin_port"
zone = "shop.test."
ttl = 10
names = ["www"]
default_location = [38.9, -77.0]

[health]
path = "/healthz"
interval_ms = 2000
timeout_ms = 1000
rise = 2
fall = 2

[[region]]
name = "us-east"
location = [38.9, -77.0]
addresses = ["127.0.1.1"]
check_port = $health_port
networks = ["10.1.0.0/16"]

[[region]]
name = "us-west"
location = [37.4, -122.1]
addresses = ["127.0.2.1"]
check_port = $health_port
networks = ["10.2.0.0/16"]

[[region]]
name = "eu-west"
location = [53.3, -6.3]
addresses = ["127.0.3.1"]
check_port = $health_port
networks = ["10.3.0.0/16"]

[[nameserver]]
name = "ns1"
address = "127.0.0.1"

[[nameserver]]
name = "ns2"
address = "127.0.0.2"
EOF

# gdnsd: geoip plugin, no GeoIP database, `nets` giving each network its
# datacenters nearest first (the order nines computes from the locations).
mkdir -p "$work/gdnsd/zones" "$work/gdnsd/run" "$work/gdnsd/state"
cat >"$work/gdnsd/config" <<EOF
options => {
  listen => [ 127.0.0.1:$gdnsd_port ]
  udp_threads => 1
  tcp_threads => 1
  run_dir => $work/gdnsd/run
  state_dir => $work/gdnsd/state
}
service_types => {
  lbcheck => { plugin => http_status, port => $health_port, url_path => /healthz,
               interval => 2, timeout => 1, down_thresh => 2, ok_thresh => 2, up_thresh => 2 }
}
plugins => {
  geoip => {
    maps => {
      regions => {
        datacenters => [ us-east, us-west, eu-west ]
        nets => {
          10.1.0.0/16 => [ us-east, us-west, eu-west ]
          10.2.0.0/16 => [ us-west, us-east, eu-west ]
          10.3.0.0/16 => [ eu-west, us-east, us-west ]
        }
      }
    }
    resources => {
      shop => {
        map => regions
        service_types => lbcheck
        dcmap => { us-east => 127.0.1.1, us-west => 127.0.2.1, eu-west => 127.0.3.1 }
      }
    }
  }
}
EOF
cat >"$work/gdnsd/zones/shop.test" <<'EOF'
$TTL 10
@     SOA ns1 hostmaster 1 3600 600 86400 10
@     NS  ns1
@     NS  ns2
ns1   A   127.0.0.1
ns2   A   127.0.0.2
@     10  DYNA geoip!shop
www   10  DYNA geoip!shop
EOF

# The query mix: policy answers at the apex and www, SOA, NS and NXDOMAIN.
cat >"$work/queries.txt" <<'EOF'
shop.test A
www.shop.test A
shop.test A
shop.test SOA
nope.shop.test A
shop.test NS
EOF

"$nines" dns --config "$work/dns.toml" --log-level warn >"$work/nines.log" 2>&1 &
nines_pid=$!
pids+=($nines_pid)
gdnsd -c "$work/gdnsd" -f start >"$work/gdnsd.log" 2>&1 &
gdnsd_pid=$!
pids+=($gdnsd_pid)

wait_answer() {
  for _ in $(seq 1 100); do
    if dig @127.0.0.1 -p "$1" shop.test SOA +time=1 +tries=1 +short 2>/dev/null | grep -q ns1; then
      return 0
    fi
    sleep 0.1
  done
  echo "dns bench: nothing answers on port $1"; cat "$work/nines.log" "$work/gdnsd.log"; exit 1
}
wait_answer "$nines_port"
wait_answer "$gdnsd_port"
# Both must see every health endpoint up: a client of each region gets its own.
for _ in $(seq 1 300); do
  ok=1
  for n in 1 2 3; do
    for port in "$nines_port" "$gdnsd_port"; do
      got=$(dig @127.0.0.1 -p "$port" shop.test A +subnet=10.$n.0.0/24 +short +time=1 +tries=1)
      [ "$got" = "127.0.$n.1" ] || ok=0
    done
  done
  [ $ok = 1 ] && break
  sleep 0.1
done
[ $ok = 1 ] || { echo "dns bench: the servers do not see every region up"; exit 1; }
echo "both servers answer every region's clients with that region"

# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# Runs dnsperf against one server; prints "QPS CPU_US_PER_QUERY". The CPU
# cost per query is the steadier number on a shared, noisy machine.
perf() {
  local port=$1 pid=$2
  shift 2
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$seconds" -c "$clients" -T 1 \
    -Q 10000000 "$@" 2>&1)
  after=$(cpu_ticks "$pid")
  echo "$out" | awk -v t=$((after - before)) -v hz="$ticks_per_second" '
    /Queries completed/ {done = $3}
    /Queries per second/ {qps = $4}
    END {printf "%.0f %.2f\n", qps, (done > 0 ? t / hz * 1e6 / done : 0)}'
}

run_mix() {
  local label=$1
  shift
  local rows=""
  for round in $(seq 1 "$rounds"); do
    local r1 r2
    r1=$(perf "$nines_port" "$nines_pid" "$@")
    r2=$(perf "$gdnsd_port" "$gdnsd_pid" "$@")
    echo "  $label, round $round: nines ${r1% *} qps (${r1#* } us CPU/query), gdnsd ${r2% *} qps (${r2#* } us CPU/query)"
    rows="$rows$r1 $r2;"
  done
  python3 - "$label" "$rows" <<'PY'
import sys
label, rows = sys.argv[1], [r.split() for r in sys.argv[2].split(";") if r.strip()]
n = sum(float(r[0]) for r in rows) / len(rows); g = sum(float(r[2]) for r in rows) / len(rows)
nc = sum(float(r[1]) for r in rows) / len(rows); gc = sum(float(r[3]) for r in rows) / len(rows)
print(f"{label}: nines dns {n:,.0f} qps, gdnsd {g:,.0f} qps, ratio {n / g:.2f}x; "
      f"CPU per query nines {nc:.2f} us, gdnsd {gc:.2f} us (queries per CPU-second ratio {gc / nc:.2f}x)")
PY
}

echo "dnsperf: $seconds s per run, $clients clients, 1 thread; servers 1 thread each"
run_mix "mix (A, www A, SOA, NS, NXDOMAIN)"
if [ "$with_ecs" = 1 ]; then
  run_mix "same mix with ECS 10.2.0.0/24" -E 8:000118000a0200
fi
