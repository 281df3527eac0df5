#!/usr/bin/env bash
# Times `gitops-e2e plan` (the whole process: start, read, expand, lint,
# render) on a 1,000-element list ApplicationSet, a 100 x 10 matrix and a
# 1,000-element goTemplate list with Sprig calls and a templatePatch.
# Aim: under 100 ms each. Prints the median and the slowest of N runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/gitops-e2e}
[[ -x $bin ]] || cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 bench/gen-appsets.py "$dir"

for case in list-1000 matrix-100x10 gotemplate-sprig-1000; do
  file=$dir/$case.yaml
  apps=$("$bin" plan "$file" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["applications"]))' || true)
  times=()
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$bin" plan "$file" --format json >/dev/null || true
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  median=${sorted[$((runs / 2))]}
  max=${sorted[$((runs - 1))]}
  printf '%-14s %5s applications  median %6.1f ms  max %6.1f ms  (%d runs)\n' \
    "$case" "$apps" "$(awk -v t="$median" 'BEGIN { print t / 1000 }')" \
    "$(awk -v t="$max" 'BEGIN { print t / 1000 }')" "$runs"
done
