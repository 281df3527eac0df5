//! Names of generated Applications.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::list_text;
use super::{Draft, Emitter, Severity};
use crate::appset::Expansion;

fn params_text(params: &Value) -> String {
    match params.as_object() {
        Some(m) => {
            let parts: Vec<String> = m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| format!("{k}={s}")))
                .collect();
            format!("{{{}}}", list_text(&parts, 5))
        }
        None => "{}".to_string(),
    }
}

/// `duplicate-application-name`: two parameter sets render the same name.
pub fn duplicate_application_name(out: &mut Emitter<'_>, expansion: &Expansion) {
    let mut by_name: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for app in &expansion.applications {
        by_name.entry(&app.name).or_default().push(&app.params);
    }
    for (name, params) in by_name {
        if params.len() < 2 {
            continue;
        }
        let sets: Vec<String> = params.iter().map(|p| params_text(p)).collect();
        out.emit(
            Draft {
                rule: "duplicate-application-name",
                severity: Severity::Error,
                application: Some(name),
                message: format!(
                    "{} parameter sets generate the Application `{name}` ({}); they would \
                     overwrite one Application object and fight over it",
                    params.len(),
                    list_text(&sets, 4)
                ),
                advice: "make `template.metadata.name` include a parameter that differs between \
                         these sets (e.g. `{{name}}-{{cluster}}`)"
                    .to_string(),
            },
            "/spec/template/metadata/name",
        );
    }
}

/// Why `name` is not a DNS-1123 subdomain (what the API server requires of
/// an Application's `metadata.name`), if it is not.
pub fn subdomain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > 253 {
        return Some(format!(
            "it is {} characters long; the limit is 253",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(if c.is_ascii_uppercase() {
            format!("it has the uppercase letter `{c}`")
        } else {
            format!("it has the character {}", c.escape_debug())
        });
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return Some("it must start and end with a letter or digit".into());
    }
    if name
        .split('.')
        .any(|part| part.is_empty() || !part.starts_with(alnum) || !part.ends_with(alnum))
    {
        return Some("each dot-separated part must start and end with a letter or digit".into());
    }
    None
}

/// `invalid-application-name`: a generated name the API server would refuse,
/// so Argo CD fails to create the Application.
pub fn invalid_application_name(out: &mut Emitter<'_>, expansion: &Expansion) {
    for app in &expansion.applications {
        let Some(why) = subdomain_problem(&app.name) else {
            continue;
        };
        out.emit(
            Draft {
                rule: "invalid-application-name",
                severity: Severity::Error,
                application: Some(&app.name),
                message: format!(
                    "the generated Application name `{}` is refused by the API server: {why} \
                     (from {})",
                    app.name.escape_debug(),
                    params_text(&app.params)
                ),
                advice: "names are DNS-1123 subdomains: at most 253 lowercase letters, digits, \
                         `-` and `.`; lowercase or replace the parameters that go into \
                         `template.metadata.name`"
                    .to_string(),
            },
            "/spec/template/metadata/name",
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;
    use super::subdomain_problem;

    #[test]
    fn duplicates_are_reported_once_per_name() {
        let d = doc(json!({"spec": {"template": {"metadata": {"name": "agent-{{env}}"}}}}));
        let e = expansion(vec![
            app(
                "agent-dev",
                good_spec("dev"),
                json!({"env": "dev", "registry": "a"}),
            ),
            app(
                "agent-dev",
                good_spec("dev"),
                json!({"env": "dev", "registry": "b"}),
            ),
            app("agent-prod", good_spec("prod"), json!({"env": "prod"})),
        ]);
        let f = lint(&d, &e);
        let dup = of_rule(&f, "duplicate-application-name");
        assert_eq!(dup.len(), 1, "{dup:#?}");
        assert_eq!(dup[0].application.as_deref(), Some("agent-dev"));
        assert!(dup[0].message.contains("registry=b"));
        assert_eq!(
            dup[0].location.as_ref().unwrap().pos,
            d.pos("/spec/template/metadata/name")
        );
    }

    #[test]
    fn names_the_api_server_refuses_are_errors() {
        for (name, why) in [
            ("", "empty"),
            ("Agent-Dev", "uppercase letter `A`"),
            ("agent dev", "character  "),
            ("agent-dev-", "start and end"),
            ("agent..dev", "dot-separated"),
            ("agent\u{1b}[2J", "\\u{1b}"),
            ("agent-\u{202e}", "\\u{202e}"),
        ] {
            assert!(
                subdomain_problem(name).is_some_and(|p| p.contains(why)),
                "{name:?}: {:?}",
                subdomain_problem(name)
            );
        }
        assert!(subdomain_problem(&"a".repeat(254)).unwrap().contains("253"));
        for ok in ["agent-dev", "a", "agent.dev.1", &"a".repeat(253)] {
            assert_eq!(subdomain_problem(ok), None, "{ok}");
        }
        let d = doc(json!({"spec": {"template": {"metadata": {"name": "agent-{{env}}"}}}}));
        let e = expansion(vec![app(
            "Agent-Dev",
            good_spec("dev"),
            json!({"env": "Dev"}),
        )]);
        let all = lint(&d, &e);
        let f = of_rule(&all, "invalid-application-name");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("env=Dev"), "{}", f[0].message);
    }

    #[test]
    fn distinct_names_are_fine() {
        let (d, e) = lesson_round1();
        assert!(of_rule(&lint(&d, &e), "duplicate-application-name").is_empty());
    }
}
