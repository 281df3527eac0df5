//! Where clusters, Argo CD and repositories come from, chosen in one place.

use super::{RunOptions, Runner};
use crate::argocd::ArgoCdRuntime;
use crate::argocd::local::LocalProcesses;
use crate::argocd::repos::{Loopback, RepoServer};
use crate::error::Error;
use crate::events::{Event, Sink};
use crate::live::env_error;
use crate::plan::Plan;
use crate::provider::Provider;
use crate::provider::existing::Existing;
use crate::provider::kwok::Kwok;
use crate::scenario::{Loaded, ProviderKind};
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
    let kind = choose_provider(&loaded, &opts, sink);
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
        })?;
    crate::clean::write_owner(dir.path()).map_err(|e| {
        env_error(
            format!(
                "cannot write to the run directory `{}`",
                dir.path().display()
            ),
            e,
        )
    })?;
    let seams = choose(kind, &opts, &toolchain, dir.path(), &run_id(dir.path()))?;
    Ok(Runner::new(
        plan,
        loaded,
        opts,
        sink,
        seams,
        steps::all(),
        dir,
    ))
}

/// The one place that maps a provider to its seams.
fn choose(
    kind: ProviderKind,
    opts: &RunOptions,
    toolchain: &Toolchain,
    dir: &std::path::Path,
    run_id: &str,
) -> Result<Seams, Error> {
    let provider: Box<dyn Provider> = match kind {
        ProviderKind::Kwok => Box::new(Kwok::new(toolchain.clone(), dir, run_id)),
        ProviderKind::Existing => Box::new(
            Existing::new(None, opts.context_guard.clone())
                .map_err(|e| env_error("cannot use the existing provider", e))?,
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
    Ok(Seams {
        provider,
        argocd: Box::new(LocalProcesses::new(toolchain.clone())),
        repos: Box::new(Loopback::new(toolchain.bin("helm"))),
    })
}

/// The scenario's provider unless overridden; kind falls back to kwok when
/// the scenario (not the user) chose it, with a note.
fn choose_provider(loaded: &Loaded, opts: &RunOptions, sink: &dyn Sink) -> ProviderKind {
    match (opts.provider, loaded.scenario.spec.provider) {
        (Some(p), _) => p,
        (None, ProviderKind::Kind) => {
            sink.emit(Event::Note(
                "the scenario asks for kind; running on kwok (kind clusters need Docker and node \
                 images; use --provider to choose)"
                    .into(),
            ));
            ProviderKind::Kwok
        }
        (None, p) => p,
    }
}
