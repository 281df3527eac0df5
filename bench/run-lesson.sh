#!/usr/bin/env bash
# Time to verdict of the lesson's Part-3 scenario, cold (clusters and Argo CD
# started from nothing), split by phase. Aim on kwok: under 60 s.
#
#   bench/run-lesson.sh                 3 runs of target/release/gitops-e2e on kwok
#   RUNS=5 BIN=/path/to/gitops-e2e bench/run-lesson.sh   another binary (e.g. an older build)
#   REUSE=1 bench/run-lesson.sh                          warm: --reuse, after one run that
#                                                        makes the environment (not counted);
#                                                        the kept environment is removed after
#   PROVIDER=kind RUNS=1 bench/run-lesson.sh             on kind (needs `make kind-status` ready;
#                                                        uses the locally built node image and
#                                                        tests/kind/host-patches.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/gitops-e2e}
runs=${RUNS:-3}
provider=${PROVIDER:-kwok}
case $provider in
  kwok) ;;
  kind)
    export GITOPS_E2E_KIND_NODE_IMAGE=${GITOPS_E2E_KIND_NODE_IMAGE:-gitops-e2e.local/kind-node:v1.36.3}
    export GITOPS_E2E_KIND_PATCHES=${GITOPS_E2E_KIND_PATCHES:-tests/kind/host-patches.yaml}
    ;;
  *)
    echo "PROVIDER=$provider: expected kwok or kind" >&2
    exit 2
    ;;
esac
[[ -n ${BIN:-} || -x $bin ]] || cargo build --release --quiet
dir=$(mktemp -d)
extra=()
if [[ -n ${REUSE:-} ]]; then
  # A TMPDIR of its own: the kept environment is this script's alone.
  mkdir "$dir/tmp"
  export TMPDIR=$dir/tmp
  extra=(--reuse)
  trap '"$bin" clean >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
  CI=true "$bin" run scenarios/lesson/03-constraints.yaml --provider "$provider" --reuse \
    --diagnostics "$dir/diagnostics" >/dev/null 2>&1 || true
else
  trap 'rm -rf "$dir"' EXIT
fi
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  code=0
  CI=true "$bin" run scenarios/lesson/03-constraints.yaml --provider "$provider" "${extra[@]}" --json "$dir/$i.json" \
    --diagnostics "$dir/diagnostics" >/dev/null 2>&1 || code=$?
  end=$(date +%s%N)
  echo "$code $(((end - start) / 1000000))" >"$dir/$i.wall"
done
python3 - "$dir" "$runs" "$bin" "$provider${REUSE:+ (warm, --reuse)}" <<'PY'
import json, statistics, sys
from pathlib import Path
d, runs, bin_, provider = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
walls, phases, steps, codes = [], {}, {}, []
for i in range(1, runs + 1):
    code, wall = (int(x) for x in (d / f"{i}.wall").read_text().split())
    codes.append(code)
    walls.append(wall)
    report = json.loads((d / f"{i}.json").read_text())
    for p in report.get("phases", []):
        phases.setdefault(p["name"], []).append(p["duration_ms"])
    for s in report.get("steps", []):
        steps.setdefault(s["step"], []).append(s["duration_ms"])
med = lambda xs: statistics.median(xs) / 1000
print(f"lesson-03-constraints on {provider} with {bin_}: exits {codes}")
print(f"  wall clock (process start to exit, teardown included): median {med(walls):.1f} s,"
      f" min {min(walls) / 1000:.1f} s, max {max(walls) / 1000:.1f} s over {runs} runs")
teardowns = phases.get("teardown", [0] * len(walls))
verdicts = [w - t for w, t in zip(walls, teardowns)]
print(f"  to the verdict (wall clock less teardown): median {med(verdicts):.1f} s,"
      f" min {min(verdicts) / 1000:.1f} s, max {max(verdicts) / 1000:.1f} s")
for name, xs in phases.items():
    print(f"  {name:24} {med(xs):6.1f} s (median)")
for name, xs in steps.items():
    print(f"  step {name:19} {med(xs):6.1f} s (median)")
PY
