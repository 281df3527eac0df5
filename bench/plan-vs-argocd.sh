#!/usr/bin/env bash
# The plan against Argo CD's own generation of the same ApplicationSets (a
# 1,000-element list, a 100 x 10 matrix, a goTemplate with Sprig calls and a
# templatePatch), side by side in one run: examples/plan_vs_argocd.rs starts
# argocd-server of the pinned toolchain on a kwok hub once and times both.
# Aim: the plan (process start included) at least 100x faster.
#
#   bench/plan-vs-argocd.sh          5 runs of each
#   RUNS=10 bench/plan-vs-argocd.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 bench/gen-appsets.py "$dir"
cargo build --release --quiet --bin gitops-e2e --example plan_vs_argocd
release=${CARGO_TARGET_DIR:-target}/release
BIN=${BIN:-$release/gitops-e2e} "$release/examples/plan_vs_argocd" "$dir" "$runs"
