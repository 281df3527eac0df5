//! `run PATH...`: several scenarios in one invocation, side by side up to
//! `--jobs`, into one combined report.
//!
//! Each scenario is one [`runner::run`], exactly as when it runs alone: its
//! own run directory, teardown and signal handling. This module only decides
//! which scenarios run ([`discover`], [`shard`]), starts them, and stops
//! starting new ones after Ctrl-C or SIGTERM (those already running hear the
//! signal themselves and tear down).

pub mod discover;
pub mod shard;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::check::StepKind;
use crate::error::Error;
use crate::report::progress::Progress;
use crate::report::{Report, StepResult, Stopped};
use crate::runner::{self, Interrupts, RunOptions};

/// The default `--jobs`: one scenario per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs every scenario in `files`, at most `jobs` at a time, and returns
/// their reports in the order of `files`. A scenario that cannot be loaded
/// is a stopped report (exit 2) and the others run; after an interrupt the
/// scenarios not yet started are reported as interrupted before they began.
///
/// The runs are tasks of this thread (a run holds its seams by reference
/// and is not `Send`); they wait on clusters and processes almost all the
/// time, and what they spawn themselves runs on the runtime's workers.
pub async fn run(
    files: Vec<PathBuf>,
    opts: RunOptions,
    jobs: usize,
    progress: Arc<Progress>,
) -> Vec<Report> {
    tokio::task::LocalSet::new()
        .run_until(run_local(files, opts, jobs, progress))
        .await
}

async fn run_local(
    files: Vec<PathBuf>,
    opts: RunOptions,
    jobs: usize,
    progress: Arc<Progress>,
) -> Vec<Report> {
    let mut interrupts = Interrupts::install();
    let mut reports: Vec<Option<Report>> = vec![None; files.len()];
    let mut queue = files.iter().cloned().enumerate();
    let mut running = JoinSet::new();
    let mut index_of = std::collections::HashMap::new();
    let mut interrupted = false;
    loop {
        while !interrupted && running.len() < jobs.max(1) {
            let Some((i, file)) = queue.next() else {
                break;
            };
            let task = running.spawn_local(one(file, opts.clone(), Arc::clone(&progress)));
            index_of.insert(task.id(), i);
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            () = interrupts.recv(), if !interrupted => interrupted = true,
            Some(done) = running.join_next_with_id() => {
                let (id, report) = match done {
                    Ok((id, report)) => (id, report),
                    Err(e) => {
                        let why = Error::Environment {
                            context: "the scenario's run ended abnormally".into(),
                            source: anyhow::anyhow!("{e}"),
                        };
                        let i = index_of[&e.id()];
                        (e.id(), not_run(&files[i], &why))
                    }
                };
                reports[index_of[&id]] = Some(report);
            }
        }
    }
    files
        .iter()
        .zip(reports)
        .map(|(file, report)| report.unwrap_or_else(|| not_run(file, &Error::Interrupted)))
        .collect()
}

/// One scenario, planned then run, labelled in the shared progress.
async fn one(file: PathBuf, opts: RunOptions, progress: Arc<Progress>) -> Report {
    let plan = match crate::plan::plan_file(&file) {
        Ok(plan) => plan,
        Err(e) => return not_run(&file, &e),
    };
    let sink = progress.labelled(plan.report.name.clone());
    runner::run(plan, opts, &sink).await.report
}

/// The report of a scenario that did not start: every live step not
/// reached, and why.
fn not_run(file: &Path, why: &Error) -> Report {
    let reason = match why {
        Error::Interrupted => "interrupted before the scenario started".to_string(),
        Error::Scenario(e) => e.render().trim_end().to_string(),
        e => crate::steps::error_chain(e),
    };
    let stopped = Stopped {
        kind: match why {
            Error::Interrupted => "interrupted",
            Error::Environment { .. } => "environment",
            _ => "input",
        },
        exit_code: why.exit_code(),
        reason,
    };
    Report {
        command: "run".into(),
        // The scenario's own name when it loads (interrupted before it
        // started), so that its JUnit suite keeps its name; else the file's.
        name: match why {
            Error::Interrupted => crate::plan::plan_file(file).ok().map(|p| p.report.name),
            _ => None,
        }
        .or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default(),
        file: file.display().to_string(),
        steps: StepKind::LIVE
            .into_iter()
            .map(|step| StepResult {
                step,
                checks: Vec::new(),
                skipped: Some(format!("not reached: {}", stopped.reason)),
                duration: Duration::ZERO,
                start: None,
            })
            .collect(),
        stopped: Some(stopped),
        ..Report::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scenario_that_does_not_load_is_reported_and_the_others_still_run() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "kind: Scenario\nmetadata: [\n").unwrap();
        let missing = dir.path().join("gone.yaml");
        let reports = run(
            vec![bad.clone(), missing.clone()],
            RunOptions::default(),
            2,
            Arc::new(Progress::new()),
        )
        .await;
        assert_eq!(reports.len(), 2);
        for (report, file) in reports.iter().zip([&bad, &missing]) {
            assert_eq!(report.file, file.display().to_string());
            let stopped = report.stopped.as_ref().unwrap();
            assert_eq!(
                (stopped.kind, stopped.exit_code),
                ("input", 2),
                "{report:?}"
            );
            assert_eq!(report.steps.len(), 5);
        }
        assert_eq!(
            crate::report::worst(reports.iter().map(Report::exit_code)),
            2
        );
    }
}
