//! The kind provider: one `kind create cluster` per scenario cluster, from
//! its kind config, all created at once. Each cluster's nodes are Docker
//! containers on the `kind` network; its kubeconfig is the run's own (never
//! the user's `~/.kube/config`), with the context named after the scenario's
//! cluster.
//!
//! The user's kind config is never changed: the harness writes its own copy
//! into the run directory, with the cluster's name and, when asked
//! (`--kind-patches`), extra kubeadm/containerd patches appended (hosts that
//! need them, e.g. cgroup v1 machines).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use futures::future::join_all;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

use super::{
    ClusterRequest, Provider, ProvisionError, Provisioned, adopt_kubeconfig, nodes::node_ready,
};
use crate::argocd::DiagnosticFile;
use crate::process::{Cmd, ProcessError};

/// How long `docker info` may take to answer before Docker counts as absent.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(15);

/// How long every node of a created cluster may take to report Ready.
const NODES_READY_TIMEOUT: Duration = Duration::from_secs(180);

/// How long exporting a failed cluster's node logs may take.
const EXPORT_LOGS_TIMEOUT: Duration = Duration::from_secs(60);

/// At most this many files of a failed cluster's exported logs go into the
/// diagnostics bundle.
const MAX_LOG_FILES: usize = 200;

/// How long deleting one cluster may take, per attempt.
const DELETE_TIMEOUT: Duration = Duration::from_secs(120);

/// How many times a failed delete is run, and the pause between two.
const DELETE_ATTEMPTS: u32 = 3;
const DELETE_RETRY_PAUSE: Duration = Duration::from_secs(2);

/// The longest kind cluster name used: node containers are named
/// `<cluster>-control-plane`, `<cluster>-worker2`, and a host name has at
/// most 63 characters.
const MAX_CLUSTER_NAME: usize = 40;

/// The Docker network kind puts every cluster's nodes on.
pub const KIND_NETWORK: &str = "kind";

/// Top-level lists of a kind config that `--kind-patches` may extend.
const PATCH_LISTS: &[&str] = &[
    "kubeadmConfigPatches",
    "kubeadmConfigPatchesJSON6902",
    "containerdConfigPatches",
];

/// What a user may set for every kind cluster of a run.
#[derive(Debug, Clone, Default)]
pub struct KindSettings {
    /// `--node-image`: the node image for every node that names none.
    pub node_image: Option<String>,
    /// `--kind-patches`: a kind config fragment whose patch lists are
    /// appended to every cluster's config.
    pub patches: Option<PathBuf>,
}

pub struct Kind {
    kind: PathBuf,
    settings: KindSettings,
    /// The run's directory for the generated kind configs.
    dir: PathBuf,
    kubeconfigs: PathBuf,
    /// kind cluster names prefix, unique per run.
    prefix: String,
    /// kind clusters this run asked for, created or not: all are deleted.
    created: std::sync::Mutex<Vec<String>>,
    /// Where `kind export logs` put the node logs of each failed create.
    failed_logs: std::sync::Mutex<Vec<PathBuf>>,
}

impl Kind {
    /// `kind` is the kind binary to run (the toolchain's, else the one on
    /// `PATH`).
    pub fn new(kind: PathBuf, settings: KindSettings, run_dir: &Path, run_id: &str) -> Self {
        Self {
            kind,
            settings,
            dir: run_dir.join("kind"),
            kubeconfigs: run_dir.join("kubeconfigs"),
            prefix: format!("gitops-e2e-{run_id}"),
            created: Default::default(),
            failed_logs: Default::default(),
        }
    }

    /// The kind cluster that plays scenario cluster `name`.
    pub fn cluster_name(&self, name: &str) -> String {
        kind_cluster_name(&self.prefix, name)
    }

    fn kind_cmd(&self) -> Cmd {
        Cmd::new(&self.kind)
    }

    /// The kubeconfig kind writes for a cluster (and edits when deleting it):
    /// the run's, so that the user's `~/.kube/config` is never touched.
    fn kind_kubeconfig(&self, kind_name: &str) -> PathBuf {
        self.dir.join(format!("{kind_name}.kubeconfig"))
    }

    /// Saves the node logs of a cluster whose create failed (kubelet,
    /// containerd, the journal and every container's log) for the
    /// diagnostics bundle; best effort, bounded in time.
    async fn export_logs(&self, name: &str, attempt: u32) {
        let dir = self.dir.join("logs").join(format!("{name}-{attempt}"));
        let export = self
            .kind_cmd()
            .args(["export", "logs"])
            .arg(&dir)
            .args(["--name", name]);
        if let Ok(Ok(_)) = tokio::time::timeout(EXPORT_LOGS_TIMEOUT, export.output()).await {
            self.failed_logs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(dir);
        }
    }

    /// Creates one cluster and waits until every node is Ready.
    async fn create(
        &self,
        req: &ClusterRequest,
        patches: &Value,
    ) -> Result<Provisioned, ProvisionError> {
        let fail = |source: anyhow::Error| ProvisionError::Create {
            provider: "kind",
            name: req.name.clone(),
            source,
        };
        let name = self.cluster_name(&req.name);
        let user = match &req.kind_config {
            Some(path) => Some(read_yaml(path).map_err(fail)?),
            None => None,
        };
        let config = cluster_config(&name, user.as_ref(), patches);
        let config_path = self.dir.join(format!("{}.yaml", req.name));
        let kind_kubeconfig = self.kind_kubeconfig(&name);
        std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&config_path, crate::yaml::to_string(&config)))
            .with_context(|| format!("cannot write `{}`", config_path.display()))
            .map_err(fail)?;
        // `--retain` keeps a failed cluster's nodes so that their logs can
        // be exported for the diagnostics bundle; it is deleted right after.
        let mut create = self
            .kind_cmd()
            .args(["create", "cluster", "--retain", "--name", &name, "--config"])
            .arg(&config_path)
            .arg("--kubeconfig")
            .arg(&kind_kubeconfig);
        if let Some(image) = &self.settings.node_image {
            create = create.args(["--image", image]);
        }
        if let Err(first) = create.output().await {
            self.export_logs(&name, 1).await;
            let _ = self
                .kind_cmd()
                .args(["delete", "cluster", "--name", &name, "--kubeconfig"])
                .arg(&kind_kubeconfig)
                .output()
                .await;
            // kubeadm's init or join can time out on a starved host (its
            // control plane not answering within kubeadm's wait): the
            // half-made cluster is deleted and made once more; any other
            // failure, or a second one, is the answer.
            if !first.to_string().contains("kubeadm") {
                return Err(fail(first.into()));
            }
            if let Err(second) = create.output().await {
                self.export_logs(&name, 2).await;
                return Err(fail(anyhow::Error::new(second).context(format!(
                    "kind create failed twice; the first time: {first}"
                ))));
            }
        }
        let text = self
            .kind_cmd()
            .args(["get", "kubeconfig", "--name", &name])
            .output()
            .await
            .map_err(|e| fail(e.into()))?;
        let gateway = network_gateway().await.map_err(fail)?;
        let provisioned =
            adopt_kubeconfig(&req.name, &text, &self.kubeconfigs, Some(gateway)).map_err(fail)?;
        let client = provisioned.client().await?;
        wait_nodes_ready(&client).await.map_err(fail)?;
        Ok(provisioned)
    }
}

/// The log files of `kind export logs DIR`, as (path under DIR, path):
/// each node's kubelet, containerd and journal logs and its containers'
/// logs (the control plane's static pods among them). Symlinks are not
/// followed.
fn node_logs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for node in sorted_entries(dir, |t| t.is_dir()) {
        let node_name = base_name(&node);
        for log in ["kubelet.log", "containerd.log", "journal.log"] {
            let path = node.join(log);
            if path.symlink_metadata().is_ok_and(|m| m.is_file()) {
                found.push((format!("{node_name}/{log}"), path));
            }
        }
        for path in sorted_entries(&node.join("containers"), |t| t.is_file()) {
            found.push((format!("{node_name}/containers/{}", base_name(&path)), path));
        }
    }
    found
}

/// The entries of `dir` whose type (not followed through symlinks) is
/// `wanted`, sorted; none when it cannot be read.
fn sorted_entries(dir: &Path, wanted: fn(&std::fs::FileType) -> bool) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| wanted(&t)))
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The kind cluster name for scenario cluster `name`: the run's prefix and
/// the name, shortened with a digest when too long for kind's host names.
pub fn kind_cluster_name(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}-{name}");
    if full.len() <= MAX_CLUSTER_NAME {
        return full;
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(full.as_bytes());
    let tag: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let keep = MAX_CLUSTER_NAME - tag.len() - 1;
    let head = full[..keep].trim_end_matches('-');
    format!("{head}-{tag}")
}

/// The kind config the harness hands to kind: the user's (or kind's default
/// one-node cluster), named, with `patches`' lists appended.
pub fn cluster_config(name: &str, user: Option<&Value>, patches: &Value) -> Value {
    let mut config = user
        .cloned()
        .unwrap_or_else(|| json!({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}));
    if let Some(map) = config.as_object_mut() {
        map.insert("name".into(), json!(name));
        for key in PATCH_LISTS {
            let Some(extra) = patches.get(key).and_then(Value::as_array) else {
                continue;
            };
            let list = map.entry(key.to_string()).or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                list.extend(extra.iter().cloned());
            }
        }
    }
    config
}

/// Reads `--kind-patches`: a kind config fragment holding only patch lists.
pub fn read_patches(path: &Path) -> anyhow::Result<Value> {
    let value = read_yaml(path)?;
    let Some(map) = value.as_object() else {
        anyhow::bail!(
            "`{}`: expected a mapping with {}",
            path.display(),
            PATCH_LISTS.join(", ")
        );
    };
    for (key, v) in map {
        if ["kind", "apiVersion"].contains(&key.as_str()) {
            continue;
        }
        if !PATCH_LISTS.contains(&key.as_str()) {
            anyhow::bail!(
                "`{}`: `{key}` is not a patch list (expected {})",
                path.display(),
                PATCH_LISTS.join(", ")
            );
        }
        if !v.is_array() {
            anyhow::bail!("`{}`: `{key}` must be a list", path.display());
        }
    }
    Ok(value)
}

fn read_yaml(path: &Path) -> anyhow::Result<Value> {
    let text = crate::input::read_text(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let docs = crate::yaml::parse(&text).map_err(|e| {
        anyhow::anyhow!(
            "`{}`:{}:{}: {}",
            path.display(),
            e.pos.line,
            e.pos.column,
            e.message
        )
    })?;
    Ok(docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null))
}

/// Whether the Docker engine answers; why not, if it does not.
pub async fn docker_answers() -> Result<String, String> {
    let info = Cmd::new("docker").args(["info", "--format", "{{.ServerVersion}}"]);
    match tokio::time::timeout(DOCKER_TIMEOUT, info.output()).await {
        Ok(Ok(version)) if !version.trim().is_empty() => Ok(version.trim().to_string()),
        Ok(Ok(_)) => Err("`docker info` printed no server version".into()),
        Ok(Err(ProcessError::Spawn { .. })) => Err("the `docker` command is not installed".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "`docker info` did not answer within {DOCKER_TIMEOUT:?}"
        )),
    }
}

/// The `kind` network's IPv4 gateway: where the nodes' pods reach this
/// machine.
pub(crate) async fn network_gateway() -> anyhow::Result<IpAddr> {
    let out = Cmd::new("docker")
        .args([
            "network",
            "inspect",
            KIND_NETWORK,
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
        ])
        .output()
        .await?;
    out.split_whitespace()
        .filter_map(|w| w.parse::<IpAddr>().ok())
        .find(IpAddr::is_ipv4)
        .with_context(|| format!("the `{KIND_NETWORK}` network has no IPv4 gateway ({out:?})"))
}

/// Waits until every node of the cluster reports Ready (the CNI is up).
async fn wait_nodes_ready(client: &kube::Client) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let listed = nodes
        .list(&ListParams::default())
        .await
        .context("cannot list the nodes")?;
    let names: Vec<String> = listed
        .items
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    if names.is_empty() {
        anyhow::bail!("the cluster has no nodes");
    }
    let waits = names.iter().map(|n| {
        let nodes = nodes.clone();
        async move {
            tokio::time::timeout(NODES_READY_TIMEOUT, await_condition(nodes, n, node_ready))
                .await
                .map_err(|_| n.clone())?
                .map_err(|_| n.clone())?;
            Ok::<(), String>(())
        }
    });
    let late: Vec<String> = join_all(waits)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if late.is_empty() {
        return Ok(());
    }
    // Say why: the nodes' own Ready message and the system pods that are not.
    let mut why = Vec::new();
    for name in &late {
        let message = nodes
            .get(name)
            .await
            .ok()
            .and_then(|n| n.status?.conditions)
            .and_then(|cs| cs.into_iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| c.message)
            .unwrap_or_default();
        why.push(format!("node `{name}`: {message}"));
    }
    why.push(crate::pods::not_ready(client, "kube-system", &[]).await);
    anyhow::bail!(
        "not every node was Ready after {NODES_READY_TIMEOUT:?}:\n{}",
        why.join("\n")
    )
}

#[async_trait::async_trait]
impl Provider for Kind {
    fn name(&self) -> &'static str {
        "kind"
    }

    async fn up(&self, clusters: &[ClusterRequest]) -> Result<Vec<Provisioned>, ProvisionError> {
        let unavailable = |source: anyhow::Error| ProvisionError::Unavailable {
            provider: "kind",
            source,
        };
        docker_answers().await.map_err(|why| {
            unavailable(anyhow::anyhow!(
                "Docker does not answer: {why}; start Docker, or run with `--provider kwok` \
                 (the same checks on simulated nodes, no Docker needed)"
            ))
        })?;
        let patches = match &self.settings.patches {
            Some(path) => read_patches(path).map_err(unavailable)?,
            None => json!({}),
        };
        // Recorded before creating: a cluster that half-started is deleted too.
        let names: Vec<String> = clusters
            .iter()
            .map(|c| self.cluster_name(&c.name))
            .collect();
        self.created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(names);
        let this = &*self;
        let patches = &patches;
        join_all(clusters.iter().map(|c| this.create(c, patches)))
            .await
            .into_iter()
            .collect()
    }

    async fn diagnostics(&self) -> Vec<DiagnosticFile> {
        let dirs = self
            .failed_logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut files = Vec::new();
        for dir in dirs {
            let Some(base) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            for (rel, from) in node_logs(&dir) {
                if files.len() >= MAX_LOG_FILES {
                    return files;
                }
                files.push(DiagnosticFile::Copy {
                    name: format!("kind-{base}/{rel}"),
                    from,
                });
            }
        }
        files
    }

    async fn load_images(&mut self, images: &[String]) -> Result<(), ProvisionError> {
        if images.is_empty() {
            return Ok(());
        }
        for image in images {
            Cmd::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", image])
                .output()
                .await
                .map_err(|e| ProvisionError::Unavailable {
                    provider: "kind",
                    source: anyhow::Error::new(e).context(format!(
                        "image `{image}` is not in the local Docker engine (pull or build it \
                         before the run)"
                    )),
                })?;
        }
        let created = self
            .created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let this = &*self;
        let loads = created.iter().map(|cluster| async move {
            this.kind_cmd()
                .args(["load", "docker-image", "--name", cluster])
                .args(images)
                .output()
                .await
                .map_err(|e| ProvisionError::Create {
                    provider: "kind",
                    name: cluster.clone(),
                    source: anyhow::Error::new(e).context("cannot load the images into its nodes"),
                })
        });
        join_all(loads)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(())
    }

    async fn down(&mut self) -> Vec<String> {
        let created = std::mem::take(
            self.created
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let this = &*self;
        let deletions = created.iter().map(|name| async move {
            // Its own kubeconfig: kind edits the file it is given, never the user's.
            let delete = this
                .kind_cmd()
                .args(["delete", "cluster", "--name", name, "--kubeconfig"])
                .arg(this.kind_kubeconfig(name));
            // The Docker engine sometimes fails to kill a node container
            // at the first `docker rm -f` ("did not receive an exit
            // event"): a failed delete is tried again, a few times.
            let mut failed = None;
            for attempt in 0..DELETE_ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(DELETE_RETRY_PAUSE).await;
                }
                match tokio::time::timeout(DELETE_TIMEOUT, delete.output()).await {
                    Ok(Ok(_)) => return None,
                    Ok(Err(e)) => {
                        failed = Some(format!("cannot delete kind cluster `{name}`: {e}"));
                    }
                    Err(_) => {
                        return Some(format!(
                            "kind cluster `{name}` was not deleted within {DELETE_TIMEOUT:?}; \
                             delete it with `kind delete cluster --name {name}`"
                        ));
                    }
                }
            }
            failed
        });
        join_all(deletions).await.into_iter().flatten().collect()
    }

    fn keep_instructions(&self) -> String {
        format!(
            "the kind clusters are kept; reach them with `export KUBECONFIG={}` and \
             `kubectl --context <cluster>`; delete them with `kind delete cluster --name \
             {}-<cluster>` (or `gitops-e2e clean`)",
            self.kubeconfigs.join("all.yaml").display(),
            self.prefix
        )
    }
}

#[cfg(test)]
mod tests {
    /// The exported logs of a failed create that reach the bundle: the
    /// nodes' own logs and their containers' logs, nothing else.
    #[test]
    fn node_logs_lists_each_nodes_logs_and_its_containers_logs() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("x-control-plane");
        std::fs::create_dir_all(node.join("containers")).unwrap();
        std::fs::create_dir_all(node.join("pods")).unwrap();
        for f in ["kubelet.log", "journal.log", "inspect.json", "pods/p.log"] {
            std::fs::write(node.join(f), "x").unwrap();
        }
        std::fs::write(node.join("containers/etcd-x.log"), "x").unwrap();
        std::fs::write(dir.path().join("kind-version.txt"), "x").unwrap();
        let names: Vec<String> = super::node_logs(dir.path())
            .into_iter()
            .map(|(rel, _)| rel)
            .collect();
        assert_eq!(
            names,
            [
                "x-control-plane/kubelet.log",
                "x-control-plane/journal.log",
                "x-control-plane/containers/etcd-x.log"
            ]
        );
        assert!(super::node_logs(&dir.path().join("absent")).is_empty());
    }

    use super::*;

    #[test]
    fn cluster_names_carry_the_run_and_stay_short() {
        assert_eq!(
            kind_cluster_name("gitops-e2e-ab12cd", "dev"),
            "gitops-e2e-ab12cd-dev"
        );
        let long = kind_cluster_name("gitops-e2e-ab12cd", &"x".repeat(63));
        assert!(long.len() <= MAX_CLUSTER_NAME, "{long}");
        assert!(long.starts_with("gitops-e2e-ab12cd-x"), "{long}");
        // Two long names that share their first characters stay distinct.
        let other = kind_cluster_name("gitops-e2e-ab12cd", &format!("{}y", "x".repeat(62)));
        assert_ne!(long, other);
    }

    #[test]
    fn the_users_config_is_kept_and_patches_are_appended() {
        let user = json!({
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [{"role": "control-plane"}, {"role": "worker", "labels": {"workload": "agents"}}],
            "kubeadmConfigPatches": ["kind: ClusterConfiguration\n"],
        });
        let patches = json!({
            "kubeadmConfigPatches": ["kind: KubeletConfiguration\nfailCgroupV1: false\n"],
            "containerdConfigPatches": ["[plugins]\n"],
        });
        let config = cluster_config("gitops-e2e-x-dev", Some(&user), &patches);
        assert_eq!(config["name"], "gitops-e2e-x-dev");
        assert_eq!(config["nodes"], user["nodes"]);
        assert_eq!(
            config["kubeadmConfigPatches"],
            json!([
                "kind: ClusterConfiguration\n",
                "kind: KubeletConfiguration\nfailCgroupV1: false\n"
            ])
        );
        assert_eq!(config["containerdConfigPatches"], json!(["[plugins]\n"]));
        assert!(config.get("kubeadmConfigPatchesJSON6902").is_none());
    }

    #[test]
    fn without_a_config_the_cluster_is_kinds_default() {
        let config = cluster_config("c", None, &json!({}));
        assert_eq!(
            config,
            json!({"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "name": "c"})
        );
    }

    #[test]
    fn patches_files_hold_only_patch_lists() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yaml");
        std::fs::write(
            &good,
            "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nkubeadmConfigPatches:\n  - |\n    kind: KubeletConfiguration\n",
        )
        .unwrap();
        assert!(read_patches(&good).is_ok());
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "nodes: []\n").unwrap();
        let err = read_patches(&bad).unwrap_err().to_string();
        assert!(err.contains("`nodes` is not a patch list"), "{err}");
        assert!(err.contains("bad.yaml"), "{err}");
        let not_list = dir.path().join("not-list.yaml");
        std::fs::write(&not_list, "kubeadmConfigPatches: x\n").unwrap();
        let err = read_patches(&not_list).unwrap_err().to_string();
        assert!(err.contains("must be a list"), "{err}");
    }
}
