use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::check::{Check, Outcome, StepKind};
use crate::lint::{Finding, Severity};

/// Everything a `plan` or `run` found out.
///
/// It also reads back from its own JSON (`report merge`, `--shard-durations`);
/// the types it borrows from `check` and `lint` are read in `read.rs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `plan`, `lint` or `run`.
    pub command: String,
    /// The scenario's `metadata.name`, or the manifest's name for a bare file.
    pub name: String,
    /// The file the command was given.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The Applications the ApplicationSet generates (offline plan).
    #[serde(default)]
    pub applications: Vec<ApplicationSummary>,
    #[serde(default, deserialize_with = "super::read::findings")]
    pub findings: Vec<Finding>,
    /// The steps, in order; `plan` has one, `run` has the five after it.
    #[serde(default)]
    pub steps: Vec<StepResult>,
    /// Wall-clock time of each phase (cluster up, Argo CD ready, sync, …).
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// How long each Application took to become Synced and Healthy (step
    /// `sync`), in the order the waits ended. Empty before the sync step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub syncs: Vec<ApplicationSync>,
    /// Where the diagnostics bundle of a failed run was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// Set when the run stopped before its verdict: the checks above are
    /// those that completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stopped>,
}

/// Why a run ended without a verdict of its own (read back in `read.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stopped {
    /// `environment`, `input` or `interrupted`.
    pub kind: &'static str,
    /// The error, with its causes.
    pub reason: String,
    /// The exit code the run ended with.
    pub exit_code: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationSummary {
    pub name: String,
    pub project: String,
    pub server: String,
    pub namespace: String,
    /// The scenario cluster `server` maps to, when it maps to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The rendered Application spec.
    pub spec: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    #[serde(deserialize_with = "super::read::step_kind")]
    pub step: StepKind,
    #[serde(default, deserialize_with = "super::read::checks")]
    pub checks: Vec<Check>,
    /// Set when the step did not run at all, with why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(
        rename = "duration_ms",
        serialize_with = "millis",
        deserialize_with = "super::read::millis"
    )]
    pub duration: Duration,
    /// When the step began, from the start of the run (absent in plans and
    /// in reports written before runs recorded it).
    #[serde(
        rename = "start_ms",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_millis",
        deserialize_with = "super::read::opt_millis"
    )]
    pub start: Option<Duration>,
}

impl StepResult {
    pub fn status(&self) -> Status {
        if self.skipped.is_some() {
            Status::Skipped
        } else if self.checks.iter().any(|c| c.outcome.is_failed()) {
            Status::Failed
        } else {
            Status::Passed
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    #[serde(
        rename = "duration_ms",
        serialize_with = "millis",
        deserialize_with = "super::read::millis"
    )]
    pub duration: Duration,
    /// When the phase began, from the start of the run (absent in reports
    /// written before runs recorded it).
    #[serde(
        rename = "start_ms",
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_millis",
        deserialize_with = "super::read::opt_millis"
    )]
    pub start: Option<Duration>,
}

/// One Application awaited in step `sync`: from when the harness began
/// waiting (after starting the sync of a manual one) to its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationSync {
    pub application: String,
    /// From the start of the run.
    #[serde(
        rename = "start_ms",
        serialize_with = "millis",
        deserialize_with = "super::read::millis"
    )]
    pub start: Duration,
    #[serde(
        rename = "duration_ms",
        serialize_with = "millis",
        deserialize_with = "super::read::millis"
    )]
    pub duration: Duration,
    /// Whether it ended Synced and Healthy.
    pub synced: bool,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => millis(d, s),
        None => s.serialize_none(),
    }
}

impl Report {
    /// Passed when no check failed and no error-severity finding exists.
    pub fn passed(&self) -> bool {
        self.stopped.is_none()
            && !self.findings.iter().any(|f| f.severity == Severity::Error)
            && !self
                .steps
                .iter()
                .flat_map(|s| &s.checks)
                .any(|c| c.outcome.is_failed())
    }
}

impl Report {
    /// The exit code this report stands for on its own: the stopped run's,
    /// else 0 passed or 1 a check failed.
    pub fn exit_code(&self) -> u8 {
        match &self.stopped {
            Some(s) => s.exit_code,
            None if self.passed() => crate::error::exit::PASSED,
            None => crate::error::exit::CHECK_FAILED,
        }
    }

    /// The run's wall-clock time (its `total` phase), when it has one.
    pub fn total(&self) -> Option<Duration> {
        self.phases
            .iter()
            .rev()
            .find(|p| p.name == "total")
            .map(|p| p.duration)
    }
}
