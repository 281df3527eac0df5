//! Argo CD's `GenerateApplications` (`applicationset/controllers/template/`):
//! for each generator entry, its parameter sets rendered into the template
//! (the entry's own `template` merged over `spec.template`), then
//! `templatePatch`, then the ApplicationSet's namespace.

use serde_json::{Map, Value};

use super::generators::{self, Ctx, Params};
use super::template::{self, Options};
use super::{Environment, ExpandError, Expansion, GeneratedApp, patch};

const RENDER_REASON: &str = "RenderTemplateParamsError";
const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// Expands the ApplicationSet `appset` (the whole manifest) in `env`.
pub fn expand(appset: &Value, env: &Environment) -> Expansion {
    let mut x = Expansion::default();
    let Some(spec) = appset.get("spec").and_then(Value::as_object) else {
        x.errors.push(ExpandError {
            rule: "appset-invalid",
            pointer: "/spec".into(),
            message: "the ApplicationSet has no `spec` mapping".into(),
            application: None,
            reason: generators::GENERATION_REASON,
        });
        return x;
    };
    // Shapes the CRD's schema refuses: the API server rejects the
    // ApplicationSet, so nothing is generated.
    for (field, want_list) in [("generators", true), ("template", false)] {
        let Some(value) = spec.get(field) else {
            continue;
        };
        let fits = if want_list {
            value.is_array()
        } else {
            value.is_object()
        };
        if !fits {
            x.errors.push(ExpandError {
                rule: "appset-invalid",
                pointer: format!("/spec/{field}"),
                message: format!(
                    "`spec.{field}` is {}; the ApplicationSet CRD requires {}",
                    crate::yaml::kind_name(value),
                    if want_list { "a list" } else { "a mapping" }
                ),
                application: None,
                reason: generators::GENERATION_REASON,
            });
            return x;
        }
    }
    let namespace = appset
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let go_template = spec
        .get("goTemplate")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let go_options: Vec<String> = crate::appset::string_list(spec.get("goTemplateOptions"));
    let opts = Options::new(go_template, &go_options);
    let base_template = spec
        .get("template")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let template_patch = spec.get("templatePatch").and_then(Value::as_str);
    let preserve = spec
        .get("syncPolicy")
        .and_then(|s| s.get("preserveResourcesOnDeletion"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ctx = Ctx { env, opts };
    let render = Render {
        opts,
        preserve,
        template_patch,
        namespace,
    };

    let entries: &[Value] = spec
        .get("generators")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    for (i, entry) in entries.iter().enumerate() {
        let pointer = format!("/spec/generators/{i}");
        let results = match generators::transform(entry, &pointer, &ctx, None, 0, &mut x.recovered)
        {
            Ok(r) => r,
            Err(failure) if failure.rule == crate::appset::LIMIT_RULE => {
                x.limit_exceeded = Some(failure.into_error());
                return x;
            }
            Err(failure) => {
                x.errors.push(failure.into_error());
                continue;
            }
        };
        let generated: usize = results.iter().map(|r| r.params.len()).sum();
        let limit = crate::appset::max_applications();
        if x.applications.len() + generated > limit {
            x.limit_exceeded = Some(ExpandError {
                rule: crate::appset::LIMIT_RULE,
                pointer,
                message: format!(
                    "the generators give more than {limit} parameter sets ({} so far)",
                    x.applications.len() + generated
                ),
                application: None,
                reason: generators::GENERATION_REASON,
            });
            return x;
        }
        if results.is_empty() {
            x.errors.push(ExpandError {
                rule: "generator-unknown",
                pointer: pointer.clone(),
                message: format!(
                    "ApplicationSet {} contains unrecognized generators",
                    appset
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ),
                application: None,
                reason: generators::GENERATION_REASON,
            });
        }
        for result in results {
            let tmpl = match &result.template {
                Some(own) => merge_template(own, &base_template),
                None => base_template.clone(),
            };
            for params in &result.params {
                let started = std::time::Instant::now();
                let rendered = render.app(&tmpl, params);
                if let Some(limit) = over_render_limits(&rendered, started.elapsed()) {
                    x.limit_exceeded = Some(limit);
                    return x;
                }
                match rendered {
                    Ok(app) => x.applications.push(app),
                    Err(failure) if failure.limit => {
                        // The renderer's budget, not a mistake Argo CD would report.
                        x.limit_exceeded = Some(ExpandError {
                            rule: crate::appset::RENDER_LIMIT_RULE,
                            pointer: failure.pointer,
                            message: failure.message,
                            application: None,
                            reason: RENDER_REASON,
                        });
                        return x;
                    }
                    Err(failure) => x.errors.push(ExpandError {
                        rule: "template-render-error",
                        pointer: failure.pointer,
                        message: failure.message,
                        application: None,
                        reason: RENDER_REASON,
                    }),
                }
            }
        }
    }
    // An unknown goTemplateOptions entry makes Go panic at the first
    // template rendered: that panic, alone, is what Argo CD reports.
    if opts.bad_option
        && x.errors
            .iter()
            .any(|e| e.message.contains(template::BAD_OPTION))
        && let Some(message) = template::unrecognized_option(&go_options)
    {
        x.applications.clear();
        x.errors = vec![ExpandError {
            rule: "template-option-invalid",
            pointer: "/spec/goTemplateOptions".into(),
            message,
            application: None,
            reason: RENDER_REASON,
        }];
    }
    // A matrix renders its second child once per parameter set of the first:
    // report each repaired value once.
    let mut seen = std::collections::HashSet::new();
    x.recovered
        .retain(|e| seen.insert((e.rule, e.pointer.clone(), e.message.clone())));
    x
}

/// The render limits per Application: its time (also when it failed) and
/// the size of what it rendered to, as JSON.
fn over_render_limits(
    rendered: &Result<GeneratedApp, AppFailure>,
    took: std::time::Duration,
) -> Option<ExpandError> {
    let name = rendered.as_ref().ok().map(|a| a.name.clone());
    let which = || match &name {
        Some(name) => format!("Application `{name}`"),
        None => "an Application".to_string(),
    };
    let limit = crate::appset::max_render_time();
    if took > limit {
        return Some(ExpandError {
            rule: crate::appset::RENDER_TIME_RULE,
            pointer: "/spec/template".into(),
            message: format!(
                "rendering {} took {} ms, over the limit of {} ms per Application",
                which(),
                took.as_millis(),
                limit.as_millis()
            ),
            application: name,
            reason: RENDER_REASON,
        });
    }
    let app = rendered.as_ref().ok()?;
    let limit = crate::appset::max_application_bytes();
    let size = serde_json::to_vec(&app.manifest).map_or(0, |v| v.len());
    (size > limit).then(|| ExpandError {
        rule: crate::appset::APPLICATION_SIZE_RULE,
        pointer: "/spec/template".into(),
        message: format!(
            "{} renders to {size} bytes, over the limit of {limit} bytes per Application",
            which()
        ),
        application: name.clone(),
        reason: RENDER_REASON,
    })
}

struct Render<'a> {
    opts: Options,
    preserve: bool,
    template_patch: Option<&'a str>,
    namespace: Option<&'a str>,
}

impl Render<'_> {
    /// One Application from `tmpl` (an ApplicationSet template) and `params`.
    fn app(&self, tmpl: &Value, params: &Params) -> Result<GeneratedApp, AppFailure> {
        let meta = tmpl.get("metadata");
        let mut metadata = Map::new();
        for key in ["name", "namespace", "labels", "annotations", "finalizers"] {
            if let Some(v) = meta.and_then(|m| m.get(key)).filter(|v| !v.is_null()) {
                metadata.insert(key.into(), v.clone());
            }
        }
        let mut app = Map::new();
        app.insert("metadata".into(), Value::Object(metadata));
        app.insert(
            "spec".into(),
            tmpl.get("spec")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
        );
        let mut app = Value::Object(app);

        // Argo CD returns the template untouched for an empty parameter set.
        if !params.is_empty() {
            app = template::render_value_located(&app, params, self.opts, "/spec/template")
                .map_err(|(pointer, e)| AppFailure {
                    pointer,
                    message: e.message,
                    limit: e.limit,
                })?;
            let has_finalizers = app
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_some_and(|f| !f.is_empty());
            if !self.preserve
                && !has_finalizers
                && let Some(m) = app.get_mut("metadata").and_then(Value::as_object_mut)
            {
                m.insert(
                    "finalizers".into(),
                    Value::Array(vec![RESOURCES_FINALIZER.into()]),
                );
            }
        }
        if let Some(text) = self.template_patch {
            let rendered = template::replace(text, params, self.opts).map_err(|e| AppFailure {
                pointer: "/spec/templatePatch".to_string(),
                message: format!("error replacing values in templatePatch: {}", e.message),
                limit: e.limit,
            })?;
            let parsed = patch::parse(&rendered).map_err(AppFailure::patch)?;
            app = patch::apply(&app, &parsed).map_err(AppFailure::patch)?;
        }
        for field in ["metadata", "spec"] {
            if let Some(value) = app.get(field).filter(|v| !v.is_object()) {
                return Err(AppFailure::patch(format!(
                    "the patched Application's `{field}` is {}; the API server requires a mapping",
                    crate::yaml::kind_name(value)
                )));
            }
        }
        Ok(manifest(app, params, self.namespace))
    }
}

/// Why one Application could not be rendered, and where.
struct AppFailure {
    pointer: String,
    message: String,
    /// The renderer's budget ran out (see `template::set_render_limits`).
    limit: bool,
}

impl AppFailure {
    fn patch(message: String) -> Self {
        AppFailure {
            pointer: "/spec/templatePatch".to_string(),
            message,
            limit: false,
        }
    }
}

fn manifest(app: Value, params: &Params, namespace: Option<&str>) -> GeneratedApp {
    let mut metadata = app
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // The Application lives in the ApplicationSet's namespace, whatever the template says.
    match namespace {
        Some(ns) => {
            metadata.insert("namespace".into(), ns.into());
        }
        None => {
            metadata.remove("namespace");
        }
    }
    metadata.retain(|_, v| match v {
        Value::String(s) => !s.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Null => false,
        _ => true,
    });
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut manifest = Map::new();
    manifest.insert("apiVersion".into(), "argoproj.io/v1alpha1".into());
    manifest.insert("kind".into(), "Application".into());
    manifest.insert("metadata".into(), Value::Object(metadata));
    manifest.insert(
        "spec".into(),
        app.get("spec")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    GeneratedApp {
        name,
        manifest: Value::Object(manifest),
        params: Value::Object(params.clone()),
    }
}

/// `mergo.Merge(generatorTemplate, specTemplate)`: the generator's own template
/// wins; its empty fields (absent, null, "", 0, false, empty list or map) are
/// filled from the spec's template, maps merging key by key.
fn merge_template(own: &Value, base: &Value) -> Value {
    let mut out = own.clone();
    fill_empty(&mut out, base, 0);
    out
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}

fn fill_empty(dst: &mut Value, src: &Value, depth: usize) {
    if depth > template::MAX_DEPTH {
        return;
    }
    if is_empty(dst) {
        *dst = src.clone();
        return;
    }
    if let (Value::Object(d), Value::Object(s)) = (dst, src) {
        for (k, sv) in s {
            match d.get_mut(k) {
                Some(dv) => fill_empty(dv, sv, depth + 1),
                None => {
                    d.insert(k.clone(), sv.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appset::{ClusterInfo, RepoMount};
    use serde_json::json;
    use std::collections::BTreeMap;

    /// The lesson's first draft, read from the scenario file users run, as
    /// the controller sees it in namespace `argocd`.
    fn lesson_appset() -> Value {
        let text = include_str!("../../scenarios/lesson/appsets/01-first-draft.yaml");
        let mut value = crate::yaml::parse(text).unwrap().remove(0).value;
        value["metadata"]["namespace"] = json!("argocd");
        value
    }

    fn names(x: &Expansion) -> Vec<&str> {
        x.applications.iter().map(|a| a.name.as_str()).collect()
    }

    #[test]
    fn lesson_matrix_generates_six_apps_and_recovers_int_replicas() {
        let x = expand(&lesson_appset(), &Environment::default());
        assert_eq!(
            names(&x),
            vec![
                "fastapi-agent-dev-docker.io",
                "fastapi-agent-dev-ghcr.io",
                "fastapi-agent-staging-docker.io",
                "fastapi-agent-staging-ghcr.io",
                "fastapi-agent-prod-docker.io",
                "fastapi-agent-prod-ghcr.io"
            ]
        );
        assert!(x.errors.is_empty(), "{:?}", x.errors);
        let rec: Vec<(&str, &str)> = x
            .recovered
            .iter()
            .map(|e| (e.rule, e.pointer.as_str()))
            .collect();
        assert_eq!(
            rec,
            vec![
                (
                    "list-value-not-string",
                    "/spec/generators/0/matrix/generators/0/list/elements/0/replicas"
                ),
                (
                    "list-value-not-string",
                    "/spec/generators/0/matrix/generators/0/list/elements/1/replicas"
                ),
                (
                    "list-value-not-string",
                    "/spec/generators/0/matrix/generators/0/list/elements/2/replicas"
                ),
            ]
        );
        assert!(!x.argocd_generates());
        let prod = &x.applications[4];
        assert_eq!(prod.server(), "https://prod-cluster.example.com");
        assert_eq!(prod.namespace(), "agents");
        assert_eq!(prod.project(), "default");
        assert_eq!(
            prod.manifest["spec"]["source"]["helm"]["valuesInline"]["replicaCount"],
            "5"
        );
        assert_eq!(
            prod.manifest["spec"]["source"]["helm"]["valuesInline"]["image"]["repository"],
            "docker.io/your-org/fastapi-agent"
        );
        assert_eq!(
            prod.manifest["spec"]["source"]["helm"]["valuesInline"]["ingress"]["enabled"],
            true
        );
        assert_eq!(prod.manifest["apiVersion"], "argoproj.io/v1alpha1");
        assert_eq!(prod.manifest["kind"], "Application");
        assert_eq!(prod.manifest["metadata"]["namespace"], "argocd");
        assert_eq!(
            prod.manifest["metadata"]["finalizers"],
            json!([RESOURCES_FINALIZER])
        );
        assert_eq!(prod.params["registry"], "docker.io");
        assert_eq!(prod.params["name"], "prod");
    }

    #[test]
    fn go_template_render_error_is_reported_and_app_skipped() {
        let appset = json!({"metadata": {"name": "x"}, "spec": {
            "goTemplate": true,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": [{"name": "a"}, {"name": "b", "ns": "z"}]}}],
            "template": {"metadata": {"name": "{{.name}}"}, "spec": {"project": "default", "destination": {"namespace": "{{.ns}}"}}}
        }});
        let x = expand(&appset, &Environment::default());
        assert_eq!(names(&x), vec!["b"]);
        assert_eq!(x.errors.len(), 1);
        let e = &x.errors[0];
        assert_eq!(
            (e.rule, e.reason, e.application.as_deref()),
            ("template-render-error", "RenderTemplateParamsError", None)
        );
        assert!(
            e.message.contains("map has no entry for key \"ns\""),
            "{}",
            e.message
        );
        assert_eq!(e.pointer, "/spec/template/spec/destination/namespace");
        assert!(
            x.applications[0].manifest["metadata"]
                .get("namespace")
                .is_none()
        );
    }

    #[test]
    fn go_template_missing_key_renders_no_value_by_default() {
        let appset = json!({"spec": {
            "goTemplate": true,
            "generators": [{"list": {"elements": [{"name": "a"}]}}],
            "template": {"metadata": {"name": "{{.name}}-{{.nope}}"}, "spec": {}}
        }});
        let x = expand(&appset, &Environment::default());
        assert_eq!(names(&x), vec!["a-<no value>"]);
    }

    #[test]
    fn fasttemplate_unknown_param_stays_literal_in_output() {
        let appset = json!({"spec": {
            "generators": [{"list": {"elements": [{"name": "a"}]}}],
            "template": {"metadata": {"name": "{{name}}", "labels": {"{{name}}-x": "{{ other }}"}}, "spec": {"project": "p"}}
        }});
        let x = expand(&appset, &Environment::default());
        assert_eq!(
            x.applications[0].manifest["metadata"]["labels"],
            json!({"a-x": "{{ other }}"})
        );
    }

    #[test]
    fn generators_run_in_order_and_duplicates_are_kept() {
        let appset = json!({"spec": {
            "generators": [
                {"list": {"elements": [{"name": "b"}, {"name": "a"}]}},
                {"list": {"elements": [{"name": "b"}]}}
            ],
            "template": {"metadata": {"name": "{{name}}"}, "spec": {}}
        }});
        assert_eq!(
            names(&expand(&appset, &Environment::default())),
            vec!["b", "a", "b"]
        );
    }

    #[test]
    fn failing_generator_is_reported_and_others_still_expand() {
        let appset = json!({"spec": {
            "generators": [
                {"matrix": {"generators": [{"list": {"elements": []}}]}},
                {"git": {"repoURL": "https://example.com/none.git", "directories": [{"path": "*"}]}},
                {"list": {"elements": [{"name": "ok"}]}}
            ],
            "template": {"metadata": {"name": "{{name}}"}, "spec": {}}
        }});
        let x = expand(&appset, &Environment::default());
        assert_eq!(names(&x), vec!["ok"]);
        let rules: Vec<(&str, &str)> = x.errors.iter().map(|e| (e.rule, e.reason)).collect();
        assert_eq!(
            rules,
            vec![
                ("matrix-children", "ApplicationGenerationFromParamsError"),
                (
                    "git-repo-not-served",
                    "ApplicationGenerationFromParamsError"
                )
            ]
        );
        assert_eq!(
            x.errors[0].message,
            "found less than two generators, Matrix support only two"
        );
    }

    #[test]
    fn generator_template_overrides_spec_template_fields() {
        let appset = json!({"spec": {
            "generators": [{"list": {
                "elements": [{"name": "a"}],
                "template": {"metadata": {}, "spec": {"destination": {"namespace": "special-{{name}}"}}}
            }}],
            "template": {"metadata": {"name": "{{name}}"}, "spec": {"project": "default", "destination": {"server": "https://s", "namespace": "normal"}}}
        }});
        let x = expand(&appset, &Environment::default());
        let app = &x.applications[0];
        assert_eq!(app.name, "a");
        assert_eq!(app.namespace(), "special-a");
        assert_eq!(app.server(), "https://s");
    }

    #[test]
    fn generator_selector_filters_param_sets() {
        let appset = json!({"spec": {
            "generators": [{"list": {"elements": [{"name": "a", "env": "prod"}, {"name": "b", "env": "dev"}]}, "selector": {"matchLabels": {"env": "prod"}}}],
            "template": {"metadata": {"name": "{{name}}"}, "spec": {}}
        }});
        assert_eq!(names(&expand(&appset, &Environment::default())), vec!["a"]);
    }

    #[test]
    fn finalizer_not_added_with_preserve_or_explicit_finalizers() {
        let mut appset = json!({"spec": {
            "syncPolicy": {"preserveResourcesOnDeletion": true},
            "generators": [{"list": {"elements": [{"name": "a"}]}}],
            "template": {"metadata": {"name": "{{name}}"}, "spec": {}}
        }});
        let x = expand(&appset, &Environment::default());
        assert!(
            x.applications[0].manifest["metadata"]
                .get("finalizers")
                .is_none()
        );
        appset["spec"]["syncPolicy"] = json!(null);
        appset["spec"]["template"]["metadata"]["finalizers"] = json!(["custom"]);
        let x = expand(&appset, &Environment::default());
        assert_eq!(
            x.applications[0].manifest["metadata"]["finalizers"],
            json!(["custom"])
        );
    }

    #[test]
    fn template_patch_json_is_rendered_and_applied_but_keeps_project() {
        let appset = json!({"spec": {
            "goTemplate": true,
            "generators": [{"list": {"elements": [{"name": "a", "auto": true}]}}],
            "template": {"metadata": {"name": "{{.name}}"}, "spec": {"project": "default", "destination": {"namespace": "x"}}},
            "templatePatch": "{\"spec\": {\"project\": \"evil\"{{ if .auto }}, \"syncPolicy\": {\"automated\": {\"prune\": true}}{{ end }}}}"
        }});
        let x = expand(&appset, &Environment::default());
        assert!(x.errors.is_empty(), "{:?}", x.errors);
        let app = &x.applications[0];
        assert_eq!(app.project(), "default");
        assert_eq!(
            app.manifest["spec"]["syncPolicy"],
            json!({"automated": {"prune": true}})
        );
        assert_eq!(app.namespace(), "x");
    }

    #[test]
    fn cluster_and_git_generators_expand_through_the_environment() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("apps/api")).unwrap_or_else(|e| panic!("{e}"));
        let env = Environment {
            clusters: vec![ClusterInfo {
                name: "staging".into(),
                server: "https://staging".into(),
                project: None,
                labels: BTreeMap::from([("env".to_string(), "staging".to_string())]),
                annotations: BTreeMap::new(),
                local_without_secret: false,
            }],
            repos: vec![RepoMount {
                url: "https://github.com/org/apps".into(),
                path: dir.path().to_path_buf(),
            }],
        };
        let appset = json!({"spec": {
            "goTemplate": true,
            "generators": [{"matrix": {"generators": [
                {"clusters": {"selector": {"matchLabels": {"env": "staging"}}}},
                {"git": {"repoURL": "https://github.com/org/apps.git", "directories": [{"path": "apps/*"}]}}
            ]}}],
            "template": {"metadata": {"name": "{{.path.basename}}-{{.name}}"}, "spec": {"destination": {"server": "{{.server}}"}}}
        }});
        let x = expand(&appset, &env);
        assert!(x.errors.is_empty(), "{:?}", x.errors);
        assert_eq!(names(&x), vec!["api-staging"]);
        assert_eq!(x.applications[0].server(), "https://staging");
    }

    #[test]
    fn appset_without_spec_is_an_error_not_a_panic() {
        let x = expand(&json!("nonsense"), &Environment::default());
        assert_eq!(x.errors[0].rule, "appset-invalid");
        let x = expand(
            &json!({"spec": {"generators": "x", "template": 3}}),
            &Environment::default(),
        );
        assert!(x.applications.is_empty());
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use serde_json::json;

    /// Malformed ApplicationSets give errors, never panics.
    #[test]
    fn malformed_appsets_do_not_panic() {
        let cases = [
            json!(null),
            json!({"spec": null}),
            json!({"spec": {"generators": [null, 1, "x", [], {}]}}),
            json!({"spec": {"generators": [{"list": {"elements": [1, [], null, {"values": [1]}]}}]}}),
            json!({"spec": {"generators": [{"list": {"elements": "x", "elementsYaml": 3}}]}}),
            json!({"spec": {"generators": [{"matrix": {"generators": "x"}}, {"merge": {"generators": [{}, {}], "mergeKeys": [1]}}]}}),
            json!({"spec": {"generators": [{"clusters": {"selector": {"matchExpressions": [{"operator": "In"}, 3]}, "values": {"a": 1}}}]}}),
            json!({"spec": {"generators": [{"git": {"repoURL": 5, "files": [{"path": "["}]}}]}}),
            json!({"spec": {"goTemplate": true, "goTemplateOptions": "x", "generators": [{"list": {"elements": [{"a": "b"}]}}],
                "template": {"metadata": {"name": "{{ .a | substr 5 1 }}{{ index .a 9 }}"}, "spec": []}, "templatePatch": "[1]"}}),
            json!({"spec": {"generators": [{"list": {"elements": [{"a": "b"}]}}], "template": {"metadata": {"name": "{{a}} {{"}}, "templatePatch": 7}}),
            json!({"spec": {"generators": [{"list": {"elements": [{"a": "b"}]}, "selector": "x"}], "template": "x"}}),
            json!({"spec": {"generators": [{"scmProvider": {}}, {"plugin": {}}]}}),
        ];
        for (i, appset) in cases.iter().enumerate() {
            let x = expand(appset, &Environment::default());
            let _ = (i, x.argocd_generates());
        }
        let x = expand(&cases[5], &Environment::default());
        assert_eq!(x.errors.len(), 2);
        let x = expand(&cases[11], &Environment::default());
        assert!(x.errors.iter().all(|e| e.rule == "generator-unsupported"));
    }
}
