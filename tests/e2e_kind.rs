//! End-to-end on kind: real Docker, real kind clusters (nodes are containers
//! running kubelet and containerd), Argo CD installed in the hub from its
//! install manifest and running as pods, repositories served from containers
//! on the `kind` network, the agent's pods really running.
//!
//! Needs the kind test environment (`make kind-images`, Docker answering);
//! `make test` starts Docker and includes these tests when
//! `tests/kind/status.sh` says ready, and lists them as ignored otherwise.
//! The images cannot be pulled on the project's machines, so the runs use the
//! locally built node image and the host's kubeadm patches
//! (`tests/kind/host-patches.yaml`); a user's laptop needs neither.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

const NODE_IMAGE: &str = "gitops-e2e.local/kind-node:v1.36.3";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Why the kind tier cannot run here, if it cannot.
fn not_ready() -> Option<String> {
    if let Some(reason) = gitops_e2e::toolchain::missing_for_live_runs() {
        return Some(reason);
    }
    let status = Command::new(root().join("tests/kind/status.sh"))
        .output()
        .expect("tests/kind/status.sh runs");
    if !status.status.success() {
        return Some(String::from_utf8_lossy(&status.stdout).trim().to_string());
    }
    let docker = Command::new("docker").args(["info"]).output();
    if !docker.is_ok_and(|o| o.status.success()) {
        return Some("docker does not answer (make docker-env)".into());
    }
    None
}

macro_rules! require_kind {
    () => {
        if let Some(reason) = not_ready() {
            panic!("the kind tier cannot run here: {reason}");
        }
    };
}

struct RunResult {
    code: i32,
    report: Value,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// The files of the diagnostics bundle, if one was written.
    diagnostics: Vec<String>,
    /// The last lines of the node logs a failed `kind create` left in the
    /// bundle (kubelet, etcd, kube-apiserver), to say why it failed.
    node_logs: String,
}

impl RunResult {
    fn step(&self, name: &str) -> &Value {
        self.report["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == name))
            .unwrap_or_else(|| panic!("no step {name} in report:\n{}", self.explain()))
    }

    fn checks(&self, step: &str) -> Vec<&Value> {
        self.step(step)["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .collect()
    }

    fn failures(&self, step: &str) -> Vec<String> {
        self.checks(step)
            .into_iter()
            .filter(|c| c["outcome"]["status"] == "failed")
            .map(|c| {
                format!(
                    "{}: {} — {}",
                    c["application"].as_str().unwrap_or("-"),
                    c["name"].as_str().unwrap_or(""),
                    c["outcome"]["reason"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// Each of the five steps ran, and none of their checks failed.
    fn assert_every_step_passed(&self) {
        for step in ["dry-run", "diff", "count", "sync", "assert"] {
            assert!(
                self.failures(step).is_empty(),
                "{step}: {:?}",
                self.failures(step)
            );
            assert!(self.step(step)["skipped"].is_null(), "{step} skipped");
        }
    }

    fn explain(&self) -> String {
        format!(
            "exit {} after {:?}\nstdout:\n{}\nstderr:\n{}{}",
            self.code, self.elapsed, self.stdout, self.stderr, self.node_logs
        )
    }
}

fn kind_clusters() -> Vec<String> {
    let kind = gitops_e2e::toolchain::Toolchain::locate()
        .map(|t| t.bin("kind"))
        .unwrap_or_else(|_| "kind".into());
    let out = Command::new(kind)
        .args(["get", "clusters"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Containers that carry a run's label (the repository servers).
fn run_containers() -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "label=io.gitops-e2e.run",
            "--format",
            "{{.Names}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs a scenario on kind with the test environment's node image and
/// patches; checks that it left no cluster, container or run directory.
fn run_kind(scenario: &str, extra: &[&str], env: &[(&str, &str)]) -> RunResult {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let clusters_before = kind_clusters();
    let containers_before = run_containers();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"));
    cmd.current_dir(root())
        .args(["run", scenario, "--provider", "kind", "--json"])
        .arg(&json)
        .arg("--diagnostics")
        .arg(dir.path().join("diagnostics"))
        .args(extra)
        .env("CI", "true")
        .env("TMPDIR", &tmp)
        .env("GITOPS_E2E_KIND_NODE_IMAGE", NODE_IMAGE)
        .env(
            "GITOPS_E2E_KIND_PATCHES",
            root().join("tests/kind/host-patches.yaml"),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("gitops-e2e runs");
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let diagnostics = walk(&dir.path().join("diagnostics"));
    let node_logs = failed_create_logs(&dir.path().join("diagnostics"));
    let result = RunResult {
        code: out.status.code().unwrap_or(-1),
        report,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
        diagnostics,
        node_logs,
    };
    let new_clusters: Vec<String> = kind_clusters()
        .into_iter()
        .filter(|c| !clusters_before.contains(c))
        .collect();
    assert!(
        new_clusters.is_empty(),
        "{scenario}: kind clusters left behind: {new_clusters:?}\n{}",
        result.explain()
    );
    let new_containers: Vec<String> = run_containers()
        .into_iter()
        .filter(|c| !containers_before.contains(c))
        .collect();
    assert!(
        new_containers.is_empty(),
        "{scenario}: containers left behind: {new_containers:?}"
    );
    let left = run_dirs(&tmp);
    assert!(
        left.is_empty(),
        "{scenario}: run directories left: {left:?}"
    );
    eprintln!(
        "{scenario} on kind: exit {} in {:?}",
        result.code, result.elapsed
    );
    result
}

/// The last lines of the kubelet, etcd and kube-apiserver logs of failed
/// kind creates in a diagnostics bundle below `dir`.
fn failed_create_logs(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if name.starts_with("kind-")
                && ["kubelet.log", "etcd", "kube-apiserver"]
                    .iter()
                    .any(|k| name.contains(k))
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(25)..].join("\n");
                out.push_str(&format!("\n--- {name} (last lines)\n{tail}\n"));
            }
        }
    }
    out
}

/// Every file name below `dir`.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

fn run_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gitops-e2e-run-"))
        .collect()
}

/// The kind test's own clusters for the existing provider, made outside any
/// run; each deleted by its name when dropped (never another cluster).
struct OwnClusters {
    kind: PathBuf,
    names: Vec<String>,
}

impl OwnClusters {
    fn delete(kind: &Path, name: &str) {
        let _ = Command::new(kind)
            .args(["delete", "cluster", "--name", name])
            .output();
    }
}

impl Drop for OwnClusters {
    fn drop(&mut self) {
        for name in &self.names {
            Self::delete(&self.kind, name);
        }
    }
}

fn toolchain_bin(name: &str) -> PathBuf {
    gitops_e2e::toolchain::Toolchain::locate()
        .map(|t| t.bin(name))
        .unwrap_or_else(|_| name.into())
}

/// `kubectl` with `kubeconfig`; panics with its stderr when it fails.
fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(toolchain_bin("kubectl"))
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates the lesson's three clusters with kind (the node image and host
/// patches of this machine), concurrently; returns one kubeconfig holding
/// their contexts `kind-<name>`.
fn create_kind_clusters(own: &OwnClusters, shapes: &[&str], dir: &Path) -> PathBuf {
    let patches =
        gitops_e2e::provider::kind::read_patches(&root().join("tests/kind/host-patches.yaml"))
            .unwrap();
    let children: Vec<(String, PathBuf, std::process::Child)> = own
        .names
        .iter()
        .zip(shapes)
        .map(|(name, shape)| {
            let text =
                std::fs::read_to_string(root().join(format!("kind-configs/{shape}.yaml"))).unwrap();
            let user: Value = serde_yaml::from_str(&text).unwrap();
            let config = gitops_e2e::provider::kind::cluster_config(name, Some(&user), &patches);
            let file = dir.join(format!("{name}.kind.json"));
            std::fs::write(&file, config.to_string()).unwrap();
            let kubeconfig = dir.join(format!("{name}.kubeconfig"));
            let child = Command::new(&own.kind)
                .args(["create", "cluster", "--name", name, "--image", NODE_IMAGE])
                .arg("--config")
                .arg(&file)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("kind runs");
            (name.clone(), kubeconfig, child)
        })
        .collect();
    let mut kubeconfigs = Vec::new();
    for (name, kubeconfig, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kind create cluster {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        kubeconfigs.push(kubeconfig);
    }
    let joined = std::env::join_paths(&kubeconfigs).unwrap();
    let out = Command::new(toolchain_bin("kubectl"))
        .env("KUBECONFIG", &joined)
        .args(["config", "view", "--flatten"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let all = dir.join("all.kubeconfig");
    std::fs::write(&all, &out.stdout).unwrap();
    for name in &own.names {
        let context = format!("kind-{name}");
        kubectl(
            &all,
            &[
                "--context",
                &context,
                "wait",
                "--for=condition=Ready",
                "nodes",
                "--all",
                "--timeout=180s",
            ],
        );
    }
    all
}

/// Installs Argo CD in `context` as an operator would: its pinned install
/// manifest with only what this machine needs (images not pulled, Dex
/// off), and argocd-server serving HTTPS with its own self-signed
/// certificate (no `server.insecure`).
fn install_argocd(kubeconfig: &Path, context: &str, dir: &Path) {
    let toolchain = gitops_e2e::toolchain::Toolchain::locate().unwrap();
    let path = toolchain.argocd_manifests().join("install.yaml");
    let (docs, _) = gitops_e2e::argocd::incluster::read_install_manifest(&path).unwrap();
    let mut docs = gitops_e2e::argocd::incluster::prepare_manifest(docs, "argocd");
    for doc in &mut docs {
        if doc.pointer("/metadata/name") == Some(&Value::from("argocd-cmd-params-cm")) {
            if let Some(data) = doc.get_mut("data").and_then(Value::as_object_mut) {
                data.remove("server.insecure");
            }
        }
    }
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": docs});
    let file = dir.join("argocd-install.json");
    std::fs::write(&file, list.to_string()).unwrap();
    let file = file.to_string_lossy().into_owned();
    kubectl(
        kubeconfig,
        &["--context", context, "create", "namespace", "argocd"],
    );
    kubectl(
        kubeconfig,
        &[
            "--context",
            context,
            "apply",
            "--server-side",
            "-n",
            "argocd",
            "-f",
            &file,
        ],
    );
    for workload in [
        "deployment/argocd-server",
        "deployment/argocd-repo-server",
        "deployment/argocd-redis",
        "deployment/argocd-applicationset-controller",
        "statefulset/argocd-application-controller",
    ] {
        kubectl(
            kubeconfig,
            &[
                "--context",
                context,
                "-n",
                "argocd",
                "rollout",
                "status",
                workload,
                "--timeout=300s",
            ],
        );
    }
    kubectl(
        kubeconfig,
        &[
            "--context",
            context,
            "-n",
            "argocd",
            "wait",
            "--for=create",
            "secret/argocd-initial-admin-secret",
            "--timeout=120s",
        ],
    );
}

/// What the hub held before the run that is not the run's: a destination
/// namespace with someone else's ConfigMap in it (the run deploys into it,
/// and must leave it and the ConfigMap), a cluster Secret and an
/// Application of someone else.
const BYSTANDERS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: agents
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: keep-me
  namespace: agents
data:
  owner: someone-else
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-elsewhere
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: cluster
stringData:
  name: elsewhere
  server: https://elsewhere.example.com
  config: '{"tlsClientConfig":{"insecure":true}}'
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: bystander
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/nowhere.git
    path: app
    targetRevision: HEAD
  destination:
    server: https://kubernetes.default.svc
    namespace: bystander
"#;

/// Every object of the kinds a run could create or change, in Argo CD's
/// namespace and the lesson's destination namespace of each context, and
/// the namespaces themselves: name → identity and version. Applications
/// and ApplicationSets are compared by uid and what is not their status,
/// Deployments by uid and generation (their status changes on its own as
/// controllers observe them), the rest by uid and resourceVersion.
fn snapshot(kubeconfig: &Path, contexts: &[String], hub: &str) -> BTreeMap<String, String> {
    let mut objects = BTreeMap::new();
    let mut add = |context: &str, json: &str| {
        let list: Value = serde_json::from_str(json).unwrap();
        for item in list["items"].as_array().into_iter().flatten() {
            let kind = item["kind"].as_str().unwrap_or("?");
            let meta = &item["metadata"];
            let key = format!(
                "{context} {kind} {}/{}",
                meta["namespace"].as_str().unwrap_or(""),
                meta["name"].as_str().unwrap_or("?")
            );
            let version = match kind {
                // No status subresource: Argo CD's own status writes bump
                // the generation, so what is compared is what a user (or a
                // run) would change.
                "Application" | "ApplicationSet" => serde_json::json!({
                    "spec": item["spec"],
                    "operation": item["operation"],
                    "labels": meta["labels"],
                    "annotations": meta["annotations"],
                    "finalizers": meta["finalizers"],
                }),
                "Deployment" => meta["generation"].clone(),
                _ => meta["resourceVersion"].clone(),
            };
            objects.insert(key, format!("uid {} version {version}", meta["uid"]));
        }
    };
    for context in contexts {
        add(
            context,
            &kubectl(
                kubeconfig,
                &["--context", context, "get", "namespaces", "-o", "json"],
            ),
        );
        let kinds = if context == hub {
            "applications.argoproj.io,applicationsets.argoproj.io,secrets,configmaps,deployments"
        } else {
            "secrets,configmaps,deployments"
        };
        for namespace in ["argocd", "agents"] {
            add(
                context,
                &kubectl(
                    kubeconfig,
                    &[
                        "--context",
                        context,
                        "-n",
                        namespace,
                        "get",
                        kinds,
                        "-o",
                        "json",
                    ],
                ),
            );
        }
    }
    objects
}

/// The tests that need the kind environment; `tests/run-tiers.sh` filters
/// them by this module's name.
mod kind_tier {
    use super::*;

    #[test]
    #[ignore = "kind: needs Docker and the kind images (make kind-images); make test runs it when ready"]
    fn lesson_part_3_passes_with_argo_cd_as_pods() {
        require_kind!();
        let r = run_kind("scenarios/lesson/03-constraints.yaml", &[], &[]);
        assert_eq!(r.code, 0, "{}", r.explain());
        assert_eq!(r.report["provider"], "kind", "{}", r.explain());
        r.assert_every_step_passed();
        // Real pods: every replica the lesson asks for is Ready.
        let replicas: Vec<String> = r
            .checks("assert")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .filter(|n| n.starts_with("replicas"))
            .map(str::to_string)
            .collect();
        assert_eq!(replicas.len(), 3, "{replicas:?}\n{}", r.explain());
    }

    #[test]
    #[ignore = "kind: needs Docker and the kind images (make kind-images); make test runs it when ready"]
    fn lesson_upgrade_rolls_out_the_new_chart_on_real_pods() {
        require_kind!();
        let r = run_kind("scenarios/lesson/04-upgrade.yaml", &[], &[]);
        assert_eq!(r.code, 0, "{}", r.explain());
        for app in [
            "fastapi-agent-dev",
            "fastapi-agent-staging",
            "fastapi-agent-prod",
        ] {
            let moved = r
                .checks("diff")
                .iter()
                .find(|c| c["application"] == app && c["name"] == "upgrade")
                .and_then(|c| c["detail"].as_str())
                .map(str::to_string);
            assert_eq!(moved.as_deref(), Some("0.1.0 → 0.2.0"), "{}", r.explain());
        }
        for step in ["sync", "assert"] {
            assert!(
                r.failures(step).is_empty(),
                "{step}: {:?}",
                r.failures(step)
            );
        }
        // The upgraded pods pass their new readinessProbe and answer.
        let probes = r
            .checks("assert")
            .iter()
            .filter(|c| {
                c["name"].as_str().is_some_and(|n| n.contains("/healthz"))
                    && c["outcome"]["status"] == "passed"
            })
            .count();
        assert_eq!(probes, 3, "{}", r.explain());
    }

    /// `--load-image`: an image only this machine has (tagged here from the
    /// busybox the kind images include) runs with `imagePullPolicy: Never`
    /// only if the run loaded it into the node.
    #[test]
    #[ignore = "kind: needs Docker and the kind images (make kind-images); make test runs it when ready"]
    fn load_image_puts_a_local_image_on_the_nodes() {
        require_kind!();
        const LOADED: &str = "gitops-e2e.test/loaded:1";
        let tagged = Command::new("docker")
            .args(["tag", "busybox:1.37", LOADED])
            .status()
            .expect("docker tag");
        assert!(tagged.success(), "docker tag busybox:1.37 {LOADED}");
        let r = run_kind("tests/e2e/load-image.yaml", &["--load-image", LOADED], &[]);
        let _ = Command::new("docker").args(["rmi", LOADED]).output();
        assert_eq!(r.code, 0, "{}", r.explain());
        let phases = r.report["phases"].to_string();
        assert!(phases.contains("images loaded"), "{phases}");
        assert!(
            r.failures("assert").is_empty(),
            "{:?}",
            r.failures("assert")
        );
        let running = r
            .checks("assert")
            .iter()
            .any(|c| c["name"] == "1 pod Running" && c["outcome"]["status"] == "passed");
        assert!(running, "{}", r.explain());
    }

    #[test]
    #[ignore = "kind: needs Docker and the kind images (make kind-images); make test runs it when ready"]
    fn failure_scenarios_fail_at_the_same_steps_as_on_kwok() {
        require_kind!();
        let r = run_kind("tests/e2e/wrong-replicas.yaml", &[], &[]);
        assert_eq!(r.code, 1, "{}", r.explain());
        let failures = r.failures("assert");
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("fastapi-agent-prod: replicas = 4")),
            "{failures:#?}\n{}",
            r.explain()
        );
        for step in ["dry-run", "diff", "count", "sync"] {
            assert!(
                r.failures(step).is_empty(),
                "{step}: {:?}",
                r.failures(step)
            );
        }
        // The bundle holds the logs of Argo CD's pods.
        for component in [
            "argocd-server",
            "argocd-repo-server",
            "argocd-application-controller",
        ] {
            assert!(
                r.diagnostics
                    .iter()
                    .any(|f| f.starts_with(component) && f.ends_with(".log")),
                "no {component} log in {:?}",
                r.diagnostics
            );
        }

        let r = run_kind("tests/e2e/matrix-repaired.yaml", &[], &[]);
        assert_eq!(r.code, 1, "{}", r.explain());
        let failures = r.failures("count").join("\n");
        assert!(
            failures.contains("fastapi-agent-prod-ghcr.io"),
            "{failures}"
        );
        assert!(
            failures.contains("missing: fastapi-agent-dev"),
            "{failures}"
        );
    }

    /// Argo CD's admin password (read from the kept hub), the fixtures'
    /// canary and the clusters' credentials appear in nothing a failed kind
    /// run writes: terminal, reports, diagnostics bundle (with the pods'
    /// logs), run directory (but its kubeconfigs). The kept clusters are
    /// then removed by `clean`.
    #[test]
    #[ignore = "kind: needs Docker and the kind images (make kind-images); make test runs it when ready"]
    fn the_admin_password_appears_nowhere_a_failed_kind_run_writes() {
        require_kind!();
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let before = kind_clusters();
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let bin = env!("CARGO_BIN_EXE_gitops-e2e");
        let out = Command::new(bin)
            .current_dir(root())
            .args([
                "run",
                "tests/e2e/secret-canary.yaml",
                "--provider",
                "kind",
                "--keep",
            ])
            .arg("--json")
            .arg(dir.path().join("r.json"))
            .arg("--junit")
            .arg(dir.path().join("r.xml"))
            .arg("--markdown")
            .arg(dir.path().join("r.md"))
            .arg("--diagnostics")
            .arg(dir.path().join("diagnostics"))
            .env("CI", "true")
            .env("TMPDIR", &tmp)
            .env("GITOPS_E2E_KIND_NODE_IMAGE", NODE_IMAGE)
            .env(
                "GITOPS_E2E_KIND_PATCHES",
                root().join("tests/kind/host-patches.yaml"),
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let kept = run_dirs(&tmp);
        let run_dir = tmp.join(kept.first().cloned().unwrap_or_default());
        let password = Command::new(
            gitops_e2e::toolchain::Toolchain::locate()
                .map(|t| t.bin("kubectl"))
                .unwrap_or_else(|_| "kubectl".into()),
        )
        .arg("--kubeconfig")
        .arg(run_dir.join("kubeconfigs/all.yaml"))
        .args(["--context", "dev", "-n", "argocd", "get", "secret"])
        .args([
            "argocd-initial-admin-secret",
            "-o",
            "jsonpath={.data.password}",
        ])
        .output()
        .unwrap();
        let clean = Command::new(bin)
            .arg("clean")
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        let left: Vec<String> = kind_clusters()
            .into_iter()
            .filter(|c| !before.contains(c))
            .collect();
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        assert_eq!(kept.len(), 1, "--keep kept the run: {kept:?}");
        assert!(clean.status.success(), "{clean:?}");
        assert!(left.is_empty(), "clean left {left:?}");
        let b64 = String::from_utf8_lossy(&password.stdout).trim().to_string();
        use base64::Engine as _;
        let plain = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .unwrap_or_default();
        assert!(
            plain.len() >= 8,
            "the admin password was read: {password:?}"
        );
        let canary = "gitops-e2e-canary-7f3a9c";
        let forms = vec![
            plain,
            b64,
            canary.to_string(),
            base64::engine::general_purpose::STANDARD.encode(canary),
        ];
        // `clean` removed the run directory; what remains is what the user keeps.
        let (files, leaks) = common::places_holding(
            dir.path(),
            &[("stdout", &stdout), ("stderr", &stderr)],
            &forms,
            |_| false,
        );
        assert!(
            files >= 5,
            "reports and a diagnostics bundle ({files} files)"
        );
        assert!(leaks.is_empty(), "a secret leaked into: {leaks:#?}");
    }

    /// A run killed with SIGKILL once its clusters are up leaves kind clusters
    /// and its run directory; `gitops-e2e clean` (same TMPDIR) removes them.
    #[test]
    #[ignore = "kind: needs Docker and the kind images (make kind-images); make test runs it when ready"]
    fn clean_removes_the_kind_clusters_of_a_killed_run() {
        require_kind!();
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let before = kind_clusters();
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let bin = env!("CARGO_BIN_EXE_gitops-e2e");
        let mut child = Command::new(bin)
            .current_dir(root())
            .args(["run", "tests/e2e/wrong-replicas.yaml", "--provider", "kind"])
            .env("CI", "true")
            .env("TMPDIR", &tmp)
            .env("GITOPS_E2E_KIND_NODE_IMAGE", NODE_IMAGE)
            .env(
                "GITOPS_E2E_KIND_PATCHES",
                root().join("tests/kind/host-patches.yaml"),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The progress lines are on stderr.
        let progress = child.stderr.take().unwrap();
        let mut seen = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(progress)) {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("clusters up: done") {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(seen.contains("clusters up: done"), "{seen}");
        let left: Vec<String> = kind_clusters()
            .into_iter()
            .filter(|c| !before.contains(c))
            .collect();
        assert_eq!(left.len(), 3, "a killed run leaves its clusters: {left:?}");

        let dry = Command::new(bin)
            .args(["clean", "--dry-run"])
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&dry.stdout);
        for c in &left {
            assert!(listed.contains(&format!("kind cluster {c}")), "{listed}");
        }
        assert_eq!(
            kind_clusters().len(),
            before.len() + 3,
            "--dry-run removed something"
        );

        let clean = Command::new(bin)
            .arg("clean")
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert!(clean.status.success(), "{clean:?}");
        let after: Vec<String> = kind_clusters()
            .into_iter()
            .filter(|c| !before.contains(c))
            .collect();
        assert!(after.is_empty(), "clean left {after:?}");
        assert!(run_dirs(&tmp).is_empty());
    }

    /// `argocd.install: existing` on clusters made outside the run: three
    /// kind clusters and Argo CD installed in the hub as an operator would
    /// (argocd-server on HTTPS with its self-signed certificate), plus
    /// someone else's objects. The lesson passes through that Argo CD, and
    /// every object in Argo CD's namespace and the destination namespaces,
    /// and the namespaces themselves, are as they were before the run.
    #[test]
    #[ignore = "kind: needs Docker and the kind images (make kind-images); make test runs it when ready"]
    fn existing_argo_cd_passes_the_lesson_and_leaves_the_clusters_as_it_found_them() {
        require_kind!();
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let own = OwnClusters {
            kind: toolchain_bin("kind"),
            names: ["dev", "staging", "prod"]
                .iter()
                .map(|c| format!("ext-argocd-{c}"))
                .collect(),
        };
        // Left by an earlier run of this test that was killed: only ours.
        for name in &own.names {
            if kind_clusters().contains(name) {
                OwnClusters::delete(&own.kind, name);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = create_kind_clusters(
            &own,
            &["single-node", "agents-pool", "agents-pool"],
            dir.path(),
        );
        let clusters_up = started.elapsed();
        let contexts: Vec<String> = own.names.iter().map(|n| format!("kind-{n}")).collect();
        let hub = contexts[0].clone();
        install_argocd(&kubeconfig, &hub, dir.path());
        let bystanders = dir.path().join("bystanders.yaml");
        std::fs::write(&bystanders, BYSTANDERS).unwrap();
        kubectl(
            &kubeconfig,
            &[
                "--context",
                &hub,
                "apply",
                "-f",
                &bystanders.to_string_lossy(),
            ],
        );
        let environment_ready = started.elapsed();
        let before = snapshot(&kubeconfig, &contexts, &hub);

        let containers_before = run_containers();
        let json = dir.path().join("report.json");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let run = || {
            Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
                .current_dir(root())
                .args([
                    "run",
                    "tests/e2e/existing-argocd.yaml",
                    "--provider",
                    "existing",
                ])
                .args(["--context", &format!("dev={}", contexts[0])])
                .args(["--context", &format!("staging={}", contexts[1])])
                .args(["--context", &format!("prod={}", contexts[2])])
                // Its name says production; this one is the test's own.
                .args(["--allow-context", &contexts[2]])
                .arg("--json")
                .arg(&json)
                .arg("--diagnostics")
                .arg(dir.path().join("diagnostics"))
                .env("KUBECONFIG", &kubeconfig)
                .env("CI", "true")
                .env("TMPDIR", &tmp)
                .env_remove("ARGOCD_AUTH_TOKEN")
                .output()
                .expect("gitops-e2e runs")
        };
        let run_started = Instant::now();
        let out = run();
        let run_took = run_started.elapsed();
        let r = RunResult {
            code: out.status.code().unwrap_or(-1),
            report: std::fs::read_to_string(&json)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: run_took,
            diagnostics: walk(&dir.path().join("diagnostics")),
            node_logs: String::new(),
        };
        assert_eq!(r.code, 0, "{}", r.explain());
        assert_eq!(r.report["provider"], "existing", "{}", r.explain());
        r.assert_every_step_passed();
        let replicas = r
            .checks("assert")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .filter(|n| n.starts_with("replicas"))
            .count();
        assert_eq!(replicas, 3, "{}", r.explain());
        // The version of the Argo CD it found is reported, and it was
        // reached over TLS (argocd-server serves HTTPS only here).
        let output = format!("{}{}", r.stdout, r.stderr);
        assert!(
            output.contains("version v3.5.3") && output.contains("over TLS"),
            "{}",
            r.explain()
        );
        for trouble in [
            "it was there before the run",
            "cannot delete",
            "not everything",
        ] {
            assert!(!output.contains(trouble), "{trouble}: {}", r.explain());
        }

        let after = snapshot(&kubeconfig, &contexts, &hub);
        let changed: Vec<String> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: {v} → {:?}", after.get(k)))
            .chain(
                after
                    .iter()
                    .filter(|(k, _)| !before.contains_key(*k))
                    .map(|(k, v)| format!("{k}: added ({v})")),
            )
            .collect();
        assert!(
            changed.is_empty(),
            "the run did not leave the clusters as it found them:\n{}\n{}",
            changed.join("\n"),
            r.explain()
        );
        assert!(
            before.contains_key(&format!("{hub} ConfigMap agents/keep-me")),
            "the snapshot sees the bystanders: {before:#?}"
        );
        let new_containers: Vec<String> = run_containers()
            .into_iter()
            .filter(|c| !containers_before.contains(c))
            .collect();
        assert!(
            new_containers.is_empty(),
            "containers left: {new_containers:?}"
        );
        assert!(run_dirs(&tmp).is_empty(), "run directories left");

        // A fixture that exists already would be overwritten, then deleted:
        // the run stops before it creates anything, and changes nothing.
        let staging = contexts[1].as_str();
        kubectl(
            &kubeconfig,
            &["--context", staging, "create", "namespace", "agents"],
        );
        kubectl(
            &kubeconfig,
            &[
                "--context",
                staging,
                "-n",
                "agents",
                "wait",
                "--for=create",
                "configmap/kube-root-ca.crt",
                "--timeout=60s",
            ],
        );
        let before_refusal = snapshot(&kubeconfig, &contexts, &hub);
        let refused = run();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("fixture Namespace `agents` already exists on cluster `staging`"),
            "{stderr}"
        );
        assert_eq!(
            snapshot(&kubeconfig, &contexts, &hub),
            before_refusal,
            "{stderr}"
        );
        eprintln!(
            "existing Argo CD on kind: clusters up in {clusters_up:?}, Argo CD and bystanders \
             ready at {environment_ready:?}, the run took {run_took:?}, {} objects compared",
            before.len()
        );
        drop(own);
        eprintln!("in all {:?} with the clusters deleted", started.elapsed());
    }
}

/// No silent fallback: kind asked for where Docker does not answer stops
/// before any cluster, with exit 3, saying how to choose kwok.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn a_kind_run_without_docker_stops_with_exit_3_and_names_kwok() {
    if let Some(reason) = gitops_e2e::toolchain::missing_for_live_runs() {
        panic!("the live tier cannot run here: {reason}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .args(["run", "scenarios/lesson/03-constraints.yaml"])
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no-docker.sock", dir.path().display()),
        )
        .env("TMPDIR", dir.path())
        .env("CI", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Docker does not answer"), "{stderr}");
    assert!(stderr.contains("--provider kwok"), "{stderr}");
    assert!(run_dirs(dir.path()).is_empty());
}
