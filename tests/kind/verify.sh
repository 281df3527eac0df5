#!/usr/bin/env bash
# The hand check of the kind environment, as a script: a 3-node cluster
# (kind-configs/agents-pool.yaml + host-patches.yaml) from the node image;
# every node Ready and kube-system pod Running; a pod on one worker reaches a
# pod on the other by pod IP and through a Service name; a PVC binds through
# local-path-provisioner; Argo CD v3.5.3's install.yaml applied server-side
# (imagePullPolicy IfNotPresent, Dex at 0) until its components are Ready; an
# Application from a `git daemon` container (the Argo CD image) on the kind
# network syncs the lesson's agent onto the agents pool; /healthz through
# `kubectl port-forward`. The cluster and the git container are deleted at
# the end, whatever happens. Needs `make kind-images`.
#
#   verify.sh [CLUSTER_NAME]     (default gitops-e2e-verify)
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
name=${1:-gitops-e2e-verify}
export PATH=$toolchain_bin:$PATH
work=$(mktemp -d)
export KUBECONFIG=$work/kubeconfig
gitd=$name-gitd
pf=""
cleanup() {
  [[ -z $pf ]] || kill "$pf" 2>/dev/null || true
  docker rm -f "$gitd" >/dev/null 2>&1 || true
  kind delete cluster --name "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '[verify] %s\n' "$*" >&2; }
t0() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }

status=$("$kind_here/status.sh") || { say "not ready: $status"; exit 1; }
config=$work/kind.yaml
{
  sed -n '/^kind: Cluster/,$p' "$kind_here/../../kind-configs/agents-pool.yaml"
  sed -n '/^kubeadmConfigPatches/,$p' "$kind_here/host-patches.yaml"
} >"$config"

s=$(t0)
kind create cluster --name "$name" --image "$NODE_IMAGE" --config "$config" --kubeconfig "$KUBECONFIG" >"$work/create.log" 2>&1 ||
  { cat "$work/create.log" >&2; exit 1; }
say "kind create cluster: $(since "$s")s"
kubectl wait --for=condition=Ready node --all --timeout=180s >/dev/null
say "3 nodes Ready: $(since "$s")s after create started"
kubectl -n kube-system wait --for=condition=Ready pod --all --timeout=180s >/dev/null
say "all kube-system pods Ready: $(since "$s")s"
kubectl get nodes -o wide >&2
kubectl -n kube-system get pods -o wide >&2

# Pod to pod across the two workers, by pod IP and by Service name.
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeSelector: {workload: agents}
  affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchLabels: {role: probe}}, topologyKey: kubernetes.io/hostname}]}}
  containers:
  - name: httpd
    image: docker.io/library/busybox:1.37
    command: ["sh", "-c", "mkdir -p /srv/www && echo hello-from-$(hostname) > /srv/www/index.html && exec busybox httpd -f -p 8080 -h /srv/www"]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {role: probe}}
spec:
  nodeSelector: {workload: agents}
  containers:
  - {name: c, image: docker.io/library/busybox:1.37, command: ["sleep", "3600"]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
YAML
kubectl wait --for=condition=Ready pod/web pod/client --timeout=90s >/dev/null
web_node=$(kubectl get pod web -o jsonpath='{.spec.nodeName}')
client_node=$(kubectl get pod client -o jsonpath='{.spec.nodeName}')
ip=$(kubectl get pod web -o jsonpath='{.status.podIP}')
[[ $web_node != "$client_node" ]] || { say "web and client landed on one node ($web_node)"; exit 1; }
out=$(kubectl exec client -- wget -qO- "http://$ip:8080/")
say "pod on $client_node -> pod $ip on $web_node: $out"
out=$(kubectl exec client -- wget -qO- http://web.default.svc.cluster.local/)
say "pod on $client_node -> Service web (DNS): $out"

# A PVC through kind's default storage class (local-path-provisioner).
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  containers:
  - {name: w, image: docker.io/library/busybox:1.37, command: ["sh", "-c", "echo ok > /data/f && sleep 3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
YAML
kubectl wait --for=condition=Ready pod/writer --timeout=120s >/dev/null
say "PVC: $(kubectl get pvc data -o jsonpath='{.status.phase}') (storage class $(kubectl get pvc data -o jsonpath='{.spec.storageClassName}'))"

# Argo CD as pods.
s=$(t0)
kubectl create namespace argocd >/dev/null
sed 's/imagePullPolicy: Always/imagePullPolicy: IfNotPresent/' "$toolchain_share/argocd/install.yaml" >"$work/install.yaml"
kubectl apply --server-side -n argocd -f "$work/install.yaml" >/dev/null
kubectl -n argocd scale deploy argocd-dex-server --replicas=0 >/dev/null
for d in argocd-server argocd-repo-server argocd-applicationset-controller argocd-redis; do
  kubectl -n argocd rollout status "deploy/$d" --timeout=300s >/dev/null
done
kubectl -n argocd rollout status statefulset/argocd-application-controller --timeout=300s >/dev/null
say "Argo CD ready (server, repo-server, application-controller, applicationset-controller, redis): $(since "$s")s after apply"
kubectl -n argocd get pods -o wide >&2

# A git daemon from the Argo CD image on the kind network, and an Application.
mkdir -p "$work/src/agent" "$work/srv"
cat >"$work/src/agent/deploy.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: fastapi-agent}
spec:
  replicas: 2
  selector: {matchLabels: {app: fastapi-agent}}
  template:
    metadata: {labels: {app: fastapi-agent}}
    spec:
      nodeSelector: {workload: agents}
      containers:
      - name: agent
        image: 123456789.dkr.ecr.us-east-1.amazonaws.com/your-org/fastapi-agent:sha-abc1234
        ports: [{containerPort: 8000}]
        readinessProbe: {httpGet: {path: /healthz, port: 8000}, periodSeconds: 2}
YAML
git -C "$work/src" init -q -b main
git -C "$work/src" add -A
git -C "$work/src" -c user.email=verify@localhost -c user.name=verify commit -qm agent
git clone -q --bare "$work/src" "$work/srv/agent.git"
docker run -d --name "$gitd" --network kind -v "$work/srv:/srv/git:ro" "$ARGOCD_IMAGE" \
  git -c safe.directory='*' daemon --export-all --reuseaddr --base-path=/srv/git --port=9418 /srv/git >/dev/null
gip=$(docker inspect -f '{{ .NetworkSettings.Networks.kind.IPAddress }}' "$gitd")
s=$(t0)
kubectl apply -f - >/dev/null <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: agent, namespace: argocd}
spec:
  project: default
  source: {repoURL: "git://$gip:9418/agent.git", targetRevision: main, path: agent}
  destination: {server: https://kubernetes.default.svc, namespace: agents}
  syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}
YAML
for _ in $(seq 1 90); do
  st=$(kubectl -n argocd get application agent -o jsonpath='{.status.sync.status}/{.status.health.status}' 2>/dev/null || true)
  [[ $st == Synced/Healthy ]] && break
  sleep 2
done
[[ $st == Synced/Healthy ]] || { say "Application agent: $st"; exit 1; }
say "Application from git://$gip:9418/agent.git: $st after $(since "$s")s"
kubectl -n agents get pods -o wide >&2

kubectl -n agents port-forward deploy/fastapi-agent 18080:8000 >"$work/pf.log" 2>&1 &
pf=$!
for _ in $(seq 1 20); do
  out=$(curl -s --max-time 2 http://127.0.0.1:18080/healthz) && break
  sleep 0.5
done
say "port-forward GET /healthz: $out"
say "port-forward GET /: $(curl -s --max-time 2 http://127.0.0.1:18080/)"
[[ $out == '{"status":"ok"}' ]]
say "all checks passed; deleting cluster $name"
