#!/usr/bin/env bash
# Re-records tests/fidelity/recorded/ from Argo CD itself (argocd-server on a
# kwok hub, the pinned toolchain version). Run it when ARGOCD_VERSION in
# tests/toolchain/versions.env changes, or when a case is added; then review
# the diff and run `cargo test --test fidelity`.
set -euo pipefail
cd "$(dirname "$0")/../.."
GITOPS_E2E_RECORD=1 exec cargo test --test fidelity -- --ignored --exact rerecord_from_argo_cd --nocapture "$@"
