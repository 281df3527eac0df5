//! Kubernetes label selectors (`matchLabels`, `matchExpressions` with `In`,
//! `NotIn`, `Exists`, `DoesNotExist`), as Argo CD applies them to cluster
//! Secrets and to generator parameters.
//!
//! A selector is read whole before anything is matched, as Argo CD converts
//! it first: an invalid requirement is an error even when an earlier one
//! would not have matched. Two readings exist ([`Flavor`]): the cluster
//! generator's selector goes through Kubernetes' `LabelSelectorAsSelector`,
//! which checks keys and values as labels; the `selector` of a generator
//! entry through Argo CD's own copy, which checks keys only (values may be
//! URLs) and names operators "pod selector operators". Errors are worded as
//! those functions word them.
//!
//! Each requirement is matched by kube's [`Expression`]; reading the
//! selector stays here because kube accepts `In`/`NotIn` with an empty list
//! and `Exists` with values, which Kubernetes and Argo CD reject.

use std::collections::BTreeMap;

use kube::core::{Expression, SelectorExt};
use serde_json::Value;

/// Whose `LabelSelectorAsSelector` reads the selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `k8s.io/apimachinery`: keys and values validated as labels.
    Kubernetes,
    /// Argo CD's `applicationset/utils/selector.go`: keys validated only.
    ArgoCd,
}

/// A selector read and checked: all its requirements.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    requirements: Vec<Expression>,
}

impl Selector {
    /// Whether `labels` satisfy every requirement (an empty selector
    /// matches everything).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// Reads `selector` (JSON `null` is the empty selector) as `flavor` does.
pub fn parse(selector: &Value, flavor: Flavor) -> Result<Selector, String> {
    let mut requirements = Vec::new();
    if selector.is_null() {
        return Ok(Selector { requirements });
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
            check_requirement(k, "Equals", &[v], flavor)?;
            requirements.push(Expression::Equal(k.clone(), v.to_string()));
        }
    }
    if let Some(exprs) = sel.get("matchExpressions").filter(|v| !v.is_null()) {
        let Some(exprs) = exprs.as_array() else {
            return Err("matchExpressions must be a list".into());
        };
        for expr in exprs {
            requirements.push(expression(expr, flavor)?);
        }
    }
    Ok(Selector { requirements })
}

/// Whether `labels` satisfy `selector` as Argo CD reads it; an empty
/// selector matches everything.
pub fn matches(selector: &Value, labels: &BTreeMap<String, String>) -> Result<bool, String> {
    Ok(parse(selector, Flavor::ArgoCd)?.matches(labels))
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

/// One `matchExpressions` entry.
fn expression(expr: &Value, flavor: Flavor) -> Result<Expression, String> {
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
    if !matches!(op, "In" | "NotIn" | "Exists" | "DoesNotExist") {
        let what = match flavor {
            Flavor::Kubernetes => "label",
            Flavor::ArgoCd => "pod",
        };
        return Err(format!("{op:?} is not a valid {what} selector operator"));
    }
    check_requirement(key, op, &values, flavor)?;
    let key = key.to_string();
    let values = values.into_iter().map(str::to_string).collect();
    Ok(match op {
        "In" => Expression::In(key, values),
        "NotIn" => Expression::NotIn(key, values),
        "Exists" => Expression::Exists(key),
        _ => Expression::DoesNotExist(key),
    })
}

/// `newRequirement`'s checks: the key, the number of values for the
/// operator, and (Kubernetes only) each value; several problems are joined
/// as a Kubernetes aggregate error.
fn check_requirement(key: &str, op: &str, values: &[&str], flavor: Flavor) -> Result<(), String> {
    let mut errors = Vec::new();
    let key_errors = qualified_name_errors(key);
    if !key_errors.is_empty() {
        errors.push(format!(
            "key: Invalid value: {}: {}",
            go_quote(key),
            key_errors.join("; ")
        ));
    }
    let values_text = || {
        if values.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(values).unwrap_or_default()
        }
    };
    match op {
        "In" | "NotIn" if values.is_empty() => errors.push(format!(
            "values: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty",
            values_text()
        )),
        "Equals" if values.len() != 1 => errors.push(format!(
            "values: Invalid value: {}: exact-match compatibility requires one single value",
            values_text()
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(format!(
            "values: Invalid value: {}: values set must be empty for exists and does not exist",
            values_text()
        )),
        _ => {}
    }
    if flavor == Flavor::Kubernetes {
        for (i, v) in values.iter().enumerate() {
            let value_errors = label_value_errors(v);
            if !value_errors.is_empty() {
                errors.push(format!(
                    "values[{i}][{key}]: Invalid value: {}: {}",
                    go_quote(v),
                    value_errors.join("; ")
                ));
            }
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(format!("[{}]", errors.join(", "))),
    }
}

fn go_quote(s: &str) -> String {
    crate::appset::template::gotext::go_quote(s)
}

const QUALIFIED_NAME_MESSAGE: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FORMAT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

/// Kubernetes' `RegexError`.
fn regex_error(message: &str, format: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{message} (e.g. {}regex used for validation is '{format}')",
        examples.join(" or ")
    )
}

/// `^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$` without the outer `?`.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_alphanumeric();
    !b.is_empty()
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Kubernetes' `IsQualifiedName`: an optional DNS-subdomain prefix and `/`,
/// then a name of at most 63 characters.
fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_string());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            errors.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. \
                 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_MESSAGE,
                    QUALIFIED_NAME_FORMAT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errors.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        errors.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MESSAGE,
                QUALIFIED_NAME_FORMAT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errors
}

/// Kubernetes' `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 253 {
        errors.push("must be no more than 253 characters".to_string());
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        !b.is_empty()
            && b.first().is_some_and(edge)
            && b.last().is_some_and(edge)
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    };
    if !value.split('.').all(label_ok) {
        errors.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
             characters, '-' or '.', and must start and end with an alphanumeric character",
            "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            &["example.com"],
        ));
    }
    errors
}

/// Kubernetes' `IsValidLabelValue`: empty, or a qualified name part of at
/// most 63 characters.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errors.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, \
             '-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
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
    fn selector_is_read_whole_before_matching() {
        // Argo CD converts the whole selector first: the invalid expression
        // is an error although the label already does not match.
        let sel = json!({
            "matchLabels": {"name": "web"},
            "matchExpressions": [{"key": "name", "operator": "In", "values": []}]
        });
        assert_eq!(
            parse(&sel, Flavor::ArgoCd).unwrap_err(),
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"
        );
    }

    #[test]
    fn selector_errors_are_worded_as_argo_cd_and_kubernetes_word_them() {
        // As recorded from Argo CD (fidelity cases 99, 101, 102).
        let op = json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]});
        assert_eq!(
            parse(&op, Flavor::ArgoCd).unwrap_err(),
            "\"Gt\" is not a valid pod selector operator"
        );
        assert_eq!(
            parse(&op, Flavor::Kubernetes).unwrap_err(),
            "\"Gt\" is not a valid label selector operator"
        );
        let key = json!({"matchExpressions": [{"key": "bad key!", "operator": "Exists"}]});
        assert_eq!(
            parse(&key, Flavor::ArgoCd).unwrap_err(),
            "key: Invalid value: \"bad key!\": name part must consist of alphanumeric \
             characters, '-', '_' or '.', and must start and end with an alphanumeric character \
             (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is \
             '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        // Label values are checked by Kubernetes only: Argo CD's own copy
        // lets cluster URLs through.
        let value = json!({"matchLabels": {"env": "not a label value!"}});
        assert_eq!(
            parse(&value, Flavor::Kubernetes).unwrap_err(),
            "values[0][env]: Invalid value: \"not a label value!\": a valid label must be an \
             empty string or consist of alphanumeric characters, '-', '_' or '.', and must start \
             and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', \
             regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        let url = json!({"matchLabels": {"server": "https://prod.k8s.internal:6443"}});
        assert!(parse(&url, Flavor::ArgoCd).is_ok());
        assert!(parse(&url, Flavor::Kubernetes).is_err());
        // A prefixed key: the prefix is a DNS subdomain.
        let prefixed = json!({"matchLabels": {"argocd.argoproj.io/secret-type": "cluster"}});
        assert!(parse(&prefixed, Flavor::Kubernetes).is_ok());
        let bad_prefix = json!({"matchLabels": {"Bad_Prefix/x": "y"}});
        assert!(
            parse(&bad_prefix, Flavor::ArgoCd)
                .unwrap_err()
                .contains("prefix part a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn selector_emptiness() {
        assert!(is_empty(None));
        assert!(is_empty(Some(&json!({"matchLabels": {}}))));
        assert!(!is_empty(Some(&json!({"matchLabels": {"a": "b"}}))));
    }
}
