//! The list generator (`generators/list.go`): `elements` and `elementsYaml`.
//!
//! With fasttemplate each element's values must be strings (a `values` map
//! becomes `values.<k>`); Argo CD fails the generator on anything else with
//! "error parsing value as string". Here such a value is reported in
//! `recovered` and used as the string it was evidently meant to be, so one
//! unquoted number does not hide every later finding. With goTemplate the
//! elements are passed as they are. `elementsYaml` elements are appended as
//! they are in both modes (Argo CD does not flatten them).

use serde_json::{Map, Value};

use super::{Ctx, Failure, GENERATION_REASON, Params};
use crate::appset::ExpandError;
use crate::yaml::pointer_push;

pub fn generate(
    spec: &Value,
    pointer: &str,
    ctx: &Ctx<'_>,
    recovered: &mut Vec<ExpandError>,
) -> Result<Vec<Params>, Failure> {
    let elements_pointer = pointer_push(pointer, "elements");
    let mut out = match spec.get("elements") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(elements)) => {
            from_elements(elements, &elements_pointer, ctx.opts.go_template, recovered)?
        }
        Some(_) => {
            return Err(Failure::new(
                "generator-error",
                &elements_pointer,
                "`elements` must be a list",
            ));
        }
    };
    match spec.get("elementsYaml") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) if text.is_empty() => {}
        Some(Value::String(text)) => {
            let yaml_pointer = pointer_push(pointer, "elementsYaml");
            let docs = crate::yaml::parse_go_yaml(text).map_err(|e| {
                Failure::new(
                    "generator-error",
                    &yaml_pointer,
                    format!(
                        "error unmarshling decoded ElementsYaml error converting YAML to JSON: {}",
                        e.go_yaml_text()
                    ),
                )
            })?;
            let value = docs
                .into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(Value::Null);
            out.extend(
                elements_from_yaml_value(value)
                    .map_err(|e| Failure::new("generator-error", &yaml_pointer, e))?,
            );
        }
        Some(_) => {
            return Err(Failure::new(
                "generator-error",
                &pointer_push(pointer, "elementsYaml"),
                "`elementsYaml` must be a string",
            ));
        }
    }
    Ok(out)
}

fn from_elements(
    elements: &[Value],
    pointer: &str,
    go_template: bool,
    recovered: &mut Vec<ExpandError>,
) -> Result<Vec<Params>, Failure> {
    let mut out = Vec::with_capacity(elements.len());
    for (i, element) in elements.iter().enumerate() {
        let element_pointer = pointer_push(pointer, &i.to_string());
        let element = match element {
            Value::Object(m) => m,
            // `json.Unmarshal("null", &map)` leaves an empty map.
            Value::Null => {
                out.push(Map::new());
                continue;
            }
            other => {
                return Err(Failure::new(
                    "generator-error",
                    &element_pointer,
                    format!(
                        "error unmarshling list element json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_kind(other)
                    ),
                ));
            }
        };
        if go_template {
            out.push(element.clone());
            continue;
        }
        let mut params = Map::new();
        for (key, value) in element {
            let key_pointer = pointer_push(&element_pointer, key);
            if key == "values" {
                let Some(values) = value.as_object() else {
                    return Err(Failure::new(
                        "generator-error",
                        &key_pointer,
                        "error parsing values map",
                    ));
                };
                for (k, v) in values {
                    let s = string_or_recover(
                        v,
                        &pointer_push(&key_pointer, k),
                        &format!("values.{k}"),
                        recovered,
                    );
                    params.insert(format!("values.{k}"), Value::String(s));
                }
            } else {
                let s = string_or_recover(value, &key_pointer, key, recovered);
                params.insert(key.clone(), Value::String(s));
            }
        }
        out.push(params);
    }
    Ok(out)
}

fn string_or_recover(
    v: &Value,
    pointer: &str,
    key: &str,
    recovered: &mut Vec<ExpandError>,
) -> String {
    if let Value::String(s) = v {
        return s.clone();
    }
    let as_string = match v {
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    };
    recovered.push(ExpandError {
        rule: "list-value-not-string",
        pointer: pointer.to_string(),
        message: format!(
            "error parsing value as string: list element key `{key}` is a {} ({as_string}); fasttemplate parameters must be strings (quote it: \"{as_string}\")",
            json_kind(v)
        ),
        application: None,
        reason: GENERATION_REASON,
    });
    as_string
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The elements of a parsed `elementsYaml`: a list of mappings.
fn elements_from_yaml_value(value: Value) -> Result<Vec<Params>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(m) => Ok(m),
                Value::Null => Ok(Map::new()),
                other => Err(format!(
                    "error unmarshling decoded ElementsYaml: cannot unmarshal {} into map[string]interface {{}}",
                    json_kind(&other)
                )),
            })
            .collect(),
        other => Err(format!(
            "error unmarshling decoded ElementsYaml: cannot unmarshal {} into []map[string]interface {{}}",
            json_kind(&other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appset::Environment;
    use crate::appset::template::Options;
    use serde_json::json;

    fn run(spec: Value, go: bool) -> (Result<Vec<Params>, Failure>, Vec<ExpandError>) {
        let env = Environment::default();
        let ctx = Ctx {
            env: &env,
            opts: Options::new(go, &[]),
        };
        let mut rec = Vec::new();
        let r = generate(&spec, "/spec/generators/0/list", &ctx, &mut rec);
        (r, rec)
    }

    #[test]
    fn list_elements_become_flat_string_params_with_values_prefix() {
        let (r, rec) = run(
            json!({"elements": [{"name": "dev", "values": {"size": "s"}}]}),
            false,
        );
        assert_eq!(
            r.unwrap(),
            vec![
                json!({"name": "dev", "values.size": "s"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            ]
        );
        assert!(rec.is_empty());
    }

    #[test]
    fn list_non_string_value_is_recovered_as_its_string_form() {
        let (r, rec) = run(
            json!({"elements": [{"name": "dev", "replicas": 1, "values": {"on": true}}]}),
            false,
        );
        let params = r.unwrap();
        assert_eq!(params[0]["replicas"], "1");
        assert_eq!(params[0]["values.on"], "true");
        assert_eq!(rec.len(), 2);
        assert_eq!(rec[0].rule, "list-value-not-string");
        assert_eq!(
            rec[0].pointer,
            "/spec/generators/0/list/elements/0/replicas"
        );
        assert!(rec[0].message.starts_with("error parsing value as string"));
    }

    #[test]
    fn list_values_that_is_not_a_map_fails_the_generator() {
        let (r, _) = run(json!({"elements": [{"values": "x"}]}), false);
        assert_eq!(r.unwrap_err().message, "error parsing values map");
    }

    #[test]
    fn list_go_template_passes_elements_as_they_are() {
        let (r, rec) = run(
            json!({"elements": [{"name": "dev", "replicas": 1, "nested": {"a": [1]}}]}),
            true,
        );
        assert_eq!(
            r.unwrap()[0],
            json!({"name": "dev", "replicas": 1, "nested": {"a": [1]}})
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
        assert!(rec.is_empty());
    }

    #[test]
    fn list_element_that_is_not_a_mapping_fails() {
        let (r, _) = run(json!({"elements": ["x"]}), false);
        assert!(r.unwrap_err().message.contains("cannot unmarshal string"));
    }

    #[test]
    fn list_elements_yaml_value_is_appended_unflattened() {
        let v = elements_from_yaml_value(json!([{"name": "a", "n": 1}])).unwrap();
        assert_eq!(v[0]["n"], 1);
        assert!(elements_from_yaml_value(json!({"a": 1})).is_err());
    }

    #[test]
    fn list_elements_yaml_text_is_parsed() {
        let (r, _) = run(
            json!({"elements": [{"name": "a"}], "elementsYaml": "- name: b\n"}),
            false,
        );
        let p = r.unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1]["name"], "b");
    }
}
