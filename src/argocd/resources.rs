//! Argo CD's `Application` and `ApplicationSet` as typed kube resources.
//!
//! Only what the harness reads is typed; the rest of each spec is kept as JSON
//! so that nothing is lost on a round trip. Field names follow
//! `pkg/apis/application/v1alpha1/types.go` in argoproj/argo-cd.
//!
//! The Application CRD has no status subresource: `status` and `operation` are
//! plain top-level fields, so `Application` is derived with `no_spec` and its
//! body is [`ApplicationFields`]. Status types here keep only what the harness
//! reads, so never write back (PUT) an Application read through this type: a
//! sync is a merge patch of `.operation`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of an Argo CD `Application`: `spec`, `status` and `operation`, all
/// at the top level of the object.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Application",
    namespaced,
    no_spec,
    schema = "disabled",
    derive = "PartialEq"
)]
pub struct ApplicationFields {
    #[serde(default)]
    pub spec: ApplicationSpec,
    /// `status` on the wire (the name is reserved by the derive).
    #[serde(rename = "status", default, skip_serializing_if = "Option::is_none")]
    pub app_status: Option<ApplicationStatus>,
    /// The operation requested and not yet picked up by the controller
    /// (e.g. `{"sync": {...}, "initiatedBy": {...}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Value>,
}

impl Application {
    /// The Application's spec.
    pub fn app_spec(&self) -> &ApplicationSpec {
        &self.spec.spec
    }

    /// The status the controller wrote, if any.
    pub fn status(&self) -> Option<&ApplicationStatus> {
        self.spec.app_status.as_ref()
    }

    /// The pending operation, if any.
    pub fn operation(&self) -> Option<&Value> {
        self.spec.operation.as_ref()
    }

    /// The last operation's state, if any.
    pub fn operation_state(&self) -> Option<&OperationState> {
        self.status().and_then(|s| s.operation_state.as_ref())
    }

    /// `status.sync.status` (`Synced`, `OutOfSync`, `Unknown`), empty when unset.
    pub fn sync_status(&self) -> &str {
        self.status().map_or("", |s| s.sync.status.as_str())
    }

    /// `status.health.status` (`Healthy`, `Progressing`, …), empty when unset.
    pub fn health_status(&self) -> &str {
        self.status().map_or("", |s| s.health.status.as_str())
    }

    /// `status.conditions`, empty when unset.
    pub fn conditions(&self) -> &[ApplicationCondition] {
        self.status().map_or(&[], |s| s.conditions.as_slice())
    }
}

/// `Application.spec`: destination and sync policy typed, the rest as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// `source`, `sources`, `ignoreDifferences`, … as written.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ApplicationSpec {
    /// `syncPolicy.automated`, if set.
    pub fn automated(&self) -> Option<&Automated> {
        self.sync_policy.as_ref().and_then(|p| p.automated.as_ref())
    }

    /// Whether automated sync is on: `syncPolicy.automated` is set and not
    /// `enabled: false` (see [`Automated::is_on`]).
    pub fn auto_sync(&self) -> bool {
        self.automated().is_some_and(Automated::is_on)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    /// `syncOptions`, `retry`, `managedNamespaceMetadata`, … as written.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Automated {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_empty: Option<bool>,
    /// Unset means enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

impl Automated {
    /// Whether this `automated` block turns automated sync on: the one rule
    /// for the offline plan and the live sync step. `enabled: false` turns
    /// automation off while keeping its settings; unset means on.
    pub fn is_on(&self) -> bool {
        self.enabled != Some(false)
    }

    /// Whether automated sync is on and prunes.
    pub fn prunes(&self) -> bool {
        self.is_on() && self.prune == Some(true)
    }
}

/// `Application.status`, the parts the harness reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationStatus {
    pub sync: SyncStatus,
    pub health: HealthStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ApplicationCondition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<Time>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncStatus {
    /// `Synced`, `OutOfSync` or `Unknown`.
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub revision: String,
    /// A multi-source Application's revisions, one per source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// The sources and destination the status was computed for.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub compared_to: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthStatus {
    /// `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// `status.operationState`: the last (or running) operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OperationState {
    /// The operation as requested (`sync.dryRun`, `initiatedBy`, …).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub operation: Value,
    /// `Running`, `Terminating`, `Failed`, `Error` or `Succeeded`.
    pub phase: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

impl OperationState {
    /// Whether the operation was a dry-run sync.
    pub fn dry_run(&self) -> bool {
        self.operation
            .pointer("/sync/dryRun")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncOperationResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
    pub revision: String,
}

/// One resource's result in a sync operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceResult {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `Synced`, `SyncFailed`, `Pruned`, `PruneSkipped`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hook_phase: String,
}

/// `status.conditions[]` of an Application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationCondition {
    /// `InvalidSpecError`, `ComparisonError`, `SyncError`, `OrphanedResourceWarning`, …
    #[serde(rename = "type")]
    pub type_: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

/// A managed resource's state: in `Application.status.resources[]`, and an
/// Application's state in `ApplicationSet.status.resources[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceStatus {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Sync status: `Synced`, `OutOfSync`, `Unknown`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Since Argo CD 3.0 only persisted with `controller.resource.health.persist`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
}

/// `ApplicationSet.spec`, as written: the harness reads it, never interprets it
/// here (expansion lives in `crate::appset`).
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "ApplicationSet",
    namespaced,
    status = "ApplicationSetStatus",
    schema = "disabled",
    derive = "PartialEq"
)]
pub struct ApplicationSetSpec {
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl ApplicationSet {
    /// `status.conditions`, empty when unset.
    pub fn conditions(&self) -> &[ApplicationSetCondition] {
        self.status
            .as_ref()
            .map_or(&[], |s| s.conditions.as_slice())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationSetStatus {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ApplicationSetCondition>,
    /// One entry per generated Application (its sync status and health).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
}

/// `status.conditions[]` of an ApplicationSet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationSetCondition {
    /// `ErrorOccurred`, `ParametersGenerated`, `ResourcesUpToDate`, `RolloutProgressing`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub message: String,
    /// e.g. `RenderTemplateParamsError`, `ApplicationSetUpToDate`.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

#[cfg(test)]
pub(crate) mod fixtures {
    use serde_json::{Value, json};

    /// A manual-sync Application right after a successful sync, reconciled.
    pub fn synced_app() -> Value {
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": "fastapi-agent-prod",
                "namespace": "argocd",
                "uid": "0b7c3f1e-app",
                "ownerReferences": [{
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "ApplicationSet",
                    "name": "fastapi-agent",
                    "uid": "5d1e-appset-uid",
                    "controller": true,
                    "blockOwnerDeletion": true
                }]
            },
            "spec": {
                "project": "default",
                "source": {
                    "repoURL": "https://github.com/your-org/helm-charts",
                    "chart": "fastapi-agent",
                    "targetRevision": "1.2.0",
                    "helm": {"valuesObject": {"replicaCount": 5}}
                },
                "destination": {
                    "server": "https://prod-eks-cluster-abc.eks.amazonaws.com",
                    "namespace": "agents"
                },
                "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}
            },
            "status": {
                "sync": {
                    "status": "Synced",
                    "revision": "1.2.0",
                    "comparedTo": {"destination": {"namespace": "agents"}}
                },
                "health": {"status": "Healthy", "lastTransitionTime": "2026-11-26T20:01:10Z"},
                "reconciledAt": "2026-11-26T20:01:20Z",
                "resources": [
                    {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "agents",
                     "name": "fastapi-agent", "status": "Synced",
                     "health": {"status": "Healthy"}},
                    {"version": "v1", "kind": "Service", "namespace": "agents",
                     "name": "fastapi-agent", "status": "Synced"}
                ],
                "operationState": {
                    "operation": {
                        "sync": {"revision": "1.2.0", "prune": true, "syncStrategy": {"hook": {}}},
                        "initiatedBy": {"username": "gitops-e2e"},
                        "retry": {}
                    },
                    "phase": "Succeeded",
                    "message": "successfully synced (all tasks run)",
                    "syncResult": {
                        "resources": [{
                            "group": "apps", "version": "v1", "kind": "Deployment",
                            "namespace": "agents", "name": "fastapi-agent",
                            "status": "Synced", "message": "deployment.apps/fastapi-agent created",
                            "hookPhase": "Running", "syncPhase": "Sync"
                        }],
                        "revision": "1.2.0",
                        "source": {"repoURL": "https://github.com/your-org/helm-charts"}
                    },
                    "startedAt": "2026-11-26T20:01:00Z",
                    "finishedAt": "2026-11-26T20:01:05Z"
                },
                "history": [{"revision": "1.2.0", "id": 0}],
                "summary": {"images": ["ghcr.io/your-org/fastapi-agent:1.2.0"]},
                "controllerNamespace": "argocd"
            }
        })
    }

    /// An ApplicationSet whose template failed to render.
    pub fn failed_appset() -> Value {
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "fastapi-agent", "namespace": "argocd", "uid": "5d1e-appset-uid"},
            "spec": {
                "goTemplate": true,
                "goTemplateOptions": ["missingkey=error"],
                "generators": [{"list": {"elements": [{"env": "prod"}]}}],
                "template": {
                    "metadata": {"name": "fastapi-agent-{{.env}}"},
                    "spec": {"project": "default", "destination": {"server": "{{.server}}"}}
                }
            },
            "status": {
                "conditions": [
                    {"type": "ErrorOccurred", "status": "True",
                     "reason": "RenderTemplateParamsError",
                     "message": "failed to execute go template fastapi-agent-{{.server}}: map has no entry for key \"server\"",
                     "lastTransitionTime": "2026-11-26T20:00:00Z"},
                    {"type": "ParametersGenerated", "status": "True",
                     "reason": "ParametersGenerated",
                     "message": "Successfully generated parameters for all Applications",
                     "lastTransitionTime": "2026-11-26T20:00:00Z"},
                    {"type": "ResourcesUpToDate", "status": "False",
                     "reason": "RenderTemplateParamsError",
                     "message": "failed to execute go template",
                     "lastTransitionTime": "2026-11-26T20:00:00Z"}
                ],
                "resources": [
                    {"group": "argoproj.io", "version": "v1alpha1", "kind": "Application",
                     "name": "fastapi-agent-dev", "namespace": "argocd", "status": "Synced",
                     "health": {"status": "Healthy", "lastTransitionTime": "2026-11-26T20:00:00Z"}}
                ],
                "resourcesCount": 1
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use kube::{CustomResourceExt, Resource};
    use serde_json::json;

    fn app(v: Value) -> Application {
        serde_json::from_value(v).expect("fixture is a valid Application")
    }

    #[test]
    fn application_kind_and_group() {
        assert_eq!(Application::api_version(&()), "argoproj.io/v1alpha1");
        assert_eq!(Application::kind(&()), "Application");
        assert_eq!(Application::plural(&()), "applications");
        assert_eq!(ApplicationSet::plural(&()), "applicationsets");
    }

    #[test]
    fn application_has_no_status_subresource() {
        let crd = Application::crd();
        assert!(crd.spec.versions[0].subresources.is_none());
        let crd = ApplicationSet::crd();
        let sub = crd.spec.versions[0]
            .subresources
            .as_ref()
            .expect("subresources");
        assert!(sub.status.is_some());
    }

    #[test]
    fn deserializes_a_synced_application() {
        let a = app(synced_app());
        assert_eq!(a.metadata.name.as_deref(), Some("fastapi-agent-prod"));
        let dest = a.app_spec().destination.as_ref().expect("destination");
        assert_eq!(
            dest.server,
            "https://prod-eks-cluster-abc.eks.amazonaws.com"
        );
        assert_eq!(dest.namespace, "agents");
        assert_eq!(dest.name, "");
        assert_eq!(a.app_spec().project, "default");
        assert!(!a.app_spec().auto_sync());
        assert!(a.app_spec().other.contains_key("source"));
        assert_eq!(a.sync_status(), "Synced");
        assert_eq!(a.health_status(), "Healthy");
        let st = a.status().expect("status");
        assert_eq!(st.sync.revision, "1.2.0");
        assert_eq!(st.resources.len(), 2);
        assert_eq!(st.resources[0].kind, "Deployment");
        assert_eq!(
            st.resources[0].health.as_ref().map(|h| h.status.as_str()),
            Some("Healthy")
        );
        assert_eq!(st.resources[1].group, "");
        assert!(st.resources[1].health.is_none());
        let op = a.operation_state().expect("operationState");
        assert_eq!(op.phase, "Succeeded");
        assert!(!op.dry_run());
        let res = &op.sync_result.as_ref().expect("syncResult").resources[0];
        assert_eq!(res.message, "deployment.apps/fastapi-agent created");
        assert_eq!(res.hook_phase, "Running");
        assert!(op.finished_at > op.started_at);
        assert!(st.reconciled_at.as_ref() > op.finished_at.as_ref());
        assert!(a.operation().is_none());
    }

    #[test]
    fn operation_is_top_level_and_round_trips() {
        let mut v = synced_app();
        v["operation"] =
            json!({"sync": {"prune": true}, "initiatedBy": {"username": "gitops-e2e"}});
        let a = app(v);
        assert_eq!(
            a.operation()
                .and_then(|o| o.pointer("/initiatedBy/username")),
            Some(&json!("gitops-e2e"))
        );
        let back = serde_json::to_value(&a).expect("serializes");
        assert_eq!(back["kind"], "Application");
        assert_eq!(back["operation"]["sync"]["prune"], true);
        assert_eq!(back["status"]["sync"]["status"], "Synced");
        assert_eq!(back["spec"]["source"]["chart"], "fastapi-agent");
        assert!(back["spec"].get("syncPolicy").is_some());
        assert!(back.get("app_status").is_none());
    }

    #[test]
    fn automated_sync_policy() {
        let mut v = synced_app();
        v["spec"]["syncPolicy"] = json!({"automated": {"prune": true, "selfHeal": true}});
        assert!(app(v.clone()).app_spec().auto_sync());
        let a = app(v.clone());
        let auto = a
            .app_spec()
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref());
        assert_eq!(auto.and_then(|a| a.self_heal), Some(true));
        v["spec"]["syncPolicy"] = json!({"automated": {"enabled": false}});
        assert!(!app(v.clone()).app_spec().auto_sync());
        v["spec"]["syncPolicy"] = json!({"automated": {}});
        assert!(app(v).app_spec().auto_sync());
    }

    #[test]
    fn a_fresh_application_has_no_status() {
        let a = app(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "x", "namespace": "argocd"},
            "spec": {"destination": {"name": "in-cluster"}}
        }));
        assert!(a.status().is_none());
        assert_eq!(a.sync_status(), "");
        assert!(a.conditions().is_empty());
        assert_eq!(
            a.app_spec().destination.as_ref().map(|d| d.name.as_str()),
            Some("in-cluster")
        );
    }

    #[test]
    fn empty_status_fields_default() {
        let a = app(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "x"}, "spec": {},
            "status": {"operationState": {"phase": "Running", "startedAt": "2026-11-26T20:00:00Z",
                        "operation": {"sync": {"dryRun": true}}},
                       "conditions": [{"type": "ComparisonError", "message": "boom"}]}
        }));
        assert_eq!(a.sync_status(), "");
        let op = a.operation_state().expect("operationState");
        assert!(op.finished_at.is_none());
        assert!(op.dry_run());
        assert_eq!(a.conditions()[0].type_, "ComparisonError");
    }

    #[test]
    fn deserializes_an_applicationset_with_conditions() {
        let s: ApplicationSet = serde_json::from_value(failed_appset()).expect("valid");
        assert_eq!(s.metadata.uid.as_deref(), Some("5d1e-appset-uid"));
        assert_eq!(s.spec.fields["goTemplate"], true);
        let c = &s.conditions()[0];
        assert_eq!(c.type_, "ErrorOccurred");
        assert_eq!(c.status, "True");
        assert_eq!(c.reason, "RenderTemplateParamsError");
        assert!(c.message.contains("map has no entry"));
        let st = s.status.as_ref().expect("status");
        assert_eq!(st.resources[0].name, "fastapi-agent-dev");
        assert_eq!(
            st.resources[0].health.as_ref().map(|h| h.status.as_str()),
            Some("Healthy")
        );
        let back = serde_json::to_value(&s).expect("serializes");
        assert_eq!(
            back["spec"]["generators"][0]["list"]["elements"][0]["env"],
            "prod"
        );
    }
}
