#!/usr/bin/env bash
# clang-tidy (the repo's .clang-tidy) on the C++ files of src/ that changed,
# with the compile commands of a configured build (make lint uses the release
# one). "Changed" is relative to NINES_LINT_BASE if set; otherwise to where
# HEAD left origin/main (or main); on main itself, to HEAD's first parent, so
# CI on a fresh clone checks what the last merge brought. A changed header
# brings the .cc of the same name. NINES_LINT_ALL=1 checks every file.
# usage: scripts/tidy.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: scripts/tidy.sh BUILD_DIR}
cd "$(dirname "$0")/.."
if [ ! -f "$build/compile_commands.json" ]; then
  echo "tidy: $build/compile_commands.json missing: configure the build first (make build)" >&2
  exit 1
fi

if [ "${NINES_LINT_ALL:-0}" = 1 ]; then
  mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.cpp')
  what="all files"
else
  base=${NINES_LINT_BASE:-}
  if [ -z "$base" ]; then
    for ref in origin/main main; do
      if git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
        base=$(git merge-base HEAD "$ref")
        break
      fi
    done
    if [ -z "$base" ] || [ "$base" = "$(git rev-parse HEAD)" ]; then
      base=$(git rev-parse -q --verify 'HEAD^1' || git hash-object -t tree /dev/null)
    fi
  fi
  mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- 'src/*.cc' 'src/*.cpp' 'src/*.h')
  files=()
  for f in "${changed[@]}"; do
    case "$f" in
      *.h) [ -f "${f%.h}.cc" ] && files+=("${f%.h}.cc") ;;
      *) files+=("$f") ;;
    esac
  done
  if [ ${#files[@]} -gt 0 ]; then
    mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)
  fi
  what="files changed since $(git rev-parse --short "$base" 2>/dev/null || echo "$base")"
fi

echo "tidy: ${#files[@]} $what"
[ ${#files[@]} -eq 0 ] && exit 0
# GCC-only warning flags in the compile commands are not clang's business.
printf '%s\n' "${files[@]}" |
  xargs -P "${NINES_LINT_JOBS:-2}" -n 1 clang-tidy -p "$build" --quiet \
    --extra-arg=-Wno-unknown-warning-option
echo "tidy: passed"
