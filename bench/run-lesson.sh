#!/usr/bin/env bash
# Time to verdict of the lesson's Part-3 scenario on kwok, cold (clusters and
# Argo CD started from nothing), split by phase. Aim: under 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/gitops-e2e
[[ -x $bin ]] || cargo build --release --quiet
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s%N)
code=0
CI=true "$bin" run scenarios/lesson/03-constraints.yaml --provider kwok --json "$out" >/dev/null 2>&1 || code=$?
end=$(date +%s%N)
python3 - "$out" "$code" "$(((end - start) / 1000000))" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
code, wall = int(sys.argv[2]), int(sys.argv[3])
print(f"lesson-03-constraints on kwok: exit {code}, {wall / 1000:.1f} s wall clock (process start to exit, teardown included)")
for p in report.get("phases", []):
    print(f"  {p['name']:24} {p['duration_ms'] / 1000:6.1f} s")
for s in report.get("steps", []):
    print(f"  step {s['step']:19} {s['duration_ms'] / 1000:6.1f} s  {len(s['checks'])} checks")
PY
