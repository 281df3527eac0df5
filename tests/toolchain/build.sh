#!/usr/bin/env bash
# Builds the pinned upstream toolchain from Go modules into a cache outside the
# repository: $GITOPS_E2E_CACHE (default ~/.cache/gitops-e2e)/toolchain.
#
#   build.sh                 build every missing component
#   build.sh kubernetes ...  build only the named components
#   build.sh --print-bin     print the bin directory and exit
#
# Each binary is stored as store/<name>-<version> and linked from bin/<name>,
# so a second run finds it and takes seconds; bumping a version in
# versions.env builds only what changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${GITOPS_E2E_CACHE:-$HOME/.cache/gitops-e2e}
store=$cache/toolchain/store
bin=$cache/toolchain/bin

if [[ ${1:-} == --print-bin ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$store" "$bin" "$cache/toolchain/share"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

log() { printf '[toolchain] %s\n' "$*" >&2; }

# build NAME VERSION MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name=$1 version=$2 moddir=$3 pkg=$4 ldflags=${5:-}
  local out=$store/$name-$version
  if [[ -x $out ]]; then
    log "$name $version: cached"
  else
    log "$name $version: building $pkg"
    local start=$SECONDS
    (cd "$here/$moddir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out.partial" "$pkg")
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

build_kubernetes() {
  local flags
  flags=$(kube_ldflags)
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    build "$c" "$KUBERNETES_VERSION" kubernetes "k8s.io/kubernetes/cmd/$c" "$flags"
  done
}

build_etcd() {
  build etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3 \
    "-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"
}

build_kwok() {
  local flags="-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  flags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION"
  build kwok "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwok "$flags"
  build kwokctl "$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwokctl "$flags"
}

build_argocd() {
  build argocd "$ARGOCD_VERSION" argocd github.com/argoproj/argo-cd/v3/cmd \
    "-X github.com/argoproj/argo-cd/v3/common.version=${ARGOCD_VERSION#v} -X github.com/argoproj/argo-cd/v3/common.gitTreeState=clean"
  # Argo CD's CRDs and config objects, for local-process mode: copied from the
  # module so that running needs no Go.
  local share=$cache/toolchain/share/argocd-$ARGOCD_VERSION src
  if [[ ! -f $share/crds/application-crd.yaml ]]; then
    src=$(cd "$here/argocd" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
    mkdir -p "$share"
    cp -r "$src/manifests/crds" "$src/manifests/base/config" "$share/"
    chmod -R u+w "$share"
  fi
  ln -sfn "$share" "$cache/toolchain/share/argocd"
}

build_helm() {
  build helm "$HELM_VERSION" helm helm.sh/helm/v4/cmd/helm \
    "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
}

build_kustomize() {
  build kustomize "$KUSTOMIZE_VERSION" kustomize sigs.k8s.io/kustomize/kustomize/v5 \
    "-X sigs.k8s.io/kustomize/api/provenance.version=kustomize/$KUSTOMIZE_VERSION"
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(kubernetes etcd kwok argocd helm kustomize)
total_start=$SECONDS
for c in "${components[@]}"; do
  case $c in
    kubernetes | etcd | kwok | argocd | helm | kustomize) "build_$c" ;;
    *) log "unknown component \`$c\` (known: kubernetes etcd kwok argocd helm kustomize)"; exit 2 ;;
  esac
done
log "done in $((SECONDS - total_start))s; binaries in $bin"
echo "$bin"
