#!/usr/bin/env bash
# Runs every test tier. The live tier (kwok clusters, Argo CD's real
# components) and the kind tier (real kind clusters, Argo CD as pods) are
# `#[ignore]`d in the sources with their reasons; each is included when it
# can run here, so that on a machine without the toolchain or the kind
# environment those tests show as ignored, never as passed.
#   live: `gitops-e2e doctor` says live runs can start (`make toolchain`).
#   kind: tests/kind/status.sh says ready (`make kind-images`); the Docker
#         engine is started here if it is not running, and stopped again.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
"$cargo" build --locked --quiet --bin gitops-e2e
log=$(mktemp)
started_docker=false
cleanup() {
  rm -f "$log"
  if $started_docker; then
    tests/kind/docker-env.sh stop || true
  fi
}
trap cleanup EXIT

args=()
kind_ignored=false
if target/debug/gitops-e2e doctor; then
  echo "live tier: included"
  # The fidelity re-recording is a tool, not a test: tests/fidelity/record.sh.
  args=(--include-ignored --skip rerecord_from_argo_cd)
  if reason=$(tests/kind/status.sh); then
    if ! timeout 10 docker info >/dev/null 2>&1; then
      tests/kind/docker-env.sh
      started_docker=true
    fi
    echo "kind tier: included"
  else
    echo "kind tier: ignored ($reason)"
    args+=(--skip kind_tier::)
    kind_ignored=true
  fi
else
  echo "live tier: ignored (reason above; build it with \`make toolchain\`)"
  echo "kind tier: ignored (it needs the toolchain too)"
fi

status=0
"$cargo" test --locked -- "${args[@]}" 2>&1 | tee "$log" || status=$?
if $kind_ignored; then
  # Listed as ignored, with their reason, rather than left out.
  "$cargo" test --locked --test e2e_kind -- kind_tier:: 2>&1 | tee -a "$log" || status=$?
fi
# One line over every test binary's summary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END {
  printf "all tiers: %d passed, %d failed, %d ignored\n", p, f, i }' "$log"
exit "$status"
