#!/usr/bin/env bash
# Builds the images a real kind cluster with Argo CD as pods needs, locally
# (no registry is reachable here), after `make toolchain`:
#   the kind binary (toolchain: store/kind-<v>, bin/kind), kubelet/kubeadm/kube-proxy
#   (toolchain), CoreDNS and crictl (Go modules, into $GITOPS_E2E_CACHE/kind/bin),
#   one shared Debian bookworm minbase layer (debootstrap, docker import), and on it
#   the control-plane images under kubeadm's names, kindnetd (kind's default CNI
#   image name), Argo CD, redis, busybox (httpd), the lesson's FastAPI agent,
#   and the node image gitops-e2e.local/kind-node:<Kubernetes version> with all
#   of them preloaded into its containerd.
#
#   build-images.sh            build what is missing or stale
#   build-images.sh --rebuild  rebuild every image without Docker's layer cache
#                              (a cold build's timings; binaries stay cached)
#   build-images.sh --list     print every image tag and whether it is current
#
# Idempotent: each image carries the label gitops-e2e.key, a digest of its
# versions and recipe files (lib.sh); an image whose tags all carry the right
# key is skipped. Needs a Docker engine (tests/kind/docker-env.sh).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

export DOCKER_BUILDKIT=0 # docker.io 20.10's classic builder; no buildx here
build_root=$kind_cache/build
gobin=$kind_cache/bin
times_log=$kind_cache/build-times.log
mkdir -p "$build_root" "$gobin" "$kind_cache/logs"

log() { printf '[kind-images] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

if [[ ${1:-} == --list ]]; then
  for i in $(images); do
    state=stale
    image_current "$i" && state=current
    for t in $(tags_of "$i"); do printf '%-8s %-14s %s\n' "$state" "$i" "$t"; done
  done
  exit 0
fi
rebuild=false
case ${1:-} in
  "") ;;
  --rebuild) rebuild=true ;;
  *) die "usage: $0 [--rebuild | --list]" ;;
esac
no_cache=()
! $rebuild || no_cache=(--no-cache)

docker info >/dev/null 2>&1 || die "docker does not answer; run tests/kind/docker-env.sh (make docker-env) first"
command -v go >/dev/null || die "Go is needed (the toolchain's build needs it too)"

total_start=$SECONDS
declare -a timings=()
timed() { timings+=("$(printf '%-24s %4ss' "$1" "$2")"); }

# ---------------------------------------------------------------------------
# Binaries.

"$kind_here/../toolchain/build.sh" kind kubernetes-node >/dev/null
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd argocd helm kustomize; do
  [[ -x $toolchain_bin/$b ]] || die "$toolchain_bin/$b is missing: run make toolchain first"
done
[[ -f $toolchain_share/argocd/install.yaml ]] || log "note: $toolchain_share/argocd/install.yaml is missing (make toolchain)"

# go_tool NAME VERSION PACKAGE@VERSION [LDFLAGS]: $gobin/NAME-VERSION, built once.
go_tool() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:-} out=$gobin/$1-$2 tmp start=$SECONDS
  if [[ ! -x $out ]]; then
    log "$name $version: go install $pkg"
    tmp=$(mktemp -d "$gobin/.go.XXXXXX")
    (cd "$gobin" && GOBIN=$tmp CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go install -trimpath -ldflags "-s -w $ldflags" "$pkg")
    mv "$tmp/$name" "$out"
    rmdir "$tmp"
    log "$name $version: built in $((SECONDS - start))s"
    timed "$name (go build)" $((SECONDS - start))
  fi
  echo "$out"
}
coredns_bin=$(go_tool coredns "$COREDNS_VERSION" "github.com/coredns/coredns@$COREDNS_VERSION")
crictl_bin=$(go_tool crictl "$CRICTL_VERSION" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" \
  "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION")
lpp_bin=$(go_tool local-path-provisioner "$LOCAL_PATH_VERSION" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION")
kind_mod=$(cd "$gobin" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)
argocd_mod=$(cd "$kind_here/../toolchain/argocd" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
[[ -d $kind_mod/images/base/files ]] || die "kind's base files are not in $kind_mod"

# ---------------------------------------------------------------------------
# Images.

# context NAME: a fresh build context holding the image's recipe directory.
context() {
  local dir=$build_root/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -r "$(recipe_dir "$1")/." "$dir/"
  echo "$dir"
}

# put FILE DIR [NAME]: a hard link (or copy) of FILE in the context.
put() { ln -f "$(readlink -f "$1")" "$2/${3:-$(basename "$1")}" 2>/dev/null || cp "$(readlink -f "$1")" "$2/${3:-$(basename "$1")}"; }

# build_quietly LOG ARGS...: docker build, its output in LOG, shown on failure.
build_quietly() {
  local out=$1
  shift
  if ! docker build "$@" >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    die "docker build failed; see $out"
  fi
}

# docker_build NAME DIR [BUILD ARGS...]: build and tag every tag of NAME.
docker_build() {
  local name=$1 dir=$2 tags=() t
  shift 2
  for t in $(tags_of "$name"); do tags+=(-t "$t"); done
  build_quietly "$kind_cache/logs/build-$name.log" "${no_cache[@]}" --label "$LABEL_KEY=$(key_of "$name")" \
    --build-arg "BASE=$BASE_IMAGE" "${tags[@]}" "$@" "$dir"
}

build_base() {
  local root=$build_root/minbase-root
  rm -rf "$root"
  mkdir -p "$root"
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$kind_cache/logs/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $kind_cache/logs/debootstrap.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
  # Keep images small: no docs, manuals or translations from later apt-get installs.
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'NODOC'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
NODOC
  tar -C "$root" -c . | docker import -c "LABEL $LABEL_KEY=$(key_of base)" -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
}

build_pause() {
  local dir
  dir=$(context pause)
  command -v gcc >/dev/null || die "gcc is needed for the pause image"
  gcc -static -Os -o "$dir/pause" "$dir/pause.c"
  strip "$dir/pause"
  docker_build pause "$dir"
}

build_control_plane() {
  local dir
  dir=$(context "$1")
  put "$toolchain_bin/$1" "$dir"
  docker_build "$1" "$dir" --build-arg "BINARY=$1"
}

build_kube-proxy() {
  local dir
  dir=$(context kube-proxy)
  put "$toolchain_bin/kube-proxy" "$dir"
  docker_build kube-proxy "$dir"
}

build_etcd() {
  local dir
  dir=$(context etcd)
  put "$toolchain_bin/etcd" "$dir"
  docker_build etcd "$dir"
}

build_coredns() {
  local dir
  dir=$(context coredns)
  put "$coredns_bin" "$dir" coredns
  docker_build coredns "$dir"
}

build_kindnetd() {
  local dir
  dir=$(context kindnetd)
  chmod 0755 "$dir/kindnetd.sh"
  docker_build kindnetd "$dir"
}

build_local-path-provisioner() {
  local dir
  dir=$(context local-path-provisioner)
  put "$lpp_bin" "$dir" local-path-provisioner
  docker_build local-path-provisioner "$dir"
}

build_local-path-helper() { docker_build local-path-helper "$(context local-path-helper)"; }

build_argocd() {
  local dir f
  dir=$(context argocd)
  for f in argocd helm kustomize; do put "$toolchain_bin/$f" "$dir"; done
  cp "$argocd_mod/hack/gpg-wrapper.sh" "$argocd_mod/hack/git-verify-wrapper.sh" "$argocd_mod/entrypoint.sh" "$dir/"
  chmod 0755 "$dir"/*.sh
  docker_build argocd "$dir"
}

build_redis() {
  local dir
  dir=$(context redis)
  chmod 0755 "$dir/docker-entrypoint.sh"
  docker_build redis "$dir"
}

build_busybox() { docker_build busybox "$(context busybox)"; }
build_fastapi-agent() { docker_build fastapi-agent "$(context fastapi-agent)"; }

# The node: build the image, then preload every other image into its
# containerd (a container from it, containerd started inside, `ctr images
# import`, docker commit). kind then needs no `kind load` for them.
build_node() {
  local dir key c tags=() p t
  dir=$(context node)
  key=$(key_of node)
  mkdir -p "$dir/files" "$dir/kind/manifests"
  cp -r "$kind_mod/images/base/files/." "$dir/files/"
  chmod -R u+w,a+rX "$dir/files"
  chmod 0755 "$dir/files/usr/local/bin/"* "$dir/files/kind/bin/"*
  for f in kubelet kubeadm kubectl; do put "$toolchain_bin/$f" "$dir"; done
  put "$crictl_bin" "$dir" crictl
  echo "$KUBERNETES_VERSION" >"$dir/kind/version"
  # kind's default CNI manifest, as kind's own node-image build writes it.
  awk '/^const defaultCNIManifest = `/ { on = 1; next } on && /^`/ { exit } on { print }' \
    "$kind_mod/pkg/build/nodeimage/const_cni.go" |
    sed "s|\` + kindnetdImage + \`|$KINDNETD_IMAGE|" >"$dir/kind/manifests/default-cni.yaml"
  grep -q "image: $KINDNETD_IMAGE" "$dir/kind/manifests/default-cni.yaml" || die "could not extract kind's CNI manifest"
  # kind's default storage manifest (local-path-provisioner), likewise.
  awk '/^const defaultStorageManifest = `/ { on = 1; next } on && /^`/ { exit } on { print }' \
    "$kind_mod/pkg/build/nodeimage/const_storage.go" |
    sed -e "s|\` + storageProvisionerImage + \`|$LOCAL_PATH_PROVISIONER_IMAGE|" \
      -e "s|\` + storageHelperImage + \`|$LOCAL_PATH_HELPER_IMAGE|" >"$dir/kind/manifests/default-storage.yaml"
  grep -q "image: $LOCAL_PATH_PROVISIONER_IMAGE" "$dir/kind/manifests/default-storage.yaml" ||
    die "could not extract kind's storage manifest"
  build_quietly "$kind_cache/logs/build-node.log" "${no_cache[@]}" --build-arg "BASE=$BASE_IMAGE" -t "$NODE_IMAGE-unloaded" "$dir"

  for p in $(preloaded); do
    for t in $(tags_of "$p"); do tags+=("$t"); done
  done
  c=gitops-e2e-node-preload-$$
  docker rm -f "$c" >/dev/null 2>&1 || true
  docker run -d --name "$c" --privileged --entrypoint sleep "$NODE_IMAGE-unloaded" infinity >/dev/null
  # shellcheck disable=SC2064
  trap "docker rm -f $c >/dev/null 2>&1 || true" EXIT
  docker exec "$c" sh -c 'containerd >/tmp/containerd.log 2>&1 &'
  for _ in $(seq 1 30); do
    docker exec "$c" ctr version >/dev/null 2>&1 && break
    sleep 1
  done
  docker save "${tags[@]}" | docker exec -i "$c" sh -c 'cat >/tmp/images.tar'
  docker exec "$c" ctr -n k8s.io images import --all-platforms --no-unpack /tmp/images.tar >/dev/null
  docker exec "$c" sh -c 'rm -f /tmp/images.tar; ctr -n k8s.io images ls -q' >"$build_root/node-preloaded.txt"
  for t in "${tags[@]}"; do
    grep -qx "$t" "$build_root/node-preloaded.txt" || grep -qx "${t#docker.io/}" "$build_root/node-preloaded.txt" ||
      die "$t is not in the node's containerd after the import (see $build_root/node-preloaded.txt)"
  done
  docker exec "$c" sh -c 'pkill containerd; sleep 2; rm -rf /tmp/* /run/containerd' || true
  docker stop -t 5 "$c" >/dev/null
  docker commit \
    -c 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' -c 'CMD []' \
    -c 'ENV container=docker' \
    -c "LABEL $LABEL_KEY=$key" "$c" "$NODE_IMAGE" >/dev/null
  docker rm -f "$c" >/dev/null
  trap - EXIT
  docker rmi "$NODE_IMAGE-unloaded" >/dev/null 2>&1 || true
}

for i in $(images); do
  if ! $rebuild && image_current "$i"; then
    log "$i: current ($(tags_of "$i" | head -n1))"
    continue
  fi
  log "$i: building $(tags_of "$i" | tr '\n' ' ')"
  start=$SECONDS
  old_ids=$(for t in $(tags_of "$i"); do docker image inspect -f '{{.Id}}' "$t" 2>/dev/null || true; done | sort -u)
  case $i in
    kube-apiserver | kube-controller-manager | kube-scheduler) build_control_plane "$i" ;;
    *) "build_$i" ;;
  esac
  image_current "$i" || die "$i: built, but its tags do not carry key $(key_of "$i")"
  # The versions this build replaced: removed unless still tagged or used by a container.
  for id in $old_ids; do
    [[ -n $(docker image inspect -f '{{join .RepoTags " "}}' "$id" 2>/dev/null) ]] || docker rmi "$id" >/dev/null 2>&1 || true
  done
  log "$i: built in $((SECONDS - start))s"
  timed "$i" $((SECONDS - start))
done

if [[ ${#timings[@]} -gt 0 ]]; then
  {
    echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) build-images.sh: $((SECONDS - total_start))s"
    printf '  %s\n' "${timings[@]}"
  } | tee -a "$times_log" >&2
fi
log "done in $((SECONDS - total_start))s"
for i in $(images); do
  for t in $(tags_of "$i"); do
    printf '  %-84s %5s MB\n' "$t" $(($(docker image inspect -f '{{.Size}}' "$t") / 1000000))
  done
done >&2
