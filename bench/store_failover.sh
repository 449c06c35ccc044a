#!/usr/bin/env bash
# Leader-kill failover of `nines store`, repeated (issue 5 asks for 10): runs the
# integration test's kill loop with NINES_STORE_FAILOVER_ROUNDS and prints the
# failover time of each round (kill -> first acknowledged write sent after it).
# Usage: bench/store_failover.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build/release}
rounds=${2:-10}
export NINES_BIN="$(cd "$build" && pwd)/nines"
export NINES_STORE_FAILOVER_ROUNDS=$rounds
"$build/tests/store/store_integration_test" --gtest_filter='*LeaderKill*' | grep -E 'failover round|OK|FAILED'
