//! Generator shapes that generate something else than meant.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::util::{ENV_WORDS, dotted, has_word, list_text, scalar_text, strings, walk};
use super::{Draft, Emitter, Severity};

/// An identifier inside a `{{…}}`: `name`, `.name`, `values.x`.
static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_\-]*").expect("static regex"));
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{(.*?)\}\}").expect("static regex"));

fn elements(child: &Value) -> Option<&Vec<Value>> {
    child.get("list")?.get("elements")?.as_array()
}

/// What a list element is called in a message: its first scalar value.
fn label(element: &Value) -> String {
    match element {
        Value::Object(m) => m
            .values()
            .find_map(scalar_text)
            .unwrap_or_else(|| "{…}".to_string()),
        other => scalar_text(other).unwrap_or_else(|| "…".to_string()),
    }
}

/// Whether any `{{…}}` in `child` uses one of `keys`.
fn references(child: &Value, keys: &BTreeSet<String>) -> bool {
    strings(child, "").iter().any(|(_, text)| {
        PLACEHOLDER.captures_iter(text).any(|c| {
            IDENT
                .find_iter(&c[1])
                .any(|m| keys.contains(m.as_str().split('.').next().unwrap_or_default()))
        })
    })
}

fn env_like(items: &[Value]) -> bool {
    items
        .iter()
        .flat_map(|e| strings(e, ""))
        .any(|(_, s)| has_word(s, ENV_WORDS))
}

/// `matrix-cross-product`: a matrix of two lists where the second does not
/// depend on the first.
pub fn matrix_cross_product(out: &mut Emitter<'_>) {
    let doc = out.doc;
    let Some(gens) = doc.value.pointer("/spec/generators") else {
        return;
    };
    let mut matrices = Vec::new();
    walk(gens, "/spec/generators", &mut |p, key, v| {
        if key == Some("matrix") && v.get("generators").is_some() {
            matrices.push((p.to_string(), v));
        }
    });
    for (pointer, m) in matrices {
        let Some([first, second]) = m
            .get("generators")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        else {
            continue;
        };
        let (Some(a), Some(b)) = (elements(first), elements(second)) else {
            continue;
        };
        if a.len() < 2 || b.len() < 2 {
            continue;
        }
        let keys: BTreeSet<String> = a
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys().cloned())
            .collect();
        if references(second, &keys) {
            continue;
        }
        let combos: Vec<String> = a
            .iter()
            .flat_map(|x| {
                b.iter()
                    .map(move |y| format!("{} × {}", label(x), label(y)))
            })
            .collect();
        let second_keys: Vec<String> = b
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys().map(|k| format!("`{k}`")))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let envs = env_like(a) || env_like(b);
        out.emit(
            Draft {
                rule: "matrix-cross-product",
                severity: if envs {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                application: None,
                message: format!(
                    "the matrix generator at `{}` pairs every element of its first list with every \
                     element of an independent second list ({} × {} = {} Applications){}: {}",
                    dotted(&pointer),
                    a.len(),
                    b.len(),
                    combos.len(),
                    if envs {
                        ", so each environment gets every value meant for another"
                    } else {
                        ""
                    },
                    list_text(&combos, 12)
                ),
                advice: format!(
                    "put the per-environment value ({}) into each element of the first list and \
                     use that list generator alone; keep a matrix only when the second generator \
                     depends on the first's parameters",
                    list_text(&second_keys, 4)
                ),
            },
            &pointer,
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;
    use crate::appset::Expansion;
    use crate::lint::Severity;

    #[test]
    fn lesson_matrix_is_an_error_listing_combinations() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let m = of_rule(&f, "matrix-cross-product");
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!(m[0].severity, Severity::Error);
        assert!(m[0].message.contains("dev × ghcr.io"));
        assert!(m[0].message.contains("prod × docker.io"));
        assert!(m[0].message.contains("3 × 2 = 6"));
        assert!(m[0].advice.contains("`registry`"));
        assert_eq!(
            m[0].location.as_ref().unwrap().pos,
            d.pos("/spec/generators/0/matrix")
        );
    }

    #[test]
    fn independent_lists_without_environments_warn() {
        let d = doc(json!({"spec": {"generators": [{"matrix": {"generators": [
            {"list": {"elements": [{"app": "api"}, {"app": "web"}]}},
            {"list": {"elements": [{"region": "eu-west-1"}, {"region": "us-east-1"}]}}
        ]}}]}}));
        let f = lint(&d, &Expansion::default());
        let m = of_rule(&f, "matrix-cross-product");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].severity, Severity::Warning);
    }

    #[test]
    fn dependent_or_single_element_children_are_fine() {
        for second in [
            json!({"list": {"elements": [{"path": "{{name}}/a"}, {"path": "{{name}}/b"}]}}),
            json!({"list": {"elements": [{"path": "{{ .name }}/a"}, {"path": "x"}]}}),
            json!({"list": {"elements": [{"registry": "docker.io"}]}}),
            json!({"clusters": {}}),
        ] {
            let d = doc(json!({"spec": {"generators": [{"matrix": {"generators": [
                {"list": {"elements": [{"name": "dev"}, {"name": "prod"}]}},
                second
            ]}}]}}));
            let f = lint(&d, &Expansion::default());
            assert!(of_rule(&f, "matrix-cross-product").is_empty(), "{f:#?}");
        }
    }
}
