#!/usr/bin/env bash
# The demo: the whole blueprint on this machine (`nines up`, docs/up.md) with
# its dashboard on http://127.0.0.1:9900/, until Ctrl-C.
# usage: examples/demo.sh [path/to/nines] [blueprint.toml] [--fresh] [--dir RUN]
set -euo pipefail
nines=${1:-build/release/nines}
shift || true
exec "$nines" up "$@"
