//! Go's `json.Unmarshal` into an Argo CD Application, reduced to what can
//! fail: a JSON value of the wrong kind for a field's Go type. Argo CD
//! unmarshals every `templatePatch` into an Application before applying it
//! and reports the first such mismatch (`invalid templatePatch …`); a label
//! rendered as a number or a flag rendered as a quoted string is refused
//! there, where the patch would otherwise look fine.
//!
//! The messages are `encoding/json`'s: `json: cannot unmarshal number into
//! Go struct field ObjectMeta.metadata.labels of type string` (the struct
//! holding the field, the path of JSON field names, the Go type). Fields
//! unknown to the types are ignored, as Go ignores them; JSON field names
//! are matched exactly (Go also accepts other letter cases).

use serde_json::Value;

/// A Go type as the decoder sees it (pointers already followed).
pub enum GoType {
    /// A string kind; its Go type name (`string`, `types.UID`).
    Str(&'static str),
    Bool,
    /// A signed integer kind; its Go type name.
    Int(&'static str),
    /// A slice: its Go type name and element type.
    Slice(&'static str, &'static GoType),
    /// A map with string keys: its Go type name and value type.
    Map(&'static str, &'static GoType),
    Struct(&'static GoStruct),
    /// A type with its own decoding, or one not checked: anything goes.
    Any,
}

pub struct GoStruct {
    /// `reflect.Type.Name()`: how errors name the struct holding a field.
    name: &'static str,
    /// `reflect.Type.String()`: how errors name the type itself.
    type_name: &'static str,
    /// JSON field name → type (embedded structs' fields included).
    fields: &'static [(&'static str, &'static GoType)],
}

/// Where the decoder is: the struct holding the current field and the path
/// of field names to it (Go's `errorContext`).
#[derive(Clone, Copy)]
struct Context<'p> {
    field: Option<(&'static str, &'p str)>,
}

/// The first `json.Unmarshal` error decoding `value` into an Application,
/// if any. `sorted` walks objects by sorted keys (the order of JSON that
/// `sigs.k8s.io/yaml` produced), else in their written order.
pub fn check_application(value: &Value, sorted: bool) -> Option<String> {
    check(
        value,
        &GoType::Struct(&APPLICATION),
        Context { field: None },
        sorted,
    )
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_name(t: &GoType) -> &'static str {
    match t {
        GoType::Str(n) | GoType::Int(n) | GoType::Slice(n, _) | GoType::Map(n, _) => n,
        GoType::Bool => "bool",
        GoType::Struct(s) => s.type_name,
        GoType::Any => "interface {}",
    }
}

fn mismatch(what: &str, t: &GoType, ctx: Context<'_>) -> String {
    match ctx.field {
        Some((s, path)) => format!(
            "json: cannot unmarshal {what} into Go struct field {s}.{path} of type {}",
            type_name(t)
        ),
        None => format!(
            "json: cannot unmarshal {what} into Go value of type {}",
            type_name(t)
        ),
    }
}

fn check(v: &Value, t: &GoType, ctx: Context<'_>, sorted: bool) -> Option<String> {
    if v.is_null() {
        return None;
    }
    match (t, v) {
        (GoType::Any, _) | (GoType::Str(_), Value::String(_)) | (GoType::Bool, Value::Bool(_)) => {
            None
        }
        (GoType::Int(_), Value::Number(n)) => {
            // Go parses the literal's text as a base-10 int64.
            let text = n.to_string();
            text.parse::<i64>()
                .is_err()
                .then(|| mismatch(&format!("number {text}"), t, ctx))
        }
        (GoType::Slice(_, elem), Value::Array(items)) => {
            items.iter().find_map(|i| check(i, elem, ctx, sorted))
        }
        (GoType::Map(_, elem), Value::Object(map)) => {
            entries(map, sorted).find_map(|(_, i)| check(i, elem, ctx, sorted))
        }
        (GoType::Struct(s), Value::Object(map)) => entries(map, sorted).find_map(|(k, i)| {
            let (_, field) = s.fields.iter().find(|(name, _)| name == k)?;
            let path = match ctx.field {
                Some((_, parent)) => format!("{parent}.{k}"),
                None => k.to_string(),
            };
            check(
                i,
                field,
                Context {
                    field: Some((s.name, &path)),
                },
                sorted,
            )
        }),
        _ => Some(mismatch(json_kind(v), t, ctx)),
    }
}

fn entries(
    map: &serde_json::Map<String, Value>,
    sorted: bool,
) -> impl Iterator<Item = (&String, &Value)> {
    let mut all: Vec<(&String, &Value)> = map.iter().collect();
    if sorted {
        all.sort_by(|a, b| a.0.cmp(b.0));
    }
    all.into_iter()
}

// The Application and ObjectMeta types, as `json.Unmarshal` sees them.
// Generated from argo-cd release-3.5 `pkg/apis/application/v1alpha1/types.go`
// and `k8s.io/apimachinery` `meta/v1` (`ObjectMeta`); `Any` stands for
// types with their own decoding (`RawExtension`, `IntOrString`, `Time`)
// and for `status`/`operation`, which are not checked.

static OWNER_REFERENCE: GoStruct = GoStruct {
    name: "OwnerReference",
    type_name: "v1.OwnerReference",
    fields: &[
        ("apiVersion", &GoType::Str("string")),
        ("kind", &GoType::Str("string")),
        ("name", &GoType::Str("string")),
        ("uid", &GoType::Str("types.UID")),
        ("controller", &GoType::Bool),
        ("blockOwnerDeletion", &GoType::Bool),
    ],
};

static OBJECT_META: GoStruct = GoStruct {
    name: "ObjectMeta",
    type_name: "v1.ObjectMeta",
    fields: &[
        ("name", &GoType::Str("string")),
        ("generateName", &GoType::Str("string")),
        ("namespace", &GoType::Str("string")),
        ("selfLink", &GoType::Str("string")),
        ("uid", &GoType::Str("types.UID")),
        ("resourceVersion", &GoType::Str("string")),
        ("generation", &GoType::Int("int64")),
        ("creationTimestamp", &GoType::Any),
        ("deletionTimestamp", &GoType::Any),
        ("deletionGracePeriodSeconds", &GoType::Int("int64")),
        (
            "labels",
            &GoType::Map("map[string]string", &GoType::Str("string")),
        ),
        (
            "annotations",
            &GoType::Map("map[string]string", &GoType::Str("string")),
        ),
        (
            "ownerReferences",
            &GoType::Slice("[]v1.OwnerReference", &GoType::Struct(&OWNER_REFERENCE)),
        ),
        (
            "finalizers",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
        ("managedFields", &GoType::Any),
    ],
};

static HELM_PARAMETER: GoStruct = GoStruct {
    name: "HelmParameter",
    type_name: "v1alpha1.HelmParameter",
    fields: &[
        ("name", &GoType::Str("string")),
        ("value", &GoType::Str("string")),
        ("forceString", &GoType::Bool),
    ],
};

static HELM_FILE_PARAMETER: GoStruct = GoStruct {
    name: "HelmFileParameter",
    type_name: "v1alpha1.HelmFileParameter",
    fields: &[
        ("name", &GoType::Str("string")),
        ("path", &GoType::Str("string")),
    ],
};

static APPLICATION_SOURCE_HELM: GoStruct = GoStruct {
    name: "ApplicationSourceHelm",
    type_name: "v1alpha1.ApplicationSourceHelm",
    fields: &[
        (
            "valueFiles",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
        (
            "parameters",
            &GoType::Slice("[]v1alpha1.HelmParameter", &GoType::Struct(&HELM_PARAMETER)),
        ),
        ("releaseName", &GoType::Str("string")),
        ("values", &GoType::Str("string")),
        (
            "fileParameters",
            &GoType::Slice(
                "[]v1alpha1.HelmFileParameter",
                &GoType::Struct(&HELM_FILE_PARAMETER),
            ),
        ),
        ("version", &GoType::Str("string")),
        ("passCredentials", &GoType::Bool),
        ("ignoreMissingValueFiles", &GoType::Bool),
        ("skipCrds", &GoType::Bool),
        ("valuesObject", &GoType::Any),
        ("namespace", &GoType::Str("string")),
        ("kubeVersion", &GoType::Str("string")),
        (
            "apiVersions",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
        ("skipTests", &GoType::Bool),
        ("skipSchemaValidation", &GoType::Bool),
    ],
};

static KUSTOMIZE_REPLICA: GoStruct = GoStruct {
    name: "KustomizeReplica",
    type_name: "v1alpha1.KustomizeReplica",
    fields: &[("name", &GoType::Str("string")), ("count", &GoType::Any)],
};

static KUSTOMIZE_SELECTOR: GoStruct = GoStruct {
    name: "KustomizeSelector",
    type_name: "v1alpha1.KustomizeSelector",
    fields: &[
        ("group", &GoType::Str("string")),
        ("version", &GoType::Str("string")),
        ("kind", &GoType::Str("string")),
        ("name", &GoType::Str("string")),
        ("namespace", &GoType::Str("string")),
        ("annotationSelector", &GoType::Str("string")),
        ("labelSelector", &GoType::Str("string")),
    ],
};

static KUSTOMIZE_PATCH: GoStruct = GoStruct {
    name: "KustomizePatch",
    type_name: "v1alpha1.KustomizePatch",
    fields: &[
        ("path", &GoType::Str("string")),
        ("patch", &GoType::Str("string")),
        ("target", &GoType::Struct(&KUSTOMIZE_SELECTOR)),
        ("options", &GoType::Map("map[string]bool", &GoType::Bool)),
    ],
};

static APPLICATION_SOURCE_KUSTOMIZE: GoStruct = GoStruct {
    name: "ApplicationSourceKustomize",
    type_name: "v1alpha1.ApplicationSourceKustomize",
    fields: &[
        ("namePrefix", &GoType::Str("string")),
        ("nameSuffix", &GoType::Str("string")),
        (
            "images",
            &GoType::Slice(
                "v1alpha1.KustomizeImages",
                &GoType::Str("v1alpha1.KustomizeImage"),
            ),
        ),
        (
            "commonLabels",
            &GoType::Map("map[string]string", &GoType::Str("string")),
        ),
        ("version", &GoType::Str("string")),
        (
            "commonAnnotations",
            &GoType::Map("map[string]string", &GoType::Str("string")),
        ),
        ("forceCommonLabels", &GoType::Bool),
        ("forceCommonAnnotations", &GoType::Bool),
        ("namespace", &GoType::Str("string")),
        ("commonAnnotationsEnvsubst", &GoType::Bool),
        (
            "replicas",
            &GoType::Slice(
                "v1alpha1.KustomizeReplicas",
                &GoType::Struct(&KUSTOMIZE_REPLICA),
            ),
        ),
        (
            "patches",
            &GoType::Slice(
                "v1alpha1.KustomizePatches",
                &GoType::Struct(&KUSTOMIZE_PATCH),
            ),
        ),
        (
            "components",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
        ("ignoreMissingComponents", &GoType::Bool),
        ("labelWithoutSelector", &GoType::Bool),
        ("kubeVersion", &GoType::Str("string")),
        (
            "apiVersions",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
        ("labelIncludeTemplates", &GoType::Bool),
    ],
};

static JSONNET_VAR: GoStruct = GoStruct {
    name: "JsonnetVar",
    type_name: "v1alpha1.JsonnetVar",
    fields: &[
        ("name", &GoType::Str("string")),
        ("value", &GoType::Str("string")),
        ("code", &GoType::Bool),
    ],
};

static APPLICATION_SOURCE_JSONNET: GoStruct = GoStruct {
    name: "ApplicationSourceJsonnet",
    type_name: "v1alpha1.ApplicationSourceJsonnet",
    fields: &[
        (
            "extVars",
            &GoType::Slice("[]v1alpha1.JsonnetVar", &GoType::Struct(&JSONNET_VAR)),
        ),
        (
            "tlas",
            &GoType::Slice("[]v1alpha1.JsonnetVar", &GoType::Struct(&JSONNET_VAR)),
        ),
        ("libs", &GoType::Slice("[]string", &GoType::Str("string"))),
    ],
};

static APPLICATION_SOURCE_DIRECTORY: GoStruct = GoStruct {
    name: "ApplicationSourceDirectory",
    type_name: "v1alpha1.ApplicationSourceDirectory",
    fields: &[
        ("recurse", &GoType::Bool),
        ("jsonnet", &GoType::Struct(&APPLICATION_SOURCE_JSONNET)),
        ("exclude", &GoType::Str("string")),
        ("include", &GoType::Str("string")),
    ],
};

static ENV_ENTRY: GoStruct = GoStruct {
    name: "EnvEntry",
    type_name: "v1alpha1.EnvEntry",
    fields: &[
        ("name", &GoType::Str("string")),
        ("value", &GoType::Str("string")),
    ],
};

static APPLICATION_SOURCE_PLUGIN_PARAMETER: GoStruct = GoStruct {
    name: "ApplicationSourcePluginParameter",
    type_name: "v1alpha1.ApplicationSourcePluginParameter",
    fields: &[
        ("name", &GoType::Str("string")),
        ("string", &GoType::Str("string")),
        (
            "map",
            &GoType::Map("map[string]string", &GoType::Str("string")),
        ),
        ("array", &GoType::Slice("[]string", &GoType::Str("string"))),
    ],
};

static APPLICATION_SOURCE_PLUGIN: GoStruct = GoStruct {
    name: "ApplicationSourcePlugin",
    type_name: "v1alpha1.ApplicationSourcePlugin",
    fields: &[
        ("name", &GoType::Str("string")),
        (
            "env",
            &GoType::Slice("v1alpha1.Env", &GoType::Struct(&ENV_ENTRY)),
        ),
        (
            "parameters",
            &GoType::Slice(
                "v1alpha1.ApplicationSourcePluginParameters",
                &GoType::Struct(&APPLICATION_SOURCE_PLUGIN_PARAMETER),
            ),
        ),
    ],
};

static APPLICATION_SOURCE: GoStruct = GoStruct {
    name: "ApplicationSource",
    type_name: "v1alpha1.ApplicationSource",
    fields: &[
        ("repoURL", &GoType::Str("string")),
        ("path", &GoType::Str("string")),
        ("targetRevision", &GoType::Str("string")),
        ("helm", &GoType::Struct(&APPLICATION_SOURCE_HELM)),
        ("kustomize", &GoType::Struct(&APPLICATION_SOURCE_KUSTOMIZE)),
        ("directory", &GoType::Struct(&APPLICATION_SOURCE_DIRECTORY)),
        ("plugin", &GoType::Struct(&APPLICATION_SOURCE_PLUGIN)),
        ("chart", &GoType::Str("string")),
        ("ref", &GoType::Str("string")),
        ("name", &GoType::Str("string")),
        ("tagPrefix", &GoType::Str("string")),
    ],
};

static APPLICATION_DESTINATION: GoStruct = GoStruct {
    name: "ApplicationDestination",
    type_name: "v1alpha1.ApplicationDestination",
    fields: &[
        ("server", &GoType::Str("string")),
        ("namespace", &GoType::Str("string")),
        ("name", &GoType::Str("string")),
    ],
};

static SYNC_POLICY_AUTOMATED: GoStruct = GoStruct {
    name: "SyncPolicyAutomated",
    type_name: "v1alpha1.SyncPolicyAutomated",
    fields: &[
        ("prune", &GoType::Bool),
        ("selfHeal", &GoType::Bool),
        ("allowEmpty", &GoType::Bool),
        ("enabled", &GoType::Bool),
    ],
};

static BACKOFF: GoStruct = GoStruct {
    name: "Backoff",
    type_name: "v1alpha1.Backoff",
    fields: &[
        ("duration", &GoType::Str("string")),
        ("factor", &GoType::Int("int64")),
        ("maxDuration", &GoType::Str("string")),
    ],
};

static RETRY_STRATEGY: GoStruct = GoStruct {
    name: "RetryStrategy",
    type_name: "v1alpha1.RetryStrategy",
    fields: &[
        ("limit", &GoType::Int("int64")),
        ("backoff", &GoType::Struct(&BACKOFF)),
        ("refresh", &GoType::Bool),
    ],
};

static MANAGED_NAMESPACE_METADATA: GoStruct = GoStruct {
    name: "ManagedNamespaceMetadata",
    type_name: "v1alpha1.ManagedNamespaceMetadata",
    fields: &[
        (
            "labels",
            &GoType::Map("map[string]string", &GoType::Str("string")),
        ),
        (
            "annotations",
            &GoType::Map("map[string]string", &GoType::Str("string")),
        ),
    ],
};

static SYNC_POLICY: GoStruct = GoStruct {
    name: "SyncPolicy",
    type_name: "v1alpha1.SyncPolicy",
    fields: &[
        ("automated", &GoType::Struct(&SYNC_POLICY_AUTOMATED)),
        (
            "syncOptions",
            &GoType::Slice("v1alpha1.SyncOptions", &GoType::Str("string")),
        ),
        ("retry", &GoType::Struct(&RETRY_STRATEGY)),
        (
            "managedNamespaceMetadata",
            &GoType::Struct(&MANAGED_NAMESPACE_METADATA),
        ),
    ],
};

static RESOURCE_IGNORE_DIFFERENCES: GoStruct = GoStruct {
    name: "ResourceIgnoreDifferences",
    type_name: "v1alpha1.ResourceIgnoreDifferences",
    fields: &[
        ("group", &GoType::Str("string")),
        ("kind", &GoType::Str("string")),
        ("name", &GoType::Str("string")),
        ("namespace", &GoType::Str("string")),
        (
            "jsonPointers",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
        (
            "jqPathExpressions",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
        (
            "managedFieldsManagers",
            &GoType::Slice("[]string", &GoType::Str("string")),
        ),
    ],
};

static INFO: GoStruct = GoStruct {
    name: "Info",
    type_name: "v1alpha1.Info",
    fields: &[
        ("name", &GoType::Str("string")),
        ("value", &GoType::Str("string")),
    ],
};

static DRY_SOURCE: GoStruct = GoStruct {
    name: "DrySource",
    type_name: "v1alpha1.DrySource",
    fields: &[
        ("repoURL", &GoType::Str("string")),
        ("targetRevision", &GoType::Str("string")),
        ("path", &GoType::Str("string")),
        ("helm", &GoType::Struct(&APPLICATION_SOURCE_HELM)),
        ("kustomize", &GoType::Struct(&APPLICATION_SOURCE_KUSTOMIZE)),
        ("directory", &GoType::Struct(&APPLICATION_SOURCE_DIRECTORY)),
        ("plugin", &GoType::Struct(&APPLICATION_SOURCE_PLUGIN)),
    ],
};

static SYNC_SOURCE: GoStruct = GoStruct {
    name: "SyncSource",
    type_name: "v1alpha1.SyncSource",
    fields: &[
        ("targetBranch", &GoType::Str("string")),
        ("path", &GoType::Str("string")),
        ("repoURL", &GoType::Str("string")),
    ],
};

static HYDRATE_TO: GoStruct = GoStruct {
    name: "HydrateTo",
    type_name: "v1alpha1.HydrateTo",
    fields: &[("targetBranch", &GoType::Str("string"))],
};

static SOURCE_HYDRATOR: GoStruct = GoStruct {
    name: "SourceHydrator",
    type_name: "v1alpha1.SourceHydrator",
    fields: &[
        ("drySource", &GoType::Struct(&DRY_SOURCE)),
        ("syncSource", &GoType::Struct(&SYNC_SOURCE)),
        ("hydrateTo", &GoType::Struct(&HYDRATE_TO)),
    ],
};

static APPLICATION_SPEC: GoStruct = GoStruct {
    name: "ApplicationSpec",
    type_name: "v1alpha1.ApplicationSpec",
    fields: &[
        ("source", &GoType::Struct(&APPLICATION_SOURCE)),
        ("destination", &GoType::Struct(&APPLICATION_DESTINATION)),
        ("project", &GoType::Str("string")),
        ("syncPolicy", &GoType::Struct(&SYNC_POLICY)),
        (
            "ignoreDifferences",
            &GoType::Slice(
                "v1alpha1.IgnoreDifferences",
                &GoType::Struct(&RESOURCE_IGNORE_DIFFERENCES),
            ),
        ),
        (
            "info",
            &GoType::Slice("[]v1alpha1.Info", &GoType::Struct(&INFO)),
        ),
        ("revisionHistoryLimit", &GoType::Int("int64")),
        (
            "sources",
            &GoType::Slice(
                "v1alpha1.ApplicationSources",
                &GoType::Struct(&APPLICATION_SOURCE),
            ),
        ),
        ("sourceHydrator", &GoType::Struct(&SOURCE_HYDRATOR)),
    ],
};

static APPLICATION: GoStruct = GoStruct {
    name: "Application",
    type_name: "v1alpha1.Application",
    fields: &[
        ("apiVersion", &GoType::Str("string")),
        ("kind", &GoType::Str("string")),
        ("metadata", &GoType::Struct(&OBJECT_META)),
        ("spec", &GoType::Struct(&APPLICATION_SPEC)),
        ("status", &GoType::Any),
        ("operation", &GoType::Any),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_kinds_are_worded_as_encoding_json_words_them() {
        assert_eq!(
            check_application(&json!({"metadata": {"labels": {"replicas": 3}}}), true),
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels \
                 of type string"
                    .into()
            )
        );
        assert_eq!(
            check_application(&json!(["api"]), true),
            Some("json: cannot unmarshal array into Go value of type v1alpha1.Application".into())
        );
        assert_eq!(
            check_application(
                &json!({"spec": {"syncPolicy": {"automated": {"prune": "true"}}}}),
                true
            ),
            Some(
                "json: cannot unmarshal string into Go struct field \
                 SyncPolicyAutomated.spec.syncPolicy.automated.prune of type bool"
                    .into()
            )
        );
        assert_eq!(
            check_application(&json!({"spec": {"revisionHistoryLimit": 1.5}}), true),
            Some(
                "json: cannot unmarshal number 1.5 into Go struct field \
                 ApplicationSpec.spec.revisionHistoryLimit of type int64"
                    .into()
            )
        );
        assert_eq!(
            check_application(&json!({"spec": {"info": "x"}}), true),
            Some(
                "json: cannot unmarshal string into Go struct field ApplicationSpec.spec.info \
                 of type []v1alpha1.Info"
                    .into()
            )
        );
    }

    #[test]
    fn the_first_mismatch_in_document_order_is_reported() {
        let v = json!({"spec": {"project": 1}, "metadata": {"name": 2}});
        assert!(
            check_application(&v, true).is_some_and(|e| e.contains("ObjectMeta.metadata.name"))
        );
    }

    #[test]
    fn matching_kinds_nulls_and_unknown_fields_pass() {
        let v = json!({
            "metadata": {"labels": {"a": "b", "n": null}, "finalizers": ["x"]},
            "spec": {
                "project": "p", "unknown": [1],
                "source": {"helm": {"valuesObject": {"any": [1, true]}}},
                "syncPolicy": {"automated": {"prune": true}, "syncOptions": ["A=b"]},
                "revisionHistoryLimit": 3
            }
        });
        assert_eq!(check_application(&v, true), None);
    }
}
