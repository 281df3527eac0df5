//! The scenario file's types. The JSON Schema in `scenarios/scenario.schema.json`
//! is generated from them (`gitops-e2e schema`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Always `gitops-e2e/v1alpha1`.
    pub api_version: String,
    /// Always `Scenario`.
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// Where the clusters come from; `--provider` overrides it.
    #[serde(default)]
    pub provider: ProviderKind,
    /// The clusters; each name is also the kube context the harness writes.
    pub clusters: Vec<Cluster>,
    #[serde(default)]
    pub argocd: ArgoCd,
    /// Local directories served to Argo CD in place of remote repository URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<Repo>,
    /// Images loaded into kind nodes before sync (no-op on kwok).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Manifests applied to each named cluster before anything else.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixtures: BTreeMap<String, Vec<String>>,
    /// The ApplicationSet manifest under test, relative to the scenario file.
    pub application_set: String,
    /// Deploy a previous release first, then upgrade to what is here: the
    /// diff step shows what the upgrade changes in each environment, and
    /// the assertions run on the upgraded state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub timeouts: Timeouts,
}

/// The release an upgrade starts from: a git ref of the checkout that holds
/// the scenario's files, or the previous release's files themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Upgrade {
    /// A branch, tag or commit: the ApplicationSet and every `repos` path as
    /// they are at this ref deploy first (`--upgrade-from` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The previous release's ApplicationSet, relative to the scenario file
    /// (default: the one under test). It must have the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_set: Option<String>,
    /// The previous release's directory for some of `repos`, by url; the
    /// others serve the same directory before and after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repos: Vec<Repo>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    #[default]
    Kind,
    Kwok,
    Existing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// Cluster and kube context name.
    pub name: String,
    /// kind cluster config, relative to the scenario file; its node labels are
    /// also given to kwok's fake nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_config: Option<String>,
    /// The server URL the ApplicationSet uses for this cluster; the harness
    /// maps it to the real endpoint. Default: `https://kubernetes.default.svc`
    /// for the Argo CD cluster, else `https://<name>.cluster.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Existing provider: the kube context to use (default: `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Labels of the Argo CD cluster Secret (seen by the clusters generator).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the Argo CD cluster Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Extra labels for the cluster's nodes (added to the kind config's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArgoCd {
    #[serde(default = "default_argocd_version")]
    pub version: String,
    /// The hub cluster Argo CD runs in (default: the first cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default = "default_argocd_namespace")]
    pub namespace: String,
    /// How Argo CD gets onto the hub: `manifests` (default: the harness
    /// installs it), or `existing` (the `existing` provider only: the Argo CD
    /// already installed in `namespace` is used as it is, nothing installed,
    /// and only what the run creates is removed afterwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<ArgoCdInstall>,
}

impl Default for ArgoCd {
    fn default() -> Self {
        Self {
            version: default_argocd_version(),
            cluster: None,
            namespace: default_argocd_namespace(),
            install: None,
        }
    }
}

/// `spec.argocd.install`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArgoCdInstall {
    /// The harness installs Argo CD (in-cluster from its install manifests on
    /// kind, as local processes on kwok).
    #[default]
    Manifests,
    /// The Argo CD already on the hub, used as it is.
    Existing,
}

/// The Argo CD version the toolchain pins.
pub const ARGOCD_VERSION: &str = "v3.5.3";

fn default_argocd_version() -> String {
    ARGOCD_VERSION.to_string()
}

fn default_argocd_namespace() -> String {
    "argocd".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Repo {
    /// The URL the ApplicationSet and its Applications use.
    pub url: String,
    /// The local directory served in its place, relative to the scenario file.
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// The exact set of generated Applications: a missing or an extra one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications: Option<BTreeMap<String, ExpectedApplication>>,
    /// Lint rules that must be reported (by name), e.g. for a scenario that
    /// demonstrates a mistake.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedApplication {
    /// The scenario cluster the Application deploys to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Whether `syncPolicy.automated` is on; `false` means the harness syncs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_sync: Option<bool>,
    /// Whether automated sync prunes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, ExpectedDeployment>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectedDeployment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Image references, exact (`repo:tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<String>>,
    /// Node labels the pods must be placed by (nodeSelector or required node affinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// An HTTP request to one of its Ready pods, through a port-forward: the
    /// application must answer, not only run. Pods run no containers on
    /// kwok, where the check is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpProbe {
    /// The path to GET, e.g. `/healthz`.
    #[serde(default = "default_probe_path")]
    pub path: String,
    /// The status it must answer with.
    #[serde(default = "default_probe_status")]
    pub status: u16,
    /// The pod's port (default: the first container's first `containerPort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

fn default_probe_path() -> String {
    "/".into()
}

fn default_probe_status() -> u16 {
    200
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeouts {
    /// How long step 4 waits for every Application to be Synced and Healthy.
    #[serde(default = "default_sync_timeout")]
    pub sync: String,
    /// How long clusters and Argo CD get to come up.
    #[serde(default = "default_setup_timeout")]
    pub setup: String,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            sync: default_sync_timeout(),
            setup: default_setup_timeout(),
        }
    }
}

fn default_sync_timeout() -> String {
    "5m".to_string()
}

fn default_setup_timeout() -> String {
    "5m".to_string()
}
