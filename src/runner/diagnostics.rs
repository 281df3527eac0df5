//! The diagnostics bundle of a failed run: Argo CD's logs, the Applications
//! and ApplicationSets as the hub has them, and per destination namespace the
//! pods and events. Always a new directory: nothing the user has is deleted
//! or overwritten.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use crate::argocd::DiagnosticFile;
use crate::live::Live;

/// Writes the bundle into a new directory `base/name` (or `base/name-2`, …,
/// when that exists). Returns the directory and what could not be collected.
pub async fn write(
    base: &Path,
    name: &str,
    files: &[DiagnosticFile],
    live: Option<&Live>,
) -> std::io::Result<(PathBuf, Vec<String>)> {
    let dir = new_dir(base, name)?;
    let mut problems = Vec::new();
    for file in files {
        let result = match file {
            DiagnosticFile::Copy { name, from } => {
                std::fs::copy(from, dir.join(file_name(name))).map(|_| ())
            }
            DiagnosticFile::Text { name, text } => std::fs::write(dir.join(file_name(name)), text),
        };
        if let Err(e) = result {
            problems.push(format!("{}: {e}", file_label(file)));
        }
    }
    if let Some(live) = live
        && let Err(e) = cluster_state(live, &dir).await
    {
        problems.push(format!("cluster state: {e:#}"));
    }
    Ok((dir, problems))
}

fn file_label(file: &DiagnosticFile) -> &str {
    match file {
        DiagnosticFile::Copy { name, .. } | DiagnosticFile::Text { name, .. } => name,
    }
}

/// A file name that stays inside the bundle: path separators and leading dots
/// become `_`.
fn file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match cleaned.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None => cleaned,
    }
}

/// Creates a directory that did not exist before under `base` (which is
/// created if missing, never emptied).
fn new_dir(base: &Path, name: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(base)?;
    let name = file_name(name);
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.join(&name)
        } else {
            base.join(format!("{name}-{n}"))
        };
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "1000 diagnostics directories named `{name}` exist in `{}`",
        base.display()
    )))
}

async fn cluster_state(live: &Live, dir: &Path) -> anyhow::Result<()> {
    let apps = live.applications().list(&ListParams::default()).await?;
    std::fs::write(
        dir.join("applications.yaml"),
        crate::yaml::to_string(&apps.items),
    )?;
    let appsets = live.application_sets().list(&ListParams::default()).await?;
    std::fs::write(
        dir.join("applicationsets.yaml"),
        crate::yaml::to_string(&appsets.items),
    )?;
    let namespaces: BTreeSet<(String, String)> = apps
        .items
        .iter()
        .filter_map(|a| {
            let d = a.app_spec().destination.clone()?;
            let cluster = live.destination_cluster(&d)?;
            Some((cluster.name.clone(), d.namespace))
        })
        .collect();
    for (cluster, ns) in namespaces {
        let Some(c) = live.cluster(&cluster) else {
            continue;
        };
        let pods = Api::<Pod>::namespaced(c.client.clone(), &ns)
            .list(&ListParams::default())
            .await?;
        let summary: Vec<Value> = pods
            .items
            .iter()
            .map(|p| {
                json!({
                    "name": p.metadata.name,
                    "node": p.spec.as_ref().and_then(|s| s.node_name.clone()),
                    "phase": p.status.as_ref().and_then(|s| s.phase.clone()),
                    "conditions": p.status.as_ref().and_then(|s| s.conditions.clone()),
                })
            })
            .collect();
        std::fs::write(
            dir.join(file_name(&format!("{cluster}-{ns}-pods.yaml"))),
            crate::yaml::to_string(&summary),
        )?;
        let events = Api::<KubeEvent>::namespaced(c.client.clone(), &ns)
            .list(&ListParams::default())
            .await?;
        let lines: Vec<String> = events
            .items
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}/{}: {}",
                    e.type_.clone().unwrap_or_default(),
                    e.reason.clone().unwrap_or_default(),
                    e.involved_object.kind.clone().unwrap_or_default(),
                    e.involved_object.name.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default()
                )
            })
            .collect();
        std::fs::write(
            dir.join(file_name(&format!("{cluster}-{ns}-events.txt"))),
            lines.join("\n") + "\n",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_directory_is_never_emptied_or_overwritten() {
        let user = tempfile::tempdir().unwrap();
        std::fs::write(user.path().join("notes.txt"), "mine").unwrap();
        std::fs::create_dir(user.path().join("lesson-abc")).unwrap();
        std::fs::write(user.path().join("lesson-abc/x"), "also mine").unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let files = [DiagnosticFile::Text {
            name: "../../escape.log".into(),
            text: "log".into(),
        }];
        let (dir, problems) = rt
            .block_on(write(user.path(), "lesson-abc", &files, None))
            .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(dir, user.path().join("lesson-abc-2"));
        assert_eq!(
            std::fs::read_to_string(user.path().join("notes.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(user.path().join("lesson-abc/x")).unwrap(),
            "also mine"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("_._.._escape.log")).unwrap(),
            "log"
        );
    }

    #[test]
    fn the_current_directory_can_be_the_base() {
        let user = tempfile::tempdir().unwrap();
        std::fs::write(user.path().join("Cargo.toml"), "[package]").unwrap();
        let dir = new_dir(user.path(), "s-1").unwrap();
        assert!(dir.starts_with(user.path()));
        assert!(user.path().join("Cargo.toml").exists());
    }
}
