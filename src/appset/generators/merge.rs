//! The merge generator (`generators/merge.go`): the first child is the base;
//! each later child overrides the base parameter sets with the same values
//! of `mergeKeys`; sets with no match in the base are dropped. Argo CD emits
//! the result in map order (random); here the base order is kept.

use std::collections::HashMap;

use serde_json::Value;

use super::matrix::{child_params, deep_merge};
use super::{Ctx, Failure, Params};
use crate::appset::ExpandError;
use crate::yaml::pointer_push;

pub const LESS_THAN_TWO: &str = "found less than two generators, Merge requires two or more";
pub const NO_MERGE_KEYS: &str = "no merge keys were specified, Merge requires at least one";
pub const NON_UNIQUE: &str = "the parameters from a generator were not unique by the given mergeKeys, Merge requires all param sets to be unique";

pub fn generate(
    spec: &Value,
    pointer: &str,
    ctx: &Ctx<'_>,
    nesting: usize,
    recovered: &mut Vec<ExpandError>,
) -> Result<Vec<Params>, Failure> {
    let children_pointer = pointer_push(pointer, "generators");
    let children: &[Value] = spec
        .get("generators")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    if children.len() < 2 {
        return Err(Failure::new(
            "merge-children",
            &children_pointer,
            LESS_THAN_TWO,
        ));
    }
    let mut sets = Vec::with_capacity(children.len());
    let typed: Vec<&[&[&str]]> = children.iter().map(string_maps).collect();
    for (i, child) in children.iter().enumerate() {
        let child_pointer = pointer_push(&children_pointer, &i.to_string());
        let params =
            child_params(child, &child_pointer, ctx, None, nesting, recovered).map_err(|e| {
                e.wrap(&format!(
                    "error getting params from generator {} of {}",
                    i + 1,
                    children.len()
                ))
                .wrap("error getting param sets from generators")
            })?;
        sets.push((child_pointer, params));
    }
    let keys: Vec<String> = crate::appset::string_list(spec.get("mergeKeys"));
    let keys_pointer = pointer_push(pointer, "mergeKeys");

    let mut sets = sets.into_iter();
    let Some((base_pointer, mut base)) = sets.next() else {
        return Err(Failure::new(
            "merge-children",
            &children_pointer,
            LESS_THAN_TWO,
        ));
    };
    let base_index = index_by_keys(&keys, &base, &keys_pointer, &base_pointer)?;
    for (i, (child_pointer, overrides)) in sets.enumerate() {
        let index = index_by_keys(&keys, &overrides, &keys_pointer, &child_pointer)?;
        for (key, &base_pos) in &base_index {
            if let Some(&pos) = index.get(key) {
                let over = &overrides[pos];
                let target = &mut base[base_pos];
                if ctx.opts.go_template {
                    check_string_maps(target, typed[0], over, typed[i + 1], &child_pointer)?;
                    deep_merge(target, over, 0);
                } else {
                    for (k, v) in over {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    Ok(base)
}

pub const SET_MAP_INDEX: &str =
    "reflect.Value.SetMapIndex: value of type interface {} is not assignable to type string";

/// The parameters a child generator builds as Go `map[string]string` (with
/// goTemplate): `values` of clusters and git, the cluster Secret's labels and
/// annotations. Only direct children are known; nested ones count as untyped.
fn string_maps(child: &Value) -> &'static [&'static [&'static str]] {
    if child.get("clusters").is_some_and(|c| !c.is_null()) {
        &[
            &["values"],
            &["metadata", "labels"],
            &["metadata", "annotations"],
        ]
    } else if child.get("git").is_some_and(|g| !g.is_null()) {
        &[&["values"]]
    } else {
        &[]
    }
}

/// `mergo.Merge` cannot put a value of an untyped map (`map[string]any`, as
/// a list element's) into a `map[string]string` of the base: Argo CD panics
/// and reports only the panic message, generating nothing.
fn check_string_maps(
    base: &Params,
    base_typed: &[&[&str]],
    over: &Params,
    over_typed: &[&[&str]],
    child_pointer: &str,
) -> Result<(), Failure> {
    let at = |set: &Params, path: &[&str]| -> Option<Value> {
        let (first, rest) = path.split_first()?;
        let mut v = set.get(*first)?;
        for key in rest {
            v = v.get(*key)?;
        }
        Some(v.clone())
    };
    for path in base_typed {
        if over_typed.contains(path) || !at(base, path).is_some_and(|v| v.is_object()) {
            continue;
        }
        if at(over, path).is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty())) {
            return Err(Failure::new(
                "merge-type-error",
                child_pointer,
                format!(
                    "error merging base param set with override param set: `{}` of the base is a \
                     map of strings that this generator's map cannot be merged into; Argo CD \
                     panics: {SET_MAP_INDEX}",
                    path.join(".")
                ),
            ));
        }
    }
    Ok(())
}

/// Argo CD's `getParamSetsByMergeKey`: the JSON of the merge-key values
/// (sorted by key, missing → null) → position of the set.
fn index_by_keys(
    keys: &[String],
    sets: &[Params],
    keys_pointer: &str,
    child_pointer: &str,
) -> Result<HashMap<String, usize>, Failure> {
    let wrap = "error getting param sets by merge key";
    if keys.is_empty() {
        return Err(Failure::new("merge-keys", keys_pointer, NO_MERGE_KEYS).wrap(wrap));
    }
    let mut index = HashMap::with_capacity(sets.len());
    for (pos, set) in sets.iter().enumerate() {
        // Go marshals the key map: nested maps (a merge key may name one)
        // with sorted keys, so equal maps give equal keys.
        let key: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| (k.clone(), set.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        let key = crate::appset::template::go_json(&Value::Object(key));
        if index.contains_key(&key) {
            return Err(Failure::new(
                "merge-non-unique-keys",
                child_pointer,
                format!("{NON_UNIQUE}. Duplicate key was {key}"),
            )
            .wrap(wrap));
        }
        index.insert(key, pos);
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appset::Environment;
    use crate::appset::template::Options;
    use serde_json::json;

    fn run(spec: Value, go: bool) -> Result<Vec<Params>, Failure> {
        let env = Environment::default();
        let ctx = Ctx {
            env: &env,
            opts: Options::new(go, &[]),
        };
        let mut rec = Vec::new();
        generate(&spec, "/spec/generators/0/merge", &ctx, 0, &mut rec)
    }

    fn list(elements: Value) -> Value {
        json!({"list": {"elements": elements}})
    }

    #[test]
    fn merge_overrides_matching_sets_and_drops_unmatched() {
        let ps = run(
            json!({"mergeKeys": ["name"], "generators": [
                list(json!([{"name": "dev", "size": "s"}, {"name": "prod", "size": "s"}])),
                list(json!([{"name": "prod", "size": "l"}, {"name": "qa", "size": "m"}]))
            ]}),
            false,
        )
        .unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(
            (ps[0]["name"].as_str(), ps[0]["size"].as_str()),
            (Some("dev"), Some("s"))
        );
        assert_eq!(
            (ps[1]["name"].as_str(), ps[1]["size"].as_str()),
            (Some("prod"), Some("l"))
        );
    }

    #[test]
    fn merge_key_maps_compare_whatever_their_key_order() {
        // Go marshals the merge key with sorted map keys (fidelity case 90).
        let ps = run(
            json!({"mergeKeys": ["image"], "generators": [
                list(json!([{"image": {"repository": "r", "tag": "1"}, "team": "base"}])),
                list(json!([{"image": {"tag": "1", "repository": "r"}, "team": "matched"}]))
            ]}),
            true,
        )
        .unwrap();
        assert_eq!(ps[0]["team"], "matched");
    }

    #[test]
    fn merge_non_unique_keys_fail_with_argocd_wording() {
        let e = run(
            json!({"mergeKeys": ["name"], "generators": [list(json!([{"name": "a"}, {"name": "a"}])), list(json!([{"name": "a"}]))]}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.rule, "merge-non-unique-keys");
        assert!(
            e.message.ends_with(&format!(
                "{NON_UNIQUE}. Duplicate key was {{\"name\":\"a\"}}"
            )),
            "{}",
            e.message
        );
    }

    #[test]
    fn merge_needs_two_generators_and_a_key() {
        assert_eq!(
            run(
                json!({"mergeKeys": ["a"], "generators": [list(json!([]))]}),
                false
            )
            .unwrap_err()
            .message,
            LESS_THAN_TWO
        );
        let e = run(
            json!({"generators": [list(json!([{"a": "1"}])), list(json!([{"a": "1"}]))]}),
            false,
        )
        .unwrap_err();
        assert!(e.message.ends_with(NO_MERGE_KEYS));
    }

    #[test]
    fn merge_go_template_list_map_into_cluster_values_fails_like_argocd() {
        let env = Environment {
            clusters: vec![crate::appset::ClusterInfo {
                name: "a".into(),
                server: "https://a".into(),
                project: None,
                labels: Default::default(),
                annotations: Default::default(),
                local_without_secret: false,
            }],
            repos: vec![],
        };
        let ctx = Ctx {
            env: &env,
            opts: Options::new(true, &[]),
        };
        let spec = json!({"mergeKeys": ["name"], "generators": [
            {"clusters": {"values": {"r": "1"}}},
            {"list": {"elements": [{"name": "a", "values": {"r": "3"}}]}}
        ]});
        let e = generate(&spec, "/m", &ctx, 0, &mut vec![])
            .err()
            .map(|f| f.into_error().message)
            .unwrap_or_default();
        assert!(e.contains(SET_MAP_INDEX), "{e}");
        let spec = json!({"mergeKeys": ["name"], "generators": [
            {"clusters": {"values": {"r": "1"}}},
            {"list": {"elements": [{"name": "a", "values": {}, "x": "y"}]}}
        ]});
        assert!(generate(&spec, "/m", &ctx, 0, &mut vec![]).is_ok());
    }

    #[test]
    fn merge_go_template_deep_merges_override() {
        let ps = run(
            json!({"mergeKeys": ["name"], "generators": [
                list(json!([{"name": "dev", "cfg": {"a": 1, "b": 1}}])),
                list(json!([{"name": "dev", "cfg": {"b": 2}}]))
            ]}),
            true,
        )
        .unwrap();
        assert_eq!(ps[0]["cfg"], json!({"a": 1, "b": 2}));
    }
}
