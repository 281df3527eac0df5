//! One expectation checked: the unit every step produces, every event carries
//! and every report renders. It lives apart from `report` and `events` so that
//! both can use it without depending on each other.

use serde::Serialize;

/// The steps of a run, in order; `plan` is the offline one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Plan,
    DryRun,
    Diff,
    Count,
    Sync,
    Assert,
}

impl StepKind {
    /// The live steps, in the order a run takes them.
    pub const LIVE: [StepKind; 5] = [
        StepKind::DryRun,
        StepKind::Diff,
        StepKind::Count,
        StepKind::Sync,
        StepKind::Assert,
    ];

    pub fn title(self) -> &'static str {
        match self {
            StepKind::Plan => "plan",
            StepKind::DryRun => "dry-run",
            StepKind::Diff => "diff",
            StepKind::Count => "count",
            StepKind::Sync => "sync",
            StepKind::Assert => "assert",
        }
    }
}

/// One expectation checked: a line in the terminal, a testcase in JUnit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `replicas = 5`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    pub outcome: Outcome,
    /// Longer evidence: a unified diff, a list of both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Check {
    pub fn new(application: Option<&str>, name: impl Into<String>, outcome: Outcome) -> Self {
        Check {
            name: name.into(),
            application: application.map(str::to_string),
            outcome,
            detail: None,
        }
    }

    pub fn passed(name: impl Into<String>) -> Self {
        Check::new(None, name, Outcome::Passed)
    }

    pub fn failed(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Check::new(None, name, Outcome::failed(reason))
    }

    /// The same check, about `application`.
    pub fn for_app(mut self, application: &str) -> Self {
        self.application = Some(application.to_string());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed { reason: String },
    Skipped { reason: String },
}

impl Outcome {
    pub fn failed(reason: impl Into<String>) -> Self {
        Outcome::Failed {
            reason: reason.into(),
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        Outcome::Skipped {
            reason: reason.into(),
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// `Ok` passes; `Err` fails with its text as the reason.
impl From<Result<(), String>> for Outcome {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Outcome::Passed,
            Err(reason) => Outcome::Failed { reason },
        }
    }
}
