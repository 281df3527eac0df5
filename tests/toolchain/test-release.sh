#!/usr/bin/env bash
# Tests build.sh's release mode against a local HTTP server standing in for
# every upstream host (GITOPS_E2E_RELEASE_MIRROR), with fake artifacts laid out
# as upstream publishes them: tiny scripts named like the real binaries,
# tarballs where upstream ships tarballs, checksum files in each upstream's
# format. Needs bash, curl, python3, tar, sha256sum; no network, no Go, no
# toolchain; takes seconds. The real cache is never touched.
#
#   test-release.sh             run every check, print "N passed, M failed"
#   KEEP_TMP=1 test-release.sh  keep the temporary directory (server tree, caches, logs)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$here/build.sh
# shellcheck source=versions.env
source "$here/versions.env"

case $(uname -m) in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "skipped: no release binaries for $(uname -m)"
    exit 0
    ;;
esac

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -z $server_pid ]] || kill "$server_pid" 2>/dev/null || true
  [[ -z $server_pid ]] || wait "$server_pid" 2>/dev/null || true
  if [[ -n ${KEEP_TMP:-} ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

passed=0
failed=0
ok() {
  passed=$((passed + 1))
  printf 'ok   %s\n' "$*"
}
not_ok() {
  failed=$((failed + 1))
  printf 'FAIL %s\n' "$*"
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
sha() { sha256sum "$1" | awk '{ print $1 }'; }

# ---------------------------------------------------------------------------
# The fake upstream: $www/<host>/<path>, as GITOPS_E2E_RELEASE_MIRROR expects.

www=$tmp/www
work=$tmp/work
mkdir -p "$www" "$work"

# fake_binary FILE NAME VERSION: a script that prints VERSION on --version / version.
fake_binary() {
  mkdir -p "$(dirname "$1")"
  cat >"$1" <<EOF
#!/bin/sh
# fake $2 $3, standing in for the release binary
for a in "\$@"; do
  case \$a in --version | version) echo "$2 $3"; exit 0 ;; esac
done
echo "fake $2: only --version / version" >&2
exit 2
EOF
  chmod 0755 "$1"
}

# Kubernetes: dl.k8s.io/release/<v>/bin/linux/<arch>/<name>, and <name>.sha256 holding the bare digest.
k8s=$www/dl.k8s.io/release/$KUBERNETES_VERSION/bin/linux/$arch
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  fake_binary "$k8s/$c" "$c" "$KUBERNETES_VERSION"
  sha "$k8s/$c" >"$k8s/$c.sha256"
done

# etcd: a tarball with etcd-<v>-linux-<arch>/etcd, and a SHA256SUMS for every platform.
etcd_dir=etcd-$ETCD_VERSION-linux-$arch
etcd=$www/github.com/etcd-io/etcd/releases/download/$ETCD_VERSION
mkdir -p "$etcd" "$work/$etcd_dir"
fake_binary "$work/$etcd_dir/etcd" etcd "$ETCD_VERSION"
fake_binary "$work/$etcd_dir/etcdctl" etcdctl "$ETCD_VERSION"
tar -czf "$etcd/$etcd_dir.tar.gz" -C "$work" "$etcd_dir"
{
  echo "$(printf 'darwin' | sha256sum | awk '{ print $1 }')  etcd-$ETCD_VERSION-darwin-$arch.zip"
  echo "$(sha "$etcd/$etcd_dir.tar.gz")  $etcd_dir.tar.gz"
} >"$etcd/SHA256SUMS"

# kwok: bare binaries; no checksum file upstream, the digests come from
# GitHub's release API (assets[].digest), pretty-printed as GitHub serves it.
kwok=$www/github.com/kubernetes-sigs/kwok/releases/download/$KWOK_VERSION
fake_binary "$kwok/kwok-linux-$arch" kwok "$KWOK_VERSION"
fake_binary "$kwok/kwokctl-linux-$arch" kwokctl "$KWOK_VERSION"
kwok_api=$www/api.github.com/repos/kubernetes-sigs/kwok/releases/tags/$KWOK_VERSION
mkdir -p "$(dirname "$kwok_api")"
asset_json() {
  cat <<EOF
    {
      "url": "https://api.github.com/repos/kubernetes-sigs/kwok/releases/assets/1",
      "name": "$1",
      "label": "",
      "uploader": {
        "login": "k8s-release-robot",
        "type": "User"
      },
      "content_type": "application/octet-stream",
      "state": "uploaded",
      "digest": $2,
      "browser_download_url": "https://github.com/kubernetes-sigs/kwok/releases/download/$KWOK_VERSION/$1"
    }
EOF
}
{
  printf '{\n  "tag_name": "%s",\n  "name": "%s",\n  "author": {\n    "login": "k8s-release-robot"\n  },\n  "assets": [\n' "$KWOK_VERSION" "$KWOK_VERSION"
  asset_json "kwok-darwin-$arch" null
  echo ","
  asset_json "kwok-linux-$arch" "\"sha256:$(sha "$kwok/kwok-linux-$arch")\""
  echo ","
  asset_json "kwokctl-linux-$arch" "\"sha256:$(sha "$kwok/kwokctl-linux-$arch")\""
  printf '  ]\n}\n'
} >"$kwok_api"

# Argo CD: argocd-linux-<arch> and cli_checksums.txt; manifests on raw.githubusercontent.com.
argocd=$www/github.com/argoproj/argo-cd/releases/download/$ARGOCD_VERSION
fake_binary "$argocd/argocd-linux-$arch" argocd "$ARGOCD_VERSION"
fake_binary "$argocd/argocd-darwin-$arch" argocd "$ARGOCD_VERSION"
(cd "$argocd" && sha256sum argocd-darwin-"$arch" argocd-linux-"$arch") >"$argocd/cli_checksums.txt"
raw=$www/raw.githubusercontent.com/argoproj/argo-cd/$ARGOCD_VERSION/manifests
manifest_sums=$tmp/manifests-$ARGOCD_VERSION.sha256
mkdir -p "$raw/crds" "$raw/base/config"
for f in crds/application-crd.yaml crds/applicationset-crd.yaml crds/appproject-crd.yaml crds/kustomization.yaml \
  base/config/argocd-cm.yaml base/config/argocd-rbac-cm.yaml base/config/kustomization.yaml install.yaml; do
  printf '# fake %s at %s\nkind: Fake\n' "$f" "$ARGOCD_VERSION" >"$raw/$f"
done
{
  echo "# pinned digests of the fake manifests"
  (cd "$raw" && sha256sum crds/*.yaml base/config/*.yaml install.yaml)
} >"$manifest_sums"

# Helm: get.helm.sh/helm-<v>-linux-<arch>.tar.gz with linux-<arch>/helm, and its .sha256sum.
helm_tgz=helm-$HELM_VERSION-linux-$arch.tar.gz
mkdir -p "$www/get.helm.sh" "$work/helm/linux-$arch"
fake_binary "$work/helm/linux-$arch/helm" helm "$HELM_VERSION"
tar -czf "$www/get.helm.sh/$helm_tgz" -C "$work/helm" "linux-$arch"
(cd "$www/get.helm.sh" && sha256sum "$helm_tgz") >"$www/get.helm.sh/$helm_tgz.sha256sum"

# kustomize: the tag is kustomize/<v> (kustomize%2F<v> in the URL, which the
# server decodes), a tarball holding kustomize, and a goreleaser checksums.txt.
kustomize=$www/github.com/kubernetes-sigs/kustomize/releases/download/kustomize/$KUSTOMIZE_VERSION
kustomize_tgz=kustomize_${KUSTOMIZE_VERSION}_linux_$arch.tar.gz
mkdir -p "$kustomize" "$work/kustomize"
fake_binary "$work/kustomize/kustomize" kustomize "$KUSTOMIZE_VERSION"
tar -czf "$kustomize/$kustomize_tgz" -C "$work/kustomize" kustomize
(cd "$kustomize" && sha256sum "$kustomize_tgz") >"$kustomize/checksums.txt"

# ---------------------------------------------------------------------------
# The server.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
python3 -u -m http.server --bind 127.0.0.1 --directory "$www" "$port" 2>"$tmp/server.log" >/dev/null &
server_pid=$!
mirror=http://127.0.0.1:$port
for _ in $(seq 50); do
  curl --silent --fail --output /dev/null "$mirror/get.helm.sh/$helm_tgz.sha256sum" && break
  sleep 0.1
done
requests() { grep -cE '"(GET|HEAD) ' "$tmp/server.log" || true; }

# run CACHE OUT [ARGS...]: build.sh in release mode through the mirror; stderr to OUT.err.
run() {
  local cache=$1 out=$2
  shift 2
  GITOPS_E2E_CACHE=$cache GITOPS_E2E_TOOLCHAIN_FROM=release GITOPS_E2E_RELEASE_MIRROR=$mirror \
    GITOPS_E2E_ARGOCD_MANIFEST_SUMS=$manifest_sums "$build" "$@" >"$out.out" 2>"$out.err"
}

# ---------------------------------------------------------------------------
# 1. A fresh cache gets every binary, verified, in the usual layout.

cache=$tmp/cache
before=$(requests)
start=$SECONDS
if run "$cache" "$tmp/first"; then ok "release build into a fresh cache succeeds"; else
  not_ok "release build into a fresh cache succeeds (exit $?)"
  sed 's/^/     /' "$tmp/first.err"
fi
first_requests=$(($(requests) - before))
check "it prints the bin directory" grep -qx "$cache/toolchain/bin" "$tmp/first.out"

declare -A pinned=(
  [kube-apiserver]=$KUBERNETES_VERSION [kube-controller-manager]=$KUBERNETES_VERSION
  [kube-scheduler]=$KUBERNETES_VERSION [kubectl]=$KUBERNETES_VERSION [etcd]=$ETCD_VERSION
  [kwok]=$KWOK_VERSION [kwokctl]=$KWOK_VERSION [argocd]=$ARGOCD_VERSION [helm]=$HELM_VERSION
  [kustomize]=$KUSTOMIZE_VERSION
)
declare -A version_arg=([kubectl]=version [argocd]=version [helm]=version [kustomize]=version)
for name in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl argocd helm kustomize; do
  b=$cache/toolchain/bin/$name
  v=${pinned[$name]}
  if [[ -x $b && $(readlink "$b") == "$cache/toolchain/store/$name-$v" ]] &&
    "$b" "${version_arg[$name]:---version}" 2>/dev/null | grep -qF "$v"; then
    ok "bin/$name -> store/$name-$v, executable, prints $v"
  else
    not_ok "bin/$name -> store/$name-$v, executable, prints $v"
  fi
done
check "Argo CD's manifests are in share/argocd (crds/ and config/)" \
  cmp -s "$cache/toolchain/share/argocd/crds/application-crd.yaml" "$raw/crds/application-crd.yaml"
check "... config/ from manifests/base/config" \
  cmp -s "$cache/toolchain/share/argocd/config/argocd-cm.yaml" "$raw/base/config/argocd-cm.yaml"
check "nothing but the toolchain layout is left in the cache" \
  test -z "$(ls -A "$cache/toolchain/tmp" 2>/dev/null)"
check "every download went through the mirror ($first_requests requests)" test "$first_requests" -gt 10

# 2. A second run finds everything cached and downloads nothing.

before=$(requests)
start=$SECONDS
run "$cache" "$tmp/second" && rc=0 || rc=$?
check "second run succeeds" test "$rc" -eq 0
check "second run makes no request ($(($(requests) - before)) made)" test "$(($(requests) - before))" -eq 0
check "second run says every binary is cached" test "$(grep -c ': cached$' "$tmp/second.err")" -eq 10
check "second run takes under 3s ($((SECONDS - start))s)" test $((SECONDS - start)) -lt 3

# 3. Verification failures are hard errors, and leave no store entry behind.

# expect_rejected WHAT FILE EXPECTED ACTUAL STORE_ENTRY LOG: build.sh failed, named FILE and
# both digests (or said none was published when EXPECTED is "none"), installed nothing.
expect_rejected() {
  local what=$1 file=$2 expected=$3 actual=$4 entry=$5 log=$6 c=$7 rc=$8
  check "$what: build.sh fails (exit $rc)" test "$rc" -ne 0
  if [[ $expected == none ]]; then
    check "$what: the error names $file and says no SHA-256 is published" \
      grep -qE "no SHA-256 published for $file" "$log"
  else
    check "$what: the error names $file, expected $expected and actual $actual" \
      grep -qE "checksum mismatch for $file: expected $expected .*actual $actual" "$log"
  fi
  check "$what: no store/$entry entry, no bin link" \
    test ! -e "$c/toolchain/store/$entry" -a ! -L "$c/toolchain/bin/${entry%-v*}"
  check "$what: no partial file left anywhere in the cache" \
    test -z "$(find "$c" \( -name "${file##*/}*" -o -path "$c/toolchain/tmp/*" \) -print)"
}

# 3a. A tampered artifact (the checksum file unchanged).
cp "$www/get.helm.sh/$helm_tgz" "$tmp/helm.orig"
printf 'tampered' >>"$www/get.helm.sh/$helm_tgz"
c=$tmp/cache-bad-artifact
run "$c" "$tmp/bad-artifact" && rc=0 || rc=$?
expect_rejected "tampered helm tarball" "$helm_tgz" "$(sha "$tmp/helm.orig")" "$(sha "$www/get.helm.sh/$helm_tgz")" \
  "helm-$HELM_VERSION" "$tmp/bad-artifact.err" "$c" "$rc"
check "tampered helm tarball: the components before it were still installed" \
  test -x "$c/toolchain/store/kubectl-$KUBERNETES_VERSION"
cp "$tmp/helm.orig" "$www/get.helm.sh/$helm_tgz"

# 3b. A wrong published checksum (the artifact unchanged).
cp "$k8s/kubectl.sha256" "$tmp/kubectl.sha256.orig"
wrong=$(printf 'wrong' | sha256sum | awk '{ print $1 }')
echo "$wrong" >"$k8s/kubectl.sha256"
c=$tmp/cache-bad-sum
run "$c" "$tmp/bad-sum" kubernetes && rc=0 || rc=$?
expect_rejected "wrong kubectl.sha256" kubectl "$wrong" "$(sha "$k8s/kubectl")" \
  "kubectl-$KUBERNETES_VERSION" "$tmp/bad-sum.err" "$c" "$rc"
cp "$tmp/kubectl.sha256.orig" "$k8s/kubectl.sha256"

# 3c. An artifact missing from its checksum file.
cp "$argocd/cli_checksums.txt" "$tmp/cli_checksums.orig"
grep -v "argocd-linux-$arch" "$tmp/cli_checksums.orig" >"$argocd/cli_checksums.txt"
c=$tmp/cache-no-sum
run "$c" "$tmp/no-sum" argocd && rc=0 || rc=$?
expect_rejected "argocd missing from cli_checksums.txt" "argocd-linux-$arch" none "" \
  "argocd-$ARGOCD_VERSION" "$tmp/no-sum.err" "$c" "$rc"
cp "$tmp/cli_checksums.orig" "$argocd/cli_checksums.txt"

# 3d. A kwok asset whose GitHub digest is null.
cp "$kwok_api" "$tmp/kwok-api.orig"
sed -i "/\"name\": \"kwokctl-linux-$arch\"/,/digest/ s/\"digest\": \"sha256:[0-9a-f]*\"/\"digest\": null/" "$kwok_api"
c=$tmp/cache-kwok-null
run "$c" "$tmp/kwok-null" kwok && rc=0 || rc=$?
expect_rejected "kwokctl with no digest in the release API" "kwokctl-linux-$arch" none "" \
  "kwokctl-$KWOK_VERSION" "$tmp/kwok-null.err" "$c" "$rc"
check "kwokctl with no digest: kwok itself (digest present) was installed" \
  test -x "$c/toolchain/store/kwok-$KWOK_VERSION"
cp "$tmp/kwok-api.orig" "$kwok_api"

# 3d'. The same digests read without python3 (build.sh then parses the JSON with awk).
nopy=$tmp/path-without-python
mkdir -p "$nopy"
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  for f in "$d"/*; do
    n=${f##*/}
    [[ -x $f && ! -e $nopy/$n && $n != python* ]] && ln -s "$f" "$nopy/$n"
  done
done
c=$tmp/cache-kwok-awk
PATH=$nopy run "$c" "$tmp/kwok-awk" kwok && rc=0 || rc=$?
check "kwok digests without python3: installed (exit $rc)" \
  test "$rc" -eq 0 -a -x "$c/toolchain/store/kwokctl-$KWOK_VERSION"
sed -i "/\"name\": \"kwokctl-linux-$arch\"/,/digest/ s/\"digest\": \"sha256:[0-9a-f]*\"/\"digest\": null/" "$kwok_api"
c=$tmp/cache-kwok-awk-null
PATH=$nopy run "$c" "$tmp/kwok-awk-null" kwok && rc=0 || rc=$?
check "kwok digests without python3: a null digest is still refused (exit $rc)" \
  grep -qF "no SHA-256 published for kwokctl-linux-$arch" "$tmp/kwok-awk-null.err"
cp "$tmp/kwok-api.orig" "$kwok_api"

# 3e. A tampered Argo CD manifest against the pinned digests: no share entry.
cp "$raw/base/config/argocd-cm.yaml" "$tmp/argocd-cm.orig"
echo "tampered: true" >>"$raw/base/config/argocd-cm.yaml"
c=$tmp/cache-bad-manifest
run "$c" "$tmp/bad-manifest" argocd && rc=0 || rc=$?
check "tampered argocd-cm.yaml: build.sh fails (exit $rc)" test "$rc" -ne 0
check "tampered argocd-cm.yaml: the error names it and both digests" \
  grep -qE "checksum mismatch for manifests/base/config/argocd-cm.yaml: expected $(sha "$tmp/argocd-cm.orig") .*actual $(sha "$raw/base/config/argocd-cm.yaml")" "$tmp/bad-manifest.err"
check "tampered argocd-cm.yaml: no share/argocd-$ARGOCD_VERSION" \
  test ! -e "$c/toolchain/share/argocd-$ARGOCD_VERSION" -a ! -e "$c/toolchain/share/argocd"
cp "$tmp/argocd-cm.orig" "$raw/base/config/argocd-cm.yaml"

# 3f. A missing artifact (404): a download error, nothing stored.
mv "$kustomize/$kustomize_tgz" "$tmp/kustomize.orig"
c=$tmp/cache-404
run "$c" "$tmp/404" kustomize && rc=0 || rc=$?
check "missing kustomize tarball: build.sh fails (exit $rc)" test "$rc" -ne 0
check "missing kustomize tarball: the error names its URL" \
  grep -qF "download of $mirror/github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2F$KUSTOMIZE_VERSION/$kustomize_tgz failed" "$tmp/404.err"
check "missing kustomize tarball: no store entry" test ! -e "$c/toolchain/store/kustomize-$KUSTOMIZE_VERSION"
mv "$tmp/kustomize.orig" "$kustomize/$kustomize_tgz"

# ---------------------------------------------------------------------------
# 4. auto: release when the hosts answer, source when they do not (--explain
# decides and exits without building anything).

explain() {
  GITOPS_E2E_CACHE=$tmp/cache-explain GITOPS_E2E_TOOLCHAIN_FROM=${2:-auto} GITOPS_E2E_RELEASE_MIRROR=$1 \
    "$build" --explain 2>"$tmp/explain.err"
}
start=$SECONDS
dead=http://127.0.0.1:$(free_port)
check "auto, mirror unreachable: --explain says source" test "$(explain "$dead")" = source
check "auto, mirror unreachable: and why, on stderr" \
  grep -qF "mode: source (auto: no answer within 3s from $dead/" "$tmp/explain.err"
check "auto, mirror unreachable: decided within 5s ($((SECONDS - start))s)" test $((SECONDS - start)) -lt 5
check "auto, mirror answering: --explain says release" test "$(explain "$mirror")" = release
check "auto, mirror answering: and why, on stderr" \
  grep -qF "mode: release (auto: the release hosts answered within 3s through $mirror)" "$tmp/explain.err"
check "auto, mirror without the artifacts (404): --explain says source" \
  test "$(explain "$mirror/nothing-here")" = source
check "source requested: --explain says source without probing" \
  test "$(explain "$dead" source)" = source
check "--explain creates no cache" test ! -e "$tmp/cache-explain"
GITOPS_E2E_CACHE=$tmp/cache-explain GITOPS_E2E_TOOLCHAIN_FROM=binary "$build" --explain 2>/dev/null && rc=0 || rc=$?
check "an unknown GITOPS_E2E_TOOLCHAIN_FROM is a usage error (exit $rc)" test "$rc" -eq 2

# ---------------------------------------------------------------------------
# 5. The pinned Argo CD manifest digests match the module source mode copies
# (checked only where that module is already in Go's module cache).

pinned_sums=$here/argocd/manifests-$ARGOCD_VERSION.sha256
check "argocd/manifests-$ARGOCD_VERSION.sha256 exists (release mode needs it)" test -f "$pinned_sums"
module=$(go env GOMODCACHE 2>/dev/null || true)/github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION/manifests
if [[ -d $module && -f $pinned_sums ]]; then
  # shellcheck disable=SC2016 # expanded by the inner bash
  check "the pinned manifest digests match Argo CD's module" \
    bash -c 'cd "$1" && grep -v "^#" "$2" | sha256sum --check --quiet' _ "$module" "$pinned_sums"
else
  echo "skip the pinned manifest digests vs Argo CD's module: module not in Go's module cache"
fi

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
