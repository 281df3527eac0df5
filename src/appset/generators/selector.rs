//! Kubernetes label selectors (`matchLabels`, `matchExpressions` with `In`,
//! `NotIn`, `Exists`, `DoesNotExist`), as Argo CD applies them to cluster
//! Secrets and to generator parameters. Values are not restricted to label
//! syntax (Argo CD's own copy of `LabelSelectorAsSelector` allows URLs).
//!
//! Each requirement is matched by kube's [`Expression`], but reading the
//! selector stays here rather than going through kube's
//! `Selector::try_from(LabelSelector)`, because Argo CD reads it differently:
//! the selector is user JSON whose shape errors are reported here; kube
//! accepts `In`/`NotIn` with an empty list and `Exists` with values, which
//! Argo CD rejects, and its error texts are not Argo CD's (the fidelity
//! corpus checks the matching; the unit tests here the errors).
//!
//! Requirements are read lazily, in order: one that does not match decides
//! before a later invalid one is seen. Argo CD converts the whole selector
//! first, so it would report that error.

use std::collections::BTreeMap;

use kube::core::{Expression, SelectorExt};
use serde_json::Value;

/// Whether `labels` satisfy `selector`; an empty selector matches everything.
pub fn matches(selector: &Value, labels: &BTreeMap<String, String>) -> Result<bool, String> {
    if selector.is_null() {
        return Ok(true);
    }
    let Some(sel) = selector.as_object() else {
        return Err("a label selector must be a mapping".into());
    };
    if let Some(ml) = sel.get("matchLabels").filter(|v| !v.is_null()) {
        let Some(ml) = ml.as_object() else {
            return Err("matchLabels must be a mapping".into());
        };
        for (k, v) in ml {
            let Some(v) = v.as_str() else {
                return Err(format!("matchLabels.{k} must be a string"));
            };
            if !Expression::Equal(k.clone(), v.to_string()).matches(labels) {
                return Ok(false);
            }
        }
    }
    if let Some(exprs) = sel.get("matchExpressions").filter(|v| !v.is_null()) {
        let Some(exprs) = exprs.as_array() else {
            return Err("matchExpressions must be a list".into());
        };
        for expr in exprs {
            if !expression(expr)?.matches(labels) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether the selector has any requirement at all.
pub fn is_empty(selector: Option<&Value>) -> bool {
    let Some(sel) = selector.and_then(Value::as_object) else {
        return true;
    };
    let non_empty = |k: &str| match sel.get(k) {
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    !non_empty("matchLabels") && !non_empty("matchExpressions")
}

/// One `matchExpressions` entry, checked as Argo CD checks it.
fn expression(expr: &Value) -> Result<Expression, String> {
    let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
    let op = expr
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let values: Vec<&str> = expr
        .get("values")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if key.is_empty() {
        return Err("matchExpressions: key must not be empty".into());
    }
    let key = key.to_string();
    match op {
        "In" | "NotIn" => {
            if values.is_empty() {
                return Err(format!(
                    "values: Invalid value: for 'in', 'notin' operators, values set can't be empty (key `{key}`)"
                ));
            }
            let values = values.into_iter().map(str::to_string).collect();
            Ok(if op == "In" {
                Expression::In(key, values)
            } else {
                Expression::NotIn(key, values)
            })
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                return Err(format!(
                    "values: Invalid value: values set must be empty for exists and does not exist (key `{key}`)"
                ));
            }
            Ok(if op == "Exists" {
                Expression::Exists(key)
            } else {
                Expression::DoesNotExist(key)
            })
        }
        other => Err(format!("{other:?} is not a valid label selector operator")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selector_match_labels_and_expressions() {
        let l = labels(&[("env", "prod"), ("tier", "a")]);
        assert!(matches(&json!({"matchLabels": {"env": "prod"}}), &l).unwrap());
        assert!(!matches(&json!({"matchLabels": {"env": "dev"}}), &l).unwrap());
        let e = |op: &str, vals: Value| json!({"matchExpressions": [{"key": "env", "operator": op, "values": vals}]});
        assert!(matches(&e("In", json!(["dev", "prod"])), &l).unwrap());
        assert!(!matches(&e("NotIn", json!(["prod"])), &l).unwrap());
        assert!(matches(&e("Exists", json!([])), &l).unwrap());
        assert!(!matches(&e("DoesNotExist", json!(null)), &l).unwrap());
        assert!(matches(&json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["x"]}]}), &l).unwrap());
    }

    #[test]
    fn selector_rejects_bad_operators_and_empty_in() {
        let l = labels(&[]);
        assert!(
            matches(
                &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
                &l
            )
            .is_err()
        );
        assert!(
            matches(
                &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
                &l
            )
            .is_err()
        );
    }

    #[test]
    fn selector_emptiness() {
        assert!(is_empty(None));
        assert!(is_empty(Some(&json!({"matchLabels": {}}))));
        assert!(!is_empty(Some(&json!({"matchLabels": {"a": "b"}}))));
    }
}
