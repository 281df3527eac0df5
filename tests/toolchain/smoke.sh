#!/usr/bin/env bash
# The toolchain smoke run: proves the pinned stack works end to end on this
# machine with no containers.
#
#   1. a kwokctl cluster (--runtime binary) from the local binaries, no downloads;
#   2. a KWOK node without taints;
#   3. Argo CD's CRDs and config objects from the module cache, redis-server,
#      and Argo CD's components as local processes (ARGOCD_FAKE_IN_CLUSTER);
#   4. a file:// git repository with the lesson's chart, and an ApplicationSet
#      with two list elements;
#   5. checks: both Applications generated, Synced and Healthy, and each
#      Deployment at its replica count with Running, Ready pods.
#
# Everything it starts is stopped at the end, also on failure or Ctrl-C.
# Prints the figures the toolchain is judged by (times, resident memory).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
bin=$("$here/build.sh" --print-bin)
argocd_share=$(dirname "$bin")/share/argocd-$ARGOCD_VERSION
timeout_s=${SMOKE_TIMEOUT:-240}

log() { printf '[smoke %5.1fs] %s\n' "$(elapsed)" "$*" >&2; }
die() { printf '[smoke] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
t0=$(now)
elapsed() { awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for tool in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl argocd helm kustomize; do
  [[ -x $bin/$tool ]] || die "toolchain binary \`$tool\` is missing in $bin: run \`make toolchain\`"
done
for tool in git redis-server; do
  command -v "$tool" >/dev/null || die "\`$tool\` is not installed: run \`make deps\`"
done
[[ -f $argocd_share/crds/kustomization.yaml ]] || die "Argo CD $ARGOCD_VERSION manifests missing ($argocd_share): run \`make toolchain\`"

work=$(mktemp -d "${TMPDIR:-/tmp}/gitops-e2e-smoke.XXXXXX")
cluster=gitops-e2e-smoke-$$
export KWOK_WORKDIR=$work/kwok # kwokctl keeps the cluster here, not in ~/.kwok
export KWOK_KUBE_VERSION=$KUBERNETES_VERSION
export KUBECONFIG=$work/kubeconfig
export PATH=$bin:$PATH
pids=()

cleanup() {
  local code=$?
  trap - EXIT INT TERM
  log "cleaning up"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  kwokctl delete cluster --name "$cluster" >/dev/null 2>&1 || true
  if [[ $code != 0 && -d $work/logs ]]; then
    for f in "$work"/logs/*.log; do
      printf '\n--- last lines of %s\n' "$(basename "$f")" >&2
      tail -n 15 "$f" >&2
    done
  fi
  # Whatever still runs from the work directory is a leak: stop it and say so.
  local left
  left=$(pgrep -f "$work" || true)
  if [[ -n $left ]]; then
    printf '[smoke] error: processes left behind: %s\n' "$left" >&2
    kill -9 $left 2>/dev/null || true
    code=1
  fi
  rm -rf "$work"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port: ask the kernel through bash's /dev/tcp, from a random start.
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls a readiness probe (a command
# that succeeds once) at 0.2 s intervals; used only where no watch exists.
wait_for() {
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${limit}s waiting for $what"
    sleep 0.2
  done
}

mkdir -p "$work/logs" "$work/tmp" "$work/argocd"/{tls,ssh,gpg/keys,gpg/source}

# --- 1. the cluster -------------------------------------------------------
log "kwokctl create cluster $cluster (binary runtime, local binaries)"
t_create=$(now)
kwokctl create cluster --name "$cluster" --runtime binary \
  --kube-apiserver-binary "$bin/kube-apiserver" \
  --kube-controller-manager-binary "$bin/kube-controller-manager" \
  --kube-scheduler-binary "$bin/kube-scheduler" \
  --kwok-controller-binary "$bin/kwok" \
  --etcd-binary "$bin/etcd" \
  --wait 2m >"$work/logs/kwokctl.log" 2>&1 || { cat "$work/logs/kwokctl.log" >&2; die "kwokctl create cluster failed"; }
kwokctl get kubeconfig --name "$cluster" >"$KUBECONFIG"
wait_for "the API server to be ready" 60 kubectl get --raw /readyz
t_api=$(now)
log "API server ready"
kubectl version -o json | grep -q "\"gitVersion\": \"$KUBERNETES_VERSION\"" || die "API server does not report $KUBERNETES_VERSION"

# --- 2. a node ------------------------------------------------------------
kubectl apply -f "$here/smoke/node.yaml" >/dev/null
# condition_true OBJECT TYPE: `kubectl wait --for=condition` fails outright
# while an object has no conditions yet, so read the condition instead.
condition_true() {
  [[ $(kubectl get "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}") == True ]]
}
wait_for "node smoke-node-0 to be Ready" 60 condition_true node/smoke-node-0 Ready

# --- 3. Argo CD -----------------------------------------------------------
kubectl create namespace argocd >/dev/null
kubectl config set-context --current --namespace argocd >/dev/null
kubectl apply --server-side -k "$argocd_share/crds" >/dev/null
kubectl apply -n argocd -k "$argocd_share/config" >/dev/null
for crd in applications applicationsets appprojects; do
  wait_for "CRD $crd.argoproj.io" 60 condition_true "crd/$crd.argoproj.io" Established
done

redis_port=$(free_port)
repo_port=$(free_port)
server_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/logs/redis.log" 2>&1 &
pids+=($!)

argocd_env=(
  ARGOCD_FAKE_IN_CLUSTER=true
  ARGOCD_TLS_DATA_PATH="$work/argocd/tls"
  ARGOCD_SSH_DATA_PATH="$work/argocd/ssh"
  ARGOCD_GNUPGHOME="$work/argocd/gpg/keys"
  ARGOCD_GPG_DATA_PATH="$work/argocd/gpg/source"
  ARGOCD_GPG_ENABLED=false
  HOSTNAME=argocd-application-controller-0
  TMPDIR="$work/tmp" # the repo-server's checkouts go here, removed with the rest
)
# The repo-server runs `git-verify-wrapper.sh REVISION` on every checkout
# (its image ships one). Signature verification is off (ARGOCD_GPG_ENABLED=false),
# so report no signature and succeed.
mkdir -p "$work/bin"
printf '#!/bin/sh\n# gitops-e2e: GPG verification is disabled; report no signature.\nexit 0\n' >"$work/bin/git-verify-wrapper.sh"
chmod +x "$work/bin/git-verify-wrapper.sh"

start_argocd() {
  local component=$1
  shift
  env "${argocd_env[@]}" PATH="$work/bin:$PATH" ARGOCD_BINARY_NAME="$component" "$bin/argocd" "$@" \
    >"$work/logs/$component.log" 2>&1 &
  pids+=($!)
}
wait_for "redis-server" 20 redis-cli -p "$redis_port" ping
start_argocd argocd-repo-server --port "$repo_port" --metrics-port "$(free_port)" \
  --redis "127.0.0.1:$redis_port" --loglevel info
start_argocd argocd-application-controller --redis "127.0.0.1:$redis_port" \
  --repo-server "127.0.0.1:$repo_port" --metrics-port "$(free_port)" --loglevel info
start_argocd argocd-applicationset-controller --argocd-repo-server "127.0.0.1:$repo_port" \
  --metrics-addr "127.0.0.1:$(free_port)" --probe-addr "127.0.0.1:$(free_port)" \
  --webhook-addr "127.0.0.1:$(free_port)" --loglevel info
start_argocd argocd-server --redis "127.0.0.1:$redis_port" --repo-server "127.0.0.1:$repo_port" \
  --port "$server_port" --metrics-port "$(free_port)" --insecure --disable-auth=true \
  --dex-server http://127.0.0.1:1 --loglevel info
wait_for "argocd-server" 90 curl -sf "http://127.0.0.1:$server_port/healthz"
t_argocd=$(now)
log "Argo CD components up (server on 127.0.0.1:$server_port)"

# --- 4. a git repository and the ApplicationSet ---------------------------
repo=$work/repo
mkdir -p "$repo/charts"
cp -r "$here/../../scenarios/lesson/charts/fastapi-agent" "$repo/charts/"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=gitops-e2e -c user.email=gitops-e2e@localhost add -A
git -C "$repo" -c user.name=gitops-e2e -c user.email=gitops-e2e@localhost commit -qm "fastapi-agent chart"
sed "s#REPO_URL#file://$repo#" "$here/smoke/appset.yaml" | kubectl apply -f - >/dev/null
t_applied=$(now)

# --- 5. checks --------------------------------------------------------------
for app in smoke-alpha smoke-beta; do
  kubectl wait --for=create "application/$app" --timeout="${timeout_s}s" >/dev/null ||
    die "the ApplicationSet did not generate $app"
done
log "ApplicationSet generated smoke-alpha and smoke-beta"
for app in smoke-alpha smoke-beta; do
  kubectl wait --for=jsonpath='{.status.sync.status}'=Synced "application/$app" --timeout="${timeout_s}s" >/dev/null ||
    die "$app is not Synced: $(kubectl get application "$app" -o jsonpath='{.status.conditions}{.status.operationState.message}')"
  kubectl wait --for=jsonpath='{.status.health.status}'=Healthy "application/$app" --timeout="${timeout_s}s" >/dev/null ||
    die "$app is not Healthy: $(kubectl get application "$app" -o jsonpath='{.status.health}')"
done
t_healthy=$(now)
log "both Applications Synced and Healthy"

declare -A want=([alpha]=2 [beta]=3)
for env in alpha beta; do
  ns=smoke-$env
  ready=$(kubectl get deployment fastapi-agent -n "$ns" -o jsonpath='{.status.readyReplicas}')
  [[ $ready == "${want[$env]}" ]] || die "deployment $ns/fastapi-agent has $ready ready replicas, want ${want[$env]}"
  running=$(kubectl get pods -n "$ns" --field-selector=status.phase=Running -o name | wc -l)
  [[ $running == "${want[$env]}" ]] || die "$ns has $running Running pods, want ${want[$env]}"
  log "$ns: deployment fastapi-agent ${ready}/${want[$env]} ready, $running pods Running"
done

# --- figures ----------------------------------------------------------------
rss_kib=0
for pid in "${pids[@]}" $(pgrep -f "$work" || true); do
  r=$(ps -o rss= -p "$pid" 2>/dev/null || true)
  rss_kib=$((rss_kib + ${r:-0}))
done
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
cat <<EOF
smoke: PASSED
  kwokctl create -> API server ready:    $(span "$t_create" "$t_api") s
  Argo CD components up:                 $(span "$t_api" "$t_argocd") s
  ApplicationSet applied -> both Synced and Healthy: $(span "$t_applied" "$t_healthy") s
  total:                                 $(elapsed) s
  resident memory of the running stack:  $((rss_kib / 1024)) MiB
EOF
