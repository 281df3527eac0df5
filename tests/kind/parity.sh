#!/usr/bin/env bash
# Runs each failure scenario of tests/e2e/ (and the lesson's Part 3) on kwok
# and on kind and prints, side by side, the exit code and the steps whose
# checks failed: the two providers must fail the same scenarios at the same
# steps. Slow on kind (about 2.5 min a scenario on two cores); prints a table
# and exits 1 when a row differs.
#
#   tests/kind/parity.sh                       every scenario
#   tests/kind/parity.sh tests/e2e/x.yaml ...  these
#   BIN=target/release/gitops-e2e tests/kind/parity.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-target/release/gitops-e2e}
[[ -x $bin ]] || cargo build --release --quiet
tests/kind/status.sh >/dev/null || {
  echo "kind environment not ready: $(tests/kind/status.sh)" >&2
  exit 3
}
tests/kind/docker-env.sh
export GITOPS_E2E_KIND_NODE_IMAGE=${GITOPS_E2E_KIND_NODE_IMAGE:-gitops-e2e.local/kind-node:v1.36.3}
export GITOPS_E2E_KIND_PATCHES=${GITOPS_E2E_KIND_PATCHES:-tests/kind/host-patches.yaml}
if [[ $# -gt 0 ]]; then
  scenarios=("$@")
else
  scenarios=(scenarios/lesson/03-constraints.yaml scenarios/lesson/01-first-draft.yaml
    tests/e2e/matrix-repaired.yaml tests/e2e/missing-key.yaml tests/e2e/missing-pull-secret.yaml
    tests/e2e/prod-without-agents-nodes.yaml tests/e2e/wrong-replicas.yaml)
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# exit code and failed steps of one run, as "CODE step,step"
verdict() {
  python3 - "$1" "$2" <<'PY'
import json, sys
code, path = sys.argv[1], sys.argv[2]
try:
    report = json.load(open(path))
except Exception:
    print(f"{code} (no report)")
    sys.exit()
failed = [s["step"] for s in report.get("steps", [])
          if any(c["outcome"]["status"] == "failed" for c in s.get("checks", []))]
stopped = report.get("stopped")
extra = f" stopped: {stopped['reason'][:60]}" if stopped else ""
print(f"{code} {','.join(failed) or '-'}{extra}")
PY
}

differ=0
printf '%-48s %-28s %-28s %s\n' scenario kwok kind seconds-on-kind
for s in "${scenarios[@]}"; do
  row=()
  for p in kwok kind; do
    code=0
    start=$(date +%s)
    CI=true "$bin" run "$s" --provider "$p" --json "$dir/$p.json" \
      --diagnostics "$dir/diagnostics" >"$dir/$p.out" 2>&1 || code=$?
    took=$(($(date +%s) - start))
    row+=("$(verdict "$code" "$dir/$p.json")")
    rm -f "$dir/$p.json"
  done
  mark=""
  [[ ${row[0]} == "${row[1]}" ]] || {
    mark="  <- differs"
    differ=1
  }
  printf '%-48s %-28s %-28s %s%s\n' "$s" "${row[0]}" "${row[1]}" "$took" "$mark"
done
exit "$differ"
