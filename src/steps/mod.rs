//! The five steps of a run, one module each. A step reads what it needs from
//! the live environment ([`Live`]), judges it, and returns its checks: a failed
//! expectation is a `Failed` check, a failed read is an `Error` (exit 3).
//!
//! Each module keeps its judgement in plain functions over the objects it
//! read, unit-tested on fixtures, apart from the reads themselves.

pub mod assert;
pub mod conditions;
pub mod count;
pub mod diff;
pub mod dry_run;
pub mod sync;
pub mod upgrade;

use async_trait::async_trait;

use crate::check::{Check, StepKind};
use crate::error::Error;
use crate::events::Sink;
use crate::live::Live;

/// What a step found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutput {
    pub checks: Vec<Check>,
    /// Set when the step had nothing to do, with why.
    pub skipped: Option<String>,
    /// Set when the steps after this one cannot run, with why.
    pub stops_later: Option<String>,
}

impl StepOutput {
    pub fn checks(checks: Vec<Check>) -> Self {
        StepOutput {
            checks,
            ..StepOutput::default()
        }
    }

    pub fn skipped(why: impl Into<String>) -> Self {
        StepOutput {
            skipped: Some(why.into()),
            ..StepOutput::default()
        }
    }
}

#[async_trait]
pub trait Step: Send + Sync {
    fn kind(&self) -> StepKind;

    /// Runs the step. `sink` is for progress within it (a spinner per
    /// Application awaited); its checks are returned, not emitted.
    async fn run(&self, live: &Live, sink: &dyn Sink) -> Result<StepOutput, Error>;
}

/// The lesson's five steps, in order.
pub fn all() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(dry_run::DryRun),
        Box::new(diff::Diff),
        Box::new(count::Count),
        Box::new(sync::Sync),
        Box::new(assert::Assert),
    ]
}

/// A message from Argo CD or Kubernetes, quoted so that it reads as evidence.
fn quote(message: &str) -> String {
    format!("\"{}\"", message.trim())
}

/// `ns/name`, or `name` for a cluster-scoped object.
fn qualified(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

/// A unified diff of two texts with `--- old` / `+++ new` headers; empty when equal.
fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

/// An error and its causes on one line, for a check's reason.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
