//! Argo CD on the harness's clusters.
//!
//! How Argo CD runs is behind [`ArgoCdRuntime`]: as local processes
//! ([`local::LocalProcesses`]), in the hub from its install manifests
//! ([`incluster::InCluster`]), or the Argo CD already installed there
//! ([`existing::Existing`]). Where repositories are served is behind
//! [`repos::RepoServer`] likewise.
//!
//! - [`resources`]: typed Application and ApplicationSet.
//! - [`install`]: server-side apply of manifests (CRDs, config, fixtures).
//! - [`local`]: Argo CD's components as local processes.
//! - [`clusters`]: cluster Secrets and the routes for production URLs.
//! - [`proxy`]: an HTTP CONNECT proxy that tunnels a production cluster URL
//!   to the local API server that plays it.
//! - [`repos`]: local directories served as git or Helm chart repositories.
//! - [`staged`]: an upgrade's two releases of a repository, and the switch.
//! - [`static_server`]: the small file server behind a Helm repository.
//! - [`api`]: argocd-server's REST API (generation, managed resources).

pub(crate) mod accept;
pub mod api;
pub mod clusters;
pub mod existing;
mod http;
pub mod incluster;
pub mod install;
pub mod local;
pub mod proxy;
pub mod repo_containers;
pub mod repos;
pub mod resources;
pub mod staged;
pub mod static_server;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::provider::Provisioned;

/// A file for the diagnostics bundle of a failed run.
#[derive(Debug, Clone, PartialEq)]
pub enum DiagnosticFile {
    /// Copy the file at `from` under `name` (a component's log).
    Copy { name: String, from: PathBuf },
    /// Write `text` under `name`.
    Text { name: String, text: String },
}

/// How Argo CD runs for a scenario.
#[async_trait::async_trait]
pub trait ArgoCdRuntime: Send + Sync {
    /// For reports: `local processes`, `in-cluster`, `existing`.
    fn name(&self) -> &'static str;

    /// Installs (or finds) Argo CD on the hub and waits until its API answers;
    /// returns where the API is and how to authenticate. `dir` is the run's own directory for it.
    async fn start(
        &mut self,
        hub: &Provisioned,
        namespace: &str,
        dir: &Path,
        timeout: Duration,
    ) -> anyhow::Result<api::ApiAccess>;

    /// Registers the scenario's clusters with Argo CD under the server URLs
    /// the ApplicationSet uses.
    async fn register(
        &mut self,
        hub: &kube::Client,
        clusters: &[clusters::Registration<'_>],
        namespace: &str,
    ) -> anyhow::Result<()>;

    /// Logs and notes for the diagnostics bundle.
    async fn diagnostics(&self) -> Vec<DiagnosticFile>;

    /// Stops what `start` started; an Argo CD it found is left as it was,
    /// and what the run created in it is removed.
    async fn stop(&mut self);

    /// What the runtime has to say since it was last asked (the version of
    /// an Argo CD it found, what it left and why), for the report.
    fn take_notes(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Leaves Argo CD running for a later run (`--reuse`) and returns its
    /// API's URL; `None` when this runtime cannot be kept (then it is
    /// stopped as by [`ArgoCdRuntime::stop`]).
    async fn detach(&mut self) -> Option<String> {
        self.stop().await;
        None
    }
}
