//! The kwok provider: one `kwokctl --runtime binary` cluster per scenario
//! cluster (real etcd, kube-apiserver, controller-manager and scheduler; KWOK
//! simulates the nodes, so pods become Running without containers), from the
//! toolchain's binaries, with nothing downloaded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use futures::future::join_all;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, PostParams};
use kube::runtime::wait::await_condition;

use super::nodes::{kwok_node, node_ready};
use super::{ClusterRequest, Provider, ProvisionError, Provisioned, adopt_kubeconfig};
use crate::process::{Cmd, search_path};
use crate::toolchain::Toolchain;

/// How long a started API server may take to answer /readyz.
const API_READY_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a node may take to report Ready after KWOK picks it up.
const NODE_READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Kwok {
    toolchain: Toolchain,
    /// `KWOK_WORKDIR`: kwokctl keeps clusters here, inside the run's directory.
    workdir: PathBuf,
    kubeconfigs: PathBuf,
    /// kwokctl cluster names prefix, unique per run.
    prefix: String,
    /// kwokctl clusters this run asked for, created or not: all are deleted.
    created: std::sync::Mutex<Vec<String>>,
    /// Clusters an earlier run kept (`--reuse`), returned by `up` instead of
    /// new ones once they answer.
    kept: Vec<Provisioned>,
}

impl Kwok {
    pub fn new(toolchain: Toolchain, run_dir: &Path, run_id: &str) -> Self {
        Self {
            toolchain,
            workdir: run_dir.join("kwok"),
            kubeconfigs: run_dir.join("kubeconfigs"),
            prefix: format!("gitops-e2e-{run_id}"),
            created: Default::default(),
            kept: Vec::new(),
        }
    }

    /// The clusters an earlier run kept in `run_dir` (`--reuse`).
    pub fn kept(
        toolchain: Toolchain,
        run_dir: &Path,
        run_id: &str,
        kept: Vec<Provisioned>,
    ) -> Self {
        Self {
            kept,
            ..Self::new(toolchain, run_dir, run_id)
        }
    }

    /// A kept cluster, once its API server answers.
    async fn reattach(&self, req: &ClusterRequest) -> Result<Provisioned, ProvisionError> {
        let kept = self
            .kept
            .iter()
            .find(|p| p.name == req.name)
            .cloned()
            .ok_or_else(|| {
                create_error(
                    req,
                    anyhow::anyhow!("the kept environment has no cluster `{}`", req.name),
                )
            })?;
        let client = kept.client().await?;
        match tokio::time::timeout(Duration::from_secs(5), client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(kept),
            Ok(Err(e)) => Err(create_error(
                req,
                anyhow::Error::new(e).context("the kept cluster does not answer"),
            )),
            Err(_) => Err(create_error(
                req,
                anyhow::anyhow!("the kept cluster did not answer within 5 s"),
            )),
        }
    }

    fn kwokctl(&self) -> Cmd {
        Cmd::new(self.toolchain.bin("kwokctl"))
            .env("KWOK_WORKDIR", &self.workdir)
            .env(crate::clean::RUN_ENV, &self.workdir)
            .env("PATH", search_path(&[self.toolchain.bin_dir()]))
    }

    async fn kube_version(&self) -> anyhow::Result<String> {
        let out = Cmd::new(self.toolchain.bin("kube-apiserver"))
            .arg("--version")
            .output()
            .await?;
        out.split_whitespace()
            .last()
            .map(str::to_string)
            .context("kube-apiserver --version printed nothing")
    }

    /// Starts the cluster's components and waits until they serve. Every
    /// port is chosen here: left to itself, kwokctl walks down from 32767 to
    /// the first port nothing listens on, so clusters started together would
    /// take each other's ports before their components bind them.
    async fn start(&self, req: &ClusterRequest, version: &str) -> Result<(), ProvisionError> {
        let kwok_name = format!("{}-{}", self.prefix, req.name);
        let bin = |b: &str| self.toolchain.bin(b);
        let port = || {
            crate::process::free_port()
                .map(|p| p.to_string())
                .map_err(|e| create_error(req, anyhow::Error::new(e).context("no free port")))
        };
        let (apiserver, etcd, controller, controller_manager, scheduler, etcd_peer) =
            (port()?, port()?, port()?, port()?, port()?, port()?);
        // etcd's peer port has no flag: it goes in a configuration file.
        let config = self.workdir.join(format!("{kwok_name}-ports.yaml"));
        std::fs::create_dir_all(&self.workdir)
            .and_then(|()| {
                std::fs::write(
                    &config,
                    format!(
                        "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokctlConfiguration\n\
                 options:\n  etcdPeerPort: {etcd_peer}\n"
                    ),
                )
            })
            .map_err(|e| {
                create_error(
                    req,
                    anyhow::Error::new(e).context("cannot write kwokctl's configuration"),
                )
            })?;
        self.kwokctl()
            .arg("--config")
            .arg(&config)
            .env("KWOK_KUBE_VERSION", version)
            .args([
                "create",
                "cluster",
                "--name",
                &kwok_name,
                "--runtime",
                "binary",
            ])
            .arg("--kube-apiserver-binary")
            .arg(bin("kube-apiserver"))
            .arg("--kube-controller-manager-binary")
            .arg(bin("kube-controller-manager"))
            .arg("--kube-scheduler-binary")
            .arg(bin("kube-scheduler"))
            .arg("--kwok-controller-binary")
            .arg(bin("kwok"))
            .arg("--etcd-binary")
            .arg(bin("etcd"))
            .args(["--kube-apiserver-port", &apiserver])
            .args(["--etcd-port", &etcd])
            .args(["--controller-port", &controller])
            .args(["--kube-controller-manager-port", &controller_manager])
            .args(["--kube-scheduler-port", &scheduler])
            .args(["--wait", "2m"])
            .output()
            .await
            .map_err(|e| create_error(req, e.into()))?;
        Ok(())
    }

    /// Once started: the kubeconfig, the API server ready, the nodes added.
    async fn finish(&self, req: &ClusterRequest) -> Result<Provisioned, ProvisionError> {
        let kwok_name = format!("{}-{}", self.prefix, req.name);
        let fail = |source: anyhow::Error| create_error(req, source);
        let text = self
            .kwokctl()
            .args(["get", "kubeconfig", "--name", &kwok_name])
            .output()
            .await
            .map_err(|e| fail(e.into()))?;
        let provisioned =
            adopt_kubeconfig(&req.name, &text, &self.kubeconfigs, None).map_err(fail)?;
        let client = provisioned.client().await?;
        wait_api_ready(&client).await.map_err(fail)?;
        add_nodes(&client, req).await.map_err(fail)?;
        Ok(provisioned)
    }
}

fn create_error(req: &ClusterRequest, source: anyhow::Error) -> ProvisionError {
    ProvisionError::Create {
        provider: "kwok",
        name: req.name.clone(),
        source,
    }
}

/// Polls `/readyz` until the API server answers: a starting process gives no
/// event to watch.
async fn wait_api_ready(client: &kube::Client) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let req = http::Request::get("/readyz").body(Vec::new())?;
        // Each request is bounded: one that hangs must not eat the budget.
        let answer = tokio::time::timeout(Duration::from_secs(5), client.request_text(req)).await;
        match answer {
            Ok(Ok(body)) if body.trim() == "ok" => return Ok(()),
            result => {
                if started.elapsed() > API_READY_TIMEOUT {
                    let why = match result {
                        Ok(Ok(body)) => body,
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => "/readyz did not answer within 5s".to_string(),
                    };
                    anyhow::bail!("API server not ready after {API_READY_TIMEOUT:?}: {why}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates the cluster's simulated nodes and waits until each is Ready.
async fn add_nodes(client: &kube::Client, req: &ClusterRequest) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    for n in &req.nodes {
        nodes
            .create(&PostParams::default(), &kwok_node(n)?)
            .await
            .with_context(|| format!("cannot create node `{}`", n.name))?;
    }
    for n in &req.nodes {
        let ready = await_condition(nodes.clone(), &n.name, node_ready);
        tokio::time::timeout(NODE_READY_TIMEOUT, ready)
            .await
            .with_context(|| {
                format!("node `{}` not Ready after {NODE_READY_TIMEOUT:?}", n.name)
            })??;
    }
    Ok(())
}

#[async_trait::async_trait]
impl Provider for Kwok {
    fn name(&self) -> &'static str {
        "kwok"
    }

    fn pods_run_containers(&self) -> bool {
        false
    }

    async fn up(&self, clusters: &[ClusterRequest]) -> Result<Vec<Provisioned>, ProvisionError> {
        let version = self
            .kube_version()
            .await
            .map_err(|source| ProvisionError::Unavailable {
                provider: "kwok",
                source,
            })?;
        // Recorded before creating: a cluster that half-started is deleted too.
        self.created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(
                clusters
                    .iter()
                    .map(|c| format!("{}-{}", self.prefix, c.name)),
            );
        let this = &*self;
        if !self.kept.is_empty() {
            return join_all(clusters.iter().map(|c| this.reattach(c)))
                .await
                .into_iter()
                .collect();
        }
        // All at once: each cluster has its own ports.
        let version = version.as_str();
        join_all(clusters.iter().map(|c| async move {
            this.start(c, version).await?;
            this.finish(c).await
        }))
        .await
        .into_iter()
        .collect()
    }

    async fn down(&mut self) -> Vec<String> {
        let created = std::mem::take(
            self.created
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let this = &*self;
        let deletions = created.iter().map(|name| async move {
            this.kwokctl()
                .args(["delete", "cluster", "--name", name])
                .output()
                .await
                .err()
                .map(|e| format!("cannot delete kwok cluster `{name}`: {e}"))
        });
        join_all(deletions).await.into_iter().flatten().collect()
    }

    fn keep_instructions(&self) -> String {
        format!(
            "the kwok clusters are kept; reach them with `export KUBECONFIG={}` and \
             `kubectl --context <cluster>`; delete them with \
             `KWOK_WORKDIR={} {} delete cluster --name <{}-cluster>`",
            self.kubeconfigs.join("all.yaml").display(),
            self.workdir.display(),
            self.toolchain.bin("kwokctl").display(),
            self.prefix
        )
    }
}
