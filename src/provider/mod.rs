//! Where clusters come from. A provider turns the scenario's clusters into
//! running API servers with kube contexts named after them, and takes down
//! what it created.
//!
//! `Provider` is a trait object: the runner chooses one in one place
//! (`runner::seams`), and its tests use a fake.

pub mod existing;
pub mod kind;
pub mod kwok;
pub mod nodes;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// A cluster the scenario asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRequest {
    pub name: String,
    /// The nodes to simulate (kwok) — from the kind config and `nodeLabels`.
    pub nodes: Vec<nodes::NodeRequest>,
    /// Existing provider: the kube context to use.
    pub context: Option<String>,
    /// kind: the cluster's kind config (`kindConfig`), resolved.
    pub kind_config: Option<PathBuf>,
}

/// A running cluster.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Provisioned {
    /// The scenario's cluster name, also its context in `kubeconfig`.
    pub name: String,
    /// A kubeconfig file whose current context is this cluster.
    pub kubeconfig: PathBuf,
    pub context: String,
    /// The API server as reachable from this machine.
    pub server: String,
    /// Credentials, as kubeconfig `*-data` fields (base64 PEM), for
    /// registering the cluster in Argo CD.
    pub ca_data: Option<String>,
    pub cert_data: Option<String>,
    pub key_data: Option<String>,
    pub token: Option<String>,
    /// Where this machine is reachable from the cluster's pods, when they run
    /// in containers (kind: the `kind` network's gateway). `None`: pods and
    /// this machine share loopback (kwok), or nothing here is reachable from
    /// them (existing).
    pub host_address: Option<IpAddr>,
}

impl Provisioned {
    /// A kube-rs client for this cluster.
    pub async fn client(&self) -> Result<kube::Client, ProvisionError> {
        let config = Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| ProvisionError::client(&self.name, e))?;
        let options = KubeConfigOptions {
            context: Some(self.context.clone()),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(config, &options)
            .await
            .map_err(|e| ProvisionError::client(&self.name, e))?;
        kube::Client::try_from(config).map_err(|e| ProvisionError::client(&self.name, e))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("failed to create {provider} cluster `{name}`")]
    Create {
        provider: &'static str,
        name: String,
        #[source]
        source: anyhow::Error,
    },
    #[error(
        "kube context `{context}` for cluster `{name}` does not exist (available: {})",
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    MissingContext {
        name: String,
        context: String,
        available: Vec<String>,
    },
    #[error(
        "refusing kube context `{context}` for cluster `{name}`: {what} matches the production \
         pattern `{pattern}`; pass --allow-context {context} if this run is meant for it"
    )]
    LooksLikeProduction {
        name: String,
        context: String,
        /// "its name" or "its server `URL`".
        what: String,
        pattern: String,
    },
    #[error("cannot connect to cluster `{name}`")]
    Client {
        name: String,
        #[source]
        source: anyhow::Error,
    },
    #[error("the {provider} provider is not available here")]
    Unavailable {
        provider: &'static str,
        #[source]
        source: anyhow::Error,
    },
}

impl ProvisionError {
    fn client(name: &str, e: impl Into<anyhow::Error>) -> Self {
        ProvisionError::Client {
            name: name.to_string(),
            source: e.into(),
        }
    }
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// `kwok`, `kind` or `existing`, for messages and reports.
    fn name(&self) -> &'static str;

    /// Brings every requested cluster up (in parallel where it can). Takes
    /// `&self`, so that the runner can bring the hub up alongside the other
    /// clusters and start Argo CD on it as soon as it answers.
    async fn up(&self, clusters: &[ClusterRequest]) -> Result<Vec<Provisioned>, ProvisionError>;

    /// Takes down everything it created; returns what could not be removed.
    async fn down(&mut self) -> Vec<String>;

    /// How to reach the clusters when they are kept (`--keep`).
    fn keep_instructions(&self) -> String;

    /// Whether the clusters' pods run containers (kwok simulates them).
    fn pods_run_containers(&self) -> bool {
        true
    }

    /// Logs for the diagnostics bundle of a failed run (e.g. the node logs
    /// of a cluster that did not come up).
    async fn diagnostics(&self) -> Vec<crate::argocd::DiagnosticFile> {
        Vec::new()
    }

    /// Makes local container images available to the clusters' nodes
    /// (`spec.images`, `--load-image`). Providers whose pods run no
    /// containers (kwok) or that cannot reach the nodes (existing) ignore it.
    async fn load_images(&mut self, images: &[String]) -> Result<(), ProvisionError> {
        let _ = images;
        Ok(())
    }
}

/// Takes a tool's kubeconfig for one cluster (kwokctl's, kind's): renames its
/// context, cluster and user to the scenario's cluster name and writes it to
/// `dir/<name>.yaml`, which becomes the cluster's own kubeconfig.
pub fn adopt_kubeconfig(
    name: &str,
    text: &str,
    dir: &Path,
    host_address: Option<IpAddr>,
) -> anyhow::Result<Provisioned> {
    use secrecy::ExposeSecret as _;
    let mut config = Kubeconfig::from_yaml(text)?;
    let (Some(cluster), Some(user)) = (config.clusters.first_mut(), config.auth_infos.first_mut())
    else {
        anyhow::bail!("the kubeconfig has no cluster or no user");
    };
    cluster.name = name.to_string();
    user.name = name.to_string();
    let server = cluster
        .cluster
        .as_ref()
        .and_then(|c| c.server.clone())
        .context("the kubeconfig has no server")?;
    let ca_data = cluster
        .cluster
        .as_ref()
        .and_then(|c| c.certificate_authority_data.clone());
    let auth = user.auth_info.clone().unwrap_or_default();
    let key_data = auth
        .client_key_data
        .as_ref()
        .map(|k| k.expose_secret().to_string());
    config.contexts.truncate(1);
    for ctx in &mut config.contexts {
        ctx.name = name.to_string();
        if let Some(c) = ctx.context.as_mut() {
            c.cluster = name.to_string();
            c.user = Some(name.to_string());
        }
    }
    config.current_context = Some(name.to_string());
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, crate::yaml::to_string(&config))?;
    Ok(Provisioned {
        name: name.to_string(),
        kubeconfig: path,
        context: name.to_string(),
        server,
        ca_data,
        cert_data: auth.client_certificate_data.clone(),
        key_data,
        token: None,
        host_address,
    })
}

/// One kubeconfig holding every cluster, contexts named after the scenario's
/// clusters: what users get with `--keep`.
pub fn merged_kubeconfig(clusters: &[Provisioned]) -> Result<Kubeconfig, anyhow::Error> {
    let mut merged = Kubeconfig::default();
    for c in clusters {
        let mut one = Kubeconfig::read_from(&c.kubeconfig)?;
        one.contexts.retain(|ctx| ctx.name == c.context);
        let ctx = one
            .contexts
            .first()
            .and_then(|n| n.context.clone())
            .ok_or_else(|| {
                anyhow::anyhow!("context `{}` not in {}", c.context, c.kubeconfig.display())
            })?;
        one.clusters.retain(|cl| cl.name == ctx.cluster);
        one.auth_infos
            .retain(|a| Some(&a.name) == ctx.user.as_ref());
        merged = merged.merge(one)?;
    }
    merged.current_context = clusters.first().map(|c| c.context.clone());
    Ok(merged)
}

/// Labels as `k=v,k2=v2`, for messages.
pub fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The names of a cluster's namespaces.
pub async fn namespace_names<C: FromIterator<String>>(
    client: &kube::Client,
) -> Result<C, kube::Error> {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, ListParams};
    Ok(Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect())
}
