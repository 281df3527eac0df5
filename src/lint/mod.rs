//! Lint rules: what an ApplicationSet or Application gets wrong that Argo CD
//! would accept silently, reject, or render into something else than meant.
//!
//! One file per rule family; every rule has a stable kebab-case name
//! (`RULES`), and each finding says what is wrong, where, and what to do.
//!
//! Rules that look at generated Applications see them through a `Target`:
//! the rendered manifest plus the way back from a field of the Application to
//! the ApplicationSet field it was rendered from, so that a finding points at
//! the place the author has to change.

mod destinations;
mod fields;
mod finding;
mod generators;
mod images;
mod names;
mod resources;
mod sources;
mod sync;
mod templates;
mod util;

pub use finding::{Finding, Location, Severity};

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::appset::{Environment, Expansion};
use crate::yaml::{Document, Pos};

/// Every rule name with a one-line description, for `gitops-e2e lint --rules`
/// and the docs.
pub const RULES: &[(&str, &str)] = &[
    (
        "unquoted-template",
        "a plain YAML scalar starting with `{{` is a flow mapping or a syntax error, not a string",
    ),
    (
        "list-value-not-string",
        "a list generator element has a non-string value; fasttemplate rejects it and nothing is generated",
    ),
    (
        "foreign-template-syntax",
        "mustache/handlebars sections, Jinja tags or `${VAR}` substitution that Argo CD does not evaluate",
    ),
    (
        "unrendered-placeholder",
        "a `{{…}}` (or `<no value>`) is left in a generated Application",
    ),
    (
        "matrix-cross-product",
        "a matrix of two independent lists generates every combination, e.g. dev × a production registry",
    ),
    (
        "placeholder-server",
        "a destination server or name that is a placeholder or matches no known cluster",
    ),
    (
        "destination-server-and-name",
        "a destination with both `server` and `name`, which Argo CD rejects",
    ),
    (
        "prod-auto-prune",
        "automated sync with `prune: true` on a production-like Application",
    ),
    (
        "mutable-image-tag",
        "an image with tag `latest` or no tag in Helm values, parameters or kustomize images",
    ),
    (
        "mutable-target-revision",
        "a branch (`HEAD`, `main`, …) or a version range as `targetRevision`",
    ),
    (
        "chart-from-git-repo",
        "`chart:` with a git repository URL; Argo CD expects a Helm chart repository there",
    ),
    (
        "missing-pull-secret",
        "an image from a private registry with no `imagePullSecrets` in the same values",
    ),
    (
        "namespace-mismatch",
        "values set a namespace other than the destination's, no destination namespace, or a system namespace",
    ),
    (
        "git-revision-ignored",
        "a git generator sets `revision`, but the directory served for its repository is not a git checkout",
    ),
    (
        "repo-uncommitted-changes",
        "a git generator's served checkout has uncommitted or untracked files, which neither the plan nor Argo CD reads",
    ),
    (
        "unknown-field",
        "a field the Application/ApplicationSet CRDs do not have; the API server drops it silently",
    ),
    (
        "missing-resources",
        "no resource requests/limits in the Helm values, limits without requests, or limit below request",
    ),
    (
        "duplicate-application-name",
        "two generated Applications with the same name fight over one object",
    ),
    (
        "invalid-application-name",
        "a generated Application name the API server refuses (not a DNS-1123 subdomain)",
    ),
    // The rules below come from the expansion (`Expansion::errors`), named
    // by `crate::appset`; any error it reports becomes a finding even if its
    // rule is missing here.
    ("appset-invalid", "the ApplicationSet has no usable `spec`"),
    (
        "generator-unknown",
        "a generator entry names no generator Argo CD knows",
    ),
    (
        "generator-unsupported",
        "a generator the offline plan cannot evaluate (e.g. SCM provider, pull request)",
    ),
    (
        "generator-error",
        "a generator fails in Argo CD; the whole ApplicationSet generates nothing",
    ),
    (
        "git-repo-not-served",
        "a git generator's repository is not served locally by the scenario",
    ),
    (
        "git-revision-not-found",
        "a git generator's `revision` names no branch, tag or commit of the served checkout",
    ),
    (
        "template-render-error",
        "the template fails to render for a parameter set; the whole ApplicationSet generates nothing",
    ),
    (
        "matrix-children",
        "a matrix generator needs exactly two child generators",
    ),
    (
        "matrix-key-conflict",
        "the two children of a matrix give one parameter different values",
    ),
    (
        "merge-children",
        "a merge generator needs at least two child generators",
    ),
    ("merge-keys", "a merge generator needs `mergeKeys`"),
    (
        "merge-non-unique-keys",
        "a merge generator's merge keys do not identify parameter sets uniquely",
    ),
];

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
    let mut out = Emitter::new(ctx.file, ctx.doc);
    templates::unquoted_template(&mut out);
    templates::foreign_template_syntax(&mut out);
    templates::expansion_problems(&mut out, ctx.expansion);
    generators::matrix_cross_product(&mut out);
    generators::git_generator_sources(&mut out, ctx.env);
    names::duplicate_application_name(&mut out, ctx.expansion);
    names::invalid_application_name(&mut out, ctx.expansion);
    fields::unknown_fields_appset(&mut out);

    let targets: Vec<Target<'_>> = ctx
        .expansion
        .applications
        .iter()
        .map(|app| Target {
            name: app.name.clone(),
            generated: true,
            manifest: &app.manifest,
            params: Some(&app.params),
            base: "/spec/template",
            doc: ctx.doc,
        })
        .collect();
    for t in &targets {
        lint_target(&mut out, t, Some(ctx.env));
    }
    out.finish()
}

/// Lints a bare Application manifest.
pub fn lint_application(file: &Path, doc: &Document) -> Vec<Finding> {
    let mut out = Emitter::new(file, doc);
    templates::unquoted_template(&mut out);
    templates::foreign_template_syntax(&mut out);
    fields::unknown_fields_application(&mut out);
    let name = doc
        .value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)")
        .to_string();
    let t = Target {
        name,
        generated: false,
        manifest: &doc.value,
        params: None,
        base: "",
        doc,
    };
    lint_target(&mut out, &t, None);
    out.finish()
}

/// The rules that look at one Application (generated or bare).
fn lint_target(out: &mut Emitter<'_>, t: &Target<'_>, env: Option<&Environment>) {
    templates::unrendered_placeholder(out, t);
    destinations::placeholder_server(out, t, env);
    destinations::server_and_name(out, t);
    destinations::namespace_mismatch(out, t);
    sync::prod_auto_prune(out, t);
    sync::mutable_target_revision(out, t);
    sources::chart_from_git_repo(out, t);
    images::mutable_image_tag(out, t);
    images::missing_pull_secret(out, t);
    resources::missing_resources(out, t);
}

/// An Application as the per-Application rules see it.
pub(crate) struct Target<'a> {
    pub name: String,
    /// Generated by an ApplicationSet (findings then name it in `application`).
    pub generated: bool,
    /// The whole Application manifest.
    pub manifest: &'a Value,
    /// The parameter set it was rendered from, if generated.
    pub params: Option<&'a Value>,
    /// Prefix that maps a pointer into the Application to the document
    /// position it comes from: `/spec/template` for an ApplicationSet.
    pub base: &'static str,
    /// The linted document, to tell written fields from patched-in ones.
    pub doc: &'a Document,
}

impl Target<'_> {
    /// The pointer in the linted document that an Application pointer comes from.
    /// A field that is not written in `template` but the ApplicationSet has
    /// a `templatePatch` came from the patch: point there.
    pub fn origin(&self, app_pointer: &str) -> String {
        let p = format!("{}{app_pointer}", self.base);
        let written = self.doc.keys.contains_key(&p) || self.doc.values.contains_key(&p);
        let patch = "/spec/templatePatch";
        if !written && !self.base.is_empty() && self.doc.value.pointer(patch).is_some() {
            return patch.to_string();
        }
        p
    }

    pub fn application(&self) -> Option<&str> {
        self.generated.then_some(self.name.as_str())
    }

    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.manifest.pointer(pointer).and_then(Value::as_str)
    }

    /// `spec.source` and every `spec.sources[i]`, with their pointers.
    pub fn sources(&self) -> Vec<(String, &Value)> {
        let mut v = Vec::new();
        if let Some(s) = self
            .manifest
            .pointer("/spec/source")
            .filter(|s| s.is_object())
        {
            v.push(("/spec/source".to_string(), s));
        }
        if let Some(Value::Array(items)) = self.manifest.pointer("/spec/sources") {
            for (i, s) in items.iter().enumerate() {
                if s.is_object() {
                    v.push((format!("/spec/sources/{i}"), s));
                }
            }
        }
        v
    }
}

/// Collects findings, resolves positions, removes duplicates and sorts.
pub(crate) struct Emitter<'a> {
    pub file: &'a Path,
    pub doc: &'a Document,
    findings: Vec<Finding>,
}

impl<'a> Emitter<'a> {
    fn new(file: &'a Path, doc: &'a Document) -> Self {
        Self {
            file,
            doc,
            findings: Vec::new(),
        }
    }

    /// Reports a finding at the document place `pointer`.
    pub fn emit(&mut self, f: Draft<'_>, pointer: &str) {
        let pos = self.doc.pos(pointer);
        self.emit_at(f, pos);
    }

    /// Reports a finding at an explicit position.
    pub fn emit_at(&mut self, f: Draft<'_>, pos: Option<Pos>) {
        self.findings.push(Finding {
            rule: f.rule.to_string(),
            severity: f.severity,
            message: f.message,
            application: f.application.map(str::to_string),
            location: Some(Location::new(self.file, pos)),
            advice: f.advice,
        });
    }

    fn finish(self) -> Vec<Finding> {
        let mut seen = BTreeSet::new();
        let mut v: Vec<Finding> = self
            .findings
            .into_iter()
            .filter(|f| {
                seen.insert((
                    f.rule.clone(),
                    f.application.clone(),
                    f.location.clone(),
                    f.message.clone(),
                ))
            })
            .collect();
        v.sort_by(|a, b| {
            let key = |f: &Finding| {
                let p = f.location.as_ref().and_then(|l| l.pos);
                (
                    p.map_or(usize::MAX, |p| p.line),
                    f.rule.clone(),
                    p.map_or(usize::MAX, |p| p.column),
                    f.application.clone(),
                    f.message.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        v
    }
}

/// A finding before its place is resolved.
pub(crate) struct Draft<'a> {
    pub rule: &'a str,
    pub severity: Severity,
    pub application: Option<&'a str>,
    pub message: String,
    pub advice: String,
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests;
