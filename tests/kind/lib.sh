# Shared by build-images.sh and status.sh: what the kind test environment
# consists of, and the key (a label on each image) that says which inputs
# built it. Sourced, not run.
# shellcheck shell=bash

kind_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../toolchain/versions.env
source "$kind_here/../toolchain/versions.env"
cache=${GITOPS_E2E_CACHE:-$HOME/.cache/gitops-e2e}
kind_cache=$cache/kind
toolchain_bin=$cache/toolchain/bin
toolchain_store=$cache/toolchain/store
toolchain_share=$cache/toolchain/share

# Versions of what kubeadm v1.36.3 expects (`kubeadm config images list`) and
# of what is built here for it.
COREDNS_VERSION=v1.14.2
ETCD_IMAGE_TAG=3.6.8-0
PAUSE_TAGS="3.10.2 3.10" # kubeadm's, and the node containerd config's sandbox_image
CRICTL_VERSION=v1.37.0
KINDNETD_IMAGE=docker.io/kindest/kindnetd:v20260528-9350166c # kind v0.32.0's default CNI manifest
# kind v0.32.0's default storage manifest's images; the provisioner is built
# from rancher's module at the newest version the module proxy serves (kind's
# own image has v0.0.34).
LOCAL_PATH_PROVISIONER_IMAGE=docker.io/kindest/local-path-provisioner:v20260521-9fb22683
LOCAL_PATH_HELPER_IMAGE=docker.io/kindest/local-path-helper:v20260131-7181c60a
LOCAL_PATH_VERSION=v0.0.30
BUSYBOX_TAG=1.37
REDIS_IMAGE=public.ecr.aws/docker/library/redis:8.2.3-alpine
ARGOCD_IMAGE=quay.io/argoproj/argocd:$ARGOCD_VERSION
AGENT_IMAGES="docker.io/your-org/fastapi-agent:sha-abc1234 123456789.dkr.ecr.us-east-1.amazonaws.com/your-org/fastapi-agent:sha-abc1234"
BASE_IMAGE=gitops-e2e.local/bookworm-minbase:bookworm
NODE_IMAGE=gitops-e2e.local/kind-node:$KUBERNETES_VERSION
LABEL_KEY=gitops-e2e.key

# Every image (a name here) and its tags. The node image comes last: it
# preloads every other one except the base.
images() { echo base pause kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns kindnetd local-path-provisioner local-path-helper argocd redis busybox fastapi-agent node; }
preloaded() { images | tr ' ' '\n' | grep -vx -e base -e node; }

tags_of() {
  case $1 in
    base) echo "$BASE_IMAGE" ;;
    pause) for t in $PAUSE_TAGS; do echo "registry.k8s.io/pause:$t"; done ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy) echo "registry.k8s.io/$1:$KUBERNETES_VERSION" ;;
    etcd) echo "registry.k8s.io/etcd:$ETCD_IMAGE_TAG" ;;
    coredns) echo "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" ;;
    kindnetd) echo "$KINDNETD_IMAGE" ;;
    local-path-provisioner) echo "$LOCAL_PATH_PROVISIONER_IMAGE" ;;
    local-path-helper) echo "$LOCAL_PATH_HELPER_IMAGE" ;;
    argocd) echo "$ARGOCD_IMAGE" ;;
    redis) echo "$REDIS_IMAGE" ;;
    busybox) echo "docker.io/library/busybox:$BUSYBOX_TAG" ;;
    fastapi-agent) echo "$AGENT_IMAGES" | tr ' ' '\n' ;;
    node) echo "$NODE_IMAGE" ;;
  esac
}

# The versions an image is built from (its recipe files are hashed too).
versions_of() {
  case $1 in
    base) echo "debootstrap minbase bookworm" ;;
    pause) echo "pause.c" ;;
    kube-*) echo "kubernetes $KUBERNETES_VERSION" ;;
    etcd) echo "etcd $ETCD_VERSION as $ETCD_IMAGE_TAG" ;;
    coredns) echo "coredns $COREDNS_VERSION" ;;
    kindnetd) echo "kindnetd.sh" ;;
    local-path-provisioner) echo "local-path-provisioner $LOCAL_PATH_VERSION" ;;
    local-path-helper) echo "base" ;;
    argocd) echo "argocd $ARGOCD_VERSION helm $HELM_VERSION kustomize $KUSTOMIZE_VERSION" ;;
    redis) echo "debian redis-server" ;;
    busybox) echo "debian busybox-static" ;;
    fastapi-agent) echo "debian python3-fastapi" ;;
    node) echo "kind $KIND_VERSION kubernetes $KUBERNETES_VERSION crictl $CRICTL_VERSION" ;;
  esac
}

recipe_dir() {
  case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler) echo "$kind_here/images/control-plane" ;;
    *) echo "$kind_here/images/$1" ;;
  esac
}

# key_of IMAGE: a short digest of its versions, its recipe files, the base's
# key (every image but pause and busybox's final stage sits on it), and for
# the node, every preloaded image's key.
declare -A _keys=()
key_of() {
  local name=$1 dir input p
  if [[ -n ${_keys[$name]:-} ]]; then
    echo "${_keys[$name]}"
    return
  fi
  dir=$(recipe_dir "$name")
  input="$name|$(versions_of "$name")|$(tags_of "$name" | tr '\n' ' ')"
  if [[ -d $dir ]]; then
    input+="|$(cd "$dir" && find . -type f | LC_ALL=C sort | xargs sha256sum)"
    input+="|$(cd "$dir" && find . -type f -printf '%m %p\n' | LC_ALL=C sort)"
  fi
  [[ $name == base ]] || input+="|base=$(key_of base)"
  if [[ $name == node ]]; then
    for p in $(preloaded); do input+="|$p=$(key_of "$p")"; done
  fi
  _keys[$name]=$(printf '%s' "$input" | sha256sum | cut -c1-16)
  echo "${_keys[$name]}"
}

# label_of TAG: the image's key label, from the engine when it answers, else
# from dockerd's own files (so that status.sh can tell before starting it).
docker_root=${GITOPS_E2E_DOCKER_ROOT:-/var/lib/docker}
docker_answers=""
label_of() {
  local tag=$1 short id
  if [[ -z $docker_answers ]]; then
    docker_answers=no
    timeout 10 docker info >/dev/null 2>&1 && docker_answers=yes
  fi
  if [[ $docker_answers == yes ]]; then
    docker image inspect -f "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$tag" 2>/dev/null
    return
  fi
  short=${tag#docker.io/}
  short=${short#library/}
  id=$(jq -r --arg t "$short" '[.Repositories[][$t] // empty][0] // empty' \
    "$docker_root/image/overlay2/repositories.json" 2>/dev/null) || return 1
  [[ -n $id ]] || return 1
  jq -r --arg k "$LABEL_KEY" '.config.Labels[$k] // empty' \
    "$docker_root/image/overlay2/imagedb/content/sha256/${id#sha256:}" 2>/dev/null
}

# image_current IMAGE: every tag exists and carries the image's key.
image_current() {
  local name=$1 want tag have
  want=$(key_of "$name")
  for tag in $(tags_of "$name"); do
    have=$(label_of "$tag") || return 1
    [[ $have == "$want" ]] || return 1
  done
}
