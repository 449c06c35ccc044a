# Shared helpers for the bench/ scripts: process cleanup, waiting for ports,
# CPU time of a process, wrk runs with parsed results, medians.
# Source it; it defines cleanup on EXIT for the PIDs in the `pids` array.

pids=()
bench_dir=$(mktemp -d /tmp/nines-bench.XXXXXX)
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$bench_dir"
}
trap bench_cleanup EXIT

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
  done
}

wait_http() {  # ADDRESS [PATH]
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://$1${2:-/}" && return 0
    sleep 0.05
  done
  echo "bench: nothing answers on $1"; exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

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

# wrk_run NAME PID URL [WRK_ARGS...]: runs wrk and appends to rps[NAME], p99[NAME], rpc[NAME].
declare -A rps p99 rpc
wrk_run() {
  local name=$1 pid=$2 url=$3
  shift 3
  local before after out total r req99 cpu_s per_cpu
  before=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c"${CONNECTIONS:-50}" -d"${DURATION:-10}s" --latency "$@" "$url")
  after=$(cpu_ticks "$pid")
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  req99=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
  cpu_s=$(echo "($after - $before) / $hz" | bc -l)
  per_cpu=$(echo "$total / ($cpu_s + 0.000001)" | bc -l)
  rps[$name]+="$r "
  p99[$name]+="$req99 "
  rpc[$name]+="$per_cpu "
  printf "  %-16s %10.0f req/s  p99 %8.2f ms  %10.0f req/CPU-s\n" "$name" "$r" "$req99" "$per_cpu"
}

# h2load_run NAME PID URL: the same for HTTP/2 (h2load, cleartext prior
# knowledge). h2load prints no percentiles: the latency kept is the mean.
h2load_run() {
  local name=$1 pid=$2 url=$3
  local before after out total r mean cpu_s per_cpu
  before=$(cpu_ticks "$pid")
  out=$(h2load -t1 -c"${H2_CONNECTIONS:-10}" -m"${H2_STREAMS:-5}" -D"${DURATION:-10}" "$url")
  after=$(cpu_ticks "$pid")
  total=$(echo "$out" | awk '/^requests:/ {print $8}')
  r=$(echo "$out" | awk '/^finished in/ {print $4}')
  mean=$(to_ms "$(echo "$out" | awk '/^time for request:/ {print $6}')")
  cpu_s=$(echo "($after - $before) / $hz" | bc -l)
  per_cpu=$(echo "$total / ($cpu_s + 0.000001)" | bc -l)
  rps[$name]+="$r "
  p99[$name]+="$mean "
  rpc[$name]+="$per_cpu "
  printf "  %-16s %10.0f req/s  mean %7.2f ms  %10.0f req/CPU-s\n" "$name" "$r" "$mean" "$per_cpu"
}

ratio() { echo "$(echo "${1}" | median) / $(echo "${2}" | median)" | bc -l; }

print_medians() {  # NAMES...
  printf "  %-16s %12s %12s %16s\n" run "req/s" "p99 ms" "req/CPU-s"
  for name in "$@"; do
    printf "  %-16s %12.0f %12.2f %16.0f\n" "$name" "$(echo "${rps[$name]}" | median)" \
      "$(echo "${p99[$name]}" | median)" "$(echo "${rpc[$name]}" | median)"
  done
}

# An nginx that answers 200 "ok" to everything: the common backend.
start_nginx_backend() {  # ADDRESS
  cat >"$bench_dir/backend.conf" <<CONF
worker_processes 1; daemon off; pid $bench_dir/backend.pid; error_log $bench_dir/backend.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen $1 reuseport; location / { return 200 "ok\n"; } } }
CONF
  nginx -c "$bench_dir/backend.conf" -e "$bench_dir/backend.err" & pids+=($!)
  wait_http "$1"
}
