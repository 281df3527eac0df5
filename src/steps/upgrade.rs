//! An upgrade's two halves around the switch of the repositories.
//!
//! Before the steps, [`deploy_previous`] applies the previous release's
//! ApplicationSet, syncs what has a manual policy, waits until every
//! Application is Synced and Healthy, and records what each one manages:
//! the *before* of the upgrade.
//!
//! In the diff step, once the upgraded ApplicationSet is applied,
//! [`compare_upgraded`] waits until each Application carries the upgraded
//! spec, asks for a hard refresh (the served branch moved, and Argo CD caches
//! what it resolved), waits until Argo CD compared against the upgraded
//! sources, and shows per resource what the upgrade changes against the
//! recorded *before*.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

use super::conditions;
use super::diff;
use super::sync::{Settled, settle, start_manual_syncs, state_text};
use super::unified;
use crate::appset::Expansion;
use crate::argocd::resources::Application;
use crate::check::{Check, Outcome};
use crate::error::Error;
use crate::events::{Event, Sink};
use crate::live::{Live, env_error};
use crate::yaml::Document;

/// The annotation that asks the application-controller for a refresh; it
/// removes it when the refresh is done (and the applicationset-controller
/// keeps it when it updates the Application).
const REFRESH: &str = "argocd.argoproj.io/refresh";

/// What the previous release left, per Application.
#[derive(Debug, Clone, Default)]
pub struct Before {
    /// Where the previous release came from (for notes).
    pub label: String,
    pub applications: BTreeMap<String, AppBefore>,
}

#[derive(Debug, Clone, Default)]
pub struct AppBefore {
    /// `status.sync.revision`: a commit or a chart version.
    pub revision: String,
    /// Each managed resource's live state, by `Kind ns/name`.
    pub resources: BTreeMap<String, Value>,
}

/// Applies the previous release, brings every Application it generates to
/// Synced and Healthy, and records what each manages. A previous release
/// that does not come up is an environment error: the upgrade has nothing
/// to start from.
pub async fn deploy_previous(
    live: &Live,
    appset: &Document,
    expansion: &Expansion,
    label: &str,
    sink: &dyn Sink,
) -> Result<Before, Error> {
    let applied = diff::apply_appset(live, live.to_apply(&appset.value)).await?;
    let owned = live.owned_applications().await?;
    let missing: Vec<&str> = expansion
        .applications
        .iter()
        .map(|a| a.name.as_str())
        .filter(|n| !owned.iter().any(|o| o.metadata.name.as_deref() == Some(*n)))
        .collect();
    if !missing.is_empty() {
        let why = conditions::appset_error(&applied).unwrap_or_else(|| "no error reported".into());
        return Err(env_error(
            format!(
                "the previous release ({label}) did not generate {}",
                missing.join(", ")
            ),
            anyhow::anyhow!("the applicationset-controller says: {why}"),
        ));
    }
    let api = live.applications();
    start_manual_syncs(&api, &owned).await?;
    let waits = owned.iter().map(|app| {
        let name = app.metadata.name.clone().unwrap_or_default();
        let api = api.clone();
        async move {
            let state = match settle(&api, &name, live.sync_timeout).await? {
                Settled::Reached(a) | Settled::TimedOut(a) => a,
                Settled::Deleted => {
                    return Err(env_error(
                        format!("Application `{name}` of the previous release was deleted"),
                        anyhow::anyhow!("while waiting for it to be Synced and Healthy"),
                    ));
                }
            };
            if !conditions::is_done(&state) {
                return Err(env_error(
                    format!(
                        "the previous release ({label}) of `{name}` did not come up Synced and Healthy"
                    ),
                    anyhow::anyhow!("{}", state_text(&state)),
                ));
            }
            Ok((name, state))
        }
    });
    let done = futures::future::try_join_all(waits).await?;
    let mut before = Before {
        label: label.to_string(),
        applications: BTreeMap::new(),
    };
    for (name, app) in done {
        let resources = live
            .argocd
            .managed_resources(&name, &live.namespace)
            .await
            .map_err(|e| env_error(format!("cannot read the managed resources of `{name}`"), e))?;
        let resources = diff::managed(&resources)
            .into_iter()
            .filter_map(|r| Some((r.key(), r.live()?)))
            .collect();
        let revision = revision(&app);
        sink.emit(Event::Note(format!(
            "previous release: {name} Synced and Healthy at {revision}"
        )));
        before.applications.insert(
            name,
            AppBefore {
                revision,
                resources,
            },
        );
    }
    Ok(before)
}

/// The diff step of an upgrade: one check per Application saying which
/// revision it moves from and to, then one per resource the upgrade adds,
/// changes, keeps or leaves behind.
pub async fn compare_upgraded(live: &Live, before: &Before) -> Result<Vec<Check>, Error> {
    // Every Application at once: each waits on Argo CD on its own.
    let each = live
        .plan
        .expansion
        .applications
        .iter()
        .map(|planned| compare_one(live, before, planned));
    Ok(futures::future::try_join_all(each)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

async fn compare_one(
    live: &Live,
    before: &Before,
    planned: &crate::appset::GeneratedApp,
) -> Result<Vec<Check>, Error> {
    let api = live.applications();
    let mut checks = Vec::new();
    let name = planned.name.clone();
    let mut spec = planned.spec();
    live.urls.to_local(&mut spec);
    let sources = planned_sources(&spec);
    let timeout = live.setup_timeout.max(Duration::from_secs(1));
    let updated = {
        let sources = sources.clone();
        await_condition(api.clone(), &name, move |a: Option<&Application>| {
            a.is_some_and(|a| carries(&app_value(a), "/spec", &sources))
        })
    };
    wait(timeout, updated, &name, "updated to the upgraded spec").await?;
    let annotate = json!({"metadata": {"annotations": {REFRESH: "hard"}}});
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&annotate))
        .await
        .map_err(|e| env_error(format!("cannot ask for a refresh of `{name}`"), e))?;
    let compared = {
        let sources = sources.clone();
        await_condition(api.clone(), &name, move |a: Option<&Application>| {
            a.is_some_and(|a| {
                let refreshing = a
                    .metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|m| m.contains_key(REFRESH));
                !refreshing && carries(&app_value(a), "/status/sync/comparedTo", &sources)
            })
        })
    };
    let app = wait(
        timeout,
        compared,
        &name,
        "compared with the upgraded sources",
    )
    .await?;
    let resources = live
        .argocd
        .managed_resources(&name, &live.namespace)
        .await
        .map_err(|e| env_error(format!("cannot read the managed resources of `{name}`"), e))?;
    let previous = before.applications.get(&name);
    let mut revision_check = Check::new(Some(&name), "upgrade", Outcome::Passed);
    revision_check.detail = Some(match previous {
        Some(p) => format!("{} → {}", p.revision, revision(&app)),
        None => format!(
            "new in the upgrade (not generated by the previous release) → {}",
            revision(&app)
        ),
    });
    checks.push(revision_check);
    let after: BTreeMap<String, Option<Value>> = diff::managed(&resources)
        .into_iter()
        .map(|r| (r.key(), r.desired()))
        .collect();
    let empty = BTreeMap::new();
    let was = previous.map_or(&empty, |p| &p.resources);
    let mut keys: Vec<&String> = was.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let mut old = was.get(key).cloned();
        let mut new = after.get(key).cloned().flatten();
        if key.starts_with("Secret ") {
            diff::hide_secret_values(old.as_mut(), new.as_mut());
        }
        let mut c = Check::new(Some(&name), key.clone(), Outcome::Passed);
        c.detail = Some(change(old, new));
        checks.push(c);
    }
    Ok(checks)
}

/// What the upgrade does to one resource, in words and a unified diff
/// `--- previous release` / `+++ upgraded`.
fn change(old: Option<Value>, new: Option<Value>) -> String {
    let text = |v: Value| crate::yaml::to_string(&diff::strip_noise(v));
    const OLD: &str = "previous release";
    const NEW: &str = "upgraded";
    match (old, new) {
        (None, None) => "not in either release".to_string(),
        (None, Some(new)) => format!(
            "added by the upgrade\n{}",
            unified("", &text(new), OLD, NEW)
        ),
        (Some(old), None) => format!(
            "not in the upgraded release: left in place, pruned only by a sync with prune\n{}",
            unified(&text(old), "", OLD, NEW)
        ),
        (Some(old), Some(new)) => {
            let d = unified(&text(old), &text(new), OLD, NEW);
            if d.is_empty() {
                "unchanged by the upgrade".to_string()
            } else {
                format!("changed by the upgrade\n{d}")
            }
        }
    }
}

async fn wait(
    timeout: Duration,
    condition: impl std::future::Future<
        Output = Result<Option<Application>, kube::runtime::wait::Error>,
    >,
    name: &str,
    what: &str,
) -> Result<Application, Error> {
    match tokio::time::timeout(timeout, condition).await {
        Ok(Ok(Some(app))) => Ok(app),
        Ok(Ok(None)) => Err(env_error(
            format!("Application `{name}` disappeared during the upgrade"),
            anyhow::anyhow!("deleted while waiting until it was {what}"),
        )),
        Ok(Err(e)) => Err(env_error(format!("cannot watch Application `{name}`"), e)),
        Err(_) => Err(env_error(
            format!(
                "Application `{name}` was not {what} within {} (timeouts.setup)",
                humantime::format_duration(timeout)
            ),
            anyhow::anyhow!(
                "is the applicationset-controller or the application-controller running? \
                 see their logs in the diagnostics"
            ),
        )),
    }
}

/// `status.sync.revision`, or the list of `revisions` of a multi-source one.
fn revision(app: &Application) -> String {
    let Some(sync) = app.status().map(|s| &s.sync) else {
        return "(no revision)".to_string();
    };
    if !sync.revision.is_empty() {
        return short(&sync.revision);
    }
    if sync.revisions.is_empty() {
        return "(no revision)".to_string();
    }
    sync.revisions
        .iter()
        .map(|r| short(r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A commit as `git log --oneline` shows it; a chart version as it is.
fn short(r: &str) -> String {
    if r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        r[..7].to_string()
    } else {
        r.to_string()
    }
}

fn app_value(app: &Application) -> Value {
    serde_json::to_value(app).unwrap_or(Value::Null)
}

/// The planned `source` and `sources` of a spec.
fn planned_sources(spec: &Value) -> Value {
    json!({
        "source": spec.get("source").cloned().unwrap_or(Value::Null),
        "sources": spec.get("sources").cloned().unwrap_or(Value::Null),
    })
}

/// Whether the object at `at` in `app` (its spec, or what it was compared
/// to) carries the planned sources.
fn carries(app: &Value, at: &str, planned: &Value) -> bool {
    let Some(actual) = app.pointer(at) else {
        return false;
    };
    ["source", "sources"]
        .iter()
        .all(|k| covers(&planned[k], actual.get(*k).unwrap_or(&Value::Null)))
}

/// Whether `actual` has every non-empty value of `planned`: Argo CD's
/// objects leave out what is empty (Go's `omitempty`), so an empty planned
/// value says nothing.
fn covers(planned: &Value, actual: &Value) -> bool {
    match planned {
        v if is_empty(v) => true,
        Value::Object(fields) => fields
            .iter()
            .all(|(k, v)| covers(v, actual.get(k).unwrap_or(&Value::Null))),
        Value::Array(items) => actual.as_array().is_some_and(|a| {
            a.len() == items.len() && items.iter().zip(a).all(|(p, x)| covers(p, x))
        }),
        other => other == actual,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_sources_are_covered_by_what_omits_empty_values() {
        let planned = planned_sources(&json!({"source": {
            "repoURL": "http://127.0.0.1:4000", "chart": "fastapi-agent",
            "targetRevision": "0.2.0", "helm": {"values": "a: 1", "parameters": []}
        }}));
        let app = json!({"spec": {"source": {
            "repoURL": "http://127.0.0.1:4000", "chart": "fastapi-agent",
            "targetRevision": "0.2.0", "helm": {"values": "a: 1"}
        }}, "status": {"sync": {"comparedTo": {"source": {
            "repoURL": "http://127.0.0.1:4000", "chart": "fastapi-agent",
            "targetRevision": "0.1.0", "helm": {"values": "a: 1"}
        }}}}});
        assert!(carries(&app, "/spec", &planned));
        assert!(!carries(&app, "/status/sync/comparedTo", &planned));
        assert!(!carries(&json!({}), "/spec", &planned));
    }

    #[test]
    fn a_change_says_what_the_upgrade_does_to_the_resource() {
        let old = json!({"kind": "Deployment", "spec": {"replicas": 1}});
        let new = json!({"kind": "Deployment", "spec": {"replicas": 2}});
        let changed = change(Some(old.clone()), Some(new.clone()));
        assert!(
            changed.starts_with("changed by the upgrade\n--- previous release\n+++ upgraded"),
            "{changed}"
        );
        assert!(
            changed.contains("-  replicas: 1\n+  replicas: 2"),
            "{changed}"
        );
        assert_eq!(
            change(Some(old.clone()), Some(old.clone())),
            "unchanged by the upgrade"
        );
        assert!(change(None, Some(new)).starts_with("added by the upgrade"));
        assert!(change(Some(old), None).starts_with("not in the upgraded release"));
    }

    #[test]
    fn a_commit_revision_is_shortened_and_a_chart_version_kept() {
        assert_eq!(short("0123456789abcdef0123456789abcdef01234567"), "0123456");
        assert_eq!(short("0.2.0"), "0.2.0");
    }
}
