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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;

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
    fn distinct_names_are_fine() {
        let (d, e) = lesson_round1();
        assert!(of_rule(&lint(&d, &e), "duplicate-application-name").is_empty());
    }
}
