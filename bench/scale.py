#!/usr/bin/env python3
"""Scale on kwok: a scenario with N clusters and 5 Applications per cluster
(the lesson's agent chart, synced automatically), run to its verdict at each
N given (default 3 and 10: 15 and 50 Applications). Prints the time to
verdict, the phases, and the harness's own peak memory (VmHWM of the
gitops-e2e process, sampled from /proc; the clusters' and Argo CD's
processes are not counted) as median and spread of RUNS runs.

    bench/scale.py            RUNS=3, N = 3 10
    RUNS=1 bench/scale.py 3 5 10
    BIN=/path/to/gitops-e2e bench/scale.py
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS_PER_CLUSTER = 5


def scenario(dir_: Path, clusters: int) -> Path:
    names = ["hub"] + [f"c{i}" for i in range(1, clusters)]
    servers = {n: "https://kubernetes.default.svc" if n == "hub" else f"https://{n}.k8s.internal:6443" for n in names}
    elements = []
    expect = {}
    for n in names:
        for k in range(APPS_PER_CLUSTER):
            app = f"agent-{k}-{n}"
            elements.append({"app": app, "server": servers[n], "namespace": f"agents-{k}"})
            expect[app] = {
                "cluster": n,
                "namespace": f"agents-{k}",
                "deployments": {"fastapi-agent": {"replicas": 1}},
            }
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": f"scale-{clusters}", "namespace": "argocd"},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": {
                "metadata": {"name": "{{ .app }}"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://your-org.github.io/helm-charts",
                        "chart": "fastapi-agent",
                        "targetRevision": "0.1.0",
                        "helm": {
                            "releaseName": "fastapi-agent",
                            "values": "replicaCount: 1\nimage:\n  repository: docker.io/your-org/fastapi-agent\n  tag: sha-abc1234\n"
                            "resources:\n  requests: {cpu: 10m, memory: 32Mi}\n  limits: {memory: 64Mi}\n",
                        },
                    },
                    "destination": {"server": "{{ .server }}", "namespace": "{{ .namespace }}"},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }
    (dir_ / "appset.yaml").write_text(json.dumps(appset, indent=2))
    scen = {
        "apiVersion": "gitops-e2e/v1alpha1",
        "kind": "Scenario",
        "metadata": {"name": f"scale-{clusters}-clusters"},
        "spec": {
            "provider": "kwok",
            "clusters": [{"name": n} if n == "hub" else {"name": n, "server": servers[n]} for n in names],
            "argocd": {"cluster": "hub"},
            "repos": [{"url": "https://your-org.github.io/helm-charts", "path": str(ROOT / "scenarios/lesson/charts")}],
            "applicationSet": "appset.yaml",
            "expect": {"applications": expect},
            "timeouts": {"setup": "5m", "sync": "5m"},
        },
    }
    path = dir_ / "scenario.yaml"
    path.write_text(json.dumps(scen, indent=2))
    return path


def run_once(bin_: str, path: Path, out: Path):
    started = time.monotonic()
    proc = subprocess.Popen(
        [bin_, "run", str(path), "--provider", "kwok", "--json", str(out), "--diagnostics", str(out.parent / "diagnostics")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CI": "true"},
    )
    peak_kb = 0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        time.sleep(0.05)
    wall = time.monotonic() - started
    report = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, wall, peak_kb, report


def spread(xs, fmt="{:.1f}"):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def main():
    bin_ = os.environ.get("BIN", str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/gitops-e2e"))
    runs = int(os.environ.get("RUNS", "3"))
    sizes = [int(a) for a in sys.argv[1:]] or [3, 10]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            d = Path(tmp) / f"n{n}"
            d.mkdir()
            path = scenario(d, n)
            walls, peaks, phases, codes = [], [], {}, []
            for i in range(runs):
                code, wall, peak, report = run_once(bin_, path, d / f"{i}.json")
                codes.append(code)
                walls.append(wall)
                peaks.append(peak / 1024)
                for p in report.get("phases", []):
                    phases.setdefault(p["name"], []).append(p["duration_ms"] / 1000)
                for s in report.get("steps", []):
                    phases.setdefault("step " + s["step"], []).append(s["duration_ms"] / 1000)
            rows.append((n, walls, peaks, phases, codes))
    print(f"scale on kwok, {APPS_PER_CLUSTER} Applications per cluster, {runs} run(s) each; median (min–max)")
    print(f"{'clusters':>8} {'apps':>5} {'verdict s':>20} {'harness peak MiB':>22}  exit codes")
    for n, walls, peaks, _, codes in rows:
        print(f"{n:>8} {n * APPS_PER_CLUSTER:>5} {spread(walls):>20} {spread(peaks):>22}  {codes}")
    for n, _, _, phases, _ in rows:
        print(f"\n{n} clusters, phases (s):")
        for name, xs in phases.items():
            print(f"  {name:<28} {spread(xs)}")
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        ratio = statistics.median(last[1]) / statistics.median(first[1])
        print(f"\n{last[0]} clusters take {ratio:.2f}× the time of {first[0]}")
    if any(c != 0 for row in rows for c in row[4]):
        sys.exit(1)


if __name__ == "__main__":
    main()
