//! Runs a scenario live: provision → Argo CD → the five steps → teardown.
//!
//! `run` owns the order and the cleanup; each phase is a method of `Run` and
//! each step's judgement lives in `crate::steps` (pure functions over the
//! objects fetched here). A failed check is data in the report; a broken
//! environment is an `Error` (exit 3). Teardown always happens, also on
//! error and on Ctrl-C; `--keep` leaves the clusters up.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Namespace, Node, Pod, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

use crate::argocd::api::ArgoApi;
use crate::argocd::clusters::{self, Registration};
use crate::argocd::install::{self, Mode};
use crate::argocd::local::{self, LocalArgoCd};
use crate::argocd::proxy::ConnectProxy;
use crate::argocd::repos::{self, HelmRepo};
use crate::argocd::resources::{Application, ApplicationSet};
use crate::error::Error;
use crate::events::{Event, Sink};
use crate::plan::Plan;
use crate::provider::existing::Existing;
use crate::provider::kwok::Kwok;
use crate::provider::nodes::node_requests;
use crate::provider::{AnyProvider, ClusterRequest, Provider, Provisioned, merged_kubeconfig};
use crate::report::{Check, Outcome, Phase, Report, StepKind, StepResult};
use crate::scenario::{Loaded, ProviderKind};
use crate::steps::{assert, conditions, count, diff};
use crate::toolchain::Toolchain;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's provider.
    pub provider: Option<ProviderKind>,
    /// Leave the clusters up and say how to reach them.
    pub keep: bool,
    /// Overrides `timeouts.sync`.
    pub sync_timeout: Option<Duration>,
    /// Where the diagnostics bundle of a failed run goes.
    pub diagnostics: Option<PathBuf>,
    /// Existing provider: scenario cluster → kube context (overrides `context`).
    pub contexts: std::collections::BTreeMap<String, String>,
}

/// Runs `plan`'s scenario live and returns the full report.
pub async fn run(plan: Plan, opts: RunOptions, sink: &dyn Sink) -> Result<Report, Error> {
    let (mut run, dir) = prepare(plan, opts, sink)?;
    let mut outcome = tokio::select! {
        r = run.execute() => r,
        _ = interrupted() => Err(Error::Interrupted),
    };
    let keep = run.opts.keep && !matches!(outcome, Err(Error::Interrupted));
    if outcome.as_ref().is_ok_and(|r| !r.passed()) || outcome.is_err() {
        run.collect_diagnostics().await;
    }
    run.teardown(keep).await;
    if let Ok(report) = &mut outcome {
        report.diagnostics = run
            .diagnostics_dir
            .as_ref()
            .map(|d| d.display().to_string());
    }
    if keep {
        let kept = dir.keep();
        sink.emit(Event::Note(format!(
            "kept run directory {}",
            kept.display()
        )));
    }
    outcome
}

/// Everything a live run needs before it starts anything: the scenario, the
/// provider, the toolchain, a run directory.
fn prepare<'a>(
    plan: Plan,
    opts: RunOptions,
    sink: &'a dyn Sink,
) -> Result<(Run<'a>, tempfile::TempDir), Error> {
    let Some(loaded) = plan.scenario.clone() else {
        return Err(Error::Input {
            message: format!(
                "`{}` is an ApplicationSet, not a scenario",
                plan.report.file
            ),
            help: Some("run needs a scenario file (kind: Scenario) naming the clusters".into()),
        });
    };
    let kind = choose_provider(&loaded, &opts, sink)?;
    // Checked before anything starts, so a missing tool costs no cluster.
    if let Some(missing) = crate::toolchain::missing_for_live_runs() {
        return Err(env_error(
            "a live run needs the upstream toolchain, git and redis-server",
            anyhow::anyhow!(missing),
        ));
    }
    let toolchain =
        Toolchain::locate().map_err(|e| env_error("the upstream toolchain is not usable", e))?;
    let dir = tempfile::Builder::new()
        .prefix("gitops-e2e-run-")
        .tempdir()
        .map_err(|source| Error::File {
            action: "create a run directory in",
            path: std::env::temp_dir(),
            source,
        })?;
    let run_id = dir
        .path()
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_start_matches("gitops-e2e-run-")
                .to_lowercase()
        })
        .unwrap_or_else(|| "run".into());
    let provider = match kind {
        ProviderKind::Kwok => AnyProvider::Kwok(Kwok::new(toolchain.clone(), dir.path(), &run_id)),
        ProviderKind::Existing => AnyProvider::Existing(
            Existing::new(None).map_err(|e| env_error("cannot use the existing provider", e))?,
        ),
        ProviderKind::Kind => {
            return Err(env_error(
                "the kind provider is not available here",
                anyhow::anyhow!(
                    "kind clusters need Docker and node images, which this build does not \
                     provide yet; use --provider kwok (same checks, no Docker)"
                ),
            ));
        }
    };
    let run = Run {
        plan,
        loaded,
        opts,
        sink,
        toolchain,
        dir: dir.path().to_path_buf(),
        provider,
        clusters: Vec::new(),
        argocd: None,
        proxy: None,
        helm_repos: Vec::new(),
        url_map: Vec::new(),
        phases: Vec::new(),
        steps: Vec::new(),
        diagnostics_dir: None,
    };
    Ok((run, dir))
}

/// A live environment as a scenario describes it (clusters, Argo CD,
/// repositories, registrations) without the steps: for asking Argo CD itself,
/// as the fidelity tests do to record its generation. Always kwok.
pub struct Session<'a> {
    run: Run<'a>,
    _dir: tempfile::TempDir,
}

impl<'a> Session<'a> {
    pub async fn start(plan: Plan, sink: &'a dyn Sink) -> Result<Session<'a>, Error> {
        let opts = RunOptions {
            provider: Some(ProviderKind::Kwok),
            ..RunOptions::default()
        };
        let (mut run, dir) = prepare(plan, opts, sink)?;
        if let Err(e) = run.setup().await {
            run.teardown(false).await;
            return Err(e);
        }
        Ok(Session { run, _dir: dir })
    }

    /// Argo CD's own generation of `appset`, with the scenario's repository
    /// URLs served locally and mapped back in the result.
    pub async fn generate(
        &self,
        appset: &Value,
    ) -> Result<Vec<Value>, crate::argocd::api::ApiError> {
        let mut appset = appset.clone();
        rewrite_urls(&mut appset, &self.run.url_map, false);
        if let Some(meta) = appset.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), json!(self.run.namespace()));
        }
        let server = self.run.argocd.as_ref().map(|a| a.server_url.clone());
        let api = ArgoApi::new(&server.unwrap_or_default());
        let mut apps = api.generate(&appset).await?;
        for app in &mut apps {
            rewrite_urls(app, &self.run.url_map, true);
        }
        Ok(apps)
    }

    /// Stops everything the session started.
    pub async fn stop(mut self) {
        self.run.teardown(false).await;
    }
}

/// Resolves when the user asks to stop (Ctrl-C or SIGTERM).
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

/// The scenario's provider unless overridden; kind falls back to kwok when
/// the scenario (not the user) chose it and Docker is not there.
fn choose_provider(
    loaded: &Loaded,
    opts: &RunOptions,
    sink: &dyn Sink,
) -> Result<ProviderKind, Error> {
    match (opts.provider, loaded.scenario.spec.provider) {
        (Some(p), _) => Ok(p),
        (None, ProviderKind::Kind) => {
            sink.emit(Event::Note(
                "the scenario asks for kind; running on kwok (kind clusters need Docker and node \
                 images; use --provider to choose)"
                    .into(),
            ));
            Ok(ProviderKind::Kwok)
        }
        (None, p) => Ok(p),
    }
}

struct Run<'a> {
    plan: Plan,
    loaded: Loaded,
    opts: RunOptions,
    sink: &'a dyn Sink,
    toolchain: Toolchain,
    dir: PathBuf,
    provider: AnyProvider,
    clusters: Vec<Provisioned>,
    argocd: Option<LocalArgoCd>,
    proxy: Option<ConnectProxy>,
    helm_repos: Vec<HelmRepo>,
    /// Remote repository URL → the local URL serving it.
    url_map: Vec<(String, String)>,
    phases: Vec<Phase>,
    steps: Vec<StepResult>,
    diagnostics_dir: Option<PathBuf>,
}

fn env_error(context: impl Into<String>, source: impl Into<anyhow::Error>) -> Error {
    Error::Environment {
        context: context.into(),
        source: source.into(),
    }
}

impl Run<'_> {
    async fn phase<T>(
        &mut self,
        name: &str,
        work: impl AsyncFnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.sink.emit(Event::PhaseStarted { name: name.into() });
        let started = Instant::now();
        let result = work(self).await;
        let duration = started.elapsed();
        self.sink.emit(Event::PhaseFinished {
            name: name.into(),
            duration,
        });
        self.phases.push(Phase {
            name: name.into(),
            duration,
        });
        result
    }

    fn hub(&self) -> &Provisioned {
        let hub = self.loaded.hub().name.clone();
        self.clusters
            .iter()
            .find(|c| c.name == hub)
            .unwrap_or(&self.clusters[0])
    }

    fn cluster(&self, name: &str) -> Option<&Provisioned> {
        self.clusters.iter().find(|c| c.name == name)
    }

    fn namespace(&self) -> String {
        self.loaded.scenario.spec.argocd.namespace.clone()
    }

    /// Clusters, Argo CD, repositories, cluster registrations.
    async fn setup(&mut self) -> Result<(), Error> {
        self.phase("clusters up", async |r| r.provision().await)
            .await?;
        self.phase("Argo CD ready", async |r| r.start_argocd().await)
            .await?;
        self.phase("repositories served", async |r| r.serve_repos().await)
            .await?;
        self.phase("clusters registered", async |r| r.register_clusters().await)
            .await
    }

    async fn execute(&mut self) -> Result<Report, Error> {
        let started = Instant::now();
        self.setup().await?;

        let applicable = self.step_dry_run().await?;
        if applicable {
            self.apply_appset().await?;
            let appset = self.await_generation().await?;
            self.step_diff(&appset).await?;
            let owned = self.step_count(&appset).await?;
            self.step_sync(&owned).await?;
            self.step_assert(&owned).await?;
        } else {
            let why = "the ApplicationSet cannot be applied: dry-run failed";
            for step in [
                StepKind::Diff,
                StepKind::Count,
                StepKind::Sync,
                StepKind::Assert,
            ] {
                self.finish_step(step, Vec::new(), Some(why.into()), Duration::ZERO);
            }
        }
        self.phases.push(Phase {
            name: "total".into(),
            duration: started.elapsed(),
        });
        let mut report = self.plan.report.clone();
        report.command = "run".into();
        report.provider = Some(self.provider.name().into());
        report.steps.extend(self.steps.clone());
        report.phases = self.phases.clone();
        Ok(report)
    }

    async fn provision(&mut self) -> Result<(), Error> {
        let mut requests = Vec::new();
        for c in &self.loaded.scenario.spec.clusters {
            let kind_config = self.loaded.kind_configs.get(&c.name).map(PathBuf::as_path);
            let nodes =
                node_requests(&c.name, kind_config, &c.node_labels).map_err(|e| Error::Input {
                    message: e.to_string(),
                    help: Some("fix the kind config the scenario names".into()),
                })?;
            requests.push(ClusterRequest {
                name: c.name.clone(),
                nodes,
                context: self
                    .opts
                    .contexts
                    .get(&c.name)
                    .cloned()
                    .or_else(|| c.context.clone()),
            });
        }
        self.clusters = self
            .provider
            .up(&requests)
            .await
            .map_err(|e| env_error("cannot bring the clusters up", e))?;
        let all = merged_kubeconfig(&self.clusters)
            .map_err(|e| env_error("cannot write kubeconfig", e))?;
        let path = self.dir.join("kubeconfigs/all.yaml");
        let _ = std::fs::create_dir_all(self.dir.join("kubeconfigs"));
        std::fs::write(&path, crate::yaml::to_string(&all)).map_err(|source| Error::File {
            action: "write",
            path,
            source,
        })?;
        Ok(())
    }

    async fn start_argocd(&mut self) -> Result<(), Error> {
        let timeout = humantime::parse_duration(&self.loaded.scenario.spec.timeouts.setup)
            .unwrap_or(Duration::from_secs(300));
        let namespace = self.namespace();
        let hub = self.hub().clone();
        let argocd = local::start(local::Options {
            toolchain: &self.toolchain,
            hub: &hub,
            dir: &self.dir.join("argocd"),
            namespace: &namespace,
            timeout,
        })
        .await
        .map_err(|e| env_error(format!("cannot start Argo CD on cluster `{}`", hub.name), e))?;
        self.argocd = Some(argocd);
        Ok(())
    }

    /// Serves each scenario repo the way the Applications use it: a Helm
    /// chart repository where they set `chart:`, a git repository otherwise.
    async fn serve_repos(&mut self) -> Result<(), Error> {
        let repos = self.loaded.scenario.spec.repos.clone();
        for (i, (repo, path)) in repos.iter().zip(self.loaded.repo_paths.clone()).enumerate() {
            let dest = self.dir.join(format!("repos/{i}"));
            let local = if self.uses_chart(&repo.url) {
                let helm = repos::helm_repository(&path, &dest, &self.toolchain.bin("helm"))
                    .await
                    .map_err(|e| {
                        env_error(
                            format!("cannot serve `{}` as a Helm repository", repo.url),
                            e,
                        )
                    })?;
                let url = helm.url.clone();
                self.helm_repos.push(helm);
                url
            } else {
                repos::git_repository(&path, &dest).await.map_err(|e| {
                    env_error(
                        format!("cannot serve `{}` as a git repository", repo.url),
                        e,
                    )
                })?
            };
            self.sink.emit(Event::Note(format!(
                "serving {} from {} at {local}",
                repo.url,
                path.display()
            )));
            self.url_map.push((repo.url.clone(), local));
        }
        Ok(())
    }

    fn uses_chart(&self, url: &str) -> bool {
        self.plan.expansion.applications.iter().any(|app| {
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

    async fn register_clusters(&mut self) -> Result<(), Error> {
        let spec_clusters = self.loaded.scenario.spec.clusters.clone();
        let regs: Vec<Registration<'_>> = spec_clusters
            .iter()
            .filter_map(|c| {
                Some(Registration {
                    server: self.loaded.server_of(&c.name),
                    labels: &c.labels,
                    annotations: &c.annotations,
                    cluster: self.cluster(&c.name)?,
                })
            })
            .collect();
        let routes = clusters::proxy_routes(&regs).map_err(|e| Error::Input {
            message: e,
            help: Some("cluster servers must be https URLs".into()),
        })?;
        let proxy = ConnectProxy::start(routes)
            .await
            .map_err(|e| env_error("cannot start the cluster proxy", e))?;
        let namespace = self.namespace();
        let secrets: Vec<Value> = regs
            .iter()
            .map(|r| clusters::secret(r, &namespace, &proxy.url()))
            .collect();
        let client = self.hub_client().await?;
        install::apply(
            &client,
            "cluster Secrets",
            &secrets,
            &namespace,
            Mode::default(),
        )
        .await
        .map_err(|e| env_error("cannot register the clusters in Argo CD", e))?;
        self.proxy = Some(proxy);
        Ok(())
    }

    async fn hub_client(&self) -> Result<kube::Client, Error> {
        self.hub()
            .client()
            .await
            .map_err(|e| env_error("cannot connect to the hub cluster", e))
    }

    fn api(&self) -> Result<ArgoApi, Error> {
        self.argocd
            .as_ref()
            .map(|a| ArgoApi::new(&a.server_url))
            .ok_or_else(|| env_error("Argo CD is not running", anyhow::anyhow!("no server")))
    }

    /// The ApplicationSet as applied: remote repository URLs replaced by the
    /// local ones serving them.
    fn appset_to_apply(&self) -> Value {
        let mut appset = self.plan.appset.value.clone();
        let namespace = self.namespace();
        if let Some(meta) = appset.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), json!(namespace));
        }
        rewrite_urls(&mut appset, &self.url_map, false);
        appset
    }

    fn finish_step(
        &mut self,
        step: StepKind,
        checks: Vec<Check>,
        skipped: Option<String>,
        duration: Duration,
    ) {
        let result = StepResult {
            step,
            checks,
            skipped,
            duration,
        };
        self.sink.emit(Event::StepFinished(result.clone()));
        self.steps.push(result);
    }

    fn emit_check(&self, step: StepKind, check: &Check) {
        self.sink.emit(Event::Check {
            step,
            check: check.clone(),
        });
    }

    /// Step 1. Returns whether the ApplicationSet can be applied.
    async fn step_dry_run(&mut self) -> Result<bool, Error> {
        self.sink.emit(Event::PhaseStarted {
            name: "step dry-run".into(),
        });
        let started = Instant::now();
        let mut checks = Vec::new();
        let mut applicable = true;

        // The text as written: recoveries mean kubectl would reject the file.
        let recoveries = &self.plan.appset.recoveries;
        let file = self.plan.appset_file.display().to_string();
        checks.push(if recoveries.is_empty() {
            passed("the ApplicationSet is valid YAML as written")
        } else {
            applicable = false;
            let places: Vec<String> = recoveries
                .iter()
                .map(|r| format!("{file}:{}: `{}`", r.pos.line, r.text))
                .collect();
            failed(
                "the ApplicationSet is valid YAML as written",
                format!(
                    "{} unquoted template(s) make the file invalid YAML or change its shape; the API \
                     server cannot accept it: {}",
                    recoveries.len(),
                    places.join("; ")
                ),
            )
        });

        // Fixtures, per cluster, strictly validated then applied.
        let fixtures = self.loaded.fixtures.clone();
        for (cluster, files) in &fixtures {
            let name = format!("fixtures of `{cluster}` pass strict server-side validation");
            let Some(target) = self.cluster(cluster).cloned() else {
                continue;
            };
            let client = target
                .client()
                .await
                .map_err(|e| env_error(format!("cannot connect to cluster `{cluster}`"), e))?;
            let docs: Vec<Value> = install::read_manifests(files)
                .map_err(|e| Error::Input {
                    message: e.to_string(),
                    help: None,
                })?
                .into_iter()
                .map(|(_, d)| d)
                .collect();
            let what = format!("fixtures of `{cluster}`");
            // A dry run persists nothing, so objects in a namespace the same
            // fixtures create would fail it: the Namespaces go in first.
            let (namespaces, objects): (Vec<Value>, Vec<Value>) = docs
                .iter()
                .cloned()
                .partition(|d| d.get("kind").and_then(Value::as_str) == Some("Namespace"));
            install::apply(&client, &what, &namespaces, "default", Mode::default())
                .await
                .map_err(|e| {
                    env_error(
                        format!("cannot create the namespaces of `{cluster}`'s fixtures"),
                        e,
                    )
                })?;
            let strict = Mode {
                dry_run: true,
                strict: true,
            };
            match install::apply(&client, &what, &objects, "default", strict).await {
                Ok(_) => {
                    checks.push(passed(&name));
                    install::apply(&client, &what, &docs, "default", Mode::default())
                        .await
                        .map_err(|e| {
                            env_error(format!("cannot apply the fixtures of `{cluster}`"), e)
                        })?;
                }
                Err(e) => checks.push(failed(&name, error_chain(&e))),
            }
        }

        // The ApplicationSet itself, strictly validated (unknown fields such
        // as `helm.valuesInline` are errors here, silently dropped otherwise).
        if applicable {
            let name = "the ApplicationSet passes strict server-side validation";
            let client = self.hub_client().await?;
            let strict = Mode {
                dry_run: true,
                strict: true,
            };
            let appset = self.appset_to_apply();
            match install::apply(
                &client,
                "the ApplicationSet",
                &[appset],
                &self.namespace(),
                strict,
            )
            .await
            {
                Ok(_) => checks.push(passed(name)),
                Err(e) => {
                    applicable = false;
                    checks.push(failed(name, error_chain(&e)));
                }
            }
        }

        // Argo CD's own generation against the plan.
        if applicable {
            let api = self.api()?;
            match api.generate(&self.appset_to_apply()).await {
                Ok(mut generated) => {
                    for app in &mut generated {
                        rewrite_urls(app, &self.url_map, true);
                    }
                    let mut check =
                        diff::generation_check(&self.plan.expansion.applications, &generated);
                    check.name = "Argo CD generates what the plan generates".into();
                    checks.push(check);
                }
                Err(e) => checks.push(failed(
                    "Argo CD generates what the plan generates",
                    format!(
                        "Argo CD cannot generate the Applications: {}",
                        error_chain(&e)
                    ),
                )),
            }
        }
        for c in &checks {
            self.emit_check(StepKind::DryRun, c);
        }
        let duration = started.elapsed();
        self.sink.emit(Event::PhaseFinished {
            name: "step dry-run".into(),
            duration,
        });
        self.finish_step(StepKind::DryRun, checks, None, duration);
        Ok(applicable)
    }

    async fn apply_appset(&mut self) -> Result<(), Error> {
        let client = self.hub_client().await?;
        let appset = self.appset_to_apply();
        install::apply(
            &client,
            "the ApplicationSet",
            &[appset],
            &self.namespace(),
            Mode::default(),
        )
        .await
        .map_err(|e| env_error("cannot apply the ApplicationSet", e))?;
        Ok(())
    }

    fn appsets(&self, client: &kube::Client) -> Api<ApplicationSet> {
        Api::namespaced(client.clone(), &self.namespace())
    }

    fn applications(&self, client: &kube::Client) -> Api<Application> {
        Api::namespaced(client.clone(), &self.namespace())
    }

    /// Waits until the applicationset-controller has reconciled the
    /// ApplicationSet once: its resources are up to date, or it reports an error.
    async fn await_generation(&mut self) -> Result<ApplicationSet, Error> {
        let client = self.hub_client().await?;
        let name = self.appset_name();
        let api = self.appsets(&client);
        let reconciled = await_condition(api, &name, |a: Option<&ApplicationSet>| {
            a.is_some_and(|a| {
                a.conditions().iter().any(|c| {
                    (c.type_ == "ResourcesUpToDate" || c.type_ == "ErrorOccurred")
                        && c.status == "True"
                })
            })
        });
        match tokio::time::timeout(Duration::from_secs(60), reconciled).await {
            Ok(Ok(Some(appset))) => Ok(appset),
            Ok(Ok(None)) => Err(env_error(
                format!("ApplicationSet `{name}` disappeared"),
                anyhow::anyhow!("deleted while waiting"),
            )),
            Ok(Err(e)) => Err(env_error(
                format!("cannot watch ApplicationSet `{name}`"),
                e,
            )),
            Err(_) => Err(env_error(
                format!("ApplicationSet `{name}` was not reconciled within 60s"),
                anyhow::anyhow!(
                    "is the applicationset-controller running? see its log in the diagnostics"
                ),
            )),
        }
    }

    fn appset_name(&self) -> String {
        self.plan
            .appset
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    async fn owned_applications(&self, appset: &ApplicationSet) -> Result<Vec<Application>, Error> {
        let client = self.hub_client().await?;
        let list = self
            .applications(&client)
            .list(&ListParams::default())
            .await
            .map_err(|e| env_error("cannot list Applications", e))?;
        Ok(list
            .items
            .into_iter()
            .filter(|a| count::owned_by(a, appset))
            .collect())
    }

    /// Step 2: per Application, what syncing would change (manual ones
    /// before they are synced).
    async fn step_diff(&mut self, appset: &ApplicationSet) -> Result<(), Error> {
        let started = Instant::now();
        let owned = self.owned_applications(appset).await?;
        if owned.is_empty() {
            self.finish_step(
                StepKind::Diff,
                Vec::new(),
                Some("no Application was generated".into()),
                Duration::ZERO,
            );
            return Ok(());
        }
        let client = self.hub_client().await?;
        let api = self.api()?;
        let mut checks = Vec::new();
        for app in &owned {
            let name = app.metadata.name.clone().unwrap_or_default();
            // The controller must have compared once for the diff to exist.
            let compared = await_condition(
                self.applications(&client),
                &name,
                |a: Option<&Application>| a.is_some_and(|a| !a.sync_status().is_empty()),
            );
            let _ = tokio::time::timeout(Duration::from_secs(60), compared).await;
            match api.managed_resources(&name, &self.namespace()).await {
                Ok(resources) => checks.extend(diff::diff_checks(&name, &resources)),
                Err(e) => checks.push(Check {
                    application: Some(name.clone()),
                    ..failed("managed resources", error_chain(&e))
                }),
            }
        }
        for c in &checks {
            self.emit_check(StepKind::Diff, c);
        }
        self.finish_step(StepKind::Diff, checks, None, started.elapsed());
        Ok(())
    }

    fn expected_names(&self) -> Option<BTreeSet<String>> {
        self.loaded
            .scenario
            .spec
            .expect
            .applications
            .as_ref()
            .map(|a| a.keys().cloned().collect())
    }

    /// Step 3: the owned Applications are exactly the expected set.
    async fn step_count(&mut self, appset: &ApplicationSet) -> Result<Vec<Application>, Error> {
        let started = Instant::now();
        let owned = self.owned_applications(appset).await?;
        // The latest status, for the ErrorOccurred condition.
        let client = self.hub_client().await?;
        let appset = self
            .appsets(&client)
            .get(&self.appset_name())
            .await
            .map_err(|e| env_error("cannot read the ApplicationSet", e))?;
        let checks = count::count_checks(&appset, &owned, self.expected_names().as_ref());
        for c in &checks {
            self.emit_check(StepKind::Count, c);
        }
        self.finish_step(StepKind::Count, checks, None, started.elapsed());
        Ok(owned)
    }

    /// Step 4: sync the manual Applications, then wait for every one to be
    /// Synced and Healthy (on a watch), or fail with Argo CD's message.
    async fn step_sync(&mut self, owned: &[Application]) -> Result<(), Error> {
        let started = Instant::now();
        if owned.is_empty() {
            self.finish_step(
                StepKind::Sync,
                Vec::new(),
                Some("no Application was generated".into()),
                Duration::ZERO,
            );
            return Ok(());
        }
        let client = self.hub_client().await?;
        let api = self.applications(&client);
        for app in owned.iter().filter(|a| !a.app_spec().auto_sync()) {
            let name = app.metadata.name.clone().unwrap_or_default();
            // What `argocd app sync` sends: the Application's own sync options
            // (CreateNamespace=true, …) apply to an operation only when copied
            // into it. No pruning: the harness deletes nothing.
            let sync_options = app
                .app_spec()
                .sync_policy
                .as_ref()
                .and_then(|p| p.other.get("syncOptions").cloned())
                .unwrap_or(Value::Null);
            let patch = json!({"operation": {
                "initiatedBy": {"username": "gitops-e2e"},
                "sync": {"syncStrategy": {"hook": {}}, "prune": false, "syncOptions": sync_options},
            }});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| env_error(format!("cannot start a sync of `{name}`"), e))?;
            self.sink.emit(Event::Note(format!(
                "{name}: manual sync policy, sync started by gitops-e2e"
            )));
        }
        let timeout = self.opts.sync_timeout.unwrap_or_else(|| {
            humantime::parse_duration(&self.loaded.scenario.spec.timeouts.sync)
                .unwrap_or(Duration::from_secs(300))
        });
        let sink = self.sink;
        let waits = owned.iter().map(|app| {
            let name = app.metadata.name.clone().unwrap_or_default();
            let api = api.clone();
            async move {
                // One spinner per Application while it is awaited.
                let phase = format!("waiting for {name} to be Synced and Healthy");
                sink.emit(Event::PhaseStarted {
                    name: phase.clone(),
                });
                let started = Instant::now();
                let done = await_condition(api.clone(), &name, conditions::done_or_failed());
                let outcome = match tokio::time::timeout(timeout, done).await {
                    Ok(Ok(Some(a))) if conditions::is_done(&a) => Outcome::Passed,
                    Ok(Ok(Some(a))) => Outcome::Failed {
                        reason: conditions::failure_message(&a),
                    },
                    Ok(Ok(None)) => Outcome::Failed {
                        reason: "the Application was deleted".into(),
                    },
                    Ok(Err(e)) => Outcome::Failed {
                        reason: format!("cannot watch it: {e}"),
                    },
                    Err(_) => {
                        let state = api
                            .get(&name)
                            .await
                            .map(|a| {
                                format!(
                                    "sync {} health {}; {}",
                                    or_unknown(a.sync_status()),
                                    or_unknown(a.health_status()),
                                    conditions::failure_message(&a)
                                )
                            })
                            .unwrap_or_default();
                        Outcome::Failed {
                            reason: format!(
                                "not Synced and Healthy after {}: {state}",
                                humantime::format_duration(timeout)
                            ),
                        }
                    }
                };
                sink.emit(Event::PhaseFinished {
                    name: phase,
                    duration: started.elapsed(),
                });
                Check {
                    name: "Synced and Healthy".into(),
                    application: Some(name),
                    outcome,
                    detail: None,
                }
            }
        });
        let checks = futures::future::join_all(waits).await;
        for c in &checks {
            self.emit_check(StepKind::Sync, c);
        }
        self.finish_step(StepKind::Sync, checks, None, started.elapsed());
        Ok(())
    }

    /// Step 5: in each Application's destination, what the scenario expects.
    async fn step_assert(&mut self, owned: &[Application]) -> Result<(), Error> {
        let started = Instant::now();
        let Some(expected) = self.loaded.scenario.spec.expect.applications.clone() else {
            self.finish_step(
                StepKind::Assert,
                Vec::new(),
                Some("the scenario expects no Applications".into()),
                Duration::ZERO,
            );
            return Ok(());
        };
        let mut checks = Vec::new();
        for (app_name, want) in &expected {
            let Some(app) = owned
                .iter()
                .find(|a| a.metadata.name.as_deref() == Some(app_name))
            else {
                checks.push(Check {
                    name: "Application exists".into(),
                    application: Some(app_name.clone()),
                    outcome: Outcome::Skipped {
                        reason: "it was not generated (see count)".into(),
                    },
                    detail: None,
                });
                continue;
            };
            let dest = app.app_spec().destination.clone().unwrap_or_default();
            let cluster_name = self
                .plan
                .env
                .clusters
                .iter()
                .find(|c| c.server == dest.server || (!dest.name.is_empty() && c.name == dest.name))
                .map(|c| c.name.clone());
            let Some(cluster) = cluster_name.and_then(|n| self.cluster(&n).cloned()) else {
                checks.push(failed_for(
                    app_name,
                    "destination is a scenario cluster",
                    format!(
                        "destination `{}` is none of the scenario's clusters",
                        dest.server
                    ),
                ));
                continue;
            };
            let client = cluster.client().await.map_err(|e| {
                env_error(format!("cannot connect to cluster `{}`", cluster.name), e)
            })?;
            let ns = dest.namespace.clone();
            let namespaces: Vec<String> = Api::<Namespace>::all(client.clone())
                .list(&ListParams::default())
                .await
                .map_err(|e| env_error(format!("cannot list namespaces of `{}`", cluster.name), e))?
                .items
                .into_iter()
                .filter_map(|n| n.metadata.name)
                .collect();
            checks.push(assert::namespace_check(app_name, &ns, &namespaces));
            let pods = Api::<Pod>::namespaced(client.clone(), &ns)
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default();
            let secrets: Vec<String> = Api::<Secret>::namespaced(client.clone(), &ns)
                .list(&ListParams::default())
                .await
                .map(|l| {
                    l.items
                        .into_iter()
                        .filter_map(|s| s.metadata.name)
                        .collect()
                })
                .unwrap_or_default();
            let nodes = Api::<Node>::all(client.clone())
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default();
            for (dep_name, want_dep) in &want.deployments {
                let dep = Api::<Deployment>::namespaced(client.clone(), &ns)
                    .get_opt(dep_name)
                    .await
                    .map_err(|e| env_error(format!("cannot read deployment {ns}/{dep_name}"), e))?;
                checks.extend(assert::deployment_checks(
                    app_name,
                    &ns,
                    dep_name,
                    want_dep,
                    dep.as_ref(),
                    &pods,
                    &secrets,
                    &nodes,
                ));
            }
        }
        for c in &checks {
            self.emit_check(StepKind::Assert, c);
        }
        self.finish_step(StepKind::Assert, checks, None, started.elapsed());
        Ok(())
    }

    /// Conditions, operation states, events, pods and component logs, into
    /// the diagnostics directory; errors here are reported, never fatal.
    async fn collect_diagnostics(&mut self) {
        // Before Argo CD runs there is nothing to collect but the error itself.
        if self.clusters.is_empty() || self.argocd.is_none() {
            return;
        }
        let dir = self.opts.diagnostics.clone().unwrap_or_else(|| {
            PathBuf::from(".gitops-e2e/diagnostics").join(&self.loaded.scenario.metadata.name)
        });
        if let Err(e) = self.write_diagnostics(&dir).await {
            self.sink.emit(Event::Note(format!(
                "could not write all diagnostics to {}: {e:#}",
                dir.display()
            )));
        }
        self.sink.emit(Event::Note(format!(
            "diagnostics written to {}",
            dir.display()
        )));
        self.diagnostics_dir = Some(dir);
    }

    async fn write_diagnostics(&self, dir: &Path) -> anyhow::Result<()> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        if let Some(argocd) = &self.argocd {
            for (name, log) in argocd.logs() {
                let _ = std::fs::copy(&log, dir.join(format!("{name}.log")));
            }
        }
        if let Some(proxy) = &self.proxy {
            let refused = proxy.refused();
            if !refused.is_empty() {
                std::fs::write(
                    dir.join("proxy-refused.txt"),
                    format!(
                        "Argo CD asked for these hosts, which are no scenario cluster:\n{}\n",
                        refused.join("\n")
                    ),
                )?;
            }
        }
        let hub = self.hub_client().await?;
        let apps = self.applications(&hub).list(&ListParams::default()).await?;
        std::fs::write(
            dir.join("applications.yaml"),
            crate::yaml::to_string(&apps.items),
        )?;
        let appsets = self.appsets(&hub).list(&ListParams::default()).await?;
        std::fs::write(
            dir.join("applicationsets.yaml"),
            crate::yaml::to_string(&appsets.items),
        )?;
        let namespaces: BTreeSet<(String, String)> = apps
            .items
            .iter()
            .filter_map(|a| {
                let d = a.app_spec().destination.clone()?;
                let cluster = self
                    .plan
                    .env
                    .clusters
                    .iter()
                    .find(|c| c.server == d.server)?;
                Some((cluster.name.clone(), d.namespace))
            })
            .collect();
        for (cluster, ns) in namespaces {
            let Some(c) = self.cluster(&cluster) else {
                continue;
            };
            let client = c.client().await?;
            let pods = Api::<Pod>::namespaced(client.clone(), &ns)
                .list(&ListParams::default())
                .await?;
            let summary: Vec<Value> = pods
                .items
                .iter()
                .map(|p| {
                    json!({
                        "name": p.metadata.name,
                        "node": p.spec.as_ref().and_then(|s| s.node_name.clone()),
                        "phase": p.status.as_ref().and_then(|s| s.phase.clone()),
                        "conditions": p.status.as_ref().and_then(|s| s.conditions.clone()),
                    })
                })
                .collect();
            std::fs::write(
                dir.join(format!("{cluster}-{ns}-pods.yaml")),
                crate::yaml::to_string(&summary),
            )?;
            let events = Api::<KubeEvent>::namespaced(client, &ns)
                .list(&ListParams::default())
                .await?;
            let lines: Vec<String> = events
                .items
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {}/{}: {}",
                        e.type_.clone().unwrap_or_default(),
                        e.reason.clone().unwrap_or_default(),
                        e.involved_object.kind.clone().unwrap_or_default(),
                        e.involved_object.name.clone().unwrap_or_default(),
                        e.message.clone().unwrap_or_default()
                    )
                })
                .collect();
            std::fs::write(
                dir.join(format!("{cluster}-{ns}-events.txt")),
                lines.join("\n") + "\n",
            )?;
        }
        Ok(())
    }

    async fn teardown(&mut self, keep: bool) {
        self.sink.emit(Event::PhaseStarted {
            name: "teardown".into(),
        });
        let started = Instant::now();
        if let Some(mut argocd) = self.argocd.take() {
            argocd.stop().await;
        }
        self.proxy = None;
        self.helm_repos.clear();
        if keep {
            let path = self.dir.join("kubeconfigs/all.yaml");
            self.sink.emit(Event::Note(format!(
                "clusters kept: export KUBECONFIG={} and use `kubectl --context <cluster>` ({}); {}",
                path.display(),
                self.clusters.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
                self.provider.keep_instructions()
            )));
        } else {
            for problem in self.provider.down().await {
                self.sink.emit(Event::Note(problem));
            }
        }
        self.sink.emit(Event::PhaseFinished {
            name: "teardown".into(),
            duration: started.elapsed(),
        });
    }
}

fn passed(name: &str) -> Check {
    Check {
        name: name.into(),
        application: None,
        outcome: Outcome::Passed,
        detail: None,
    }
}

fn failed(name: &str, reason: String) -> Check {
    Check {
        name: name.into(),
        application: None,
        outcome: Outcome::Failed { reason },
        detail: None,
    }
}

fn failed_for(app: &str, name: &str, reason: String) -> Check {
    Check {
        application: Some(app.into()),
        ..failed(name, reason)
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "Unknown" } else { s }
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| u.trim_end_matches('/').trim_end_matches(".git").to_string();
    norm(a) == norm(b)
}

/// Replaces every string that is one of the remote URLs (or, `back`, one of
/// the local ones) by its counterpart.
fn rewrite_urls(value: &mut Value, map: &[(String, String)], back: bool) {
    match value {
        Value::String(s) => {
            if let Some((remote, local)) = map
                .iter()
                .find(|(remote, local)| same_url(s, if back { local } else { remote }))
            {
                *s = if back { remote.clone() } else { local.clone() };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_urls(v, map, back)),
        Value::Object(map_) => map_.values_mut().for_each(|v| rewrite_urls(v, map, back)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten_both_ways() {
        let map = vec![(
            "https://github.com/your-org/helm-charts".to_string(),
            "http://127.0.0.1:4000".to_string(),
        )];
        let mut v = json!({"spec": {"source": {"repoURL": "https://github.com/your-org/helm-charts.git"},
                           "other": "https://github.com/your-org/helm-charts-extra"}});
        rewrite_urls(&mut v, &map, false);
        assert_eq!(v["spec"]["source"]["repoURL"], "http://127.0.0.1:4000");
        assert_eq!(
            v["spec"]["other"],
            "https://github.com/your-org/helm-charts-extra"
        );
        rewrite_urls(&mut v, &map, true);
        assert_eq!(
            v["spec"]["source"]["repoURL"],
            "https://github.com/your-org/helm-charts"
        );
    }
}
