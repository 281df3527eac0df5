//! Runs a scenario live: setup (clusters, Argo CD, repositories,
//! registrations) → the five steps in order → teardown.
//!
//! This module is orchestration only. What each step reads and how it judges
//! it is in `crate::steps`; where clusters, Argo CD and repositories come from
//! is behind the [`Seams`], chosen in one place ([`seams::choose`]). The
//! runner emits events and keeps no record of its own: the report is built
//! from the same events the progress display shows. A failed check is data;
//! a broken environment is an `Error` (exit 3), and the report still names
//! every check that completed. Teardown always happens, also on error and on
//! Ctrl-C; `--keep` leaves the clusters up.

mod diagnostics;
pub mod reuse;
mod seams;
mod session;
#[cfg(test)]
mod tests;
pub mod upgrade;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use seams::{RUN_DIR_PREFIX, Seams, run_id};
pub use session::Session;

use crate::argocd::api::ArgoApi;
use crate::argocd::clusters::Registration;
use crate::argocd::repos::{UrlMap, same_url};
use crate::check::Outcome;
use crate::error::Error;
use crate::events::{Event, Sink, Tee};
use crate::live::{Live, LiveCluster, env_error};
use crate::plan::Plan;
use crate::provider::{ClusterRequest, Provisioned, merged_kubeconfig};
use crate::report::{Collector, Report, Stopped};
use crate::scenario::{Loaded, ProviderKind};
use crate::steps::{self, Step};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's provider.
    pub provider: Option<ProviderKind>,
    /// Leave the clusters up and say how to reach them.
    pub keep: bool,
    /// Overrides `timeouts.sync`.
    pub sync_timeout: Option<Duration>,
    /// Where diagnostics bundles go (default `.gitops-e2e/diagnostics`); each
    /// failed run writes a new directory inside it.
    pub diagnostics: Option<PathBuf>,
    /// Existing provider: scenario cluster → kube context (overrides `context`).
    pub contexts: BTreeMap<String, String>,
    /// Existing provider: which contexts look like production, and which of
    /// those the user allowed.
    pub context_guard: crate::provider::existing::ContextGuard,
    /// kind provider: node image and config patches for every cluster.
    pub kind: crate::provider::kind::KindSettings,
    /// Local images to load into the clusters' nodes, besides `spec.images`.
    pub load_images: Vec<String>,
    /// Keep the environment for the next run with the same key, and use a
    /// kept one ([`reuse`]).
    pub reuse: bool,
    /// Deploy the release at this git ref first, then upgrade to the working
    /// copy (overrides `spec.upgrade`).
    pub upgrade_from: Option<String>,
}

/// The end of a run: its report (always) and, when the run could not reach
/// its verdict, why (exit 2, 3 or 130).
#[derive(Debug)]
pub struct RunOutcome {
    pub report: Report,
    pub error: Option<Error>,
}

/// Runs `plan`'s scenario live.
pub async fn run(plan: Plan, opts: RunOptions, sink: &dyn Sink) -> RunOutcome {
    let collector = Collector::default();
    let started = Instant::now();
    let base = plan.report.clone();
    let end = {
        let tee = Tee(vec![sink, &collector]);
        let mut interrupts = Interrupts::install();
        match seams::prepare(plan, opts, &tee) {
            Ok(runner) => {
                runner
                    .run_to_end(async move { interrupts.recv().await })
                    .await
            }
            Err(e) => RunEnd::before_start(e),
        }
    };
    end.outcome(&collector, base, started.elapsed())
}

/// What a runner reports when it is done.
pub struct RunEnd {
    pub provider: Option<&'static str>,
    pub error: Option<Error>,
    pub diagnostics: Option<PathBuf>,
}

impl RunEnd {
    fn before_start(error: Error) -> Self {
        RunEnd {
            provider: None,
            error: Some(error),
            diagnostics: None,
        }
    }

    /// The report from the events `collector` saw, and the error if any.
    pub fn outcome(self, collector: &Collector, base: Report, total: Duration) -> RunOutcome {
        let stopped = self.error.as_ref().map(|e| Stopped {
            kind: match e {
                Error::Interrupted => "interrupted",
                Error::Environment { .. } => "environment",
                _ => "input",
            },
            reason: steps::error_chain(e),
            exit_code: e.exit_code(),
        });
        let mut report = collector.report(base, self.provider, total, stopped);
        report.diagnostics = self.diagnostics.map(|d| d.display().to_string());
        RunOutcome {
            report,
            error: self.error,
        }
    }
}

/// Listeners for Ctrl-C and SIGTERM, installed when made: a signal that
/// comes before the first poll is neither lost nor fatal. Also what a suite
/// of runs listens with.
pub(crate) struct Interrupts {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    pub(crate) fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Interrupts {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves at the next signal.
    pub(crate) async fn recv(&mut self) {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = one(&mut self.int) => {}
            () = one(&mut self.term) => {}
        }
    }
}

/// A run's directory: a temporary one, removed at the end unless kept, or
/// a kept environment's (`--reuse`), whose end the runner decides.
pub enum RunDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl RunDir {
    pub fn path(&self) -> &std::path::Path {
        match self {
            RunDir::Temp(dir) => dir.path(),
            RunDir::Kept(dir) => dir,
        }
    }

    /// Leaves the directory in place and returns its path.
    fn keep(self) -> PathBuf {
        match self {
            RunDir::Temp(dir) => dir.keep(),
            RunDir::Kept(dir) => dir,
        }
    }
}

/// `--reuse`: the environment's key and, once known, what it held when it
/// was made (read from the kept one, or recorded after setup).
pub struct Reusing {
    pub key: String,
    pub state: Option<reuse::State>,
    /// Held for the whole run: no other run of this process takes it.
    pub claim: reuse::Claim,
}

pub struct Runner<'a> {
    plan: Arc<Plan>,
    loaded: Arc<Loaded>,
    opts: RunOptions,
    sink: &'a dyn Sink,
    seams: Seams,
    steps: Vec<Box<dyn Step>>,
    /// The run's own directory (kubeconfigs, Argo CD's files, repositories);
    /// removed at the end unless the clusters are kept.
    dir: RunDir,
    /// `--reuse`: the environment's key, and what it held when made (set
    /// once known: read from a kept one, or recorded after setup).
    reuse: Option<Reusing>,
    /// Set when the environment was kept for `--reuse` at the end.
    reused_kept: bool,
    /// Set when the run was interrupted: nothing is kept for `--reuse`.
    interrupted: bool,
    run_id: String,
    clusters: Vec<Provisioned>,
    argocd_api: Option<crate::argocd::api::ApiAccess>,
    urls: UrlMap,
    live: Option<Live>,
    /// An upgrade's previous release, read before anything starts.
    previous: Option<upgrade::Previous>,
}

impl<'a> Runner<'a> {
    pub fn new(
        plan: Plan,
        loaded: Loaded,
        opts: RunOptions,
        sink: &'a dyn Sink,
        seams: Seams,
        steps: Vec<Box<dyn Step>>,
        dir: RunDir,
    ) -> Self {
        let run_id = seams::run_id(dir.path());
        Runner {
            plan: Arc::new(plan),
            loaded: Arc::new(loaded),
            opts,
            sink,
            seams,
            steps,
            dir,
            reuse: None,
            reused_kept: false,
            interrupted: false,
            run_id,
            clusters: Vec::new(),
            argocd_api: None,
            urls: UrlMap::default(),
            live: None,
            previous: None,
        }
    }

    /// `--reuse`: keep the environment in the run's directory, and use the
    /// one described there when it is healthy.
    pub fn reusing(mut self, reuse: Option<Reusing>) -> Self {
        self.reuse = reuse;
        self
    }

    /// Sets up, runs the steps, collects diagnostics when something failed,
    /// and tears down — whatever happens, also when `interrupt` resolves.
    pub async fn run_to_end(mut self, interrupt: impl Future<Output = ()>) -> RunEnd {
        let result = tokio::select! {
            r = self.execute() => r,
            _ = interrupt => Err(Error::Interrupted),
        };
        let was_interrupted = matches!(result, Err(Error::Interrupted));
        let failed = !matches!(result, Ok(true));
        let sink = self.sink;
        let diagnostics = if failed && !was_interrupted {
            // A Ctrl-C here gives up the bundle, not the teardown.
            let mut interrupts = Interrupts::install();
            tokio::select! {
                d = self.collect_diagnostics() => d,
                () = interrupts.recv() => {
                    sink.emit(Event::Note(
                        "interrupted: diagnostics not collected; tearing down".into(),
                    ));
                    None
                }
            }
        } else {
            None
        };
        self.interrupted = was_interrupted;
        let keep = self.opts.keep && !was_interrupted;
        let remains = self.what_teardown_stops(keep);
        {
            // Teardown is not interruptible: each part of it has its own
            // timeout. Another Ctrl-C only says what is still being stopped.
            let mut interrupts = Interrupts::install();
            let teardown = self.teardown(keep);
            tokio::pin!(teardown);
            loop {
                tokio::select! {
                    () = &mut teardown => break,
                    () = interrupts.recv() => sink.emit(Event::Note(format!(
                        "still cleaning up: {remains}; this ends within its timeouts \
                         (if this process is killed, `gitops-e2e clean` removes what is left)"
                    ))),
                }
            }
        }
        if keep {
            let kept = self.dir.keep();
            self.sink.emit(Event::Note(format!(
                "kept run directory {}",
                kept.display()
            )));
        } else if let RunDir::Kept(dir) = &self.dir
            && !self.reused_kept
            && let Err(e) = reuse::destroy(dir)
        {
            self.sink.emit(Event::Note(format!(
                "could not remove the environment {}: {e} (`gitops-e2e clean` removes it)",
                dir.display()
            )));
        }
        RunEnd {
            provider: Some(self.seams.provider.name()),
            error: result.err(),
            diagnostics,
        }
    }

    /// Setup and the steps; `Ok(true)` when every check passed.
    async fn execute(&mut self) -> Result<bool, Error> {
        self.setup().await?;
        self.run_steps().await
    }

    async fn phase<T>(
        &mut self,
        name: &str,
        work: impl AsyncFnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.sink.emit(Event::PhaseStarted { name: name.into() });
        let started = Instant::now();
        let result = work(self).await;
        self.sink.emit(Event::PhaseFinished {
            name: name.into(),
            duration: started.elapsed(),
        });
        result
    }

    fn setup_timeout(&self) -> Duration {
        self.loaded.timeouts.setup
    }

    /// Clusters and Argo CD, repositories, cluster registrations: then the
    /// steps get their view of it all.
    async fn setup(&mut self) -> Result<(), Error> {
        self.read_previous_release().await?;
        self.check_kept_environment().await?;
        self.clusters_and_argocd().await?;
        self.record_baseline().await?;
        if !self.images().is_empty() {
            self.phase("images loaded", async |r| r.load_images().await)
                .await?;
        }
        self.phase("repositories served", async |r| r.serve_repos().await)
            .await?;
        self.phase("clusters registered", async |r| r.register_clusters().await)
            .await?;
        if self.previous.is_some() {
            self.phase("previous release deployed", async |r| {
                r.deploy_previous().await
            })
            .await?;
        }
        Ok(())
    }

    /// An upgrade (`spec.upgrade` or `--upgrade-from`): its previous release
    /// is read, and exported from git if it comes from a ref.
    async fn read_previous_release(&mut self) -> Result<(), Error> {
        let from = match &self.opts.upgrade_from {
            Some(r) => Some(crate::scenario::UpgradeFrom::Ref(r.clone())),
            None => self.loaded.upgrade.clone(),
        };
        let Some(from) = from else {
            return Ok(());
        };
        let current = self
            .plan
            .appset
            .value
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let previous = upgrade::resolve(&self.loaded, current, &from, self.dir.path()).await?;
        self.sink.emit(Event::Note(format!(
            "upgrade: the previous release ({}) deploys first, then the working copy",
            previous.label
        )));
        self.previous = Some(previous);
        Ok(())
    }

    /// The previous release, Synced and Healthy, recorded; then every
    /// repository switches to the working copy.
    async fn deploy_previous(&mut self) -> Result<(), Error> {
        let (Some(previous), Some(live)) = (&self.previous, &self.live) else {
            return Ok(());
        };
        let before = crate::steps::upgrade::deploy_previous(
            live,
            &previous.appset,
            &previous.expansion,
            &previous.label,
            self.sink,
        )
        .await?;
        self.seams
            .repos
            .advance()
            .await
            .map_err(|e| env_error("cannot switch the repositories to the working copy", e))?;
        self.sink.emit(Event::Note(
            "upgrade: the repositories now serve the working copy".into(),
        ));
        if let Some(live) = &mut self.live {
            live.before = Some(before);
        }
        Ok(())
    }

    /// `--reuse` with a kept environment: it is used only if every cluster
    /// and Argo CD answer; else it is removed and this run makes it afresh.
    async fn check_kept_environment(&mut self) -> Result<(), Error> {
        let Some(state) = self.reuse.as_ref().and_then(|r| r.state.as_ref()) else {
            return Ok(());
        };
        let why = match reuse::health(state).await {
            Ok(()) => {
                self.sink.emit(Event::Note(format!(
                    "reusing the kept environment {}",
                    self.dir.path().display()
                )));
                return Ok(());
            }
            Err(why) => why,
        };
        self.sink.emit(Event::Note(format!(
            "the kept environment {} failed its health check ({why}): making it afresh",
            self.dir.path().display()
        )));
        let dir = self.dir.path().to_path_buf();
        let redo = || -> Result<(), std::io::Error> {
            reuse::destroy(&dir)?;
            std::fs::create_dir_all(&dir)?;
            crate::clean::write_owner(&dir)
        };
        redo().map_err(|e| {
            env_error(
                format!("cannot remove the kept environment `{}`", dir.display()),
                e,
            )
        })?;
        if let Some(r) = &mut self.reuse {
            r.state = None;
        }
        let toolchain = crate::toolchain::Toolchain::locate()
            .map_err(|e| env_error("the upstream toolchain is not usable", e))?;
        self.seams = seams::choose(
            crate::scenario::ProviderKind::Kwok,
            &self.opts,
            &toolchain,
            &dir,
            &self.run_id,
        )?;
        Ok(())
    }

    /// `--reuse` on a new environment: what it holds before the run adds
    /// anything, so that the reset at the end knows what to leave.
    async fn record_baseline(&mut self) -> Result<(), Error> {
        let Some(r) = &self.reuse else {
            return Ok(());
        };
        if r.state.is_some() {
            return Ok(());
        }
        let hub_name = self.loaded.hub().name.clone();
        let mut clients = Vec::new();
        for p in &self.clusters {
            let client = p
                .client()
                .await
                .map_err(|e| env_error("cannot connect", e))?;
            clients.push((p.name.clone(), client));
        }
        let hub = clients
            .iter()
            .find(|(n, _)| *n == hub_name)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| {
                env_error("the hub is not running", anyhow::anyhow!("not provisioned"))
            })?;
        let namespace = self.loaded.scenario.spec.argocd.namespace.clone();
        let (namespaces, secrets) = reuse::baseline(&clients, &hub, &namespace)
            .await
            .map_err(|e| env_error("cannot record what the new environment holds", e))?;
        let state = reuse::State {
            key: r.key.clone(),
            clusters: self.clusters.clone(),
            argocd_url: self
                .argocd_api
                .as_ref()
                .map(|a| a.url.clone())
                .unwrap_or_default(),
            namespaces,
            secrets,
        };
        if let Some(r) = &mut self.reuse {
            r.state = Some(state);
        }
        Ok(())
    }

    /// Every cluster comes up at once; Argo CD starts on the hub as soon as
    /// the hub answers, while the other clusters are still coming up. Two
    /// phases, "clusters up" (all of them) and "Argo CD ready" (from the
    /// hub's readiness), which overlap. Both are awaited to their end, so
    /// that teardown knows everything either started.
    async fn clusters_and_argocd(&mut self) -> Result<(), Error> {
        let hub_name = self.loaded.hub().name.clone();
        let (hub_req, others): (Vec<ClusterRequest>, Vec<ClusterRequest>) = self
            .loaded
            .scenario
            .spec
            .clusters
            .iter()
            .map(|c| ClusterRequest {
                name: c.name.clone(),
                nodes: self.loaded.nodes.get(&c.name).cloned().unwrap_or_default(),
                context: self
                    .opts
                    .contexts
                    .get(&c.name)
                    .cloned()
                    .or_else(|| c.context.clone()),
                kind_config: self.loaded.kind_configs.get(&c.name).cloned(),
            })
            .partition(|r| r.name == hub_name);
        let timeout = self.setup_timeout();
        let namespace = self.loaded.scenario.spec.argocd.namespace.clone();
        let argocd_dir = self.dir.path().join("argocd");
        let sink = self.sink;
        let started = Instant::now();
        sink.emit(Event::PhaseStarted {
            name: "clusters up".into(),
        });
        let Seams {
            provider, argocd, ..
        } = &mut self.seams;
        let provider: &dyn crate::provider::Provider = provider.as_ref();
        let up = |requests: Vec<ClusterRequest>| async move {
            match tokio::time::timeout(timeout, provider.up(&requests)).await {
                Ok(result) => result.map_err(|e| env_error("cannot bring the clusters up", e)),
                Err(_) => Err(env_error(
                    "cannot bring the clusters up",
                    anyhow::anyhow!(
                        "not ready within {} (timeouts.setup)",
                        humantime::format_duration(timeout)
                    ),
                )),
            }
        };
        // "clusters up" ends when the last of the two groups is up (or failed).
        let groups_done = std::sync::atomic::AtomicUsize::new(0);
        let group_done = || {
            if groups_done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                sink.emit(Event::PhaseFinished {
                    name: "clusters up".into(),
                    duration: started.elapsed(),
                });
            }
        };
        let hub_then_argocd = async {
            let hub = up(hub_req).await;
            group_done();
            let hub = hub?;
            let Some(hub) = hub.into_iter().next() else {
                return Err(env_error(
                    format!("the hub cluster `{hub_name}` is not running"),
                    anyhow::anyhow!("the provider did not return it"),
                ));
            };
            sink.emit(Event::PhaseStarted {
                name: "Argo CD ready".into(),
            });
            let argocd_started = Instant::now();
            let access = argocd
                .start(&hub, &namespace, &argocd_dir, timeout)
                .await
                .map_err(|e| {
                    env_error(format!("cannot start Argo CD on cluster `{}`", hub.name), e)
                });
            argocd
                .take_notes()
                .into_iter()
                .for_each(|n| sink.emit(Event::Note(n)));
            sink.emit(Event::PhaseFinished {
                name: "Argo CD ready".into(),
                duration: argocd_started.elapsed(),
            });
            Ok((hub, access))
        };
        let others_up = async {
            let result = if others.is_empty() {
                Ok(Vec::new())
            } else {
                up(others).await
            };
            group_done();
            result
        };
        let (hub, others) = tokio::join!(hub_then_argocd, others_up);
        let (hub, access) = hub?;
        self.clusters.push(hub);
        self.clusters.extend(others?);
        self.argocd_api = Some(access?);
        let all = merged_kubeconfig(&self.clusters)
            .map_err(|e| env_error("cannot merge the clusters' kubeconfigs", e))?;
        let dir = self.dir.path().join("kubeconfigs");
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("all.yaml"), crate::yaml::to_string(&all)))
            .map_err(|e| env_error(format!("cannot write kubeconfig in `{}`", dir.display()), e))
    }

    /// `spec.images` and `--load-image`, each once, in order.
    fn images(&self) -> Vec<String> {
        let mut images: Vec<String> = Vec::new();
        for i in self
            .loaded
            .scenario
            .spec
            .images
            .iter()
            .chain(&self.opts.load_images)
        {
            if !images.contains(i) {
                images.push(i.clone());
            }
        }
        images
    }

    async fn load_images(&mut self) -> Result<(), Error> {
        let images = self.images();
        let timeout = self.setup_timeout();
        match tokio::time::timeout(timeout, self.seams.provider.load_images(&images)).await {
            Ok(result) => result.map_err(|e| env_error("cannot load the images into the nodes", e)),
            Err(_) => Err(env_error(
                "cannot load the images into the nodes",
                anyhow::anyhow!(
                    "not done within {} (timeouts.setup)",
                    humantime::format_duration(timeout)
                ),
            )),
        }
    }

    /// Serves each scenario repository the way the Applications use it: a
    /// Helm chart repository where they set `chart:`, a git repository
    /// otherwise.
    async fn serve_repos(&mut self) -> Result<(), Error> {
        let repos = self.loaded.scenario.spec.repos.clone();
        for (i, (repo, path)) in repos.iter().zip(self.loaded.repo_paths.iter()).enumerate() {
            let dest = self.dir.path().join(format!("repos/{i}"));
            let chart = uses_chart(&self.plan, &repo.url);
            let previous = self.previous.as_ref().and_then(|p| p.repo_paths.get(i));
            let served = match previous {
                Some(previous) => {
                    self.seams
                        .repos
                        .serve_staged(previous, path, &dest, chart)
                        .await
                }
                None => self.seams.repos.serve(path, &dest, chart).await,
            };
            let local = served.map_err(|e| env_error(format!("cannot serve `{}`", repo.url), e))?;
            self.sink.emit(Event::Note(format!(
                "serving {} from {} at {local}",
                repo.url,
                path.display()
            )));
            self.urls.insert(&repo.url, &local);
        }
        Ok(())
    }

    async fn register_clusters(&mut self) -> Result<(), Error> {
        let mut clusters = Vec::new();
        for p in &self.clusters {
            let client = p
                .client()
                .await
                .map_err(|e| env_error("cannot connect", e))?;
            clusters.push(LiveCluster {
                name: p.name.clone(),
                provisioned: p.clone(),
                client,
                pods_run: self.seams.provider.pods_run_containers(),
            });
        }
        let namespace = self.loaded.scenario.spec.argocd.namespace.clone();
        let hub_name = self.loaded.hub().name.clone();
        let hub = clusters
            .iter()
            .find(|c| c.name == hub_name)
            .map(|c| c.client.clone())
            .ok_or_else(|| {
                env_error(
                    format!("the hub `{hub_name}` is not running"),
                    anyhow::anyhow!("not provisioned"),
                )
            })?;
        let regs: Vec<Registration<'_>> = self
            .loaded
            .scenario
            .spec
            .clusters
            .iter()
            .filter_map(|c| {
                Some(Registration {
                    server: self.loaded.server_of(&c.name),
                    labels: &c.labels,
                    annotations: &c.annotations,
                    cluster: self.clusters.iter().find(|p| p.name == c.name)?,
                })
            })
            .collect();
        let registered = self.seams.argocd.register(&hub, &regs, &namespace).await;
        for note in self.seams.argocd.take_notes() {
            self.sink.emit(Event::Note(note));
        }
        registered.map_err(|e| env_error("cannot register the clusters in Argo CD", e))?;
        self.live = Some(Live {
            plan: self.plan.clone(),
            loaded: self.loaded.clone(),
            clusters,
            argocd: self
                .argocd_api
                .as_ref()
                .map(ArgoApi::with_access)
                .unwrap_or_else(|| ArgoApi::new("")),
            namespace,
            urls: self.urls.clone(),
            sync_timeout: self.opts.sync_timeout.unwrap_or(self.loaded.timeouts.sync),
            setup_timeout: self.setup_timeout(),
            before: None,
        });
        Ok(())
    }

    /// The steps in order; a step that says the later ones cannot run makes
    /// them skipped with its reason. `Ok(true)` when no check failed.
    async fn run_steps(&self) -> Result<bool, Error> {
        let live = self.live.as_ref().ok_or_else(|| {
            env_error(
                "the environment is not set up",
                anyhow::anyhow!("no live view"),
            )
        })?;
        let mut passed = true;
        let mut stop: Option<String> = None;
        for step in &self.steps {
            let kind = step.kind();
            if let Some(why) = &stop {
                self.sink.emit(Event::StepFinished {
                    step: kind,
                    skipped: Some(why.clone()),
                    duration: Duration::ZERO,
                });
                continue;
            }
            let phase = format!("step {}", kind.title());
            self.sink.emit(Event::PhaseStarted {
                name: phase.clone(),
            });
            let started = Instant::now();
            let out = step.run(live, self.sink).await;
            let duration = started.elapsed();
            self.sink.emit(Event::PhaseFinished {
                name: phase,
                duration,
            });
            let out = out?;
            for check in out.checks {
                passed &= !matches!(check.outcome, Outcome::Failed { .. });
                self.sink.emit(Event::Check { step: kind, check });
            }
            self.sink.emit(Event::StepFinished {
                step: kind,
                skipped: out.skipped,
                duration,
            });
            stop = out.stops_later;
        }
        Ok(passed)
    }

    /// The diagnostics bundle of a failed run, in a new directory; problems
    /// writing it are reported, never fatal.
    async fn collect_diagnostics(&self) -> Option<PathBuf> {
        let mut files = self.seams.argocd.diagnostics().await;
        files.extend(self.seams.provider.diagnostics().await);
        // Before Argo CD runs there is nothing to collect but the error itself.
        if files.is_empty() && self.live.is_none() {
            return None;
        }
        let base = self
            .opts
            .diagnostics
            .clone()
            .unwrap_or_else(|| PathBuf::from(".gitops-e2e/diagnostics"));
        let name = format!("{}-{}", self.loaded.scenario.metadata.name, self.run_id);
        match diagnostics::write(&base, &name, &files, self.live.as_ref()).await {
            Ok((dir, problems)) => {
                for p in problems {
                    self.sink.emit(Event::Note(format!("diagnostics: {p}")));
                }
                self.sink.emit(Event::Note(format!(
                    "diagnostics written to {}",
                    dir.display()
                )));
                Some(dir)
            }
            Err(e) => {
                self.sink.emit(Event::Note(format!(
                    "could not write diagnostics under {}: {e:#}",
                    base.display()
                )));
                None
            }
        }
    }

    /// What the teardown stops, in words, for a second Ctrl-C.
    fn what_teardown_stops(&self, keep: bool) -> String {
        let clusters: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
        let mut parts = vec![
            format!("Argo CD ({})", self.seams.argocd.name()),
            "the repository servers".to_string(),
        ];
        if !keep && !clusters.is_empty() {
            parts.push(format!(
                "{} cluster{} {}",
                self.seams.provider.name(),
                if clusters.len() == 1 { "" } else { "s" },
                clusters.join(", ")
            ));
        }
        parts.join(", ")
    }

    /// `--reuse`: resets the environment and leaves it running for the
    /// next run; `false` when it cannot be kept (then it is torn down).
    async fn keep_for_reuse(&mut self) -> bool {
        let (Some(r), Some(live)) = (&self.reuse, &self.live) else {
            return false;
        };
        let Some(state) = &r.state else {
            return false;
        };
        if let Err(e) = reuse::reset(live, state).await {
            self.sink.emit(Event::Note(format!(
                "the environment cannot be kept for --reuse: its reset failed ({e:#}); removing it"
            )));
            return false;
        }
        let mut state = state.clone();
        self.live = None;
        let Some(url) = self.seams.argocd.detach().await else {
            return false;
        };
        state.argocd_url = url;
        self.seams.repos.stop().await;
        // The next run serves its repositories afresh, into the same place.
        let repos = self.dir.path().join("repos");
        let saved = std::fs::remove_dir_all(&repos)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .and_then(|()| reuse::save(self.dir.path(), &state));
        if let Err(e) = saved {
            self.sink.emit(Event::Note(format!(
                "the environment cannot be kept for --reuse: {e}; removing it"
            )));
            return false;
        }
        self.sink.emit(Event::Note(format!(
            "environment kept for --reuse in {} (`gitops-e2e clean` removes it)",
            self.dir.path().display()
        )));
        true
    }

    async fn teardown(&mut self, keep: bool) {
        self.sink.emit(Event::PhaseStarted {
            name: "teardown".into(),
        });
        let started = Instant::now();
        if self.reuse.is_some() && !keep && !self.interrupted && self.keep_for_reuse().await {
            self.reused_kept = true;
            self.sink.emit(Event::PhaseFinished {
                name: "teardown".into(),
                duration: started.elapsed(),
            });
            return;
        }
        self.live = None;
        self.seams.argocd.stop().await;
        for note in self.seams.argocd.take_notes() {
            self.sink.emit(Event::Note(note));
        }
        self.seams.repos.stop().await;
        if keep {
            let path = self.dir.path().join("kubeconfigs/all.yaml");
            self.sink.emit(Event::Note(format!(
                "clusters kept: export KUBECONFIG={} and use `kubectl --context <cluster>` ({}); {}",
                path.display(),
                self.clusters
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.seams.provider.keep_instructions()
            )));
        } else {
            for problem in self.seams.provider.down().await {
                self.sink.emit(Event::Note(problem));
            }
        }
        self.sink.emit(Event::PhaseFinished {
            name: "teardown".into(),
            duration: started.elapsed(),
        });
    }
}

/// Whether an Application of the plan reads `url` as a Helm chart repository.
fn uses_chart(plan: &Plan, url: &str) -> bool {
    plan.expansion.applications.iter().any(|app| {
        let spec = app.spec();
        let sources = spec
            .get("sources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        spec.get("source")
            .into_iter()
            .chain(sources.iter())
            .any(|s| {
                s.get("chart").is_some()
                    && s.get("repoURL")
                        .and_then(Value::as_str)
                        .is_some_and(|u| same_url(u, url))
            })
    })
}
