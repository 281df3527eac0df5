//! Offline ApplicationSet expansion, faithful to Argo CD's applicationset-controller.
//!
//! `expand` takes the ApplicationSet as written and the clusters and local
//! repositories a scenario provides, and returns the Applications Argo CD
//! would generate, plus the errors Argo CD would report. Like a compiler, it
//! recovers where it can (a non-string list value is rendered as the string it
//! was meant to be) so that one mistake does not hide the next; whether Argo CD
//! itself would have generated anything is `Expansion::argocd_generates`.
//!
//! Checked against argo-cd's `applicationset/` sources. Knowingly different:
//! - order: Argo CD lists cluster Secrets and merge results in Go map order
//!   (random); here clusters keep the scenario's order and merge keeps the
//!   base generator's order;
//! - git: a served directory in a git checkout is read at `revision`
//!   (branches, tags, SHAs; not semantic-version constraints on tags), one
//!   that is not is read as it is on disk whatever `revision` says
//!   (`generators::tree`); the AppProject lookup the git generator does is
//!   skipped;
//! - Go templates run on the project's own text/template
//!   (`template::gotext`), with Go's semantics and printing; each template
//!   string has a step and output budget (`template::set_render_limits`)
//!   where Argo CD has none, `template` calls nest at most 300 deep, and only
//!   the common Sprig functions exist (`template::funcs`);
//! - goTemplate merge: Argo CD fails (a Go panic) when a child's map is merged
//!   into a `map[string]string` of the base (a clusters or git `values`, a
//!   cluster's labels): reproduced for direct children only, not for maps
//!   that reach the base through a nested matrix or merge;
//! - YAML that Argo CD reads itself (git files, `elementsYaml`,
//!   `templatePatch`, `fromYaml`) is read as YAML 1.1 like go-yaml v2 reads
//!   it (`crate::yaml::Schema::GoYaml11`); its syntax errors are worded like
//!   go-yaml's for the common problems only, and a NaN, an infinity or a
//!   null key, which make Argo CD's JSON conversion fail, are read as text;
//! - a `templatePatch` is checked against the Application's Go types
//!   (`gotypes`) except where a type decodes itself (`IntOrString`,
//!   `RawExtension`, times), and JSON field names match exactly where Go
//!   also accepts other letter cases;
//! - parameters carry no Go types: a generator entry's `selector` knows the
//!   git generator's `path.segments` (a `[]string` Argo CD's flattening
//!   does not enter) by its name, and `%T` of a parameter says
//!   `[]interface {}` / `map[string]interface {}` also where Argo CD holds a
//!   `[]string` or `map[string]string`;
//! - `scmProvider`, `pullRequest`, `clusterDecisionResource` and `plugin`
//!   need live services: reported as `generator-unsupported`;
//! - the Application is kept as JSON: fields unknown to Argo CD's types are
//!   not dropped (lint reports them), and duplicate names are kept.

mod expand;
pub mod generators;
mod gotypes;
mod patch;
pub mod template;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

pub use expand::expand;
pub use generators::clusters::IN_CLUSTER_SERVER;

/// The strings of a JSON array (`goTemplateOptions`, `mergeKeys`); anything
/// else, or a non-string item, contributes nothing.
pub(crate) fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A cluster as the clusters generator sees it (an Argo CD cluster Secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    pub name: String,
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// True when this is the cluster Argo CD runs in and it has no Secret of
    /// its own: then the generator adds it as `in-cluster` only without selector.
    pub local_without_secret: bool,
}

/// A repository URL served from a local directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoMount {
    pub url: String,
    pub path: PathBuf,
}

/// The most Applications (parameter sets) one ApplicationSet may expand to
/// unless `--max-applications` says otherwise: far above any real fleet, far
/// below what a runaway matrix would take in memory.
pub const DEFAULT_MAX_APPLICATIONS: usize = 10_000;

static MAX_APPLICATIONS: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(DEFAULT_MAX_APPLICATIONS);

/// Sets the limit for this process (the command line's `--max-applications`).
pub fn set_max_applications(limit: usize) {
    MAX_APPLICATIONS.store(limit, std::sync::atomic::Ordering::Relaxed);
}

pub fn max_applications() -> usize {
    MAX_APPLICATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The rule of a generator failure that is the limit above, not a mistake in
/// the ApplicationSet: it stops the expansion and is reported as such.
pub const LIMIT_RULE: &str = "max-applications";

/// The longest one Application may take to render (its template, every
/// field, and its `templatePatch`) unless `--max-render-time` says otherwise.
pub const DEFAULT_MAX_RENDER_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest rendered Application unless `--max-application-size` says
/// otherwise: etcd's default request limit (1.5 MiB), past which the API
/// server could not store it anyway.
pub const DEFAULT_MAX_APPLICATION_BYTES: usize = 1536 * 1024;

/// The rules of the two limits above.
pub const RENDER_TIME_RULE: &str = "max-render-time";
pub const APPLICATION_SIZE_RULE: &str = "max-application-size";

static MAX_RENDER_MILLIS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_MAX_RENDER_TIME.as_millis() as u64);
static MAX_APPLICATION_BYTES: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(DEFAULT_MAX_APPLICATION_BYTES);

/// Sets the render time limit per Application for this process.
pub fn set_max_render_time(limit: std::time::Duration) {
    let millis = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    MAX_RENDER_MILLIS.store(millis, std::sync::atomic::Ordering::Relaxed);
}

pub fn max_render_time() -> std::time::Duration {
    std::time::Duration::from_millis(MAX_RENDER_MILLIS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Sets the size limit of one rendered Application for this process.
pub fn set_max_application_bytes(limit: usize) {
    MAX_APPLICATION_BYTES.store(limit, std::sync::atomic::Ordering::Relaxed);
}

pub fn max_application_bytes() -> usize {
    MAX_APPLICATION_BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

/// The rule of a template that ran out of the renderer's step or output
/// budget (`template::set_render_limits`): it stops the expansion too.
pub const RENDER_LIMIT_RULE: &str = "render-limit";

/// What the expansion needs besides the ApplicationSet itself.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub clusters: Vec<ClusterInfo>,
    pub repos: Vec<RepoMount>,
}

/// An Application the ApplicationSet generates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratedApp {
    pub name: String,
    /// The whole Application (apiVersion, kind, metadata, spec), rendered.
    pub manifest: Value,
    /// The parameter set it was rendered from.
    pub params: Value,
}

impl GeneratedApp {
    fn spec_str(&self, pointer: &str) -> String {
        self.manifest
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
    pub fn project(&self) -> String {
        self.spec_str("/spec/project")
    }
    /// `destination.server`, or `destination.name` when only that is set.
    pub fn server(&self) -> String {
        let server = self.spec_str("/spec/destination/server");
        if server.is_empty() {
            self.spec_str("/spec/destination/name")
        } else {
            server
        }
    }
    pub fn namespace(&self) -> String {
        self.spec_str("/spec/destination/namespace")
    }
    pub fn spec(&self) -> Value {
        self.manifest.get("spec").cloned().unwrap_or(Value::Null)
    }
}

/// An error Argo CD would report for this ApplicationSet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpandError {
    /// Stable kind, used as the lint rule name (`generator-error`,
    /// `template-render-error`, `matrix-children`, `merge-non-unique-keys`, …).
    pub rule: &'static str,
    /// JSON pointer into the ApplicationSet (e.g. `/spec/generators/0/matrix`).
    pub pointer: String,
    /// The message, worded like Argo CD's where that helps to match it.
    pub message: String,
    /// The Application concerned, when the error is about one.
    pub application: Option<String>,
    /// Argo CD's condition reason, e.g. `RenderTemplateParamsError`, `ApplicationGenerationFromParamsError`.
    pub reason: &'static str,
}

/// The result of expanding an ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Expansion {
    /// The Applications, in Argo CD's order, after recovery.
    pub applications: Vec<GeneratedApp>,
    /// What Argo CD would report (any one stops its whole reconcile).
    pub errors: Vec<ExpandError>,
    /// Problems the expansion repaired to go on; Argo CD does not repair them.
    pub recovered: Vec<ExpandError>,
    /// Set when the expansion stopped at [`max_applications`]: what and where.
    pub limit_exceeded: Option<ExpandError>,
}

impl Expansion {
    /// Whether Argo CD itself would create or update any Application: a single
    /// error (or a repaired problem) stops its whole reconcile.
    pub fn argocd_generates(&self) -> bool {
        self.errors.is_empty() && self.recovered.is_empty()
    }
}
