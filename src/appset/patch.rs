//! `templatePatch` (`applicationset/controllers/template/patch.go`): the
//! rendered patch (YAML, or JSON when it starts with `{`) is applied to the
//! rendered Application with a strategic merge patch. The Application types
//! declare no list merge keys, so lists are replaced, maps merge key by key
//! and `null` deletes — except `metadata.finalizers`, which ObjectMeta
//! merges as a set. `$patch: replace|delete` directives are honoured. The
//! patch cannot change `spec.project`.

use serde_json::{Map, Value};

use super::template::MAX_DEPTH;

/// Parses the rendered patch text.
pub fn parse(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text)
            .map_err(|e| format!("invalid templatePatch {text:?}: {e}"));
    }
    let docs = crate::yaml::parse(text)
        .map_err(|e| format!("error while converting template to json {text:?}: {e}"))?;
    Ok(docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null))
}

/// Applies `patch` to the Application `app` (`metadata` + `spec`).
pub fn apply(app: &Value, patch: &Value) -> Result<Value, String> {
    let patch_obj = match patch {
        Value::Object(m) => m,
        Value::Null => return Ok(app.clone()),
        other => {
            return Err(format!(
                "invalid templatePatch {other}: cannot unmarshal into an Application"
            ));
        }
    };
    let project = app.pointer("/spec/project").cloned();
    let mut out = app.clone();
    merge_object(&mut out, patch_obj, "", 0)?;
    if let Some(spec) = out.get_mut("spec").and_then(Value::as_object_mut) {
        match project {
            Some(p) => {
                spec.insert("project".into(), p);
            }
            None => {
                spec.remove("project");
            }
        }
    }
    Ok(out)
}

fn merge_object(
    target: &mut Value,
    patch: &Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("templatePatch nested too deeply".into());
    }
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = patch.clone();
        replaced.remove("$patch");
        *target = Value::Object(replaced);
        return Ok(());
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(obj) = target.as_object_mut() else {
        return Ok(());
    };
    for (k, v) in patch {
        if k.starts_with('$') {
            continue;
        }
        let child_path = format!("{path}/{k}");
        match v {
            Value::Null => {
                obj.remove(k);
            }
            Value::Object(p) if p.get("$patch").and_then(Value::as_str) == Some("delete") => {
                obj.remove(k);
            }
            Value::Object(p) => {
                let slot = obj.entry(k.clone()).or_insert(Value::Null);
                merge_object(slot, p, &child_path, depth + 1)?;
            }
            Value::Array(items) if child_path == "/metadata/finalizers" => {
                let slot = obj.entry(k.clone()).or_insert_with(|| Value::Array(vec![]));
                if let Value::Array(existing) = slot {
                    for item in items {
                        if !existing.contains(item) {
                            existing.push(item.clone());
                        }
                    }
                } else {
                    *slot = v.clone();
                }
            }
            other => {
                obj.insert(k.clone(), other.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_merges_maps_replaces_lists_and_deletes_nulls() {
        let app = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"project": "default", "source": {"repoURL": "r", "helm": {"valueFiles": ["a.yaml"]}}, "info": [1]}});
        let patch = json!({"metadata": {"labels": {"y": "2"}}, "spec": {"source": {"helm": {"valueFiles": ["b.yaml"]}}, "info": null}});
        let out = apply(&app, &patch).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"x": "1", "y": "2"}));
        assert_eq!(
            out["spec"]["source"]["helm"]["valueFiles"],
            json!(["b.yaml"])
        );
        assert_eq!(out["spec"]["source"]["repoURL"], "r");
        assert!(out["spec"].get("info").is_none());
    }

    #[test]
    fn patch_cannot_change_project() {
        let app = json!({"spec": {"project": "default"}});
        let out = apply(&app, &json!({"spec": {"project": "admin", "x": 1}})).unwrap();
        assert_eq!(out["spec"]["project"], "default");
        assert_eq!(out["spec"]["x"], 1);
    }

    #[test]
    fn patch_finalizers_merge_as_a_set() {
        let app = json!({"metadata": {"finalizers": ["a"]}, "spec": {}});
        let out = apply(&app, &json!({"metadata": {"finalizers": ["a", "b"]}})).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
    }

    #[test]
    fn patch_replace_and_delete_directives() {
        let app = json!({"spec": {"project": "p", "syncPolicy": {"automated": {"prune": true}}, "ignoreDifferences": {"a": 1}}});
        let out = apply(&app, &json!({"spec": {"syncPolicy": {"$patch": "replace", "syncOptions": ["X"]}, "ignoreDifferences": {"$patch": "delete"}}})).unwrap();
        assert_eq!(out["spec"]["syncPolicy"], json!({"syncOptions": ["X"]}));
        assert!(out["spec"].get("ignoreDifferences").is_none());
    }

    #[test]
    fn patch_that_is_not_a_mapping_is_invalid() {
        assert!(apply(&json!({}), &json!(["x"])).is_err());
    }

    #[test]
    fn patch_json_text_is_parsed_without_yaml() {
        assert_eq!(
            parse("{\"spec\": {\"a\": 1}}").unwrap(),
            json!({"spec": {"a": 1}})
        );
        assert!(parse("{bad").is_err());
    }
}
