#!/usr/bin/env bash
# Installs the Debian packages that nines needs. Without arguments: what
# building and testing need (make build, make test, make demo). With --bench:
# also the benchmark anchors (make bench). Idempotent and quiet when
# everything is already present. Services that the packages would start on
# their own (nginx, redis, etcd, haproxy, gdnsd) are kept from starting:
# tests and benchmarks start their own instances by PID.
# usage: scripts/deps.sh [--bench]
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build ccache g++ clang clang-format clang-tidy libclang-rt-14-dev pkg-config
  libasio-dev libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev libssl-dev libnghttp2-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  # tools the tests drive: redis-cli/redis-benchmark, dig, iptables, ip, ps/kill,
  # faketime (clock jumps in make chaos), curl (TLS and SNI checks), and
  # redis-server (the differential test's reference), python3-redis (the
  # client library test: Debian's /usr/bin/python3 runs it)
  redis-tools dnsutils iptables iproute2 procps psmisc faketime curl redis-server python3-redis
  # browser tests (dashboard, drill report): Debian's Chromium
  chromium
)
# make bench: the anchors nines is measured against, and the load generators.
BENCH_PACKAGES=(
  wrk haproxy nginx etcd-server etcd-client gdnsd dnsperf bc python3
  nghttp2-client
)
case "${1:-}" in
  "") ;;
  --bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
  *)
    echo "usage: $0 [--bench]" >&2
    exit 2
    ;;
esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# The machine's Node.js is used when present; Debian's otherwise.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

install_packages() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}; run this script as root (sudo $0)" >&2
    exit 1
  fi

  echo "deps: installing ${missing[*]}"
  # Keep packaged daemons from starting during installation.
  policy=/usr/sbin/policy-rc.d
  had_policy=0
  [ -e "$policy" ] && had_policy=1
  if [ $had_policy -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
  fi
  trap '[ $had_policy -eq 0 ] && rm -f "$policy"' EXIT

  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Packaged daemons that started anyway are stopped: nines' tests own these ports.
  for svc in nginx redis-server haproxy etcd gdnsd; do
    (command -v service >/dev/null && service "$svc" stop >/dev/null 2>&1) || true
  done
  echo "deps: done"
}

# Playwright's driver (playwright-core, from the npm registry) runs the browser
# tests against Debian's Chromium; it downloads no browser of its own.
install_browser_driver() {
  local dir="$ROOT/tests/browser"
  [ -f "$dir/node_modules/playwright-core/package.json" ] && return 0
  echo "deps: installing playwright-core into tests/browser"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] || install_packages
install_browser_driver
