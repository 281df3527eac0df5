#!/usr/bin/env bash
# Prints `ready` (exit 0) when the kind test environment can be used: Docker
# answers (or tests/kind/docker-env.sh can start it: dockerd is installed and
# this is root; the images are then read from /var/lib/docker), kind is in the
# toolchain's bin directory, and every image exists with the key of the
# current versions and recipes (lib.sh); else one line saying what is
# missing (exit 1). Changes nothing.
set -uo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

not_ready() {
  echo "$*"
  exit 1
}

if ! timeout 10 docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null ||
    not_ready "docker does not answer and dockerd is not installed (make docker-env installs Debian's docker.io and starts it)"
  [[ $(id -u) -eq 0 ]] || not_ready "docker does not answer and starting dockerd needs root (make docker-env)"
  [[ -x /usr/bin/python3 ]] || not_ready "docker does not answer and docker-env.sh's runtime wrapper needs /usr/bin/python3"
  # docker-env.sh can start it: the images are checked in dockerd's own files.
fi
[[ -x $toolchain_bin/kind ]] || not_ready "kind is not in $toolchain_bin (make kind-images)"
"$toolchain_bin/kind" version 2>/dev/null | grep -q "kind $KIND_VERSION " ||
  not_ready "$toolchain_bin/kind is not kind $KIND_VERSION (make kind-images)"
for i in $(images); do
  image_current "$i" || not_ready "image $(tags_of "$i" | head -n1) is missing or was built from other versions (make kind-images)"
done
echo ready
