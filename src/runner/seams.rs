//! Where clusters, Argo CD and repositories come from, chosen in one place.

use super::{Reusing, RunDir, RunOptions, Runner, reuse};
use crate::argocd::ArgoCdRuntime;
use crate::argocd::existing::{Existing as ExistingArgoCd, RunObjects};
use crate::argocd::incluster::{self, InCluster};
use crate::argocd::local::LocalProcesses;
use crate::argocd::repo_containers::NetworkContainers;
use crate::argocd::repos::{Loopback, RepoServer};
use crate::error::Error;
use crate::events::Event;
use crate::events::Sink;
use crate::live::env_error;
use crate::plan::Plan;
use crate::provider::Provider;
use crate::provider::existing::Existing;
use crate::provider::kind::{KIND_NETWORK, Kind};
use crate::provider::kwok::Kwok;
use crate::scenario::{ArgoCdInstall, Loaded, ProviderKind};
use crate::steps;
use crate::toolchain::Toolchain;

/// The run directories' name prefix, in the system's temporary directory.
pub const RUN_DIR_PREFIX: &str = "gitops-e2e-run-";

/// A run's id: its directory's random suffix, lowercased (it goes into
/// cluster names).
pub fn run_id(dir: &std::path::Path) -> String {
    dir.file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_start_matches(RUN_DIR_PREFIX)
                .to_lowercase()
        })
        .unwrap_or_else(|| "run".into())
}

/// The three things a run needs from outside, each behind a trait.
pub struct Seams {
    pub provider: Box<dyn Provider>,
    pub argocd: Box<dyn ArgoCdRuntime>,
    pub repos: Box<dyn RepoServer>,
}

/// Everything a live run needs before it starts anything: the scenario, the
/// seams, a run directory. Fails before any cluster starts.
pub fn prepare<'a>(plan: Plan, opts: RunOptions, sink: &'a dyn Sink) -> Result<Runner<'a>, Error> {
    let Some(loaded) = plan.scenario.clone() else {
        return Err(Error::Input {
            message: format!(
                "`{}` is an ApplicationSet, not a scenario",
                plan.report.file
            ),
            help: Some("run needs a scenario file (kind: Scenario) naming the clusters".into()),
        });
    };
    let kind = choose_provider(&loaded, &opts);
    let existing_argocd = loaded.scenario.spec.argocd.install == Some(ArgoCdInstall::Existing);
    if existing_argocd && kind != ProviderKind::Existing {
        return Err(Error::Input {
            message: format!(
                "`{}` uses the Argo CD already on its hub (`argocd.install: existing`), which \
                 only the existing provider has; this run's provider is {}",
                loaded.file.display(),
                format!("{kind:?}").to_lowercase()
            ),
            help: Some("run with --provider existing, naming the contexts with --context".into()),
        });
    }
    if opts.reuse && kind != ProviderKind::Kwok {
        return Err(Error::Input {
            message: format!(
                "--reuse keeps kwok environments only; this run's provider is {}",
                format!("{kind:?}").to_lowercase()
            ),
            help: Some("run without --reuse, or with --provider kwok".into()),
        });
    }
    // Checked before anything starts, so a missing tool costs no cluster.
    if let Some(missing) = crate::toolchain::missing_for_live_runs() {
        return Err(env_error(
            "a live run needs the upstream toolchain, git and redis-server",
            anyhow::anyhow!(missing),
        ));
    }
    let toolchain =
        Toolchain::locate().map_err(|e| env_error("the upstream toolchain is not usable", e))?;
    let reusing = if opts.reuse {
        kept_environment(&loaded, kind, &toolchain, sink)?
    } else {
        None
    };
    let dir = match &reusing {
        Some((dir, _)) => RunDir::Kept(dir.clone()),
        None => RunDir::Temp(
            tempfile::Builder::new()
                .prefix(RUN_DIR_PREFIX)
                .tempdir()
                .map_err(|e| {
                    env_error(
                        format!(
                            "cannot create a run directory in `{}`",
                            std::env::temp_dir().display()
                        ),
                        e,
                    )
                })?,
        ),
    };
    crate::clean::write_owner(dir.path()).map_err(|e| {
        env_error(
            format!(
                "cannot write to the run directory `{}`",
                dir.path().display()
            ),
            e,
        )
    })?;
    let id = run_id(dir.path());
    let reusing = reusing.map(|(_, r)| r);
    let mut seams = match reusing.as_ref().and_then(|r| r.state.as_ref()) {
        Some(state) => kept_seams(&toolchain, dir.path(), &id, state),
        None => choose(kind, &opts, &toolchain, dir.path(), &id)?,
    };
    if existing_argocd {
        let (argocd, repos) = existing_argocd_seams(&plan, &loaded, &toolchain, &id);
        seams.argocd = argocd;
        seams.repos = repos;
    }
    Ok(Runner::new(plan, loaded, opts, sink, seams, steps::all(), dir).reusing(reusing))
}

/// `--reuse`: the kept environment's directory for this scenario's key,
/// and its description when there is a usable one. `None` when a running
/// harness is using it (this run then makes its own, not kept). A
/// directory without a description (a run killed before it kept it) is
/// removed first.
fn kept_environment(
    loaded: &Loaded,
    kind: ProviderKind,
    toolchain: &Toolchain,
    sink: &dyn Sink,
) -> Result<Option<(std::path::PathBuf, Reusing)>, Error> {
    let key = reuse::key(loaded, kind, toolchain);
    let dir = reuse::dir(&key);
    let Some(claim) = reuse::Claim::take(&dir) else {
        sink.emit(Event::Note(format!(
            "the kept environment {} is in use by another run: this run makes its own",
            dir.display()
        )));
        return Ok(None);
    };
    let state = reuse::load(&dir, &key);
    if state.is_none() && dir.exists() {
        reuse::destroy(&dir).map_err(|e| {
            env_error(
                format!(
                    "cannot remove the unusable kept environment `{}`",
                    dir.display()
                ),
                e,
            )
        })?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| {
        env_error(
            format!(
                "cannot create the environment directory `{}`",
                dir.display()
            ),
            e,
        )
    })?;
    Ok(Some((dir, Reusing { key, state, claim })))
}

/// The seams of a kept kwok environment.
pub(super) fn kept_seams(
    toolchain: &Toolchain,
    dir: &std::path::Path,
    run_id: &str,
    state: &reuse::State,
) -> Seams {
    Seams {
        provider: Box::new(Kwok::kept(
            toolchain.clone(),
            dir,
            run_id,
            state.clusters.clone(),
        )),
        argocd: Box::new(LocalProcesses::kept(
            toolchain.clone(),
            state.argocd_url.clone(),
        )),
        repos: Box::new(Loopback::new(toolchain.bin("helm"))),
    }
}

/// `argocd.install: existing`: the Argo CD on the hub, told what the run
/// will create so that it removes exactly that; repositories served from
/// containers on the `kind` network, the one place on this machine an
/// Argo CD in a cluster reaches (a kind hub; another hub reaches no local
/// repository, and its scenarios name none).
fn existing_argocd_seams(
    plan: &Plan,
    loaded: &Loaded,
    toolchain: &Toolchain,
    run_id: &str,
) -> (Box<dyn ArgoCdRuntime>, Box<dyn RepoServer>) {
    let appset = plan
        .appset
        .value
        .pointer("/metadata/name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let run = RunObjects::new(appset, &plan.expansion.applications, &loaded.fixture_docs);
    (
        Box::new(ExistingArgoCd::new(run, run_id)),
        Box::new(NetworkContainers::new(
            toolchain.bin("helm"),
            &incluster::argocd_image(toolchain.argocd_version()),
            KIND_NETWORK,
            run_id,
        )),
    )
}

/// The one place that maps a provider to its seams.
pub(super) fn choose(
    kind: ProviderKind,
    opts: &RunOptions,
    toolchain: &Toolchain,
    dir: &std::path::Path,
    run_id: &str,
) -> Result<Seams, Error> {
    let local = || -> (Box<dyn ArgoCdRuntime>, Box<dyn RepoServer>) {
        (
            Box::new(LocalProcesses::new(toolchain.clone())),
            Box::new(Loopback::new(toolchain.bin("helm"))),
        )
    };
    Ok(match kind {
        ProviderKind::Kwok => {
            let (argocd, repos) = local();
            Seams {
                provider: Box::new(Kwok::new(toolchain.clone(), dir, run_id)),
                argocd,
                repos,
            }
        }
        ProviderKind::Existing => {
            let (argocd, repos) = local();
            Seams {
                provider: Box::new(
                    Existing::new(None, opts.context_guard.clone())
                        .map_err(|e| env_error("cannot use the existing provider", e))?,
                ),
                argocd,
                repos,
            }
        }
        ProviderKind::Kind => {
            let in_toolchain = toolchain.bin("kind");
            let kind_bin = if in_toolchain.is_file() {
                in_toolchain
            } else {
                "kind".into()
            };
            Seams {
                provider: Box::new(Kind::new(kind_bin, opts.kind.clone(), dir, run_id)),
                argocd: Box::new(InCluster::new(
                    toolchain.argocd_manifests().join("install.yaml"),
                )),
                repos: Box::new(NetworkContainers::new(
                    toolchain.bin("helm"),
                    &incluster::argocd_image(toolchain.argocd_version()),
                    KIND_NETWORK,
                    run_id,
                )),
            }
        }
    })
}

/// The scenario's provider unless overridden. Never another one silently: a
/// run that asks for kind where Docker does not answer stops (exit 3) and
/// says how to choose kwok.
fn choose_provider(loaded: &Loaded, opts: &RunOptions) -> ProviderKind {
    opts.provider.unwrap_or(loaded.scenario.spec.provider)
}
