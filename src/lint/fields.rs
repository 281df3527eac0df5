//! `unknown-field`: fields the Application and ApplicationSet CRDs do not
//! have. The API server drops them silently (it only warns, unless strict
//! field validation is asked for), so whatever they were meant to do never
//! happens.
//!
//! The known-field tree below is written by hand from the JSON names of Argo
//! CD's `pkg/apis/application/v1alpha1` types (`types.go`,
//! `applicationset_types.go`). Free-form maps (`valuesObject`, `labels`,
//! list `elements`, …) are `ANY`: their content is not checked.

use serde_json::Value;

use super::util::dotted;
use super::{Draft, Emitter, Severity};

/// A node of the known-field tree.
enum Node {
    /// A scalar or a free-form value: not checked inside.
    Any,
    /// An object with these fields; the name is how messages call it.
    Obj(&'static str, &'static [(&'static str, &'static Node)]),
    /// A list of these.
    List(&'static Node),
}

use Node::{Any, List, Obj};

static ANY: Node = Any;

// --- Application ---------------------------------------------------------

static APPLICATION: Node = Obj(
    "Application",
    &[
        ("apiVersion", &ANY),
        ("kind", &ANY),
        ("metadata", &ANY),
        ("spec", &APP_SPEC),
        ("status", &ANY),
        ("operation", &ANY),
    ],
);

static APP_SPEC: Node = Obj(
    "Application spec",
    &[
        ("source", &SOURCE),
        ("sources", &SOURCES),
        ("destination", &DESTINATION),
        ("project", &ANY),
        ("syncPolicy", &SYNC_POLICY),
        ("ignoreDifferences", &IGNORE_DIFFERENCES),
        ("info", &INFOS),
        ("revisionHistoryLimit", &ANY),
        ("sourceHydrator", &SOURCE_HYDRATOR),
    ],
);

static SOURCES: Node = List(&SOURCE);
static SOURCE: Node = Obj(
    "source",
    &[
        ("repoURL", &ANY),
        ("path", &ANY),
        ("targetRevision", &ANY),
        ("helm", &HELM),
        ("kustomize", &KUSTOMIZE),
        ("directory", &DIRECTORY),
        ("plugin", &PLUGIN),
        ("chart", &ANY),
        ("ref", &ANY),
        ("name", &ANY),
        ("tagPrefix", &ANY),
    ],
);

static HELM: Node = Obj(
    "source.helm",
    &[
        ("valueFiles", &ANY),
        ("parameters", &HELM_PARAMETERS),
        ("releaseName", &ANY),
        ("values", &ANY),
        ("fileParameters", &HELM_FILE_PARAMETERS),
        ("version", &ANY),
        ("passCredentials", &ANY),
        ("ignoreMissingValueFiles", &ANY),
        ("skipCrds", &ANY),
        ("valuesObject", &ANY),
        ("namespace", &ANY),
        ("kubeVersion", &ANY),
        ("apiVersions", &ANY),
        ("skipTests", &ANY),
        ("skipSchemaValidation", &ANY),
    ],
);
static HELM_PARAMETERS: Node = List(&HELM_PARAMETER);
static HELM_PARAMETER: Node = Obj(
    "source.helm.parameters[]",
    &[("name", &ANY), ("value", &ANY), ("forceString", &ANY)],
);
static HELM_FILE_PARAMETERS: Node = List(&HELM_FILE_PARAMETER);
static HELM_FILE_PARAMETER: Node = Obj(
    "source.helm.fileParameters[]",
    &[("name", &ANY), ("path", &ANY)],
);

static KUSTOMIZE: Node = Obj(
    "source.kustomize",
    &[
        ("namePrefix", &ANY),
        ("nameSuffix", &ANY),
        ("images", &ANY),
        ("commonLabels", &ANY),
        ("version", &ANY),
        ("commonAnnotations", &ANY),
        ("forceCommonLabels", &ANY),
        ("forceCommonAnnotations", &ANY),
        ("namespace", &ANY),
        ("commonAnnotationsEnvsubst", &ANY),
        ("replicas", &KUSTOMIZE_REPLICAS),
        ("patches", &KUSTOMIZE_PATCHES),
        ("components", &ANY),
        ("ignoreMissingComponents", &ANY),
        ("labelWithoutSelector", &ANY),
        ("labelIncludeTemplates", &ANY),
        ("kubeVersion", &ANY),
        ("apiVersions", &ANY),
    ],
);
static KUSTOMIZE_REPLICAS: Node = List(&KUSTOMIZE_REPLICA);
static KUSTOMIZE_REPLICA: Node = Obj(
    "source.kustomize.replicas[]",
    &[("name", &ANY), ("count", &ANY)],
);
static KUSTOMIZE_PATCHES: Node = List(&KUSTOMIZE_PATCH);
static KUSTOMIZE_PATCH: Node = Obj(
    "source.kustomize.patches[]",
    &[
        ("path", &ANY),
        ("patch", &ANY),
        ("target", &KUSTOMIZE_SELECTOR),
        ("options", &ANY),
    ],
);
static KUSTOMIZE_SELECTOR: Node = Obj(
    "source.kustomize.patches[].target",
    &[
        ("group", &ANY),
        ("version", &ANY),
        ("kind", &ANY),
        ("name", &ANY),
        ("namespace", &ANY),
        ("annotationSelector", &ANY),
        ("labelSelector", &ANY),
    ],
);

static DIRECTORY: Node = Obj(
    "source.directory",
    &[
        ("recurse", &ANY),
        ("jsonnet", &JSONNET),
        ("exclude", &ANY),
        ("include", &ANY),
        ("disableExtensionFilter", &ANY),
    ],
);
static JSONNET: Node = Obj(
    "source.directory.jsonnet",
    &[
        ("extVars", &JSONNET_VARS),
        ("tlas", &JSONNET_VARS),
        ("libs", &ANY),
    ],
);
static JSONNET_VARS: Node = List(&JSONNET_VAR);
static JSONNET_VAR: Node = Obj(
    "source.directory.jsonnet variable",
    &[("name", &ANY), ("value", &ANY), ("code", &ANY)],
);

static PLUGIN: Node = Obj(
    "source.plugin",
    &[
        ("name", &ANY),
        ("env", &PLUGIN_ENVS),
        ("parameters", &PLUGIN_PARAMETERS),
    ],
);
static PLUGIN_ENVS: Node = List(&NAME_VALUE);
static NAME_VALUE: Node = Obj("name/value entry", &[("name", &ANY), ("value", &ANY)]);
static PLUGIN_PARAMETERS: Node = List(&PLUGIN_PARAMETER);
static PLUGIN_PARAMETER: Node = Obj(
    "source.plugin.parameters[]",
    &[
        ("name", &ANY),
        ("string", &ANY),
        ("map", &ANY),
        ("array", &ANY),
    ],
);

static DESTINATION: Node = Obj(
    "destination",
    &[("server", &ANY), ("namespace", &ANY), ("name", &ANY)],
);

static SYNC_POLICY: Node = Obj(
    "syncPolicy",
    &[
        ("automated", &AUTOMATED),
        ("syncOptions", &ANY),
        ("retry", &RETRY),
        ("managedNamespaceMetadata", &MANAGED_NAMESPACE_METADATA),
    ],
);
static AUTOMATED: Node = Obj(
    "syncPolicy.automated",
    &[
        ("prune", &ANY),
        ("selfHeal", &ANY),
        ("allowEmpty", &ANY),
        ("enabled", &ANY),
    ],
);
static RETRY: Node = Obj(
    "syncPolicy.retry",
    &[("limit", &ANY), ("backoff", &BACKOFF), ("refresh", &ANY)],
);
static BACKOFF: Node = Obj(
    "syncPolicy.retry.backoff",
    &[("duration", &ANY), ("factor", &ANY), ("maxDuration", &ANY)],
);
static MANAGED_NAMESPACE_METADATA: Node = Obj(
    "syncPolicy.managedNamespaceMetadata",
    &[("labels", &ANY), ("annotations", &ANY)],
);

static IGNORE_DIFFERENCES: Node = List(&IGNORE_DIFFERENCE);
static IGNORE_DIFFERENCE: Node = Obj(
    "ignoreDifferences[]",
    &[
        ("group", &ANY),
        ("kind", &ANY),
        ("name", &ANY),
        ("namespace", &ANY),
        ("jsonPointers", &ANY),
        ("jqPathExpressions", &ANY),
        ("managedFieldsManagers", &ANY),
    ],
);
static INFOS: Node = List(&NAME_VALUE);

static SOURCE_HYDRATOR: Node = Obj(
    "sourceHydrator",
    &[
        ("drySource", &DRY_SOURCE),
        ("syncSource", &SYNC_SOURCE),
        ("hydrateTo", &HYDRATE_TO),
    ],
);
static DRY_SOURCE: Node = Obj(
    "sourceHydrator.drySource",
    &[
        ("repoURL", &ANY),
        ("targetRevision", &ANY),
        ("path", &ANY),
        ("helm", &HELM),
        ("kustomize", &KUSTOMIZE),
        ("directory", &DIRECTORY),
        ("plugin", &PLUGIN),
    ],
);
static SYNC_SOURCE: Node = Obj(
    "sourceHydrator.syncSource",
    &[("targetBranch", &ANY), ("path", &ANY), ("repoURL", &ANY)],
);
static HYDRATE_TO: Node = Obj("sourceHydrator.hydrateTo", &[("targetBranch", &ANY)]);

// --- ApplicationSet ------------------------------------------------------

static APPLICATION_SET: Node = Obj(
    "ApplicationSet",
    &[
        ("apiVersion", &ANY),
        ("kind", &ANY),
        ("metadata", &ANY),
        ("spec", &APPSET_SPEC),
        ("status", &ANY),
    ],
);

static APPSET_SPEC: Node = Obj(
    "ApplicationSet spec",
    &[
        ("goTemplate", &ANY),
        ("goTemplateOptions", &ANY),
        ("generators", &GENERATORS),
        ("template", &TEMPLATE),
        ("templatePatch", &ANY),
        ("syncPolicy", &APPSET_SYNC_POLICY),
        ("strategy", &STRATEGY),
        ("preservedFields", &PRESERVED_FIELDS),
        ("applyNestedSelectors", &ANY),
        ("ignoreApplicationDifferences", &APPSET_IGNORE_DIFFERENCES),
    ],
);

static TEMPLATE: Node = Obj(
    "template",
    &[("metadata", &TEMPLATE_META), ("spec", &APP_SPEC)],
);
static TEMPLATE_META: Node = Obj(
    "template.metadata",
    &[
        ("name", &ANY),
        ("namespace", &ANY),
        ("labels", &ANY),
        ("annotations", &ANY),
        ("finalizers", &ANY),
    ],
);

static GENERATORS: Node = List(&GENERATOR);
static GENERATOR: Node = Obj(
    "generator",
    &[
        ("list", &LIST_GENERATOR),
        ("clusters", &CLUSTERS_GENERATOR),
        ("git", &GIT_GENERATOR),
        // SCM provider and pull request generators have one sub-object per
        // forge; not checked inside.
        ("scmProvider", &ANY),
        ("clusterDecisionResource", &DUCK_TYPE_GENERATOR),
        ("pullRequest", &ANY),
        ("matrix", &MATRIX_GENERATOR),
        ("merge", &MERGE_GENERATOR),
        ("selector", &LABEL_SELECTOR),
        ("plugin", &PLUGIN_GENERATOR),
    ],
);
static LIST_GENERATOR: Node = Obj(
    "list generator",
    &[
        ("elements", &ANY),
        ("elementsYaml", &ANY),
        ("template", &TEMPLATE),
    ],
);
static CLUSTERS_GENERATOR: Node = Obj(
    "clusters generator",
    &[
        ("selector", &LABEL_SELECTOR),
        ("template", &TEMPLATE),
        ("values", &ANY),
        ("flatList", &ANY),
    ],
);
static GIT_GENERATOR: Node = Obj(
    "git generator",
    &[
        ("repoURL", &ANY),
        ("directories", &GIT_ITEMS),
        ("files", &GIT_ITEMS),
        ("revision", &ANY),
        ("requeueAfterSeconds", &ANY),
        ("template", &TEMPLATE),
        ("pathParamPrefix", &ANY),
        ("values", &ANY),
    ],
);
static GIT_ITEMS: Node = List(&GIT_ITEM);
static GIT_ITEM: Node = Obj("git generator path", &[("path", &ANY), ("exclude", &ANY)]);
static DUCK_TYPE_GENERATOR: Node = Obj(
    "clusterDecisionResource generator",
    &[
        ("configMapRef", &ANY),
        ("name", &ANY),
        ("requeueAfterSeconds", &ANY),
        ("labelSelector", &LABEL_SELECTOR),
        ("template", &TEMPLATE),
        ("values", &ANY),
    ],
);
static MATRIX_GENERATOR: Node = Obj(
    "matrix generator",
    &[("generators", &GENERATORS), ("template", &TEMPLATE)],
);
static MERGE_GENERATOR: Node = Obj(
    "merge generator",
    &[
        ("generators", &GENERATORS),
        ("mergeKeys", &ANY),
        ("template", &TEMPLATE),
    ],
);
static PLUGIN_GENERATOR: Node = Obj(
    "plugin generator",
    &[
        ("configMapRef", &PLUGIN_CONFIG_MAP_REF),
        ("input", &PLUGIN_INPUT),
        ("requeueAfterSeconds", &ANY),
        ("template", &TEMPLATE),
        ("values", &ANY),
    ],
);
static PLUGIN_CONFIG_MAP_REF: Node = Obj("plugin generator configMapRef", &[("name", &ANY)]);
static PLUGIN_INPUT: Node = Obj("plugin generator input", &[("parameters", &ANY)]);

static LABEL_SELECTOR: Node = Obj(
    "label selector",
    &[
        ("matchLabels", &ANY),
        ("matchExpressions", &MATCH_EXPRESSIONS),
    ],
);
static MATCH_EXPRESSIONS: Node = List(&MATCH_EXPRESSION);
static MATCH_EXPRESSION: Node = Obj(
    "match expression",
    &[("key", &ANY), ("operator", &ANY), ("values", &ANY)],
);

static APPSET_SYNC_POLICY: Node = Obj(
    "ApplicationSet syncPolicy",
    &[
        ("preserveResourcesOnDeletion", &ANY),
        ("applicationsSync", &ANY),
    ],
);
static STRATEGY: Node = Obj(
    "strategy",
    &[
        ("type", &ANY),
        ("rollingSync", &ROLLING_SYNC),
        ("deletionOrder", &ANY),
    ],
);
static ROLLING_SYNC: Node = Obj("strategy.rollingSync", &[("steps", &ROLLOUT_STEPS)]);
static ROLLOUT_STEPS: Node = List(&ROLLOUT_STEP);
static ROLLOUT_STEP: Node = Obj(
    "strategy.rollingSync.steps[]",
    &[
        ("matchExpressions", &MATCH_EXPRESSIONS),
        ("maxUpdate", &ANY),
    ],
);
static PRESERVED_FIELDS: Node = Obj(
    "preservedFields",
    &[("annotations", &ANY), ("labels", &ANY)],
);
static APPSET_IGNORE_DIFFERENCES: Node = List(&APPSET_IGNORE_DIFFERENCE);
static APPSET_IGNORE_DIFFERENCE: Node = Obj(
    "ignoreApplicationDifferences[]",
    &[
        ("name", &ANY),
        ("jsonPointers", &ANY),
        ("jqPathExpressions", &ANY),
    ],
);

// --- the check -----------------------------------------------------------

/// The known field most like `key`, if one is close enough to be meant.
fn suggestion(key: &str, fields: &[(&'static str, &'static Node)]) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    fields
        .iter()
        .map(|(name, _)| {
            let score = strsim::jaro_winkler(&lower, &name.to_ascii_lowercase());
            (score, *name)
        })
        .filter(|(score, name)| {
            *score >= 0.85 || strsim::levenshtein(&lower, &name.to_ascii_lowercase()) <= 2
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

fn check(out: &mut Emitter<'_>, node: &Node, value: &Value, pointer: &str, depth: usize) {
    // Deeper than any real ApplicationSet; guards against pathological input.
    if depth > 64 {
        return;
    }
    match (node, value) {
        (Obj(owner, fields), Value::Object(map)) => {
            for (key, v) in map {
                let p = crate::yaml::pointer_push(pointer, key);
                match fields.iter().find(|(name, _)| name == key) {
                    Some((_, child)) => check(out, child, v, &p, depth + 1),
                    None => report(out, owner, fields, key, &p),
                }
            }
        }
        (List(item), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                check(out, item, v, &format!("{pointer}/{i}"), depth + 1);
            }
        }
        _ => {}
    }
}

/// Fields generated manifests often put in the wrong place, with where they
/// belong.
fn misplaced(owner: &str, key: &str) -> Option<&'static str> {
    Some(match (owner, key) {
        (_, "healthChecks" | "healthCheck" | "health") => {
            "remove it: Argo CD assesses health itself; custom health checks are Lua scripts in \
             `argocd-cm` (`resource.customizations.health.<group>_<kind>`)"
        }
        ("syncPolicy.automated", "syncOptions" | "retry") => {
            "move it up one level, under `syncPolicy`"
        }
        ("Application spec", "syncOptions" | "automated" | "retry") => "move it under `syncPolicy`",
        ("Application spec", "server" | "namespace") => "move it under `destination`",
        ("Application spec", "repoURL" | "path" | "targetRevision" | "chart" | "helm") => {
            "move it under `source`"
        }
        ("source", "values" | "valuesObject" | "valueFiles" | "parameters" | "releaseName") => {
            "move it under `source.helm`"
        }
        ("source", "namespace") => {
            "set the target namespace in `destination.namespace` (or `helm.namespace` / \
             `kustomize.namespace` for the tool)"
        }
        ("ApplicationSet spec", "generator") => "the field is `generators` (a list)",
        _ => return None,
    })
}

fn report(
    out: &mut Emitter<'_>,
    owner: &str,
    fields: &[(&'static str, &'static Node)],
    key: &str,
    pointer: &str,
) {
    let (message, advice) = if key == "valuesInline" && owner == "source.helm" {
        (
            format!(
                "valuesInline is not a field of `source.helm` (at `{}`); the API server drops it \
                 silently, so these values never reach Helm",
                dotted(pointer)
            ),
            "use `valuesObject` (a map) or `values` (a string)".to_string(),
        )
    } else {
        let advice = match (misplaced(owner, key), suggestion(key, fields)) {
            (Some(hint), _) => hint.to_string(),
            (None, Some(s)) => format!("did you mean `{s}`?"),
            (None, None) => {
                let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                format!(
                    "remove it; the fields of `{owner}` are: {}",
                    names.join(", ")
                )
            }
        };
        (
            format!(
                "`{key}` is not a field of `{owner}` (at `{}`); the API server drops it silently, \
                 so it has no effect",
                dotted(pointer)
            ),
            advice,
        )
    };
    out.emit(
        Draft {
            rule: "unknown-field",
            severity: Severity::Error,
            application: None,
            message,
            advice,
        },
        pointer,
    );
}

/// Checks a whole ApplicationSet document.
pub fn unknown_fields_appset(out: &mut Emitter<'_>) {
    let doc = out.doc;
    check(out, &APPLICATION_SET, &doc.value, "", 0);
}

/// Checks a whole Application document.
pub fn unknown_fields_application(out: &mut Emitter<'_>) {
    let doc = out.doc;
    check(out, &APPLICATION, &doc.value, "", 0);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::super::testutil::*;
    use crate::appset::Expansion;
    use crate::lint::lint_application;

    #[test]
    fn values_inline_is_explained() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let u = of_rule(&f, "unknown-field");
        assert_eq!(u.len(), 1, "{u:#?}");
        assert!(
            u[0].message
                .starts_with("valuesInline is not a field of `source.helm`")
        );
        assert!(u[0].message.contains("never reach Helm"));
        assert!(u[0].advice.contains("`valuesObject` (a map)"));
        assert_eq!(
            u[0].location.as_ref().unwrap().pos,
            d.pos("/spec/template/spec/source/helm/valuesInline")
        );
    }

    #[test]
    fn typos_everywhere_get_suggestions() {
        let d = doc(json!({"spec": {
            "generators": [{"matrix": {"generators": [
                {"list": {"element": [{"a": "b"}]}},
                {"clusters": {"selector": {"matchLabel": {"x": "y"}}}}
            ]}}],
            "template": {"metadata": {"name": "x", "label": {}}, "spec": {
                "destination": {"server": "https://kubernetes.default.svc", "namespce": "a"},
                "syncPolicy": {"automated": {"prune": true, "selfheal": true},
                    "retry": {"limit": 2, "backof": {}}},
                "sources": [{"repoURL": "r", "helm": {"valueFile": []}}]
            }}
        }}));
        let f = lint(&d, &Expansion::default());
        let u = of_rule(&f, "unknown-field");
        let advice: Vec<&str> = u.iter().map(|f| f.advice.as_str()).collect();
        for want in [
            "`elements`",
            "`matchLabels`",
            "`labels`",
            "`namespace`",
            "`selfHeal`",
            "`backoff`",
            "`valueFiles`",
        ] {
            assert!(
                advice.iter().any(|a| a.contains(want)),
                "{want}: {advice:#?}"
            );
        }
        assert_eq!(u.len(), 7);
    }

    #[test]
    fn misplaced_fields_say_where_they_belong() {
        let d = doc(json!({"spec": {"template": {"spec": {
            "healthChecks": [{"type": "Application"}],
            "source": {"repoURL": "r", "values": "a: 1"},
            "syncPolicy": {"automated": {"prune": true, "syncOptions": []}}
        }}}}));
        let f = lint(&d, &Expansion::default());
        let u = of_rule(&f, "unknown-field");
        assert_eq!(u.len(), 3, "{u:#?}");
        assert!(u.iter().any(|f| f.advice.contains("argocd-cm")));
        assert!(u.iter().any(|f| f.advice.contains("`source.helm`")));
        assert!(u.iter().any(|f| f.advice.contains("under `syncPolicy`")));
    }

    #[test]
    fn free_form_maps_and_valid_specs_pass() {
        let d = doc(
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
                "metadata": {"name": "x", "whatever": 1},
                "spec": {
                "goTemplate": true,
                "generators": [{"list": {"elements": [{"anything": {"nested": 1}}]}}],
                "template": {"metadata": {"name": "x", "labels": {"free": "form"}}, "spec": {
                    "project": "default",
                    "source": {"repoURL": "r", "chart": "c", "targetRevision": "1.0.0",
                        "helm": {"valuesObject": {"valuesInline": {"notChecked": true}}}},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "a"},
                    "syncPolicy": {"automated": {"prune": false}, "syncOptions": ["PruneLast=true"],
                        "managedNamespaceMetadata": {"labels": {"a": "b"}}},
                    "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
                }}
            }}),
        );
        let f = lint(&d, &Expansion::default());
        assert!(of_rule(&f, "unknown-field").is_empty(), "{f:#?}");
    }

    #[test]
    fn bare_application() {
        let d = doc(
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "agent"},
            "spec": {"project": "default", "healthChecks": [],
                "source": {"repoURL": "https://github.com/x/y", "path": "p", "targetRevision": "v1"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "agents"}}}),
        );
        let f = lint_application(Path::new("app.yaml"), &d);
        let u = of_rule(&f, "unknown-field");
        assert_eq!(u.len(), 1, "{f:#?}");
        assert!(u[0].message.contains("`healthChecks`"));
        assert_eq!(u[0].application, None);
        assert_eq!(f.len(), 1, "{f:#?}");
    }
}
