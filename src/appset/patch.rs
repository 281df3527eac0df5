//! `templatePatch` (`applicationset/controllers/template/patch.go`): the
//! rendered patch (YAML read as YAML 1.1, or JSON when it starts with `{`)
//! must unmarshal into an Application (`gotypes`), then it is applied to the
//! rendered Application with a strategic merge patch. The Application types
//! declare no list merge keys, so lists are replaced, maps merge key by key
//! and `null` deletes — except `metadata.finalizers`, which ObjectMeta
//! merges as a set, in the order Kubernetes' strategic merge gives (the
//! patch's items in its order, the others where they were).
//! `$patch: replace|delete` directives are honoured. The patch cannot
//! change `spec.project`.

use serde_json::{Map, Value};

use super::template::MAX_DEPTH;

/// Parses the rendered patch text and checks that it unmarshals into an
/// Application, as Argo CD does before applying it.
pub fn parse(text: &str) -> Result<Value, String> {
    let quote = crate::appset::template::gotext::go_quote;
    // Argo CD's `IsJSONStr`: JSON is used as written.
    if text.trim().starts_with('{') {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("invalid templatePatch {}: {e}", quote(text)))?;
        if let Some(e) = crate::appset::gotypes::check_application(&value, false) {
            return Err(format!("invalid templatePatch {}: {e}", quote(text)));
        }
        return Ok(value);
    }
    let docs = crate::yaml::parse_go_yaml(text).map_err(|e| {
        format!(
            "error while converting template to json {}: {}",
            quote(text),
            e.go_yaml_text()
        )
    })?;
    let value = docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null);
    // `sigs.k8s.io/yaml` turned it into JSON with sorted keys.
    if let Some(e) = crate::appset::gotypes::check_application(&value, true) {
        let json = crate::appset::template::go_json(&value);
        return Err(format!("invalid templatePatch {}: {e}", quote(&json)));
    }
    Ok(value)
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
                    *existing = merge_scalar_list(existing, items);
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

/// A list of scalars with the `merge` patch strategy, as `strategicpatch`'s
/// `mergeSlice` merges it: deduplicated (Go's swap-with-last algorithm),
/// the patch's items in the patch's order, the others in the original's,
/// interleaved where the original order says so.
fn merge_scalar_list(original: &[Value], patch: &[Value]) -> Vec<Value> {
    if original.is_empty() && patch.is_empty() {
        return Vec::new();
    }
    let mut merged: Vec<Value> = original.iter().chain(patch).cloned().collect();
    let mut length = merged.len().saturating_sub(1);
    let mut i = 0;
    while i < length {
        let mut j = i + 1;
        while j <= length {
            if merged[i] == merged[j] {
                merged[j] = merged[length].clone();
                merged.truncate(length);
                length -= 1;
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    let index = |list: &[Value], v: &Value| list.iter().position(|x| x == v);
    let (mut from_patch, mut server_only): (Vec<Value>, Vec<Value>) =
        merged.into_iter().partition(|v| patch.contains(v));
    from_patch.sort_by_key(|v| index(patch, v));
    server_only.sort_by_key(|v| index(original, v));
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    while i < server_only.len() || j < from_patch.len() {
        let take_left = if i >= server_only.len() {
            false
        } else if j >= from_patch.len() {
            true
        } else {
            matches!(
                (index(original, &server_only[i]), index(original, &from_patch[j])),
                (Some(l), Some(r)) if l < r
            )
        };
        if take_left {
            out.push(server_only[i].clone());
            i += 1;
        } else {
            out.push(from_patch[j].clone());
            j += 1;
        }
    }
    out
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
    fn patch_finalizers_keep_strategic_merge_order() {
        // As Argo CD gave it (fidelity case 110): the patch's items in its
        // order, the original's others where they were.
        assert_eq!(
            merge_scalar_list(&[json!("base")], &[json!("patched"), json!("base")]),
            vec![json!("patched"), json!("base")]
        );
        // Go's `strategicpatch` merge of these lists, run with Go.
        let l = |xs: &[&str]| xs.iter().map(|x| json!(x)).collect::<Vec<_>>();
        for (original, patch, want) in [
            (
                l(&["a", "b", "c"]),
                l(&["x", "b"]),
                l(&["x", "a", "b", "c"]),
            ),
            (
                l(&["a", "b", "c", "d"]),
                l(&["d", "x", "a"]),
                l(&["b", "c", "d", "x", "a"]),
            ),
            (
                l(&["a", "a", "b"]),
                l(&["b", "c", "c"]),
                l(&["a", "b", "c"]),
            ),
            (l(&[]), l(&["b", "a"]), l(&["b", "a"])),
            (l(&["b", "a"]), l(&[]), l(&["b", "a"])),
        ] {
            assert_eq!(merge_scalar_list(&original, &patch), want);
        }
    }

    #[test]
    fn patch_must_unmarshal_into_an_application() {
        // As Argo CD words it (fidelity cases 116 and 117): the JSON the
        // YAML became, quoted, then encoding/json's error.
        assert_eq!(
            parse("- api\n").unwrap_err(),
            "invalid templatePatch \"[\\\"api\\\"]\": json: cannot unmarshal array into Go \
             value of type v1alpha1.Application"
        );
        assert_eq!(
            parse("metadata:\n  labels:\n    replicas: 3\n").unwrap_err(),
            "invalid templatePatch \"{\\\"metadata\\\":{\\\"labels\\\":{\\\"replicas\\\":3}}}\": \
             json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of \
             type string"
        );
        // YAML 1.1: `yes` is a boolean, which a label cannot be.
        assert!(
            parse("metadata:\n  labels:\n    on: yes\n")
                .unwrap_err()
                .contains("cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels")
        );
        assert!(parse("spec:\n  syncPolicy:\n    automated:\n      prune: true\n").is_ok());
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
