//! Step 2, diff: the ApplicationSet is applied (step 1 showed the API server
//! accepts it), and once the applicationset-controller has reconciled it,
//! each generated Application shows what a sync would change, per managed
//! resource (`GET /api/v1/applications/{name}/managed-resources`). Manual
//! Applications are diffed before step 4 syncs them.
//!
//! Diffs are informational: a resource that would change is not a failure, so
//! its check passes and carries the unified diff in `detail`.

use std::time::Duration;

use async_trait::async_trait;
use kube::runtime::wait::await_condition;
use serde::Deserialize;
use serde_json::Value;

use super::{Step, StepOutput, qualified, unified};
use crate::argocd::install::{self, Mode};
use crate::argocd::resources::{Application, ApplicationSet};
use crate::check::{Check, Outcome, StepKind};
use crate::error::Error;
use crate::events::Sink;
use crate::live::{Live, env_error};

pub struct Diff;

#[async_trait]
impl Step for Diff {
    fn kind(&self) -> StepKind {
        StepKind::Diff
    }

    async fn run(&self, live: &Live, _sink: &dyn Sink) -> Result<StepOutput, Error> {
        apply_appset(live, live.appset_to_apply()).await?;
        if let Some(before) = &live.before {
            let checks = super::upgrade::compare_upgraded(live, before).await?;
            return Ok(StepOutput::checks(checks));
        }
        let owned = live.owned_applications().await?;
        if owned.is_empty() {
            return Ok(StepOutput::skipped("no Application was generated"));
        }
        // Each Application is awaited and read on its own, all at once: the
        // controller compares them in parallel, and so the step waits for
        // the slowest, not for their sum.
        let reads = owned.iter().map(|app| async move {
            let name = app.metadata.name.clone().unwrap_or_default();
            // The controller must have compared once for the diff to exist;
            // if it has not within the time, the diff says what it has.
            let compared =
                await_condition(live.applications(), &name, |a: Option<&Application>| {
                    a.is_some_and(|a| !a.sync_status().is_empty())
                });
            let _ = tokio::time::timeout(live.setup_timeout, compared).await;
            let resources = live
                .argocd
                .managed_resources(&name, &live.namespace)
                .await
                .map_err(|e| {
                    env_error(format!("cannot read the managed resources of `{name}`"), e)
                })?;
            Ok::<_, Error>(diff_checks(&name, &resources))
        });
        let checks = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        Ok(StepOutput::checks(checks))
    }
}

/// Applies an ApplicationSet (as [`Live::to_apply`] gives it) and waits
/// until the applicationset-controller has reconciled it once: its resources
/// are up to date, or it reports an error (which step 3 shows).
pub(crate) async fn apply_appset(live: &Live, appset: Value) -> Result<ApplicationSet, Error> {
    let hub = live.hub();
    install::apply(
        &hub.client,
        "the ApplicationSet",
        &[appset],
        &live.namespace,
        Mode::default(),
    )
    .await
    .map_err(|e| {
        env_error(
            format!("cannot apply the ApplicationSet on cluster `{}`", hub.name),
            e,
        )
    })?;
    let name = live.appset_name().to_string();
    let reconciled = await_condition(
        live.application_sets(),
        &name,
        |a: Option<&ApplicationSet>| a.is_some_and(reconciled),
    );
    let timeout = live.setup_timeout.max(Duration::from_secs(1));
    match tokio::time::timeout(timeout, reconciled).await {
        Ok(Ok(Some(appset))) => Ok(appset),
        Ok(Ok(None)) => Err(env_error(
            format!("ApplicationSet `{name}` disappeared"),
            anyhow::anyhow!("deleted while waiting for its first reconciliation"),
        )),
        Ok(Err(e)) => Err(env_error(
            format!("cannot watch ApplicationSet `{name}`"),
            e,
        )),
        Err(_) => Err(env_error(
            format!(
                "ApplicationSet `{name}` was not reconciled within {} (timeouts.setup)",
                humantime::format_duration(timeout)
            ),
            anyhow::anyhow!(
                "is the applicationset-controller running? see its log in the diagnostics"
            ),
        )),
    }
}

/// Whether the applicationset-controller has reconciled the ApplicationSet.
pub fn reconciled(appset: &ApplicationSet) -> bool {
    appset.conditions().iter().any(|c| {
        (c.type_ == "ResourcesUpToDate" || c.type_ == "ErrorOccurred") && c.status == "True"
    })
}

/// Fields that change on every write, or that Argo CD does not manage.
const NOISY_METADATA: [&str; 5] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
];
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The Deployment controller's rollout counter: not Argo CD's to manage.
const DEPLOYMENT_REVISION: &str = "deployment.kubernetes.io/revision";

/// One item of `GET /api/v1/applications/{name}/managed-resources`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ManagedResource {
    group: String,
    kind: String,
    namespace: String,
    name: String,
    target_state: Option<String>,
    live_state: Option<String>,
    normalized_live_state: Option<String>,
    predicted_live_state: Option<String>,
    modified: bool,
}

/// One check per managed resource of `application`, named `Kind ns/name`,
/// always passed, with the change in `detail`: `in sync`, `would be created`
/// plus the desired YAML, `would be pruned` plus the live YAML, or a unified
/// diff `--- live` / `+++ desired`.
///
/// `managed_resources` is the argocd-server response (`{"items": [...]}`);
/// items that are not objects are skipped.
pub fn diff_checks(application: &str, managed_resources: &Value) -> Vec<Check> {
    managed(managed_resources)
        .iter()
        .map(|r| resource_check(application, r))
        .collect()
}

/// The items of a managed-resources response that read as resources.
pub(crate) fn managed(managed_resources: &Value) -> Vec<ManagedResource> {
    managed_resources
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| ManagedResource::deserialize(item).ok())
        .collect()
}

impl ManagedResource {
    /// How a check names it: `Kind ns/name`.
    pub(crate) fn key(&self) -> String {
        format!("{} {}", self.kind, qualified(&self.namespace, &self.name))
    }

    /// The live object as Argo CD compares it, if it exists.
    pub(crate) fn live(&self) -> Option<Value> {
        parse_state(&self.normalized_live_state).or_else(|| parse_state(&self.live_state))
    }

    /// The object after a sync: the predicted state is the live object with
    /// the desired one applied (defaults and fields of other managers kept),
    /// so comparing with it shows only real changes.
    pub(crate) fn desired(&self) -> Option<Value> {
        parse_state(&self.predicted_live_state).or_else(|| parse_state(&self.target_state))
    }
}

fn resource_check(application: &str, r: &ManagedResource) -> Check {
    let name = r.key();
    let mut live = r.live();
    let mut desired = r.desired();
    if r.kind == "Secret" && r.group.is_empty() {
        hide_secret_values(live.as_mut(), desired.as_mut());
    }
    let detail = match (live, desired) {
        (None, None) => "no live or desired state reported".to_string(),
        (None, Some(desired)) => {
            let desired = crate::yaml::to_string(&strip_noise(desired));
            format!(
                "would be created\n{}",
                unified("", &desired, "live", "desired")
            )
        }
        (Some(live), None) => {
            let live = crate::yaml::to_string(&strip_noise(live));
            format!(
                "not in the desired state: would be pruned by a sync with prune\n{}",
                unified(&live, "", "live", "desired")
            )
        }
        (Some(live), Some(desired)) => {
            let live = crate::yaml::to_string(&strip_noise(live));
            let desired = crate::yaml::to_string(&strip_noise(desired));
            let diff = unified(&live, &desired, "live", "desired");
            match (r.modified, diff.is_empty()) {
                (false, _) => "in sync".to_string(),
                (true, false) => diff,
                (true, true) => {
                    "modified (Argo CD reports a difference in fields not shown)".to_string()
                }
            }
        }
    };
    let mut c = Check::new(Some(application), name, Outcome::Passed);
    c.detail = Some(detail);
    c
}

/// A state as argocd-server sends it: a JSON document in a string, empty or
/// `null` when the object does not exist on that side.
fn parse_state(text: &Option<String>) -> Option<Value> {
    match serde_json::from_str::<Value>(text.as_deref()?.trim()) {
        Ok(Value::Null) | Err(_) => None,
        Ok(v) => Some(v),
    }
}

/// A Secret's values never reach a report: each value of `data` and
/// `stringData` becomes `(hidden)`, or `(hidden, changed)` on the desired side
/// where it differs from the live one, so the diff still says which keys a
/// sync would change. (argocd-server masks them too; this does not rely on it.)
pub(crate) fn hide_secret_values(mut live: Option<&mut Value>, mut desired: Option<&mut Value>) {
    const HIDDEN: &str = "(hidden)";
    for field in ["data", "stringData"] {
        let live_values = live
            .as_deref()
            .and_then(|l| l.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(values) = desired
            .as_deref_mut()
            .and_then(|d| d.get_mut(field))
            .and_then(Value::as_object_mut)
        {
            for (key, value) in values.iter_mut() {
                let changed = live_values.get(key).is_some_and(|l| l != value);
                *value = Value::String(if changed { "(hidden, changed)" } else { HIDDEN }.into());
            }
        }
        if let Some(values) = live
            .as_deref_mut()
            .and_then(|l| l.get_mut(field))
            .and_then(Value::as_object_mut)
        {
            for value in values.values_mut() {
                *value = Value::String(HIDDEN.into());
            }
        }
    }
}

/// Removes fields that differ on every object and say nothing about the change.
pub(crate) fn strip_noise(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in NOISY_METADATA {
                meta.remove(key);
            }
            let empty = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
                Some(annotations) => {
                    annotations.remove(LAST_APPLIED);
                    annotations.remove(DEPLOYMENT_REVISION);
                    annotations.is_empty()
                }
                None => false,
            };
            if empty {
                meta.remove("annotations");
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: u32, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "fastapi-agent", "namespace": "agents",
                         "labels": {"app.kubernetes.io/instance": "fastapi-agent-prod"}},
            "spec": {"replicas": replicas,
                     "template": {"spec": {"containers": [{"name": "api", "image": image}]}}}
        })
    }

    fn live(mut v: Value) -> Value {
        let meta = &mut v["metadata"];
        meta["uid"] = json!("1234");
        meta["resourceVersion"] = json!("999");
        meta["generation"] = json!(3);
        meta["creationTimestamp"] = json!("2026-11-26T20:00:00Z");
        meta["managedFields"] = json!([{"manager": "argocd-controller"}]);
        meta["annotations"] = json!({LAST_APPLIED: "{}"});
        v["status"] = json!({"readyReplicas": 2});
        v
    }

    fn item(target: Option<Value>, live: Option<Value>, modified: bool) -> Value {
        let s = |v: &Option<Value>| v.as_ref().map_or("null".to_string(), Value::to_string);
        json!({
            "group": "apps", "kind": "Deployment", "namespace": "agents", "name": "fastapi-agent",
            "targetState": s(&target), "liveState": s(&live), "normalizedLiveState": s(&live),
            "predictedLiveState": s(&target), "modified": modified
        })
    }

    #[test]
    fn changed_resource_shows_a_unified_diff_and_passes() {
        let resp = json!({"items": [item(
            Some(deployment(5, "ghcr.io/your-org/fastapi-agent:1.2.0")),
            Some(live(deployment(2, "ghcr.io/your-org/fastapi-agent:1.2.0"))),
            true,
        )]});
        let checks = diff_checks("fastapi-agent-prod", &resp);
        assert_eq!(checks.len(), 1);
        let c = &checks[0];
        assert_eq!(c.name, "Deployment agents/fastapi-agent");
        assert_eq!(c.application.as_deref(), Some("fastapi-agent-prod"));
        assert_eq!(c.outcome, Outcome::Passed);
        let d = c.detail.as_deref().expect("detail");
        assert!(d.starts_with("--- live\n+++ desired\n@@"), "{d}");
        assert!(d.contains("\n-  replicas: 2\n"), "{d}");
        assert!(d.contains("\n+  replicas: 5\n"), "{d}");
        for noise in [
            "resourceVersion",
            "managedFields",
            "uid",
            "readyReplicas",
            "last-applied",
            "annotations",
        ] {
            assert!(!d.contains(noise), "{noise} in {d}");
        }
    }

    #[test]
    fn missing_live_object_would_be_created() {
        let resp = json!({"items": [item(Some(deployment(5, "img:1")), None, true)]});
        let d = diff_checks("a", &resp)[0].detail.clone().expect("detail");
        assert!(
            d.starts_with("would be created\n--- live\n+++ desired\n@@ -0,0 +1,"),
            "{d}"
        );
        assert!(d.contains("\n+kind: Deployment\n"), "{d}");
        assert!(
            !d.lines()
                .any(|l| l.starts_with('-') && !l.starts_with("---")),
            "{d}"
        );
    }

    #[test]
    fn empty_strings_count_as_absent() {
        let mut it = item(Some(deployment(5, "img:1")), None, true);
        it["liveState"] = json!("");
        it["normalizedLiveState"] = json!("");
        let d = diff_checks("a", &json!({"items": [it]}))[0]
            .detail
            .clone()
            .expect("detail");
        assert!(d.starts_with("would be created\n"), "{d}");
    }

    #[test]
    fn live_only_would_be_pruned() {
        let resp = json!({"items": [item(None, Some(live(deployment(1, "img:0"))), true)]});
        let d = diff_checks("a", &resp)[0].detail.clone().expect("detail");
        assert!(
            d.starts_with("not in the desired state: would be pruned"),
            "{d}"
        );
        assert!(d.contains("\n-kind: Deployment\n"), "{d}");
    }

    #[test]
    fn unchanged_is_in_sync() {
        let resp = json!({"items": [item(
            Some(deployment(5, "img:1")), Some(live(deployment(5, "img:1"))), false,
        )]});
        let c = &diff_checks("a", &resp)[0];
        assert_eq!(c.detail.as_deref(), Some("in sync"));
        assert_eq!(c.outcome, Outcome::Passed);
    }

    #[test]
    fn cluster_scoped_and_bad_input() {
        let resp = json!({"items": [
            {"kind": "Namespace", "name": "agents", "targetState": "{\"kind\":\"Namespace\"}",
             "liveState": "not json", "modified": true},
            "garbage",
            {"kind": 5}
        ]});
        let checks = diff_checks("a", &resp);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].name, "Namespace agents");
        assert!(
            checks[0]
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with("would be created"))
        );
        assert!(diff_checks("a", &json!(null)).is_empty());
        assert!(diff_checks("a", &json!({"items": null})).is_empty());
        let nulls = json!({"items": [{"kind": "Service", "namespace": "agents", "name": "api",
                                      "targetState": "{\"kind\":\"Service\"}", "liveState": null}]});
        let checks = diff_checks("a", &nulls);
        assert!(
            checks[0]
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with("would be created"))
        );
    }

    #[test]
    fn secret_values_never_reach_the_report_but_changed_keys_show() {
        let secret = |token: &str, extra: Option<&str>| {
            let mut data = json!({"token": token});
            if let Some(e) = extra {
                data["extra"] = json!(e);
            }
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "ecr-prod", "namespace": "agents"},
                   "data": data, "stringData": {"password": format!("pw-{token}")}})
        };
        let item = json!({
            "group": "", "kind": "Secret", "namespace": "agents", "name": "ecr-prod",
            "targetState": secret("bmV3LXNlY3JldA==", Some("c2FtZQ==")).to_string(),
            "liveState": secret("b2xkLXNlY3JldA==", None).to_string(),
            "predictedLiveState": secret("bmV3LXNlY3JldA==", Some("c2FtZQ==")).to_string(),
            "modified": true
        });
        let checks = diff_checks("fastapi-agent-prod", &json!({"items": [item]}));
        let d = checks[0].detail.as_deref().expect("detail");
        for secret in ["bmV3LXNlY3JldA==", "b2xkLXNlY3JldA==", "c2FtZQ==", "pw-"] {
            assert!(!d.contains(secret), "{secret} in {d}");
        }
        assert!(d.contains("+  token: (hidden, changed)"), "{d}");
        assert!(d.contains("-  token: (hidden)"), "{d}");
        assert!(d.contains("+  extra: (hidden)"), "{d}");
    }
}
