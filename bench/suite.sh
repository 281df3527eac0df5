#!/usr/bin/env bash
# Many scenarios in one invocation: the three lesson scenarios and two e2e
# scenarios on kwok, run one by one (five processes, one after another)
# against one `gitops-e2e run --jobs 2` of all five, and against
# `--jobs 2 --reuse` (starting with no kept environment; removed after). Prints the wall time of
# each way, median and spread of RUNS runs. Exit codes are expected to be
# non-zero (the lesson's drafts and the e2e scenarios fail on purpose); the
# same verdicts both ways is what is checked.
#
#   bench/suite.sh           RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/gitops-e2e}
runs=${RUNS:-3}
[[ -n ${BIN:-} || -x $bin ]] || cargo build --release --quiet
scenarios=(scenarios/lesson/01-first-draft.yaml scenarios/lesson/02-refined.yaml
  scenarios/lesson/03-constraints.yaml tests/e2e/wrong-replicas.yaml tests/e2e/matrix-repaired.yaml)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }
for i in $(seq 1 "$runs"); do
  start=$(ms)
  codes=()
  for s in "${scenarios[@]}"; do
    code=0
    CI=true "$bin" run "$s" --provider kwok --diagnostics "$dir/d" >/dev/null 2>&1 || code=$?
    codes+=("$code")
  done
  echo "$(($(ms) - start)) ${codes[*]}" >>"$dir/serial"
  start=$(ms)
  code=0
  CI=true "$bin" run "${scenarios[@]}" --provider kwok --jobs 2 --json "$dir/suite-$i.json" \
    --diagnostics "$dir/d" >/dev/null 2>&1 || code=$?
  echo "$(($(ms) - start)) $code" >>"$dir/jobs2"
  mkdir -p "$dir/tmp"
  start=$(ms)
  code=0
  CI=true TMPDIR="$dir/tmp" "$bin" run "${scenarios[@]}" --provider kwok --jobs 2 --reuse \
    --diagnostics "$dir/d" >/dev/null 2>&1 || code=$?
  echo "$(($(ms) - start)) $code" >>"$dir/reuse"
  TMPDIR="$dir/tmp" "$bin" clean >/dev/null 2>&1 || true
done
python3 - "$dir" <<'PY'
import json, statistics, sys
from pathlib import Path
d = Path(sys.argv[1])
def walls(name):
    rows = [l.split() for l in (d / name).read_text().splitlines()]
    return [int(r[0]) / 1000 for r in rows], [r[1:] for r in rows]
def spread(xs):
    return f"{statistics.median(xs):6.1f} s ({min(xs):.1f}–{max(xs):.1f})"
serial, serial_codes = walls("serial")
jobs2, jobs2_codes = walls("jobs2")
print(f"five scenarios on kwok, {len(serial)} run(s) each way; median (min–max)")
print(f"  one by one (5 processes)   {spread(serial)}   exit codes {serial_codes[0]}")
print(f"  run --jobs 2 (1 process)   {spread(jobs2)}   exit code  {jobs2_codes[0]}")
reuse, reuse_codes = walls("reuse")
print(f"  run --jobs 2 --reuse        {spread(reuse)}   exit code  {reuse_codes[0]}")
print(f"  --jobs 2 takes {statistics.median(jobs2) / statistics.median(serial):.2f}x the time of one by one,"
      f" --jobs 2 --reuse {statistics.median(reuse) / statistics.median(serial):.2f}x")
PY
