#!/bin/bash
# kindnetd, the small part kind's default CNI does that a test cluster needs,
# as a shell loop (the real kindnetd, a Go project, is not served by the Go
# module proxy this environment can reach). It runs from kind's own default
# CNI manifest (/kind/manifests/default-cni.yaml, a hostNetwork DaemonSet with
# NET_ADMIN and NET_RAW, /etc/cni/net.d mounted), under kind's image name, and
# every SYNC_SECONDS:
#   - reads the Nodes from the API server (the pod's service account token;
#     CONTROL_PLANE_ENDPOINT, which kind adds, else the kubernetes Service),
#   - for its own Node, writes /etc/cni/net.d/10-kindnet.conflist: ptp +
#     host-local on the Node's podCIDR, portmap (the plugins of kind's node),
#   - for every other Node, `ip route replace <its podCIDR> via <its InternalIP>`,
#     so that pods on different nodes reach each other by pod IP,
#   - masquerades traffic from pods to anything outside POD_SUBNET.
set -uo pipefail

sync_seconds=${SYNC_SECONDS:-10}
sa=/var/run/secrets/kubernetes.io/serviceaccount
cni_conf=/etc/cni/net.d/10-kindnet.conflist
mtu=${CNI_MTU:-$(ip -o link show "$(ip -o route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}' | head -n1)" 2>/dev/null |
  awk '{for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1)}')}
mtu=${mtu:-1500}
node_name=$(hostname)

log() { printf '%s kindnetd: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

endpoints=()
[[ -n ${CONTROL_PLANE_ENDPOINT:-} ]] && endpoints+=("https://$CONTROL_PLANE_ENDPOINT")
[[ -n ${KUBERNETES_SERVICE_HOST:-} ]] && endpoints+=("https://$KUBERNETES_SERVICE_HOST:${KUBERNETES_SERVICE_PORT:-443}")

nodes_json() {
  local e
  for e in "${endpoints[@]}"; do
    if curl -sSf --max-time 10 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" \
      "$e/api/v1/nodes"; then
      return 0
    fi
  done
  return 1
}

masquerade() {
  [[ -n ${POD_SUBNET:-} ]] || return 0
  iptables -t nat -N KIND-MASQ-AGENT 2>/dev/null || true
  iptables -t nat -C POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent" -j KIND-MASQ-AGENT 2>/dev/null ||
    iptables -t nat -A POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent" -j KIND-MASQ-AGENT
  iptables -t nat -F KIND-MASQ-AGENT
  iptables -t nat -A KIND-MASQ-AGENT -d "$POD_SUBNET" -j RETURN
  iptables -t nat -A KIND-MASQ-AGENT -j MASQUERADE
}

write_conf() {
  local cidr=$1 tmp
  tmp=$(mktemp /etc/cni/net.d/.kindnet.XXXXXX)
  cat >"$tmp" <<CONF
{
  "cniVersion": "0.4.0",
  "name": "kindnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": $mtu,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "$cidr" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CONF
  if cmp -s "$tmp" "$cni_conf"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$cni_conf"
    log "wrote $cni_conf for $cidr"
  fi
}

log "node $node_name, pod subnet ${POD_SUBNET:-?}, mtu $mtu, API ${endpoints[*]}"
masquerade
while true; do
  if json=$(nodes_json); then
    while read -r name ip cidr; do
      [[ -n $cidr && $cidr != null && -n $ip && $ip != null ]] || continue
      if [[ $name == "$node_name" ]]; then
        write_conf "$cidr"
      else
        current=$(ip route show "$cidr" 2>/dev/null)
        if [[ $current != *"via $ip "* ]]; then
          ip route replace "$cidr" via "$ip" && log "route $cidr via $ip ($name)"
        fi
      fi
    done < <(jq -r '.items[] | [.metadata.name,
        ((.status.addresses // []) | map(select(.type == "InternalIP")) | map(.address) | map(select(test(":") | not)) | .[0]),
        (.spec.podCIDR // null)] | @tsv' <<<"$json")
  else
    log "cannot list nodes yet"
  fi
  sleep "$sync_seconds"
done
