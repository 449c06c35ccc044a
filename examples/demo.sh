#!/usr/bin/env bash
# make demo: the load balancer in front of three local app servers and a
# backup, until Ctrl-C. Try: curl 127.0.0.1:8080/ ; curl 127.0.0.1:9901/status ;
# kill one app server and watch the traffic move.
set -euo pipefail
nines=${1:-build/release/nines}
backend=$(dirname "$nines")/tests/support/test_backend
here=$(cd "$(dirname "$0")" && pwd)
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped everything"
}
trap cleanup INT TERM EXIT
for i in 1 2 3 4; do
  name=app-$i
  [ $i = 4 ] && name=spare
  "$backend" --listen 127.0.0.1:900$i --name $name & pids+=($!)
done
"$nines" lb --config "$here/lb.toml" & pids+=($!)
sleep 0.5
cat <<MSG

nines demo: load balancer on http://127.0.0.1:8080/ (admin http://127.0.0.1:9901/status)
  app servers app-1..3 on 127.0.0.1:9001-9003 (PIDs ${pids[0]} ${pids[1]} ${pids[2]}), backup on :9004
  try:  curl 127.0.0.1:8080/           which server answered
        kill ${pids[0]}                   app-1 dies; no request fails, /status shows it down
        curl 127.0.0.1:9901/metrics
Ctrl-C stops everything.
MSG
wait "${pids[-1]}"
