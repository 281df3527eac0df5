//! Small named predicates over Argo CD objects, for step 4 (sync + wait) and
//! step 3 (count).
//!
//! Each predicate has a twin shaped for `kube::runtime::wait::await_condition`
//! (`Fn(Option<&Application>) -> bool`, false while the object is absent), e.g.
//! `timeout(d, await_condition(api, name, done_or_failed()))`.

use crate::argocd::resources::{Application, ApplicationSet};

use super::{qualified, quote};

/// Condition types that mean the Application cannot reach its desired state.
const ERROR_CONDITIONS: [&str; 3] = ["SyncError", "ComparisonError", "InvalidSpecError"];

/// `status.sync.status` is `Synced`.
pub fn is_synced(app: &Application) -> bool {
    app.sync_status() == "Synced"
}

/// `status.health.status` is `Healthy`.
pub fn is_healthy(app: &Application) -> bool {
    app.health_status() == "Healthy"
}

/// Whether an operation is still under way, as `argocd app wait` decides it:
/// an operation is requested (`.operation` set), or the last one has not
/// finished, or the controller has not reconciled the app since it finished
/// (dry runs excepted).
pub fn operation_in_progress(app: &Application) -> bool {
    if app.operation().is_some() {
        return true;
    }
    let Some(op) = app.operation_state() else {
        return false;
    };
    let Some(finished) = op.finished_at.as_ref() else {
        return true;
    };
    if op.dry_run() {
        return false;
    }
    let reconciled = app.status().and_then(|s| s.reconciled_at.as_ref());
    reconciled.is_none_or(|r| r < finished)
}

/// No operation under way, Synced and Healthy.
pub fn is_done(app: &Application) -> bool {
    !operation_in_progress(app) && is_synced(app) && is_healthy(app)
}

/// The last operation ended `Failed` or `Error` (and no new one is requested),
/// or the Application carries a `SyncError`, `ComparisonError` or
/// `InvalidSpecError` condition.
pub fn has_failed(app: &Application) -> bool {
    let phase_failed = app.operation().is_none()
        && app
            .operation_state()
            .is_some_and(|op| matches!(op.phase.as_str(), "Failed" | "Error"));
    phase_failed
        || app
            .conditions()
            .iter()
            .any(|c| ERROR_CONDITIONS.contains(&c.type_.as_str()))
}

/// Why the Application is not done, quoting Argo CD: the operation's phase and
/// message, the resources that failed to sync, and the error conditions; when
/// none of those exist, its sync and health status.
pub fn failure_message(app: &Application) -> String {
    let mut parts = Vec::new();
    if let Some(op) = app.operation_state() {
        // A succeeded operation's message ("successfully synced") explains nothing.
        if op.phase != "Succeeded"
            && (matches!(op.phase.as_str(), "Failed" | "Error") || !op.message.is_empty())
        {
            let mut s = format!("operation {}", op.phase);
            if !op.message.is_empty() {
                s.push_str(&format!(": {}", quote(&op.message)));
            }
            parts.push(s);
        }
        let failed = op
            .sync_result
            .iter()
            .flat_map(|r| &r.resources)
            .filter(|r| {
                r.status == "SyncFailed" || matches!(r.hook_phase.as_str(), "Failed" | "Error")
            });
        for r in failed {
            let status = if r.status.is_empty() {
                &r.hook_phase
            } else {
                &r.status
            };
            let mut s = format!("{} {} {status}", r.kind, qualified(&r.namespace, &r.name));
            if !r.message.is_empty() {
                s.push_str(&format!(": {}", quote(&r.message)));
            }
            parts.push(s);
        }
    }
    for c in app.conditions() {
        if ERROR_CONDITIONS.contains(&c.type_.as_str()) {
            parts.push(format!("{}: {}", c.type_, quote(&c.message)));
        }
    }
    if parts.is_empty() || !(is_synced(app) && is_healthy(app)) {
        let unset = |s: &str| {
            if s.is_empty() {
                "unknown".to_string()
            } else {
                s.to_string()
            }
        };
        let mut s = format!(
            "sync status {}, health {}",
            unset(app.sync_status()),
            unset(app.health_status())
        );
        let health_message = app.status().map_or("", |s| s.health.message.as_str());
        if !health_message.is_empty() {
            s.push_str(&format!(" ({})", quote(health_message)));
        }
        if operation_in_progress(app) {
            s.push_str(", operation still in progress");
        }
        parts.push(s);
    }
    parts.join("; ")
}

/// The ApplicationSet's `ErrorOccurred=True` condition, as `Reason: "message"`.
pub fn appset_error(appset: &ApplicationSet) -> Option<String> {
    appset
        .conditions()
        .iter()
        .find(|c| c.type_ == "ErrorOccurred" && c.status == "True")
        .map(|c| {
            if c.reason.is_empty() {
                quote(&c.message)
            } else {
                format!("{}: {}", c.reason, quote(&c.message))
            }
        })
}

/// [`is_synced`] for `await_condition`.
pub fn synced() -> impl Fn(Option<&Application>) -> bool {
    |app| app.is_some_and(is_synced)
}

/// [`is_healthy`] for `await_condition`.
pub fn healthy() -> impl Fn(Option<&Application>) -> bool {
    |app| app.is_some_and(is_healthy)
}

/// [`is_done`] for `await_condition`.
pub fn done() -> impl Fn(Option<&Application>) -> bool {
    |app| app.is_some_and(is_done)
}

/// [`has_failed`] for `await_condition`.
pub fn failed() -> impl Fn(Option<&Application>) -> bool {
    |app| app.is_some_and(has_failed)
}

/// Done or failed: stop waiting as soon as the outcome is known; tell the two
/// apart with [`is_done`] on the returned object.
pub fn done_or_failed() -> impl Fn(Option<&Application>) -> bool {
    |app| app.is_some_and(|a| is_done(a) || has_failed(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argocd::resources::fixtures::{failed_appset, synced_app};
    use serde_json::{Value, json};

    fn app(v: Value) -> Application {
        serde_json::from_value(v).expect("valid Application")
    }

    /// Sets `pointer` (whose parent object must exist) to `value`.
    fn with(mut v: Value, pointer: &str, value: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let obj = v
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("parent object");
        obj.insert(key.to_string(), value);
        v
    }

    fn without(mut v: Value, parent: &str, key: &str) -> Value {
        if let Some(obj) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
            obj.remove(key);
        }
        v
    }

    #[test]
    fn synced_and_healthy() {
        let a = app(synced_app());
        assert!(is_synced(&a));
        assert!(is_healthy(&a));
        let b = app(with(
            synced_app(),
            "/status/sync/status",
            json!("OutOfSync"),
        ));
        assert!(!is_synced(&b));
        let c = app(with(
            synced_app(),
            "/status/health/status",
            json!("Progressing"),
        ));
        assert!(!is_healthy(&c));
    }

    #[test]
    fn finished_and_reconciled_is_not_in_progress() {
        let a = app(synced_app());
        assert!(!operation_in_progress(&a));
        assert!(is_done(&a));
    }

    #[test]
    fn requested_operation_is_in_progress() {
        let mut v = synced_app();
        v["operation"] = json!({"sync": {"prune": true}});
        let a = app(v);
        assert!(operation_in_progress(&a));
        assert!(!is_done(&a));
    }

    #[test]
    fn unfinished_operation_is_in_progress() {
        let v = without(synced_app(), "/status/operationState", "finishedAt");
        let v = with(v, "/status/operationState/phase", json!("Running"));
        assert!(operation_in_progress(&app(v)));
    }

    #[test]
    fn not_reconciled_since_finish_is_in_progress() {
        let v = with(
            synced_app(),
            "/status/reconciledAt",
            json!("2026-11-26T20:01:04Z"),
        );
        assert!(operation_in_progress(&app(v)));
        let v = without(synced_app(), "/status", "reconciledAt");
        assert!(operation_in_progress(&app(v)));
    }

    #[test]
    fn dry_run_does_not_wait_for_reconcile() {
        let v = with(
            synced_app(),
            "/status/reconciledAt",
            json!("2026-11-26T20:01:04Z"),
        );
        let v = with(
            v,
            "/status/operationState/operation/sync/dryRun",
            json!(true),
        );
        assert!(!operation_in_progress(&app(v)));
    }

    #[test]
    fn never_synced_app_is_not_in_progress_nor_done() {
        let v = without(synced_app(), "/status", "operationState");
        let v = with(v, "/status/sync/status", json!("OutOfSync"));
        let v = with(v, "/status/health/status", json!("Missing"));
        let a = app(v);
        assert!(!operation_in_progress(&a));
        assert!(!is_done(&a));
        assert!(!has_failed(&a));
        assert_eq!(failure_message(&a), "sync status OutOfSync, health Missing");
    }

    #[test]
    fn failed_operation_is_failure_with_message() {
        let v = with(
            synced_app(),
            "/status/operationState/phase",
            json!("Failed"),
        );
        let v = with(
            v,
            "/status/operationState/message",
            json!(
                "one or more objects failed to apply, reason: Deployment.apps \"fastapi-agent\" is invalid"
            ),
        );
        let v = with(
            v,
            "/status/operationState/syncResult/resources/0/status",
            json!("SyncFailed"),
        );
        let v = with(
            v,
            "/status/operationState/syncResult/resources/0/message",
            json!("Deployment.apps \"fastapi-agent\" is invalid: spec.replicas: Invalid value: -1"),
        );
        let v = with(v, "/status/sync/status", json!("OutOfSync"));
        let a = app(v);
        assert!(has_failed(&a));
        assert_eq!(
            failure_message(&a),
            "operation Failed: \"one or more objects failed to apply, reason: Deployment.apps \"fastapi-agent\" is invalid\"; \
             Deployment agents/fastapi-agent SyncFailed: \"Deployment.apps \"fastapi-agent\" is invalid: spec.replicas: Invalid value: -1\"; \
             sync status OutOfSync, health Healthy"
        );
    }

    #[test]
    fn running_operation_message_is_quoted() {
        let v = without(synced_app(), "/status/operationState", "finishedAt");
        let v = with(v, "/status/operationState/phase", json!("Running"));
        let v = with(
            v,
            "/status/operationState/message",
            json!("waiting for healthy state of apps/Deployment/fastapi-agent"),
        );
        let v = with(v, "/status/health/status", json!("Progressing"));
        assert_eq!(
            failure_message(&app(v)),
            "operation Running: \"waiting for healthy state of apps/Deployment/fastapi-agent\"; \
             sync status Synced, health Progressing, operation still in progress"
        );
    }

    #[test]
    fn error_phase_is_failure() {
        let a = app(with(
            synced_app(),
            "/status/operationState/phase",
            json!("Error"),
        ));
        assert!(has_failed(&a));
    }

    #[test]
    fn stale_failure_does_not_count_while_a_new_operation_is_requested() {
        let mut v = with(
            synced_app(),
            "/status/operationState/phase",
            json!("Failed"),
        );
        v["operation"] = json!({"sync": {}});
        assert!(!has_failed(&app(v)));
    }

    #[test]
    fn error_conditions_are_failures_and_quoted() {
        let v = with(
            synced_app(),
            "/status/conditions",
            json!([
                {"type": "ComparisonError", "message": "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = error fetching chart: failed to fetch chart: failed to get index: 404 Not Found",
                 "lastTransitionTime": "2026-11-26T20:00:00Z"},
                {"type": "OrphanedResourceWarning", "message": "ignored"}
            ]),
        );
        let v = with(v, "/status/sync/status", json!("Unknown"));
        let v = without(v, "/status", "operationState");
        let a = app(v);
        assert!(has_failed(&a));
        assert_eq!(
            failure_message(&a),
            "ComparisonError: \"Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = error fetching chart: failed to fetch chart: failed to get index: 404 Not Found\"; \
             sync status Unknown, health Healthy"
        );
        for t in ["SyncError", "InvalidSpecError"] {
            let v = with(
                synced_app(),
                "/status/conditions",
                json!([{"type": t, "message": "m"}]),
            );
            assert!(has_failed(&app(v)), "{t}");
        }
        let v = with(
            synced_app(),
            "/status/conditions",
            json!([{"type": "OrphanedResourceWarning", "message": "m"}]),
        );
        assert!(!has_failed(&app(v)));
    }

    #[test]
    fn degraded_health_message_is_quoted() {
        let v = with(
            synced_app(),
            "/status/health",
            json!({"status": "Degraded", "message": "Deployment \"fastapi-agent\" exceeded its progress deadline"}),
        );
        let a = app(v);
        assert_eq!(
            failure_message(&a),
            "sync status Synced, health Degraded (\"Deployment \"fastapi-agent\" exceeded its progress deadline\")"
        );
    }

    #[test]
    fn await_condition_shapes() {
        let a = app(synced_app());
        assert!(!done()(None));
        assert!(!failed()(None));
        assert!(!done_or_failed()(None));
        assert!(done()(Some(&a)));
        assert!(synced()(Some(&a)));
        assert!(healthy()(Some(&a)));
        assert!(!failed()(Some(&a)));
        assert!(done_or_failed()(Some(&a)));
        let f = app(with(
            synced_app(),
            "/status/operationState/phase",
            json!("Failed"),
        ));
        assert!(done_or_failed()(Some(&f)));
        assert!(failed()(Some(&f)));
    }

    #[test]
    fn appset_error_quotes_reason_and_message() {
        let s: ApplicationSet = serde_json::from_value(failed_appset()).expect("valid");
        assert_eq!(
            appset_error(&s).as_deref(),
            Some(
                "RenderTemplateParamsError: \"failed to execute go template fastapi-agent-{{.server}}: map has no entry for key \"server\"\""
            )
        );
        let mut v = failed_appset();
        v["status"]["conditions"][0]["status"] = json!("False");
        let s: ApplicationSet = serde_json::from_value(v).expect("valid");
        assert_eq!(appset_error(&s), None);
        let mut v = failed_appset();
        v.as_object_mut().map(|o| o.remove("status"));
        let s: ApplicationSet = serde_json::from_value(v).expect("valid");
        assert_eq!(appset_error(&s), None);
    }
}
