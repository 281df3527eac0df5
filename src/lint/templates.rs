//! Template mistakes: unquoted `{{…}}` scalars, syntax from other template
//! languages, placeholders left unrendered, and what the expansion reported.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::util::{dotted, field_name, list_text, strings, walk};
use super::{Draft, Emitter, Severity, Target};
use crate::appset::Expansion;
use crate::yaml::{Pos, RecoveryKind};

/// `{{#x}}`, `{{^x}}`, `{{/x}}`, `{{> partial}}`: mustache/handlebars tags.
static MUSTACHE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{-?\s*([#^/>])\s*([^}]*?)\s*-?\}\}").expect("static regex"));
/// `{% if x %}`, `{{ x | default }}` is left to the Go template parser.
static JINJA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%-?\s*([^%]*?)\s*-?%\}").expect("static regex"));
/// `${VAR}`, `${VAR:-default}`.
static ENV_SUBST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=?+][^}]*)?\}").expect("static regex")
});
/// Any `{{…}}`.
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{-?\s*(.*?)\s*-?\}\}").expect("static regex"));

/// Helm value keys that name an image: substitution there is meant for Argo CD.
const IMAGE_KEYS: &[&str] = &["image", "repository", "registry", "tag", "version"];

/// Argo CD substitutes its build environment (`$ARGOCD_APP_NAME`, …) itself.
fn argocd_build_env(var: &str) -> bool {
    var.starts_with("ARGOCD_") || var == "KUBE_VERSION" || var == "KUBE_API_VERSIONS"
}

/// A foreign construct as written, and the language it comes from.
type Construct = (String, &'static str);

/// The foreign template constructs in a text, as written.
/// With `app_config`, the text is a Helm value the application may expand
/// itself (`command: echo ${HOME}`, an Airflow Jinja macro): only mustache
/// sections count there.
fn foreign_constructs(text: &str, app_config: bool) -> Vec<Construct> {
    let mut out = Vec::new();
    for c in MUSTACHE.captures_iter(text) {
        let sigil = &c[1];
        // `{{/* … */}}` is a Go template comment.
        if sigil == "/" && c[2].starts_with('*') {
            continue;
        }
        out.push((c[0].to_string(), "mustache/handlebars"));
    }
    if app_config {
        return out;
    }
    for c in JINJA.captures_iter(text) {
        out.push((c[0].to_string(), "Jinja"));
    }
    for c in ENV_SUBST.captures_iter(text) {
        if !argocd_build_env(&c[1]) {
            out.push((c[0].to_string(), "shell/envsubst"));
        }
    }
    out
}

fn foreign_draft<'a>(field: &str, found: &[Construct]) -> Draft<'a> {
    let kinds: BTreeSet<&str> = found.iter().map(|(_, k)| *k).collect();
    let tags: Vec<String> = found.iter().map(|(t, _)| format!("`{t}`")).collect();
    let kinds: Vec<&str> = kinds.into_iter().collect();
    let env_only = kinds == ["shell/envsubst"];
    Draft {
        rule: "foreign-template-syntax",
        severity: Severity::Error,
        application: None,
        message: format!(
            "{} in `{field}` is {} syntax; Argo CD does not evaluate it (fasttemplate leaves it as \
             literal text, goTemplate fails to parse it)",
            list_text(&tags, 4),
            kinds.join(" and "),
        ),
        advice: if env_only {
            "Argo CD does not substitute environment variables in an ApplicationSet: put the value \
             in a generator parameter and reference it as `{{param}}` (or `{{ .param }}` with \
             `goTemplate: true`)"
                .to_string()
        } else {
            "use Go templates: set `goTemplate: true` and write conditionals as \
             `{{ if .pullSecret }}…{{ end }}`; to add or drop whole fields per element (e.g. \
             `automated`, `imagePullSecrets`) use `templatePatch`"
                .to_string()
        },
    }
}

/// `foreign-template-syntax` in the ApplicationSet as written, including
/// whole template lines the reader skipped.
pub fn foreign_template_syntax(out: &mut Emitter<'_>) {
    let doc = out.doc;
    let mut seen = BTreeSet::new();
    for (pointer, text) in strings(&doc.value, "") {
        // Plugin parameters are handed to a tool that may expand them itself.
        if pointer.contains("/plugin/") {
            continue;
        }
        let app_config = pointer.contains("/helm/")
            && !IMAGE_KEYS.contains(&field_name(&pointer).to_ascii_lowercase().as_str());
        let found = foreign_constructs(text, app_config);
        if found.is_empty() {
            continue;
        }
        seen.insert(pointer.clone());
        out.emit(foreign_draft(&dotted(&pointer), &found), &pointer);
    }
    // Skipped template lines under one mapping (`{{#if …}}` … `{{/if}}`) are
    // one problem: report them together at the first.
    let mut groups: Vec<(&str, Pos, Vec<Construct>)> = Vec::new();
    for r in &doc.recoveries {
        if seen.contains(&r.pointer) {
            continue;
        }
        let found = foreign_constructs(&r.text, false);
        if found.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(p, _, _)| *p == r.pointer) {
            Some((_, pos, all)) => {
                *pos = (*pos).min(r.pos);
                all.extend(found);
            }
            None => groups.push((&r.pointer, r.pos, found)),
        }
    }
    for (pointer, pos, found) in groups {
        let mut draft = foreign_draft(&dotted(pointer), &found);
        draft.message = format!(
            "{}; YAML cannot hold template logic there, so the reader dropped it",
            draft.message
        );
        out.emit_at(draft, Some(pos));
    }
}

/// A text that is one section tag only (`{{#if x}}`, `{{/if}}`, `{{else}}`,
/// `{{ end }}`): reported with the line that opens it, if at all.
fn section_line(text: &str) -> bool {
    let t = text.trim();
    let single = t.starts_with("{{") && t.ends_with("}}") && t[2..].find("}}") == Some(t.len() - 4);
    let inner = t
        .trim_start_matches("{{")
        .trim_start_matches('-')
        .trim_start();
    single
        && (inner.starts_with(['#', '^', '/'])
            || inner.starts_with("else")
            || inner.starts_with("end"))
}

/// `unquoted-template`: a plain scalar starting with `{{`.
pub fn unquoted_template(out: &mut Emitter<'_>) {
    let doc = out.doc;
    for r in &doc.recoveries {
        if r.kind != RecoveryKind::UnquotedTemplate {
            continue;
        }
        let is_value = doc.value.pointer(&r.pointer).and_then(Value::as_str) == Some(&r.text);
        let text = r.text.trim();
        if !is_value {
            // A line of template logic the reader skipped; foreign sections
            // are foreign-template-syntax.
            if section_line(text) || !foreign_constructs(text, false).is_empty() {
                continue;
            }
            out.emit_at(
                Draft {
                    rule: "unquoted-template",
                    severity: Severity::Error,
                    application: None,
                    message: format!(
                        "the line `{text}` in `{}` is template logic on a line of its own: \
                         `template` is YAML whose string values are rendered one by one, so the \
                         line is not YAML and does not survive loading",
                        dotted(&r.pointer)
                    ),
                    advice: "move conditional or repeated fields into `templatePatch` (a string \
                             rendered with `goTemplate: true`, then patched over `template`)"
                        .to_string(),
                },
                Some(r.pos),
            );
            continue;
        }
        let whole = PLACEHOLDER
            .find(text)
            .is_some_and(|m| m.start() == 0 && m.end() == text.len());
        let how = if whole {
            "YAML reads it as a nested flow mapping, not as a string"
        } else {
            "YAML reads `{…}` as a flow mapping, and text after it is a syntax error"
        };
        let field = field_name(&r.pointer);
        let field = if field.is_empty() {
            "the value".to_string()
        } else {
            format!("`{field}`")
        };
        out.emit_at(
            Draft {
                rule: "unquoted-template",
                severity: Severity::Error,
                application: None,
                message: format!(
                    "{field} at `{}` is the unquoted template `{text}`: {how}; the ApplicationSet \
                     does not load as written",
                    dotted(&r.pointer)
                ),
                advice: format!(
                    "quote the whole value: {}\"{}\"",
                    if field.starts_with('`') {
                        format!("{}: ", field.trim_matches('`'))
                    } else {
                        String::new()
                    },
                    text.replace('"', "\\\"")
                ),
            },
            Some(r.pos),
        );
    }
}

fn expansion_advice(rule: &str) -> &'static str {
    match rule {
        "list-value-not-string" => {
            "quote the value so it is a string (`replicas: \"1\"`), or set `goTemplate: true`, \
             which passes list elements as they are"
        }
        "matrix-children" => "give the matrix generator exactly two child generators",
        "matrix-key-conflict" => {
            "rename the parameter in one child, or set `goTemplate: true` (the first child's \
             value then wins)"
        }
        "merge-children" => "give the merge generator at least two child generators",
        "merge-keys" => "list the parameters that identify a parameter set in `mergeKeys`",
        "git-repo-not-served" => {
            "add the repository to the scenario's `repos` with the local directory that serves it"
        }
        "generator-unsupported" => {
            "the offline plan cannot evaluate this generator; check what it generates on a real \
             Argo CD (`gitops-e2e run`)"
        }
        "generator-unknown" => {
            "use one of list, clusters, git, matrix, merge, scmProvider, pullRequest, \
             clusterDecisionResource, plugin"
        }
        "merge-non-unique-keys" => {
            "choose `mergeKeys` whose values are unique in every child generator"
        }
        "template-render-error" => {
            "fix the template expression; with goTemplate check the parameter names and functions \
             (Sprig without env/expandenv)"
        }
        _ => {
            "fix the generator or template: while this error stands, Argo CD creates and updates \
             no Application of this ApplicationSet"
        }
    }
}

/// Every error and repaired problem of the expansion becomes an error finding.
pub fn expansion_problems(out: &mut Emitter<'_>, expansion: &Expansion) {
    for (e, repaired) in expansion
        .errors
        .iter()
        .map(|e| (e, false))
        .chain(expansion.recovered.iter().map(|e| (e, true)))
    {
        let mut message = e.message.clone();
        if repaired {
            message.push_str(
                "; Argo CD generates no Application at all (the plan went on as if it were fixed)",
            );
        } else if !e.reason.is_empty() {
            message.push_str(&format!(" (condition reason `{}`)", e.reason));
        }
        out.emit(
            Draft {
                rule: e.rule,
                severity: Severity::Error,
                application: e.application.as_deref(),
                message,
                advice: expansion_advice(e.rule).to_string(),
            },
            &e.pointer,
        );
    }
}

/// `unrendered-placeholder`: `{{…}}` or `<no value>` left in an Application.
pub fn unrendered_placeholder(out: &mut Emitter<'_>, t: &Target<'_>) {
    let params: Vec<String> = t
        .params
        .and_then(Value::as_object)
        .map(|m| m.keys().map(|k| format!("`{k}`")).collect())
        .unwrap_or_default();
    // Only strings that can hold a placeholder get a pointer of their own.
    let mut candidates = Vec::new();
    walk(t.manifest, "", &mut |p, _, v| {
        if let Value::String(s) = v
            && (s.contains("{{") || s.contains("<no value>"))
        {
            candidates.push((p.to_string(), s.as_str()));
        }
    });
    for (pointer, text) in candidates {
        let mut names = Vec::new();
        for c in PLACEHOLDER.captures_iter(text) {
            let inner = c[1].trim();
            // Foreign sections are reported as foreign-template-syntax.
            if inner.starts_with(['#', '^', '/', '>']) {
                continue;
            }
            names.push(c[0].to_string());
        }
        if text.contains("<no value>") {
            names.push("<no value>".to_string());
        }
        if names.is_empty() {
            continue;
        }
        let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let field = dotted(&pointer);
        let (message, advice) = if t.generated {
            (
                format!(
                    "Application `{}`: `{field}` is `{text}` after rendering: {} matched no \
                     parameter of its generator, so Argo CD leaves it as written",
                    t.name,
                    list_text(&shown, 4)
                ),
                if params.is_empty() {
                    "define the parameter in every generator element, or fix its name".to_string()
                } else {
                    format!(
                        "define the parameter in every generator element, or use one of the \
                         parameters this Application has: {}",
                        list_text(&params, 10)
                    )
                },
            )
        } else {
            (
                format!(
                    "Application `{}`: `{field}` contains the placeholder {}, which nothing \
                     renders in a plain Application",
                    t.name,
                    list_text(&shown, 4)
                ),
                "replace the placeholder with the real value (e.g. an image tag like \
                 `sha-abc1234`), or generate the Application from an ApplicationSet"
                    .to_string(),
            )
        };
        out.emit(
            Draft {
                rule: "unrendered-placeholder",
                severity: Severity::Error,
                application: t.application(),
                message,
                advice,
            },
            &t.origin(&pointer),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;
    use crate::appset::Expansion;

    #[test]
    fn unquoted_templates_from_recoveries() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let u = of_rule(&f, "unquoted-template");
        assert_eq!(u.len(), 3, "{u:#?}");
        let t = "/spec/template/spec/source/helm/valuesInline";
        assert!(u.iter().any(|f| f.message.contains("replicaCount")
            && f.message.contains("nested flow mapping")
            && f.advice.contains("replicaCount: \"{{replicas}}\"")
            && f.location.as_ref().unwrap().pos == d.pos(&format!("{t}/replicaCount"))));
        assert!(u.iter().any(|f| f.message.contains("syntax error")
            && f.advice.contains("\"{{registry}}/your-org/fastapi-agent\"")));
    }

    #[test]
    fn skipped_section_lines_are_not_unquoted_values() {
        let mut d =
            doc(json!({"spec": {"template": {"spec": {"syncPolicy": {"syncOptions": []}}}}}));
        recovery(
            &mut d,
            "/spec/template/spec/syncPolicy",
            "{{#if autoSync == \"true\"}}",
        );
        recovery(&mut d, "/spec/template/spec/syncPolicy", "{{/if}}");
        let f = lint(&d, &Expansion::default());
        assert!(of_rule(&f, "unquoted-template").is_empty(), "{f:#?}");
        let fs = of_rule(&f, "foreign-template-syntax");
        assert_eq!(fs.len(), 1, "{fs:#?}");
        assert!(fs[0].message.contains("{{#if autoSync"));
        assert!(fs[0].advice.contains("goTemplate"));
    }

    #[test]
    fn go_template_logic_lines_belong_in_template_patch() {
        let mut d = doc(json!({"spec": {"template": {"spec": {"syncPolicy": {}}}}}));
        recovery(
            &mut d,
            "/spec/template/spec/syncPolicy",
            "{{- if .autoSync }}",
        );
        recovery(&mut d, "/spec/template/spec/syncPolicy", "{{ end }}");
        let f = lint(&d, &Expansion::default());
        let u = of_rule(&f, "unquoted-template");
        assert_eq!(u.len(), 1, "{u:#?}");
        assert!(u[0].message.contains("{{- if .autoSync }}"));
        assert!(u[0].advice.contains("templatePatch"));
        assert!(of_rule(&f, "foreign-template-syntax").is_empty());
    }

    #[test]
    fn foreign_syntax_in_values_and_recoveries() {
        let p = "/spec/template/spec/source/helm/valuesInline/imagePullSecrets";
        let text = "{{#pullSecret}}- name: {{pullSecret}}{{/pullSecret}}";
        let mut d = doc(json!({"spec": {"template": {"spec": {
            "source": {"helm": {"valuesInline": {"imagePullSecrets": text}}},
            "project": "{% if prod %}prod{% endif %}",
            "destination": {"server": "${SERVER}"},
        }}}}));
        recovery(&mut d, p, text);
        let f = lint(&d, &Expansion::default());
        let fs = of_rule(&f, "foreign-template-syntax");
        assert_eq!(fs.len(), 3, "{fs:#?}");
        assert!(fs.iter().any(|f| f.message.contains("{{#pullSecret}}")
            && f.message.contains("mustache")
            && f.location.as_ref().unwrap().pos == d.pos(p)));
        assert!(fs.iter().any(|f| f.message.contains("Jinja")));
        assert!(
            fs.iter()
                .any(|f| f.advice.contains("environment variables"))
        );
        // The recovered scalar is also an unquoted template.
        assert_eq!(of_rule(&f, "unquoted-template").len(), 1);
    }

    #[test]
    fn app_config_in_helm_values_is_not_foreign() {
        let d = doc(
            json!({"spec": {"template": {"spec": {"source": {"helm": {"valuesObject": {
                "command": "echo ${HOME}",
                "airflow": {"dag": "{% if ds %}x{% endif %}"},
                "image": {"repository": "${REGISTRY}/app"}
            }}}}}}}),
        );
        let f = lint(&d, &Expansion::default());
        let fs = of_rule(&f, "foreign-template-syntax");
        assert_eq!(fs.len(), 1, "{fs:#?}");
        assert!(fs[0].message.contains("${REGISTRY}"));
    }

    #[test]
    fn go_templates_and_build_env_are_not_foreign() {
        let d = doc(
            json!({"spec": {"goTemplate": true, "template": {"metadata": {
                "name": "{{ .name }}{{/* comment */}}",
                "annotations": {"a": "{{ if .x }}y{{ else }}z{{ end }}", "b": "$ARGOCD_APP_NAME ${ARGOCD_APP_NAMESPACE}"}
            }}}}),
        );
        let f = lint(&d, &Expansion::default());
        assert!(of_rule(&f, "foreign-template-syntax").is_empty(), "{f:#?}");
    }

    #[test]
    fn unrendered_placeholders_name_app_and_parameter() {
        let d = doc(
            json!({"spec": {"template": {"spec": {"destination": {"server": "https://{{clustr}}.corp"}}}}}),
        );
        let spec = json!({"destination": {"server": "https://{{clustr}}.corp", "namespace": "a"}});
        let e = expansion(vec![
            app("a-dev", spec.clone(), json!({"cluster": "dev"})),
            app("a-prod", spec, json!({"cluster": "prod"})),
        ]);
        let f = lint(&d, &e);
        let u = of_rule(&f, "unrendered-placeholder");
        assert_eq!(u.len(), 2, "{u:#?}");
        assert_eq!(u[0].application.as_deref(), Some("a-dev"));
        assert!(u[0].message.contains("{{clustr}}"));
        assert!(u[0].advice.contains("`cluster`"));
        assert_eq!(
            u[0].location.as_ref().unwrap().pos,
            d.pos("/spec/template/spec/destination/server")
        );
    }

    #[test]
    fn rendered_apps_have_no_placeholder_findings() {
        let d = doc(json!({"spec": {}}));
        let e = expansion(vec![app("a-dev", good_spec("dev"), json!({"name": "dev"}))]);
        assert!(of_rule(&lint(&d, &e), "unrendered-placeholder").is_empty());
    }

    #[test]
    fn go_missing_key_is_unrendered() {
        let d = doc(json!({"spec": {}}));
        let mut spec = good_spec("dev");
        spec["destination"]["namespace"] = json!("<no value>");
        let e = expansion(vec![app("a-dev", spec, json!({}))]);
        assert_eq!(of_rule(&lint(&d, &e), "unrendered-placeholder").len(), 1);
    }

    #[test]
    fn expansion_errors_and_recoveries_become_findings() {
        let d = doc(json!({"spec": {"generators": [{"list": {"elements": [{"replicas": 1}]}}]}}));
        let mut e = Expansion::default();
        let p = "/spec/generators/0/list/elements/0/replicas";
        e.recovered.push(expand_error(
            "list-value-not-string",
            p,
            "error parsing value as string",
        ));
        e.errors.push(expand_error(
            "matrix-children",
            "/spec/generators/0",
            "found less than two generators",
        ));
        let f = lint(&d, &e);
        let l = of_rule(&f, "list-value-not-string");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].location.as_ref().unwrap().pos, d.pos(p));
        assert!(l[0].advice.contains("\"1\""));
        assert_eq!(of_rule(&f, "matrix-children").len(), 1);
    }
}
