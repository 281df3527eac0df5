//! The live environment as the steps see it: the scenario and its plan, a
//! client for each cluster, Argo CD's API, and which local URL serves which
//! repository. The runner builds it once setup is done; a step only reads it
//! (its writes go to the clusters through the clients).

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use crate::argocd::api::ArgoApi;
use crate::argocd::repos::UrlMap;
use crate::argocd::resources::{Application, ApplicationSet, Destination};
use crate::error::Error;
use crate::plan::Plan;
use crate::provider::Provisioned;
use crate::scenario::Loaded;
use crate::steps::count;
use crate::steps::upgrade::Before;

/// One running cluster of the scenario.
#[derive(Clone)]
pub struct LiveCluster {
    /// The scenario's name for it.
    pub name: String,
    pub provisioned: Provisioned,
    pub client: kube::Client,
    /// Whether its pods run containers that can answer (not on kwok, whose
    /// nodes are simulated).
    pub pods_run: bool,
}

pub struct Live {
    pub plan: Arc<Plan>,
    pub loaded: Arc<Loaded>,
    pub clusters: Vec<LiveCluster>,
    pub argocd: ArgoApi,
    /// Where Argo CD and the ApplicationSet live on the hub.
    pub namespace: String,
    pub urls: UrlMap,
    /// How long step 4 waits (`timeouts.sync`, or `--timeout`).
    pub sync_timeout: Duration,
    /// How long Argo CD may take to react to what the run applied
    /// (`timeouts.setup`).
    pub setup_timeout: Duration,
    /// An upgrade: what the previous release left, once it is deployed and
    /// the repositories switched to the working copy.
    pub before: Option<Before>,
}

/// An environment error: the call that failed and where.
pub fn env_error(context: impl Into<String>, source: impl Into<anyhow::Error>) -> Error {
    Error::Environment {
        context: context.into(),
        source: source.into(),
    }
}

impl Live {
    pub fn cluster(&self, name: &str) -> Option<&LiveCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The cluster Argo CD runs in.
    pub fn hub(&self) -> &LiveCluster {
        let hub = &self.loaded.hub().name;
        self.cluster(hub).unwrap_or(&self.clusters[0])
    }

    /// The scenario cluster an Application's destination names (by server
    /// URL as the ApplicationSet writes it, or by cluster name).
    pub fn destination_cluster(&self, dest: &Destination) -> Option<&LiveCluster> {
        let name = self
            .plan
            .env
            .clusters
            .iter()
            .find(|c| c.server == dest.server || (!dest.name.is_empty() && c.name == dest.name))?
            .name
            .clone();
        self.cluster(&name)
    }

    pub fn appset_name(&self) -> &str {
        self.plan
            .appset
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The ApplicationSet as it is applied: in Argo CD's namespace, remote
    /// repository URLs replaced by the local ones serving them.
    pub fn appset_to_apply(&self) -> Value {
        self.to_apply(&self.plan.appset.value)
    }

    /// An ApplicationSet manifest as it is applied (see [`Self::appset_to_apply`]).
    pub fn to_apply(&self, manifest: &Value) -> Value {
        let mut appset = manifest.clone();
        if let Some(meta) = appset.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), json!(self.namespace));
        }
        self.urls.to_local(&mut appset);
        appset
    }

    pub fn applications(&self) -> Api<Application> {
        Api::namespaced(self.hub().client.clone(), &self.namespace)
    }

    pub fn application_sets(&self) -> Api<ApplicationSet> {
        Api::namespaced(self.hub().client.clone(), &self.namespace)
    }

    /// The ApplicationSet under test as the hub has it now.
    pub async fn application_set(&self) -> Result<ApplicationSet, Error> {
        let name = self.appset_name();
        self.application_sets().get(name).await.map_err(|e| {
            env_error(
                format!(
                    "cannot read ApplicationSet `{name}` on cluster `{}`",
                    self.hub().name
                ),
                e,
            )
        })
    }

    /// The Applications the ApplicationSet owns (by controller ownerReference).
    pub async fn owned_applications(&self) -> Result<Vec<Application>, Error> {
        let appset = self.application_set().await?;
        let list = self
            .applications()
            .list(&ListParams::default())
            .await
            .map_err(|e| {
                env_error(
                    format!(
                        "cannot list Applications in namespace `{}` of cluster `{}`",
                        self.namespace,
                        self.hub().name
                    ),
                    e,
                )
            })?;
        Ok(list
            .items
            .into_iter()
            .filter(|a| count::owned_by(a, &appset))
            .collect())
    }
}
