//! Step 2, diff: what a sync would change, per managed resource; and step 1's
//! comparison of the offline plan with Argo CD's own generation.
//!
//! Diffs are informational: a resource that would change is not a failure, so
//! its check passes and carries the unified diff in `detail`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::appset::GeneratedApp;
use crate::report::{Check, Outcome};

use super::{check, failed, qualified, unified};

/// Fields that change on every write, or that Argo CD does not manage.
const NOISY_METADATA: [&str; 5] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
];
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// One item of `GET /api/v1/applications/{name}/managed-resources`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ManagedResource {
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
    let items = managed_resources
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|item| ManagedResource::deserialize(item).ok())
        .map(|r| resource_check(application, &r))
        .collect()
}

fn resource_check(application: &str, r: &ManagedResource) -> Check {
    let name = format!("{} {}", r.kind, qualified(&r.namespace, &r.name));
    let live = parse_state(&r.normalized_live_state).or_else(|| parse_state(&r.live_state));
    // The predicted state is the live object after the sync (defaults and
    // fields of other managers kept): comparing with it shows only real changes.
    let desired = parse_state(&r.predicted_live_state).or_else(|| parse_state(&r.target_state));
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
    let mut c = check(Some(application), name, Outcome::Passed);
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

/// Removes fields that differ on every object and say nothing about the change.
fn strip_noise(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in NOISY_METADATA {
                meta.remove(key);
            }
            let empty = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
                Some(annotations) => {
                    annotations.remove(LAST_APPLIED);
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

/// Step 1: the plan's Applications against Argo CD's own generation (the
/// `applications` of `POST /api/v1/applicationsets/generate`). Passes when the
/// names are the same and each spec is equal once zero values are dropped
/// (Go's `omitempty` drops them on Argo CD's side: nulls, empty strings,
/// `false`, empty maps and lists). Fails listing the names on one side only
/// and, in `detail`, a unified diff of each spec that differs.
pub fn generation_check(plan: &[GeneratedApp], argocd: &[Value]) -> Check {
    let name = "Argo CD generates the planned Applications";
    let ours: BTreeMap<String, Value> = plan
        .iter()
        .map(|a| (a.name.clone(), normalize(a.spec())))
        .collect();
    let theirs: BTreeMap<String, Value> = argocd
        .iter()
        .map(|a| {
            let name = a
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)")
                .to_string();
            let spec = a.get("spec").cloned().unwrap_or(Value::Null);
            (name, normalize(spec))
        })
        .collect();

    let only_plan: Vec<&str> = ours
        .keys()
        .filter(|k| !theirs.contains_key(*k))
        .map(String::as_str)
        .collect();
    let only_argocd: Vec<&str> = theirs
        .keys()
        .filter(|k| !ours.contains_key(*k))
        .map(String::as_str)
        .collect();
    let mut differ = Vec::new();
    let mut diffs = Vec::new();
    for (app, spec) in &ours {
        let Some(other) = theirs.get(app) else {
            continue;
        };
        if spec != other {
            differ.push(app.as_str());
            let plan_yaml = crate::yaml::to_string(spec);
            let argocd_yaml = crate::yaml::to_string(other);
            diffs.push(format!(
                "spec of {app}:\n{}",
                unified(&plan_yaml, &argocd_yaml, "plan", "argocd")
            ));
        }
    }
    if only_plan.is_empty() && only_argocd.is_empty() && differ.is_empty() {
        return check(None, name, Outcome::Passed);
    }
    let mut parts = Vec::new();
    if !only_plan.is_empty() {
        parts.push(format!("only in the plan: {}", only_plan.join(", ")));
    }
    if !only_argocd.is_empty() {
        parts.push(format!("only in Argo CD: {}", only_argocd.join(", ")));
    }
    if !differ.is_empty() {
        parts.push(format!("spec differs: {}", differ.join(", ")));
    }
    let reason = parts.join("; ");
    let mut detail = parts.join("\n");
    for d in diffs {
        detail.push_str("\n\n");
        detail.push_str(&d);
    }
    let mut c = check(None, name, failed(reason));
    c.detail = Some(detail);
    c
}

/// Drops zero values recursively, as Go's `omitempty` would on Argo CD's side.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let map: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (k, normalize(v)))
                .filter(|(_, v)| !is_zero(v))
                .collect();
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
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

    fn planned(name: &str, spec: Value) -> GeneratedApp {
        GeneratedApp {
            name: name.into(),
            manifest: json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                             "metadata": {"name": name}, "spec": spec}),
            params: json!({}),
        }
    }

    fn generated(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "argocd", "creationTimestamp": null},
               "spec": spec, "status": {"sync": {"status": ""}, "health": {}}})
    }

    fn spec(ns: &str) -> Value {
        json!({"project": "default",
               "source": {"repoURL": "https://github.com/your-org/helm-charts", "chart": "fastapi-agent",
                          "targetRevision": "1.2.0", "helm": {"valuesObject": {"replicaCount": 5}}},
               "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}})
    }

    #[test]
    fn generation_matches_after_normalising() {
        let mut ours = spec("agents");
        ours["syncPolicy"] = json!({"syncOptions": [], "automated": null});
        ours["destination"]["name"] = json!("");
        let mut theirs = spec("agents");
        theirs["source"]["helm"]["skipCrds"] = json!(false);
        let c = generation_check(&[planned("a-dev", ours)], &[generated("a-dev", theirs)]);
        assert_eq!(c.name, "Argo CD generates the planned Applications");
        assert_eq!(c.outcome, Outcome::Passed);
        assert_eq!(c.detail, None);
    }

    #[test]
    fn generation_lists_both_sides_and_diffs_specs() {
        let mut ours = spec("agents");
        ours["source"]["helm"] = json!({"valuesInline": {"replicaCount": 5}});
        let theirs = spec("agents");
        let mut theirs_prod = theirs.clone();
        theirs_prod["source"]
            .as_object_mut()
            .map(|s| s.remove("helm"));
        let c = generation_check(
            &[
                planned("a-dev", spec("agents")),
                planned("a-prod", ours),
                planned("a-qa", spec("qa")),
            ],
            &[
                generated("a-dev", theirs),
                generated("a-prod", theirs_prod),
                generated("a-staging", spec("s")),
            ],
        );
        assert_eq!(
            c.outcome,
            Outcome::Failed {
                reason: "only in the plan: a-qa; only in Argo CD: a-staging; spec differs: a-prod"
                    .into()
            }
        );
        let d = c.detail.as_deref().expect("detail");
        assert!(
            d.starts_with("only in the plan: a-qa\nonly in Argo CD: a-staging\nspec differs: a-prod\n\nspec of a-prod:\n--- plan\n+++ argocd\n"),
            "{d}"
        );
        assert!(d.contains("\n-    valuesInline:\n"), "{d}");
        assert!(!d.contains("spec of a-dev"), "{d}");
    }

    #[test]
    fn generation_tolerates_nameless_items() {
        let c = generation_check(&[], &[json!("garbage")]);
        assert_eq!(
            c.outcome,
            Outcome::Failed {
                reason: "only in Argo CD: (unnamed)".into()
            }
        );
    }
}
