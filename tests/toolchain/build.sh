#!/usr/bin/env bash
# Puts the pinned upstream toolchain into a cache outside the repository:
# $GITOPS_E2E_CACHE (default ~/.cache/gitops-e2e)/toolchain.
#
#   build.sh                 fetch or build every missing component
#   build.sh kubernetes ...  only the named components
#   build.sh kind kubernetes-node
#                            the extra components a kind node image needs (not
#                            built by default): kind itself, and kubelet,
#                            kubeadm and kube-proxy (tests/kind/build-images.sh)
#   build.sh --print-bin     print the bin directory and exit
#   build.sh --explain       say whether release or source mode would be used, and why, and exit
#
# GITOPS_E2E_TOOLCHAIN_FROM chooses where binaries come from:
#   source   build them from the Go modules pinned here (needs Go and the module proxy)
#   release  download the official release binaries, verified against the
#            SHA-256 the project publishes next to them (needs curl)
#   auto     (default) release when the release hosts answer within 3s, else source
# GITOPS_E2E_RELEASE_MIRROR=<url> turns every download of https://<host>/<path>
# into <url>/<host>/<path>, so that one server can stand in for all of them.
#
# Each binary is stored as store/<name>-<version> and linked from bin/<name>,
# whichever mode produced it, so a second run finds it and takes seconds;
# bumping a version in versions.env fetches or builds only what changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${GITOPS_E2E_CACHE:-$HOME/.cache/gitops-e2e}
store=$cache/toolchain/store
bin=$cache/toolchain/bin
share=$cache/toolchain/share
mirror=${GITOPS_E2E_RELEASE_MIRROR:-}
mirror=${mirror%/}
requested=${GITOPS_E2E_TOOLCHAIN_FROM:-auto}
known=(kubernetes etcd kwok argocd helm kustomize)
# Built only when named (tests/kind/build-images.sh names them).
extra=(kind kubernetes-node)

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

explain=false
components=()
for arg in "$@"; do
  case $arg in
    --print-bin)
      echo "$bin"
      exit 0
      ;;
    --explain) explain=true ;;
    kubernetes | etcd | kwok | argocd | helm | kustomize | kind | kubernetes-node) components+=("$arg") ;;
    *)
      log "unknown argument \`$arg\` (components: ${known[*]} ${extra[*]}; flags: --print-bin --explain)"
      exit 2
      ;;
  esac
done
[[ ${#components[@]} -gt 0 ]] || components=("${known[@]}")

case $requested in
  source | release | auto) ;;
  *)
    log "GITOPS_E2E_TOOLCHAIN_FROM=$requested: expected source, release or auto"
    exit 2
    ;;
esac

case $(uname -m) in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch="" ;;
esac

# ---------------------------------------------------------------------------
# Release artifacts: where each one lives upstream and where its checksum is.

# url HOST/PATH: the address of an upstream file, through the mirror if any.
url() {
  if [[ -n $mirror ]]; then
    echo "$mirror/$1"
  else
    echo "https://$1"
  fi
}

k8s_base() { echo "dl.k8s.io/release/$KUBERNETES_VERSION/bin/linux/$arch"; }
gh_download() { echo "github.com/$1/releases/download/$2"; }
helm_tarball() { echo "helm-$HELM_VERSION-linux-$arch.tar.gz"; }
etcd_tarball() { echo "etcd-$ETCD_VERSION-linux-$arch.tar.gz"; }
kustomize_tarball() { echo "kustomize_${KUSTOMIZE_VERSION}_linux_$arch.tar.gz"; }
argocd_manifest_sums() { echo "$here/argocd/manifests-$ARGOCD_VERSION.sha256"; }

# One artifact per release host: `auto` picks release only if each answers a HEAD.
probe_paths() {
  echo "$(k8s_base)/kube-apiserver.sha256"
  echo "$(gh_download argoproj/argo-cd "$ARGOCD_VERSION")/cli_checksums.txt"
  echo "get.helm.sh/$(helm_tarball).sha256sum"
  echo "raw.githubusercontent.com/argoproj/argo-cd/$ARGOCD_VERSION/manifests/crds/application-crd.yaml"
}

# ---------------------------------------------------------------------------
# Mode selection.

mode=""
reason=""
decide() {
  [[ -z $mode ]] || return 0
  case $requested in
    source)
      mode=source reason="GITOPS_E2E_TOOLCHAIN_FROM=source"
      ;;
    release)
      [[ -n $arch ]] || die "GITOPS_E2E_TOOLCHAIN_FROM=release: no release binaries for $(uname -m) (only amd64, arm64)"
      command -v curl >/dev/null || die "GITOPS_E2E_TOOLCHAIN_FROM=release needs curl"
      mode=release reason="GITOPS_E2E_TOOLCHAIN_FROM=release"
      ;;
    auto)
      if [[ -z $arch ]]; then
        mode=source reason="auto: upstream publishes no release binaries for $(uname -m)"
      elif ! command -v curl >/dev/null; then
        mode=source reason="auto: curl is not installed"
      else
        probe
      fi
      ;;
  esac
  log "mode: $mode ($reason)"
  if [[ $mode == source ]] && ! $explain && ! command -v go >/dev/null; then
    die "source mode needs Go (https://go.dev/dl), which is not installed; where the release hosts are reachable, GITOPS_E2E_TOOLCHAIN_FROM=release needs only curl"
  fi
}

# probe: HEAD one artifact per release host, in parallel, 3s each.
probe() {
  local dir path i=0 failed=()
  dir=$(mktemp -d)
  local paths=()
  mapfile -t paths < <(probe_paths)
  for path in "${paths[@]}"; do
    (curl --head --fail --location --silent --show-error --max-time 3 --output /dev/null "$(url "$path")" \
      2>"$dir/$i.err" || echo $? >"$dir/$i.rc") &
    i=$((i + 1))
  done
  wait
  for ((i = 0; i < ${#paths[@]}; i++)); do
    if [[ -f $dir/$i.rc ]]; then
      failed+=("$(url "${paths[$i]}") ($(tr '\n' ' ' <"$dir/$i.err" | sed 's/ *$//'))")
    fi
  done
  rm -rf "$dir"
  if [[ ${#failed[@]} -eq 0 ]]; then
    mode=release reason="auto: the release hosts answered within 3s${mirror:+ through $mirror}"
  else
    mode=source reason="auto: no answer within 3s from ${failed[0]}"
    [[ ${#failed[@]} -eq 1 ]] || reason+=" and $((${#failed[@]} - 1)) other host(s)"
  fi
}

if $explain; then
  decide
  echo "$mode"
  exit 0
fi

mkdir -p "$store" "$bin" "$share"

# ---------------------------------------------------------------------------
# Release mode: download to a scratch directory, verify, then move into place.

scratch=""
cleanup() { [[ -z $scratch ]] || rm -rf "$scratch"; }
trap cleanup EXIT
scratch_dir() {
  if [[ -z $scratch ]]; then
    mkdir -p "$cache/toolchain/tmp"
    scratch=$(mktemp -d "$cache/toolchain/tmp/download.XXXXXX")
  fi
}

# fetch HOST/PATH DEST
fetch() {
  local from
  from=$(url "$1")
  curl --fail --location --silent --show-error --retry 3 --retry-delay 2 \
    --connect-timeout 10 --max-time 1800 --output "$2" "$from" ||
    die "download of $from failed"
}

# checksums HOST/PATH: a local copy of a checksum file, fetched once per run.
checksums() {
  local dest
  scratch_dir
  dest=$scratch/sums-${1//[^A-Za-z0-9._-]/_}
  [[ -s $dest ]] || fetch "$1" "$dest"
  echo "$dest"
}

# expected_digest FORMAT SUMS_FILE ASSET: the published SHA-256 of ASSET.
#   single   the file holds one digest (dl.k8s.io's <file>.sha256)
#   list     sha256sum lines, "<digest>  <name>" (SHA256SUMS, checksums.txt, …)
#   github   a GitHub "get a release" API answer: assets[].digest "sha256:…"
expected_digest() {
  local format=$1 sums=$2 asset=$3
  case $format in
    single) awk 'NF { print $1; exit }' "$sums" ;;
    list) awk -v want="$asset" '{ name = $2; sub(/^\*/, "", name) } name == want { print $1; exit }' "$sums" ;;
    github)
      if command -v python3 >/dev/null; then
        python3 -c 'import json, sys
assets = json.load(open(sys.argv[1])).get("assets", [])
print(next((a.get("digest") or "" for a in assets if a.get("name") == sys.argv[2]), "").replace("sha256:", "", 1))' \
          "$sums" "$asset"
      else
        # Without python3: each asset's "name" comes before its "digest".
        grep -oE '"(name|digest)"[[:space:]]*:[[:space:]]*("[^"]*"|null)' "$sums" |
          awk -v want="$asset" '
            /^"name"/ { name = $0; sub(/^"name"[[:space:]]*:[[:space:]]*"/, "", name); sub(/"$/, "", name); next }
            /^"digest"/ && name == want && /sha256:/ { d = $0; sub(/.*sha256:/, "", d); sub(/"$/, "", d); print d; exit }'
      fi
      ;;
  esac | tr 'A-F' 'a-f'
}

# verify FILE ASSET EXPECTED FROM: a hard error unless FILE's SHA-256 is EXPECTED.
verify() {
  local file=$1 asset=$2 expected=$3 from=$4 actual
  [[ $expected =~ ^[0-9a-f]{64}$ ]] ||
    die "no SHA-256 published for $asset in $from (found \`$expected\`); refusing an unverified file"
  actual=$(sha256sum "$file" | awk '{ print $1 }')
  [[ $actual == "$expected" ]] ||
    die "checksum mismatch for $asset: expected $expected (from $from), actual $actual; nothing was installed"
}

# download_verified HOST/PATH FORMAT SUMS_HOST/PATH: prints the verified local file.
download_verified() {
  local path=$1 format=$2 sums_path=$3 asset sums file
  asset=${path##*/}
  scratch_dir
  sums=$(checksums "$sums_path")
  file=$scratch/$asset
  if [[ ! -f $file.verified ]]; then
    log "downloading $(url "$path")"
    fetch "$path" "$file"
    verify "$file" "$asset" "$(expected_digest "$format" "$sums" "$asset")" "$(url "$sums_path")"
    touch "$file.verified"
  fi
  echo "$file"
}

# release NAME VERSION HOST/PATH FORMAT SUMS_HOST/PATH [MEMBER]
# Stores the verified artifact (or the tarball's MEMBER) as store/NAME-VERSION.
release() {
  local name=$1 version=$2 path=$3 format=$4 sums_path=$5 member=${6:-}
  local out=$store/$name-$version file src
  if [[ -x $out ]]; then
    log "$name $version: cached"
  else
    scratch_dir
    file=$(download_verified "$path" "$format" "$sums_path")
    src=$file
    if [[ -n $member ]]; then
      mkdir -p "$scratch/x-$name"
      tar -xzf "$file" -C "$scratch/x-$name" "$member" || die "$member not found in ${path##*/}"
      src=$scratch/x-$name/$member
    fi
    chmod 0755 "$src"
    mv -f "$src" "$out"
    log "$name $version: installed from ${path##*/} (sha256 verified)"
  fi
  ln -sfn "$out" "$bin/$name"
}

# ---------------------------------------------------------------------------
# Source mode: go build from the wrapper modules.

# build NAME VERSION MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name=$1 version=$2 moddir=$3 pkg=$4 ldflags=${5:-}
  local out=$store/$name-$version
  if [[ -x $out ]]; then
    log "$name $version: cached"
  else
    log "$name $version: building $pkg"
    local start=$SECONDS
    (cd "$here/$moddir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go build -trimpath -ldflags "-s -w $ldflags" -o "$out.partial" "$pkg")
    mv "$out.partial" "$out"
    log "$name $version: built in $((SECONDS - start))s"
  fi
  ln -sfn "$out" "$bin/$name"
}

kube_ldflags() {
  local v=${KUBERNETES_VERSION#v} flags=""
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    flags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# ---------------------------------------------------------------------------
# Components. Each is skipped without choosing a mode when fully cached.

binaries_of() {
  case $1 in
    kubernetes) echo "kube-apiserver-$KUBERNETES_VERSION kube-controller-manager-$KUBERNETES_VERSION kube-scheduler-$KUBERNETES_VERSION kubectl-$KUBERNETES_VERSION" ;;
    etcd) echo "etcd-$ETCD_VERSION" ;;
    kwok) echo "kwok-$KWOK_VERSION kwokctl-$KWOK_VERSION" ;;
    argocd) echo "argocd-$ARGOCD_VERSION" ;;
    helm) echo "helm-$HELM_VERSION" ;;
    kustomize) echo "kustomize-$KUSTOMIZE_VERSION" ;;
    kind) echo "kind-$KIND_VERSION" ;;
    kubernetes-node) echo "kubelet-$KUBERNETES_VERSION kubeadm-$KUBERNETES_VERSION kube-proxy-$KUBERNETES_VERSION" ;;
  esac
}

cached() {
  local b
  for b in $(binaries_of "$1"); do
    [[ -x $store/$b ]] || return 1
  done
  [[ $1 != argocd || ( -f $share/argocd-$ARGOCD_VERSION/crds/application-crd.yaml && -f $share/argocd-$ARGOCD_VERSION/install.yaml ) ]]
}

get_kubernetes() {
  local c flags
  if [[ $mode == release ]]; then
    for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      release "$c" "$KUBERNETES_VERSION" "$(k8s_base)/$c" single "$(k8s_base)/$c.sha256"
    done
    return
  fi
  flags=$(kube_ldflags)
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    build "$c" "$KUBERNETES_VERSION" kubernetes "k8s.io/kubernetes/cmd/$c" "$flags"
  done
}

get_etcd() {
  if [[ $mode == release ]]; then
    local dl
    dl=$(gh_download etcd-io/etcd "$ETCD_VERSION")
    release etcd "$ETCD_VERSION" "$dl/$(etcd_tarball)" list "$dl/SHA256SUMS" \
      "$(etcd_tarball | sed 's/\.tar\.gz$//')/etcd"
    return
  fi
  build etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3 \
    "-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"
}

get_kwok() {
  if [[ $mode == release ]]; then
    # kwok publishes no checksum file; GitHub's release API carries the
    # SHA-256 it computed for each asset at upload.
    local dl api c
    dl=$(gh_download kubernetes-sigs/kwok "$KWOK_VERSION")
    api=api.github.com/repos/kubernetes-sigs/kwok/releases/tags/$KWOK_VERSION
    for c in kwok kwokctl; do
      release "$c" "$KWOK_VERSION" "$dl/$c-linux-$arch" github "$api"
    done
    return
  fi
  local flags="-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  flags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION"
  build kwok "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwok "$flags"
  build kwokctl "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwokctl "$flags"
}

get_argocd() {
  local dest=$share/argocd-$ARGOCD_VERSION
  if [[ $mode == release ]]; then
    local dl
    dl=$(gh_download argoproj/argo-cd "$ARGOCD_VERSION")
    release argocd "$ARGOCD_VERSION" "$dl/argocd-linux-$arch" list "$dl/cli_checksums.txt"
    [[ -f $dest/crds/application-crd.yaml && -f $dest/install.yaml ]] || argocd_manifests_release "$dest"
  else
    build argocd "$ARGOCD_VERSION" argocd github.com/argoproj/argo-cd/v3/cmd \
      "-X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v} -X github.com/argoproj/argo-cd/v3/common.gitTreeState=clean"
    # Argo CD's CRDs and config objects, for local-process mode, and its
    # install manifest, for in-cluster mode: copied from the module so that
    # running needs no Go.
    if [[ ! -f $dest/crds/application-crd.yaml || ! -f $dest/install.yaml ]]; then
      local src
      src=$(cd "$here/argocd" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
      mkdir -p "$dest"
      cp -r "$src/manifests/crds" "$src/manifests/base/config" "$src/manifests/install.yaml" "$dest/"
      chmod -R u+w "$dest"
    fi
  fi
  ln -sfn "$dest" "$share/argocd"
}

# The same manifests, from raw.githubusercontent.com at the release tag, each
# verified against the digest pinned in argocd/manifests-<version>.sha256
# (GITOPS_E2E_ARGOCD_MANIFEST_SUMS overrides that file, for tests).
argocd_manifests_release() {
  local dest=$1 sums=${GITOPS_E2E_ARGOCD_MANIFEST_SUMS:-$(argocd_manifest_sums)}
  local raw=raw.githubusercontent.com/argoproj/argo-cd/$ARGOCD_VERSION/manifests
  local digest path rel file line lines=()
  [[ -f $sums ]] || die "no pinned checksums for Argo CD $ARGOCD_VERSION's manifests: $sums is missing (see README.md, Bumping a version)"
  scratch_dir
  local staged=$scratch/argocd-manifests
  mapfile -t lines <"$sums"
  for line in "${lines[@]}"; do
    read -r digest path <<<"$line" || true
    [[ -n ${digest:-} && $digest != \#* ]] || continue
    rel=${path#base/}
    file=$staged/$rel
    mkdir -p "${file%/*}"
    log "downloading $(url "$raw/$path")"
    fetch "$raw/$path" "$file"
    verify "$file" "manifests/$path" "$digest" "$sums"
  done
  [[ -f $staged/crds/application-crd.yaml ]] || die "$sums lists no crds/application-crd.yaml"
  rm -rf "$dest"
  mv "$staged" "$dest"
  log "argocd $ARGOCD_VERSION: manifests installed (sha256 verified)"
}

get_helm() {
  if [[ $mode == release ]]; then
    release helm "$HELM_VERSION" "get.helm.sh/$(helm_tarball)" list "get.helm.sh/$(helm_tarball).sha256sum" \
      "linux-$arch/helm"
    return
  fi
  build helm "$HELM_VERSION" helm helm.sh/helm/v4/cmd/helm \
    "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
}

get_kustomize() {
  if [[ $mode == release ]]; then
    local dl
    dl=$(gh_download kubernetes-sigs/kustomize "kustomize%2F$KUSTOMIZE_VERSION")
    release kustomize "$KUSTOMIZE_VERSION" "$dl/$(kustomize_tarball)" list "$dl/checksums.txt" kustomize
    return
  fi
  build kustomize "$KUSTOMIZE_VERSION" kustomize sigs.k8s.io/kustomize/kustomize/v5 \
    "-X sigs.k8s.io/kustomize/api/provenance.version=kustomize/$KUSTOMIZE_VERSION"
}

# kubelet, kubeadm and kube-proxy: the node binaries of a kind node image, from
# the same wrapper module and with the same version ldflags as the control plane.
get_kubernetes-node() {
  local c flags
  if [[ $mode == release ]]; then
    for c in kubelet kubeadm kube-proxy; do
      release "$c" "$KUBERNETES_VERSION" "$(k8s_base)/$c" single "$(k8s_base)/$c.sha256"
    done
    return
  fi
  flags=$(kube_ldflags)
  for c in kubelet kubeadm kube-proxy; do
    build "$c" "$KUBERNETES_VERSION" kubernetes "k8s.io/kubernetes/cmd/$c" "$flags"
  done
}

# kind has no replace directives: `go install` of its module, no wrapper needed.
get_kind() {
  local out=$store/kind-$KIND_VERSION
  if [[ -x $out ]]; then
    log "kind $KIND_VERSION: cached"
  elif [[ $mode == release ]]; then
    local dl
    dl=$(gh_download kubernetes-sigs/kind "$KIND_VERSION")
    release kind "$KIND_VERSION" "$dl/kind-linux-$arch" single "$dl/kind-linux-$arch.sha256sum"
    return
  else
    log "kind $KIND_VERSION: go install sigs.k8s.io/kind@$KIND_VERSION"
    local start=$SECONDS gobin
    gobin=$(mktemp -d "$store/.kind.XXXXXX")
    (cd "$store" && GOBIN=$gobin CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
      go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION")
    mv "$gobin/kind" "$out"
    rmdir "$gobin"
    log "kind $KIND_VERSION: built in $((SECONDS - start))s"
  fi
  ln -sfn "$out" "$bin/kind"
}

total_start=$SECONDS
for c in "${components[@]}"; do
  # A fully cached component only needs its links: no mode, no probe.
  cached "$c" || decide
  "get_$c"
done
log "done in $((SECONDS - total_start))s; binaries in $bin"
echo "$bin"
