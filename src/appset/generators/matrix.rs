//! The matrix generator (`generators/matrix.go`): exactly two children, the
//! cartesian product of their parameter sets, the second child rendered with
//! each parameter set of the first. Keys present in both: fasttemplate
//! compares the `%v` strings and fails on a difference; goTemplate deep-merges
//! with the first child winning. A child's own `template` is ignored.

use serde_json::Value;

use super::{Ctx, Failure, Params, transform};
use crate::appset::ExpandError;
use crate::appset::template::gofmt;
use crate::yaml::pointer_push;

pub const LESS_THAN_TWO: &str = "found less than two generators, Matrix support only two";
pub const MORE_THAN_TWO: &str = "found more than two generators, Matrix support only two";
pub const MORE_THAN_ONE_INNER: &str = "found more than one generator in matrix.Generators";

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
            "matrix-children",
            &children_pointer,
            LESS_THAN_TWO,
        ));
    }
    if children.len() > 2 {
        return Err(Failure::new(
            "matrix-children",
            &children_pointer,
            MORE_THAN_TWO,
        ));
    }
    let first_pointer = pointer_push(&children_pointer, "0");
    let second_pointer = pointer_push(&children_pointer, "1");
    let first =
        child_params(&children[0], &first_pointer, ctx, None, nesting, recovered).map_err(|e| {
            e.wrap("error failed to get params for first generator in matrix generator")
        })?;
    let mut out = Vec::new();
    let limit = crate::appset::max_applications();
    for a in &first {
        if out.len() > limit {
            return Err(Failure::new(
                crate::appset::LIMIT_RULE,
                pointer,
                format!("the matrix generates more than {limit} parameter sets"),
            ));
        }
        let second = child_params(
            &children[1],
            &second_pointer,
            ctx,
            Some(a),
            nesting,
            recovered,
        )
        .map_err(|e| e.wrap("failed to get params for second generator in the matrix generator"))?;
        for b in second {
            if ctx.opts.go_template {
                let mut merged = b;
                deep_merge(&mut merged, a, 0);
                out.push(merged);
            } else {
                out.push(combine_string_maps(a, &b).map_err(|m| {
                    Failure::new("matrix-key-conflict", pointer, m)
                        .wrap("failed to combine string maps with merging params for the matrix generator")
                })?);
            }
        }
    }
    Ok(out)
}

/// Argo CD's matrix/merge `getParams`: the child must hold exactly one
/// generator kind; its `template` is dropped.
pub fn child_params(
    child: &Value,
    pointer: &str,
    ctx: &Ctx<'_>,
    interpolate_with: Option<&Params>,
    nesting: usize,
    recovered: &mut Vec<ExpandError>,
) -> Result<Vec<Params>, Failure> {
    let results = transform(
        child,
        pointer,
        ctx,
        interpolate_with,
        nesting + 1,
        recovered,
    )
    .map_err(|e| e.wrap("child generator returned an error on parameter generation"))?;
    let mut results = results.into_iter();
    match (results.next(), results.next()) {
        (None, _) => Err(Failure::new(
            "generator-error",
            pointer,
            "child generator generated no parameters",
        )),
        (Some(_), Some(_)) => Err(Failure::new(
            "generator-error",
            pointer,
            MORE_THAN_ONE_INNER,
        )),
        (Some(only), None) => Ok(only.params),
    }
}

/// `mergo.Merge(dst, src, WithOverride)` on parameter maps: `src` wins, nested
/// maps merge key by key.
pub fn deep_merge(dst: &mut Params, src: &Params, depth: usize) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Object(d)), Value::Object(s))
                if depth < crate::appset::template::MAX_DEPTH =>
            {
                deep_merge(d, s, depth + 1);
            }
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Argo CD's `CombineStringMaps`: both sides printed with `%v`; a key with two
/// different values is an error.
fn combine_string_maps(a: &Params, b: &Params) -> Result<Params, String> {
    let mut out = Params::new();
    for (k, v) in a {
        out.insert(k.clone(), Value::String(gofmt::sprint(v)));
    }
    for (k, v) in b {
        let v = gofmt::sprint(v);
        if let Some(Value::String(current)) = out.get(k)
            && *current != v
        {
            return Err(format!(
                "found duplicate key {k} with different value, a: {current} ,b: {v}"
            ));
        }
        out.insert(k.clone(), Value::String(v));
    }
    Ok(out)
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
        generate(&spec, "/spec/generators/0/matrix", &ctx, 0, &mut rec)
    }

    fn list(elements: Value) -> Value {
        json!({"list": {"elements": elements}})
    }

    #[test]
    fn matrix_is_the_cartesian_product_in_first_child_order() {
        let ps = run(
            json!({"generators": [list(json!([{"env": "dev"}, {"env": "prod"}])), list(json!([{"reg": "a"}, {"reg": "b"}]))]}),
            false,
        )
        .unwrap();
        let pairs: Vec<String> = ps
            .iter()
            .map(|p| {
                format!(
                    "{}-{}",
                    p["env"].as_str().unwrap_or(""),
                    p["reg"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(pairs, vec!["dev-a", "dev-b", "prod-a", "prod-b"]);
    }

    #[test]
    fn matrix_needs_exactly_two_children() {
        let e = run(json!({"generators": [list(json!([{"a": "1"}]))]}), false).unwrap_err();
        assert_eq!(
            (e.rule, e.message.as_str()),
            ("matrix-children", LESS_THAN_TWO)
        );
        let three = json!({"generators": [list(json!([])), list(json!([])), list(json!([]))]});
        assert_eq!(run(three, false).unwrap_err().message, MORE_THAN_TWO);
    }

    #[test]
    fn matrix_second_child_is_rendered_with_first_child_params() {
        let ps = run(
            json!({"generators": [list(json!([{"env": "dev"}])), list(json!([{"ns": "agents-{{env}}"}]))]}),
            false,
        )
        .unwrap();
        assert_eq!(ps[0]["ns"], "agents-dev");
    }

    #[test]
    fn matrix_fasttemplate_conflicting_keys_fail() {
        let e = run(
            json!({"generators": [list(json!([{"env": "dev"}])), list(json!([{"env": "prod"}]))]}),
            false,
        )
        .unwrap_err();
        assert!(
            e.message
                .ends_with("found duplicate key env with different value, a: dev ,b: prod"),
            "{}",
            e.message
        );
        let ok = run(
            json!({"generators": [list(json!([{"env": "dev"}])), list(json!([{"env": "dev"}]))]}),
            false,
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn matrix_go_template_first_child_wins_and_maps_merge() {
        let ps = run(
            json!({"generators": [
                list(json!([{"env": "dev", "m": {"a": 1}}])),
                list(json!([{"env": "prod", "m": {"a": 2, "b": 3}, "x": "y"}]))
            ]}),
            true,
        )
        .unwrap();
        assert_eq!(ps[0]["env"], "dev");
        assert_eq!(ps[0]["m"], json!({"a": 1, "b": 3}));
        assert_eq!(ps[0]["x"], "y");
    }

    #[test]
    fn matrix_child_with_two_generator_kinds_fails() {
        let child = json!({"list": {"elements": [{"a": "1"}]}, "clusters": {}});
        let e = run(
            json!({"generators": [child, list(json!([{"b": "2"}]))]}),
            false,
        )
        .unwrap_err();
        assert!(e.message.ends_with(MORE_THAN_ONE_INNER), "{}", e.message);
    }

    #[test]
    fn matrix_nests_one_level_and_ignores_a_third() {
        let inner = json!({"matrix": {"generators": [list(json!([{"a": "1"}])), list(json!([{"b": "2"}]))]}});
        let ps = run(
            json!({"generators": [inner.clone(), list(json!([{"c": "3"}]))]}),
            false,
        )
        .unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(
            (
                ps[0]["a"].as_str(),
                ps[0]["b"].as_str(),
                ps[0]["c"].as_str()
            ),
            (Some("1"), Some("2"), Some("3"))
        );
        let deeper = json!({"matrix": {"generators": [inner, list(json!([{"d": "4"}]))]}});
        let e = run(
            json!({"generators": [deeper, list(json!([{"c": "3"}]))]}),
            false,
        )
        .unwrap_err();
        assert!(
            e.message
                .ends_with("child generator generated no parameters"),
            "{}",
            e.message
        );
    }
}
