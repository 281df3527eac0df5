//! Reading a scenario: parse, validate, resolve paths relative to the file.
//!
//! Each check is a small function that returns the first problem it finds as
//! a [`LoadError`] naming `file:line:column`; [`LoadError::render`] is the
//! text users read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{Cluster, Scenario};
use crate::provider::nodes::{self, NodeRequest};
use crate::yaml::{self, Document, Pos};

/// The only `apiVersion` this version reads.
pub const API_VERSION: &str = "gitops-e2e/v1alpha1";
/// The only `kind` a scenario file has.
pub const KIND: &str = "Scenario";

/// A scenario ready to plan or run: paths resolved, names checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    pub scenario: Scenario,
    /// `spec.applicationSet`, resolved.
    pub application_set: PathBuf,
    /// `spec.repos[].path`, resolved, in order.
    pub repo_paths: Vec<PathBuf>,
    /// `spec.fixtures`, resolved, by cluster.
    pub fixtures: std::collections::BTreeMap<String, Vec<PathBuf>>,
    /// `spec.clusters[].kindConfig`, resolved, by cluster.
    pub kind_configs: std::collections::BTreeMap<String, PathBuf>,
    /// Each cluster's nodes, from its kind config and `nodeLabels`.
    pub nodes: BTreeMap<String, Vec<NodeRequest>>,
    /// Each cluster's fixture documents, read and checked, in order.
    pub fixture_docs: BTreeMap<String, Vec<Value>>,
    /// `spec.timeouts`, parsed.
    pub timeouts: Timeouts,
    /// `spec.upgrade`, resolved.
    pub upgrade: Option<UpgradeFrom>,
}

/// Where the release an upgrade starts from comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum UpgradeFrom {
    /// A git ref of the checkout that holds the scenario's files.
    Ref(String),
    /// The previous release's files: its ApplicationSet, and a directory for
    /// each of `spec.repos` (in order; the current one where none is given).
    Files {
        application_set: PathBuf,
        repo_paths: Vec<PathBuf>,
    },
}

/// `spec.timeouts` as durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub sync: Duration,
    pub setup: Duration,
}

impl Loaded {
    /// The cluster Argo CD runs in: `spec.argocd.cluster`, else the first one.
    pub fn hub(&self) -> &Cluster {
        let clusters = &self.scenario.spec.clusters;
        let named = self.scenario.spec.argocd.cluster.as_deref();
        named
            .and_then(|name| clusters.iter().find(|c| c.name == name))
            .or_else(|| clusters.first())
            .expect("load() rejects a scenario without clusters")
    }

    /// The server URL the ApplicationSet uses for `cluster`: its `server`,
    /// else the in-cluster address for the hub, else `https://<name>.cluster.local`.
    pub fn server_of(&self, cluster: &str) -> String {
        let found = self
            .scenario
            .spec
            .clusters
            .iter()
            .find(|c| c.name == cluster);
        if let Some(server) = found.and_then(|c| c.server.clone()) {
            return server;
        }
        if self.hub().name == cluster {
            crate::appset::IN_CLUSTER_SERVER.to_string()
        } else {
            format!("https://{cluster}.cluster.local")
        }
    }
}

/// Why a scenario cannot be used; always names the file and, where known, the place.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    pub file: PathBuf,
    pub pos: Option<Pos>,
    pub message: String,
    pub help: Option<String>,
    /// The source line at `pos`, shown under the location.
    pub source_line: Option<String>,
}

impl LoadError {
    /// The full text users read, rustc-like, ending with a newline:
    ///
    /// ```text
    /// error: unknown field `kindconfig` in `spec.clusters[1]`
    ///   --> scenarios/x.yaml:12:7
    ///    |
    /// 12 |       kindconfig: kind.yaml
    ///    |       ^
    ///    = help: did you mean `kindConfig`?
    /// ```
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        let file = self.file.display();
        let gutter = match (&self.pos, &self.source_line) {
            (Some(pos), Some(_)) => pos.line.to_string().len(),
            _ => 1,
        };
        let pad = " ".repeat(gutter);
        match self.pos {
            Some(pos) => {
                let _ = writeln!(out, "{pad}--> {file}:{}:{}", pos.line, pos.column);
                if let Some(line) = &self.source_line {
                    let caret = " ".repeat(pos.column.saturating_sub(1));
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{} | {line}", pos.line);
                    let _ = writeln!(out, "{pad} | {caret}^");
                }
            }
            None => {
                let _ = writeln!(out, "{pad}--> {file}");
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

/// Reads, validates and resolves a scenario file.
pub fn load(file: &Path) -> Result<Loaded, LoadError> {
    let text = crate::input::read_text(file).map_err(|e| Ctx::bare(file).read_error(&e))?;
    let ctx = Ctx { file, text: &text };
    let doc = ctx.document()?;
    check_no_templates(&ctx, &doc)?;
    check_header(&ctx, &doc)?;
    let scenario: Scenario = yaml::decode(&doc, "").map_err(|e| {
        let help = e.suggestion.map(|s| format!("did you mean `{s}`?"));
        ctx.error(e.pos, e.message, help)
    })?;
    let checks: [Check; 12] = [
        check_name,
        check_clusters_present,
        check_cluster_names,
        check_cluster_servers,
        check_expected_findings,
        check_duplicate_clusters,
        check_hub,
        check_argocd_install,
        check_fixture_clusters,
        check_expected_clusters,
        check_duplicate_repos,
        check_upgrade,
    ];
    for check in checks {
        check(&ctx, &doc, &scenario)?;
    }
    let timeouts = timeouts(&ctx, &doc, &scenario)?;
    resolve(&ctx, &doc, scenario, timeouts)
}

/// One validation of a decoded scenario.
type Check = fn(&Ctx, &Document, &Scenario) -> Result<(), LoadError>;

/// The file being loaded, for building errors.
struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl<'a> Ctx<'a> {
    fn bare(file: &'a Path) -> Self {
        Ctx { file, text: "" }
    }

    fn error(&self, pos: Option<Pos>, message: String, help: Option<String>) -> LoadError {
        let source_line = pos
            .and_then(|p| self.text.lines().nth(p.line.saturating_sub(1)))
            .map(|l| l.trim_end().replace('\t', " "));
        LoadError {
            file: self.file.to_path_buf(),
            pos,
            message,
            help,
            source_line,
        }
    }

    fn read_error(&self, e: &std::io::Error) -> LoadError {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
            _ => lowercase_first(&e.to_string()),
        };
        self.error(
            None,
            format!("cannot read scenario `{}`: {why}", self.file.display()),
            None,
        )
    }

    /// The one YAML document of the file.
    fn document(&self) -> Result<Document, LoadError> {
        let mut docs = yaml::parse(self.text).map_err(|e| {
            let help = self
                .text
                .lines()
                .nth(e.pos.line.saturating_sub(1))
                .filter(|l| l.starts_with('\t') || l.trim_start_matches(' ').starts_with('\t'))
                .map(|_| {
                    "indent with spaces: YAML does not allow tabs for indentation".to_string()
                });
            self.error(Some(e.pos), format!("invalid YAML: {}", e.message), help)
        })?;
        match docs.len() {
            0 => Err(self.error(
                None,
                "the file holds no YAML document".to_string(),
                Some(format!(
                    "a scenario starts with `apiVersion: {API_VERSION}` and `kind: {KIND}`"
                )),
            )),
            1 => Ok(docs.remove(0)),
            n => Err(self.error(
                docs[1].values.get("").copied(),
                format!("expected one scenario document, found {n}"),
                Some("put each scenario in a file of its own".to_string()),
            )),
        }
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The position of the value at `pointer` (else its key, else an ancestor).
fn value_pos(doc: &Document, pointer: &str) -> Option<Pos> {
    doc.values
        .get(pointer)
        .copied()
        .or_else(|| doc.pos(pointer))
}

/// Scenario files are plain YAML: a `{{…}}` the reader had to recover is a
/// mistake here, however welcome it is in an ApplicationSet.
fn check_no_templates(ctx: &Ctx, doc: &Document) -> Result<(), LoadError> {
    match doc.recoveries.first() {
        Some(r) => Err(ctx.error(
            Some(r.pos),
            format!("unquoted template `{}` in a scenario file", r.text),
            Some(
                "scenario files are not templated: write the value itself, or quote it if you mean the text"
                    .to_string(),
            ),
        )),
        None => Ok(()),
    }
}

/// A mapping with the right `apiVersion` and `kind`, before the typed decode
/// (whose errors would be less to the point).
fn check_header(ctx: &Ctx, doc: &Document) -> Result<(), LoadError> {
    if !doc.value.is_object() {
        return Err(ctx.error(
            value_pos(doc, ""),
            format!(
                "expected a mapping at the top level, found {}",
                yaml::kind_name(&doc.value)
            ),
            Some(format!(
                "a scenario starts with `apiVersion: {API_VERSION}` and `kind: {KIND}`"
            )),
        ));
    }
    for (field, expected) in [("apiVersion", API_VERSION), ("kind", KIND)] {
        let pointer = format!("/{field}");
        match doc.value.get(field) {
            Some(serde_json::Value::String(s)) if s == expected => {}
            Some(other) => {
                let found = match other {
                    serde_json::Value::String(s) => format!("`{s}`"),
                    other => yaml::kind_name(other).to_string(),
                };
                return Err(ctx.error(
                    value_pos(doc, &pointer),
                    format!("unsupported `{field}` {found}"),
                    Some(format!("use `{field}: {expected}`")),
                ));
            }
            None => {
                return Err(ctx.error(
                    Some(Pos { line: 1, column: 1 }),
                    format!("missing field `{field}` at the top level"),
                    Some(format!("add `{field}: {expected}`")),
                ));
            }
        }
    }
    Ok(())
}

/// The scenario's name goes into cluster names, kube contexts and the
/// diagnostics path: a DNS label cannot lead anywhere else.
fn check_name(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    let name = &s.metadata.name;
    if name.trim().is_empty() {
        return Err(ctx.error(
            value_pos(doc, "/metadata/name"),
            "`metadata.name` is empty".to_string(),
            Some("name the scenario; reports and cluster names use it".to_string()),
        ));
    }
    if !is_dns1123_label(name) {
        return Err(ctx.error(
            value_pos(doc, "/metadata/name"),
            format!(
                "scenario name `{}` is not a DNS-1123 label",
                name.escape_debug()
            ),
            Some(
                "use at most 63 lowercase letters, digits and `-`, starting and ending with a \
                 letter or digit: reports, cluster names and the diagnostics path use it"
                    .to_string(),
            ),
        ));
    }
    Ok(())
}

fn check_clusters_present(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    if s.spec.clusters.is_empty() {
        return Err(ctx.error(
            doc.pos("/spec/clusters"),
            "`spec.clusters` is empty".to_string(),
            Some("a scenario needs at least one cluster, e.g. `- name: dev`".to_string()),
        ));
    }
    Ok(())
}

/// A Kubernetes DNS-1123 label: what kind, kwok and kube contexts accept.
fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

fn check_cluster_names(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    for (i, cluster) in s.spec.clusters.iter().enumerate() {
        if !is_dns1123_label(&cluster.name) {
            return Err(ctx.error(
                value_pos(doc, &format!("/spec/clusters/{i}/name")),
                format!("cluster name `{}` is not a DNS-1123 label", cluster.name),
                Some(
                    "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
                        .to_string(),
                ),
            ));
        }
    }
    Ok(())
}

/// A `server` is the https URL the ApplicationSet names the cluster by.
fn check_cluster_servers(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    for (i, cluster) in s.spec.clusters.iter().enumerate() {
        let Some(server) = &cluster.server else {
            continue;
        };
        if crate::argocd::clusters::host_port(server).is_none() {
            return Err(ctx.error(
                value_pos(doc, &format!("/spec/clusters/{i}/server")),
                format!(
                    "server `{server}` of cluster `{}` is not an https URL",
                    cluster.name
                ),
                Some(
                    "write the URL the ApplicationSet uses for this cluster, e.g. \
                     `https://prod-eks-cluster-abc.eks.amazonaws.com`"
                        .to_string(),
                ),
            ));
        }
    }
    Ok(())
}

/// `expect.findings` names lint rules; a misspelled one could never be
/// reported, so the check would fail for a reason that is not the manifest's.
fn check_expected_findings(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    let known: Vec<String> = crate::lint::RULES
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    for (i, rule) in s.spec.expect.findings.iter().enumerate() {
        if known.contains(rule) {
            continue;
        }
        let help = match yaml::closest(rule, &known) {
            Some(near) => format!("did you mean `{near}`? (`gitops-e2e lint --rules` lists them)"),
            None => "`gitops-e2e lint --rules` lists the rules".to_string(),
        };
        return Err(ctx.error(
            value_pos(doc, &format!("/spec/expect/findings/{i}")),
            format!("`{rule}` is not a lint rule"),
            Some(help),
        ));
    }
    Ok(())
}

fn check_duplicate_clusters(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    let mut seen = BTreeMap::new();
    for (i, cluster) in s.spec.clusters.iter().enumerate() {
        if let Some(first) = seen.insert(cluster.name.as_str(), i) {
            let first_pos = value_pos(doc, &format!("/spec/clusters/{first}/name"));
            return Err(ctx.error(
                value_pos(doc, &format!("/spec/clusters/{i}/name")),
                format!("duplicate cluster name `{}`", cluster.name),
                Some(match first_pos {
                    Some(p) => format!(
                        "first defined at line {}; cluster names must be unique",
                        p.line
                    ),
                    None => "cluster names must be unique".to_string(),
                }),
            ));
        }
    }
    Ok(())
}

fn cluster_names(s: &Scenario) -> Vec<String> {
    s.spec.clusters.iter().map(|c| c.name.clone()).collect()
}

/// An error for a name that should be one of the scenario's clusters.
fn unknown_cluster(ctx: &Ctx, s: &Scenario, pos: Option<Pos>, what: &str, name: &str) -> LoadError {
    let names = cluster_names(s);
    let help = match yaml::closest(name, &names) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!(
            "the clusters are {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    ctx.error(
        pos,
        format!("{what} names unknown cluster `{name}`"),
        Some(help),
    )
}

fn check_hub(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    match &s.spec.argocd.cluster {
        Some(name) if !s.spec.clusters.iter().any(|c| &c.name == name) => Err(unknown_cluster(
            ctx,
            s,
            value_pos(doc, "/spec/argocd/cluster"),
            "`spec.argocd.cluster`",
            name,
        )),
        _ => Ok(()),
    }
}

/// Only the `existing` provider has an Argo CD that is already there: the
/// others make the hub themselves.
fn check_argocd_install(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    if s.spec.argocd.install == Some(super::ArgoCdInstall::Existing)
        && s.spec.provider != super::ProviderKind::Existing
    {
        let provider = format!("{:?}", s.spec.provider).to_lowercase();
        return Err(ctx.error(
            value_pos(doc, "/spec/argocd/install"),
            format!(
                "`spec.argocd.install: existing` needs `provider: existing`; this scenario's \
                 provider is `{provider}`, whose clusters have no Argo CD until the harness \
                 installs it"
            ),
            Some(
                "set `spec.provider: existing` and name each cluster's kube context \
                 (`context:`), or remove `install: existing`"
                    .to_string(),
            ),
        ));
    }
    Ok(())
}

fn check_fixture_clusters(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    for name in s.spec.fixtures.keys() {
        if !s.spec.clusters.iter().any(|c| &c.name == name) {
            let pointer = yaml::pointer_push("/spec/fixtures", name);
            return Err(unknown_cluster(
                ctx,
                s,
                doc.pos(&pointer),
                "`spec.fixtures`",
                name,
            ));
        }
    }
    Ok(())
}

fn check_expected_clusters(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    let Some(apps) = &s.spec.expect.applications else {
        return Ok(());
    };
    for (app, expected) in apps {
        let Some(name) = &expected.cluster else {
            continue;
        };
        if !s.spec.clusters.iter().any(|c| &c.name == name) {
            let pointer = yaml::pointer_push(
                &yaml::pointer_push("/spec/expect/applications", app),
                "cluster",
            );
            return Err(unknown_cluster(
                ctx,
                s,
                value_pos(doc, &pointer),
                &format!("expected application `{app}`"),
                name,
            ));
        }
    }
    Ok(())
}

fn check_duplicate_repos(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    let mut seen = BTreeSet::new();
    for (i, repo) in s.spec.repos.iter().enumerate() {
        if !seen.insert(repo.url.as_str()) {
            return Err(ctx.error(
                value_pos(doc, &format!("/spec/repos/{i}/url")),
                format!("duplicate repository url `{}`", repo.url),
                Some("each repository url can be served from one local path only".to_string()),
            ));
        }
    }
    Ok(())
}

/// `spec.upgrade` names one way to the previous release, and only
/// repositories the scenario serves.
fn check_upgrade(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<(), LoadError> {
    let Some(u) = &s.spec.upgrade else {
        return Ok(());
    };
    let files = u.application_set.is_some() || !u.repos.is_empty();
    match (&u.from, files) {
        (Some(_), true) => {
            return Err(ctx.error(
                value_pos(doc, "/spec/upgrade/from"),
                "`spec.upgrade` sets both `from` and the previous release's files".to_string(),
                Some(
                    "either `from: REF` (everything as it is at a git ref) or \
                     `applicationSet`/`repos` (the previous release's files), not both"
                        .to_string(),
                ),
            ));
        }
        (None, false) => {
            return Err(ctx.error(
                value_pos(doc, "/spec/upgrade"),
                "`spec.upgrade` does not say where the previous release is".to_string(),
                Some(
                    "set `from: REF` (a git branch, tag or commit), or `applicationSet` \
                     and/or `repos` with the previous release's files"
                        .to_string(),
                ),
            ));
        }
        _ => {}
    }
    if let Some(r) = &u.from
        && !plausible_ref(r)
    {
        return Err(ctx.error(
            value_pos(doc, "/spec/upgrade/from"),
            format!("`{r}` is not a git ref"),
            Some("a branch, tag or commit, e.g. `main`, `v1.2.0` or `HEAD~1`".to_string()),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, repo) in u.repos.iter().enumerate() {
        let pointer = format!("/spec/upgrade/repos/{i}/url");
        if !s.spec.repos.iter().any(|r| r.url == repo.url) {
            return Err(ctx.error(
                value_pos(doc, &pointer),
                format!(
                    "`spec.upgrade.repos` names `{}`, which `spec.repos` does not serve",
                    repo.url
                ),
                Some("list the repository in `spec.repos` with its current directory".to_string()),
            ));
        }
        if !seen.insert(repo.url.as_str()) {
            return Err(ctx.error(
                value_pos(doc, &pointer),
                format!(
                    "duplicate repository url `{}` in `spec.upgrade.repos`",
                    repo.url
                ),
                None,
            ));
        }
    }
    Ok(())
}

/// Whether `r` can name a git revision: not empty, no option, no control
/// character or space (what `git check-ref-format` and rev syntax refuse).
pub fn plausible_ref(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 256
        && !r.starts_with('-')
        && !r.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// `spec.timeouts`, parsed once here: every later use is a `Duration`.
fn timeouts(ctx: &Ctx, doc: &Document, s: &Scenario) -> Result<Timeouts, LoadError> {
    let parse = |field: &str, text: &str| {
        humantime::parse_duration(text).map_err(|e| {
            ctx.error(
                value_pos(doc, &format!("/spec/timeouts/{field}")),
                format!("invalid duration `{text}` for `spec.timeouts.{field}`: {e}"),
                Some("write durations like `90s`, `5m` or `1h 30m`".to_string()),
            )
        })
    };
    Ok(Timeouts {
        sync: parse("sync", &s.spec.timeouts.sync)?,
        setup: parse("setup", &s.spec.timeouts.setup)?,
    })
}

/// What a referenced path must be.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    File,
    Exists,
}

/// Resolves `path` relative to the scenario's directory and checks it.
fn existing(
    ctx: &Ctx,
    doc: &Document,
    pointer: &str,
    what: &str,
    path: &str,
    want: Want,
) -> Result<PathBuf, LoadError> {
    let base = ctx.file.parent().unwrap_or(Path::new(""));
    let resolved = base.join(path);
    let shown = resolved.display();
    let problem = match std::fs::metadata(&resolved) {
        Err(_) => Some(format!("{what} `{path}` does not exist")),
        Ok(meta) if want == Want::File && meta.is_dir() => {
            Some(format!("{what} `{path}` is a directory, not a file"))
        }
        Ok(_) => None,
    };
    match problem {
        Some(message) => Err(ctx.error(
            value_pos(doc, pointer),
            message,
            Some(format!(
                "resolved to `{shown}` (paths are relative to the scenario file)"
            )),
        )),
        None => Ok(resolved),
    }
}

fn resolve(
    ctx: &Ctx,
    doc: &Document,
    scenario: Scenario,
    timeouts: Timeouts,
) -> Result<Loaded, LoadError> {
    let spec = &scenario.spec;
    let application_set = existing(
        ctx,
        doc,
        "/spec/applicationSet",
        "application set",
        &spec.application_set,
        Want::File,
    )?;
    let mut kind_configs = BTreeMap::new();
    let mut nodes = BTreeMap::new();
    for (i, cluster) in spec.clusters.iter().enumerate() {
        let pointer = format!("/spec/clusters/{i}/kindConfig");
        let path = match &cluster.kind_config {
            Some(config) => Some(existing(
                ctx,
                doc,
                &pointer,
                "kind config",
                config,
                Want::File,
            )?),
            None => None,
        };
        let requests = nodes::node_requests(&cluster.name, path.as_deref(), &cluster.node_labels)
            .map_err(|e| {
            ctx.error(
                value_pos(doc, &pointer),
                format!(
                    "kind config of cluster `{}` cannot be used: {e}",
                    cluster.name
                ),
                Some("a kind config is a `kind: Cluster` file with a `nodes` list".to_string()),
            )
        })?;
        nodes.insert(cluster.name.clone(), requests);
        if let Some(path) = path {
            kind_configs.insert(cluster.name.clone(), path);
        }
    }
    let mut repo_paths = Vec::new();
    for (i, repo) in spec.repos.iter().enumerate() {
        let pointer = format!("/spec/repos/{i}/path");
        repo_paths.push(existing(
            ctx,
            doc,
            &pointer,
            "repository path",
            &repo.path,
            Want::Exists,
        )?);
    }
    let mut fixtures = BTreeMap::new();
    let mut fixture_docs = BTreeMap::new();
    for (cluster, files) in &spec.fixtures {
        let base = yaml::pointer_push("/spec/fixtures", cluster);
        let mut paths = Vec::new();
        let mut docs = Vec::new();
        for (i, file) in files.iter().enumerate() {
            let pointer = format!("{base}/{i}");
            let path = existing(ctx, doc, &pointer, "fixture", file, Want::File)?;
            docs.extend(fixture(ctx, doc, &pointer, &path)?);
            paths.push(path);
        }
        fixtures.insert(cluster.clone(), paths);
        fixture_docs.insert(cluster.clone(), docs);
    }
    let upgrade = match &spec.upgrade {
        None => None,
        Some(u) => Some(match &u.from {
            Some(r) => UpgradeFrom::Ref(r.clone()),
            None => {
                let application_set = match &u.application_set {
                    Some(file) => existing(
                        ctx,
                        doc,
                        "/spec/upgrade/applicationSet",
                        "previous application set",
                        file,
                        Want::File,
                    )?,
                    None => application_set.clone(),
                };
                let mut previous = repo_paths.clone();
                for (i, repo) in u.repos.iter().enumerate() {
                    let at = spec.repos.iter().position(|r| r.url == repo.url);
                    let path = existing(
                        ctx,
                        doc,
                        &format!("/spec/upgrade/repos/{i}/path"),
                        "previous repository path",
                        &repo.path,
                        Want::Exists,
                    )?;
                    if let Some(at) = at {
                        previous[at] = path;
                    }
                }
                UpgradeFrom::Files {
                    application_set,
                    repo_paths: previous,
                }
            }
        }),
    };
    Ok(Loaded {
        file: ctx.file.to_path_buf(),
        scenario,
        upgrade,
        application_set,
        repo_paths,
        fixtures,
        kind_configs,
        nodes,
        fixture_docs,
        timeouts,
    })
}

/// A fixture's documents, each a Kubernetes object (`apiVersion`, `kind`,
/// `metadata.name`), so that a typo costs no cluster start.
fn fixture(ctx: &Ctx, doc: &Document, pointer: &str, path: &Path) -> Result<Vec<Value>, LoadError> {
    let problem = |message: String| {
        ctx.error(
            value_pos(doc, pointer),
            message,
            Some(
                "a fixture holds Kubernetes manifests (apiVersion, kind, metadata.name)"
                    .to_string(),
            ),
        )
    };
    let text = crate::input::read_text(path)
        .map_err(|e| problem(format!("cannot read fixture `{}`: {e}", path.display())))?;
    let docs = yaml::parse(&text).map_err(|e| {
        problem(format!(
            "fixture `{}`:{}:{}: invalid YAML: {}",
            path.display(),
            e.pos.line,
            e.pos.column,
            e.message
        ))
    })?;
    let mut out = Vec::new();
    for (i, d) in docs.into_iter().enumerate() {
        if d.value.is_null() {
            continue;
        }
        let at = d
            .values
            .get("")
            .copied()
            .unwrap_or(Pos { line: 1, column: 1 });
        let has = |p: &str| {
            d.value
                .pointer(p)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        };
        if let Some(missing) = ["/apiVersion", "/kind", "/metadata/name"]
            .into_iter()
            .find(|p| !has(p))
        {
            return Err(problem(format!(
                "fixture `{}`:{}:{}: document {} has no `{}`",
                path.display(),
                at.line,
                at.column,
                i + 1,
                missing.trim_start_matches('/').replace('/', ".")
            )));
        }
        out.push(d.value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_labels() {
        for ok in ["dev", "prod-eu-1", "a", "0a"] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        let long = "a".repeat(64);
        for bad in ["", "Dev", "dev_1", "-dev", "dev-", "dev.eu", long.as_str()] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
    }

    #[test]
    fn render_without_a_position_or_help() {
        let e = LoadError {
            file: PathBuf::from("s.yaml"),
            pos: None,
            message: "cannot read scenario `s.yaml`: file not found".to_string(),
            help: None,
            source_line: None,
        };
        assert_eq!(
            e.render(),
            "error: cannot read scenario `s.yaml`: file not found\n --> s.yaml\n"
        );
    }

    #[test]
    fn render_with_a_position_and_help() {
        let e = LoadError {
            file: PathBuf::from("scenarios/x.yaml"),
            pos: Some(Pos {
                line: 12,
                column: 7,
            }),
            message: "unknown field `kindconfig` in `spec.clusters[1]`".to_string(),
            help: Some("did you mean `kindConfig`?".to_string()),
            source_line: Some("      kindconfig: a.yaml".to_string()),
        };
        assert_eq!(
            e.render(),
            concat!(
                "error: unknown field `kindconfig` in `spec.clusters[1]`\n",
                "  --> scenarios/x.yaml:12:7\n",
                "   |\n",
                "12 |       kindconfig: a.yaml\n",
                "   |       ^\n",
                "   = help: did you mean `kindConfig`?\n",
            )
        );
    }
}
