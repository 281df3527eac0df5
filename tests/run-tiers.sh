#!/usr/bin/env bash
# Runs every test tier. The live tier (kwok clusters, Argo CD's real
# components) is `#[ignore]`d in the sources with its reason; it is included
# when `gitops-e2e doctor` says live runs can start here, so that on a machine
# without the toolchain those tests show as ignored, never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
"$cargo" build --locked --quiet --bin gitops-e2e
args=()
if target/debug/gitops-e2e doctor; then
  echo "live tier: included"
  # The fidelity re-recording is a tool, not a test: tests/fidelity/record.sh.
  args=(-- --include-ignored --skip rerecord_from_argo_cd)
else
  echo "live tier: ignored (reason above; build it with \`make toolchain\`)"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$cargo" test --locked "${args[@]}" 2>&1 | tee "$log" || status=$?
# One line over every test binary's summary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END {
  printf "all tiers: %d passed, %d failed, %d ignored\n", p, f, i }' "$log"
exit "$status"
