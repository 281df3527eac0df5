//! Applying manifests through kube-rs: server-side apply of every document,
//! with kinds resolved by discovery (no guessed plurals). Used for Argo CD's
//! CRDs and config objects, the scenario's fixtures and the ApplicationSet;
//! the dry-run form with strict field validation is step 1's server check.

use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;

use crate::yaml;

pub const FIELD_MANAGER: &str = "gitops-e2e";

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}`:{}:{}: {message}", path.display(), pos.line, pos.column)]
    Yaml {
        path: PathBuf,
        pos: yaml::Pos,
        message: String,
    },
    #[error("{what}: document {index} has no apiVersion/kind/metadata.name")]
    Shape { what: String, index: usize },
    #[error("{what}: the API server rejected {kind} `{name}`")]
    Rejected {
        what: String,
        kind: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
}

impl ApplyError {
    /// Whether the API server refused the manifests themselves (invalid,
    /// unknown kind, conflicting): the input's fault, not the cluster's.
    /// Transport failures, 5xx answers and missing permissions are not.
    pub fn is_rejection(&self) -> bool {
        match self {
            ApplyError::Shape { .. } => true,
            ApplyError::Rejected { source, .. } => match source.as_ref() {
                kube::Error::Api(status) => matches!(status.code, 400 | 404 | 409 | 422),
                kube::Error::Discovery(_) => true,
                _ => false,
            },
            ApplyError::Read { .. } | ApplyError::Yaml { .. } => false,
        }
    }
}

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Server-side dry run: validated and defaulted, not persisted.
    pub dry_run: bool,
    /// Unknown or duplicate fields are errors instead of silent drops.
    pub strict: bool,
}

/// Reads every YAML document of every file, in order.
pub fn read_manifests(files: &[PathBuf]) -> Result<Vec<(PathBuf, Value)>, ApplyError> {
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| ApplyError::Read {
            path: path.clone(),
            source,
        })?;
        let docs = yaml::parse(&text).map_err(|e| ApplyError::Yaml {
            path: path.clone(),
            pos: e.pos,
            message: e.message,
        })?;
        out.extend(docs.into_iter().map(|d| (path.clone(), d.value)));
    }
    Ok(out)
}

/// The YAML files of a directory (not `kustomization.yaml`), sorted.
pub fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, ApplyError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ApplyError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                && p.file_name().is_some_and(|n| n != "kustomization.yaml")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Applies `docs` in order; namespaced objects without a namespace go to
/// `default_namespace`. `what` names the set in errors (e.g. "fixtures of `prod`").
pub async fn apply(
    client: &kube::Client,
    what: &str,
    docs: &[Value],
    default_namespace: &str,
    mode: Mode,
) -> Result<Vec<DynamicObject>, ApplyError> {
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    if mode.dry_run {
        params = params.dry_run();
    }
    if mode.strict {
        params = params.validation_strict();
    }
    let mut applied = Vec::new();
    for (index, doc) in docs.iter().enumerate() {
        let shape = || ApplyError::Shape {
            what: what.to_string(),
            index: index + 1,
        };
        let api_version = doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or_else(shape)?;
        let kind = doc.get("kind").and_then(Value::as_str).ok_or_else(shape)?;
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(shape)?;
        let rejected = |source| ApplyError::Rejected {
            what: what.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            source: Box::new(source),
        };
        let api = api_for(client, doc, api_version, kind, default_namespace)
            .await
            .map_err(rejected)?;
        let object = api
            .patch(name, &params, &Patch::Apply(doc))
            .await
            .map_err(rejected)?;
        applied.push(object);
    }
    Ok(applied)
}

/// The API for `doc`'s kind, in its namespace (else `default_namespace`)
/// when the kind is namespaced.
pub(crate) async fn api_for(
    client: &kube::Client,
    doc: &Value,
    api_version: &str,
    kind: &str,
    default_namespace: &str,
) -> Result<Api<DynamicObject>, kube::Error> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = pinned_kind(client, &gvk).await?;
    Ok(if caps.scope == Scope::Namespaced {
        let ns = doc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(default_namespace);
        Api::namespaced_with(client.clone(), ns, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    })
}

/// Deletes what `docs` name (as [`apply`] would have placed them), each
/// once; what is already gone is not a problem. Returns the problems, in
/// words.
pub async fn delete(client: &kube::Client, docs: &[Value], default_namespace: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for doc in docs {
        let (Some(api_version), Some(kind), Some(name)) = (
            doc.get("apiVersion").and_then(Value::as_str),
            doc.get("kind").and_then(Value::as_str),
            doc.pointer("/metadata/name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let api = match api_for(client, doc, api_version, kind, default_namespace).await {
            Ok(api) => api,
            Err(e) => {
                problems.push(format!("cannot delete {kind} `{name}`: {e}"));
                continue;
            }
        };
        match api.delete(name, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => problems.push(format!("cannot delete {kind} `{name}`: {e}")),
        }
    }
    problems
}
