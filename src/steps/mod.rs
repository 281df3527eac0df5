//! The five steps of a run, as pure functions over what the runner fetched.
//!
//! Nothing here talks to a cluster: the runner reads objects with kube-rs (or
//! Argo CD's REST API) and hands them in; each function returns the report's
//! [`Check`]s. A failed expectation is a `Failed` check, never an error.

pub mod assert;
pub mod conditions;
pub mod count;
pub mod diff;

use crate::report::{Check, Outcome};

/// A check about one Application.
fn check(application: Option<&str>, name: impl Into<String>, outcome: Outcome) -> Check {
    Check {
        name: name.into(),
        application: application.map(str::to_string),
        outcome,
        detail: None,
    }
}

fn failed(reason: impl Into<String>) -> Outcome {
    Outcome::Failed {
        reason: reason.into(),
    }
}

fn skipped(reason: impl Into<String>) -> Outcome {
    Outcome::Skipped {
        reason: reason.into(),
    }
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
