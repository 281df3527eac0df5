#!/usr/bin/env bash
# A Docker engine that can run kind's privileged node containers on this kind
# of host (a VM whose capability bounding set lacks CAP_SYS_RESOURCE).
#
#   docker-env.sh          make sure `docker info` answers (start dockerd if needed)
#   docker-env.sh stop     stop the dockerd this script started (by its pid file)
#   docker-env.sh status   exit 0 when `docker info` answers
#
# If `docker info` already answers, nothing is done. Otherwise Debian's
# docker.io is installed when missing, a runc wrapper that drops
# CAP_SYS_RESOURCE from every OCI process spec is written, and dockerd is
# started in the background with that wrapper as its default runtime:
#   dockerd --add-runtime nosysres=WRAPPER --default-runtime nosysres
# Log, pid file and wrapper live in $GITOPS_E2E_CACHE/kind (default
# ~/.cache/gitops-e2e/kind).
set -euo pipefail

cache=${GITOPS_E2E_CACHE:-$HOME/.cache/gitops-e2e}
dir=$cache/kind
wrapper=$dir/runc-nosysres
pidfile=$dir/dockerd.pid
logfile=$dir/dockerd.log
wait_seconds=${GITOPS_E2E_DOCKERD_WAIT:-60}

log() { printf '[docker-env] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

answers() { timeout 10 docker info >/dev/null 2>&1; }

# The wrapper: for `create`/`run`, the process spec is <bundle>/config.json
# (capability lists under .process.capabilities); for `exec`, it is the
# --process FILE (capability lists at the top level, .capabilities).
write_wrapper() {
  mkdir -p "$dir"
  cat >"$wrapper.new" <<'WRAP'
#!/usr/bin/python3
# runc, minus CAP_SYS_RESOURCE (written by gitops-e2e tests/kind/docker-env.sh).
import json, os, sys

CAP = "CAP_SYS_RESOURCE"
args = sys.argv[1:]


def value_of(flag):
    for i, a in enumerate(args):
        if a in (flag, "-" + flag) and i + 1 < len(args):
            return args[i + 1]
        for f in (flag, "-" + flag):
            if a.startswith(f + "="):
                return a[len(f) + 1:]
    return None


def strip(path, top_level):
    try:
        with open(path) as f:
            spec = json.load(f)
    except (OSError, ValueError):
        return
    caps = spec.get("capabilities") if top_level else (spec.get("process") or {}).get("capabilities")
    if not isinstance(caps, dict):
        return
    changed = False
    for k, v in caps.items():
        if isinstance(v, list) and CAP in v:
            caps[k] = [c for c in v if c != CAP]
            changed = True
    if changed:
        tmp = path + ".nosysres"
        with open(tmp, "w") as f:
            json.dump(spec, f)
        os.replace(tmp, path)


command = next((a for a in args if not a.startswith("-") and a in ("create", "run", "exec")), None)
if command in ("create", "run"):
    bundle = value_of("--bundle") or value_of("-b") or "."
    strip(os.path.join(bundle, "config.json"), False)
elif command == "exec":
    process = value_of("--process") or value_of("-p")
    if process:
        strip(process, True)
os.execv("/usr/sbin/runc", ["/usr/sbin/runc"] + args)
WRAP
  chmod 0755 "$wrapper.new"
  mv -f "$wrapper.new" "$wrapper"
}

# Every kind node runs systemd, and each one takes inotify instances: with the
# kernel's default of 128 per user, a few nodes at once make systemd exit
# "Failed to create control group inotify object: Too many open files"
# (kind's known issue). Raised, never lowered, when root.
inotify_limits() {
  local kv key want have
  for kv in fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288; do
    key=${kv%=*} want=${kv#*=}
    have=$(sysctl -n "$key" 2>/dev/null || echo 0)
    if ((have < want)); then
      if [[ $(id -u) -eq 0 ]] && sysctl -qw "$key=$want" 2>/dev/null; then
        log "$key: $have -> $want (kind nodes run systemd)"
      else
        log "warning: $key is $have; kind's nodes need about $want (sysctl -w $key=$want as root)"
      fi
    fi
  done
}

start() {
  inotify_limits
  if answers; then
    log "docker info answers; nothing to do"
    return 0
  fi
  if ! command -v dockerd >/dev/null || [[ ! -x /usr/sbin/runc ]]; then
    [[ $(id -u) -eq 0 ]] || die "dockerd is not installed; as root: apt-get install docker.io"
    log "installing Debian's docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  [[ -x /usr/bin/python3 ]] || die "the runtime wrapper needs /usr/bin/python3 (apt-get install python3)"
  write_wrapper
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "dockerd (pid $(cat "$pidfile")) is running but not answering yet; waiting"
  else
    [[ $(id -u) -eq 0 ]] || die "starting dockerd needs root"
    log "starting dockerd (log: $logfile)"
    nohup dockerd --add-runtime "nosysres=$wrapper" --default-runtime nosysres \
      --pidfile "$dir/dockerd.own.pid" >>"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  local start=$SECONDS
  until answers; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      tail -n 20 "$logfile" >&2 || true
      die "dockerd exited; see $logfile"
    fi
    ((SECONDS - start < wait_seconds)) || die "docker info did not answer within ${wait_seconds}s; see $logfile"
    sleep 1
  done
  log "dockerd answers after $((SECONDS - start))s (pid $(cat "$pidfile"))"
}

stop() {
  if [[ ! -f $pidfile ]]; then
    log "no pid file ($pidfile): no dockerd started by this script"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) still running after 30s"
  fi
  rm -f "$pidfile"
}

case ${1:-start} in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *)
    log "usage: $0 [start|stop|status]"
    exit 2
    ;;
esac
