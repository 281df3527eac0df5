//! Lint rules: what an ApplicationSet or Application gets wrong that Argo CD
//! would accept silently, reject, or render into something else than meant.
//!
//! One file per rule family; every rule has a stable kebab-case name
//! (`RULES`), and each finding says what is wrong, where, and what to do.

mod finding;

pub use finding::{Finding, Location, Severity};

use std::path::Path;

use crate::appset::{Environment, Expansion};
use crate::yaml::Document;

/// Every rule name with a one-line description, for `gitops-e2e lint --rules`
/// and the docs.
pub const RULES: &[(&str, &str)] = &[];

/// What the rules look at for one ApplicationSet.
pub struct AppSetContext<'a> {
    pub file: &'a Path,
    /// The ApplicationSet document as read (positions, recoveries).
    pub doc: &'a Document,
    pub expansion: &'a Expansion,
    pub env: &'a Environment,
}

/// Lints an ApplicationSet and what it generates.
pub fn lint_appset(ctx: &AppSetContext<'_>) -> Vec<Finding> {
    let _ = ctx;
    unimplemented!("lint::lint_appset")
}

/// Lints a bare Application manifest.
pub fn lint_application(file: &Path, doc: &Document) -> Vec<Finding> {
    let _ = (file, doc);
    unimplemented!("lint::lint_application")
}
