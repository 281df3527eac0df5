//! One file per generator; each turns its spec into parameter sets.
//!
//! `transform` is Argo CD's `Transform` (`generators/generator_spec_processor.go`):
//! it runs every generator kind set in one `generators[]` entry, interpolates
//! a matrix's second child with the first child's parameters, and applies the
//! entry's `selector` to the (flattened) parameters.

pub mod clusters;
pub mod git;
pub mod list;
pub mod matrix;
pub mod merge;
pub mod selector;
pub mod tree;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::template::{self, Options, gofmt};
use super::{Environment, ExpandError};
use crate::yaml::pointer_push;

/// One parameter set: flat string keys (fasttemplate) or nested values (goTemplate).
pub type Params = Map<String, Value>;

/// Argo CD's condition reason for a generator that fails.
pub const GENERATION_REASON: &str = "ApplicationGenerationFromParamsError";

/// What a generator needs besides its own spec.
pub struct Ctx<'a> {
    pub env: &'a Environment,
    pub opts: Options,
}

/// A generator that fails: Argo CD drops everything that generator entry produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub rule: &'static str,
    pub pointer: String,
    pub message: String,
}

impl Failure {
    pub fn new(rule: &'static str, pointer: &str, message: impl Into<String>) -> Self {
        Failure {
            rule,
            pointer: pointer.to_string(),
            message: message.into(),
        }
    }

    /// Prefixes the message the way Argo CD wraps errors (`prefix: cause`).
    pub fn wrap(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }

    pub fn into_error(self) -> ExpandError {
        ExpandError {
            rule: self.rule,
            pointer: self.pointer,
            message: self.message,
            application: None,
            reason: GENERATION_REASON,
        }
    }
}

/// The parameter sets of one generator kind and that generator's own `template`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformResult {
    pub params: Vec<Params>,
    pub template: Option<Value>,
}

/// Generator kinds in the order of Argo CD's `ApplicationSetGenerator` fields.
const KINDS: &[&str] = &[
    "list",
    "clusters",
    "git",
    "scmProvider",
    "clusterDecisionResource",
    "pullRequest",
    "matrix",
    "merge",
    "plugin",
];

/// Runs one generator entry. `nesting` is 0 for `spec.generators[]`, 1 for a
/// matrix/merge child, 2 inside a nested matrix/merge (where Argo CD's types
/// have no `matrix`/`merge` field, so they are ignored).
pub fn transform(
    generator: &Value,
    pointer: &str,
    ctx: &Ctx<'_>,
    interpolate_with: Option<&Params>,
    nesting: usize,
    recovered: &mut Vec<ExpandError>,
) -> Result<Vec<TransformResult>, Failure> {
    let Some(entry) = generator.as_object() else {
        return Err(Failure::new(
            "generator-error",
            pointer,
            "generator is not a mapping",
        ));
    };
    // Argo CD reads the selector before anything else, and filters with it
    // whenever one is given (an empty one keeps everything).
    let selector = match entry.get("selector").filter(|s| !s.is_null()) {
        Some(sel) => Some(selector::parse(sel, selector::Flavor::ArgoCd).map_err(|e| {
            Failure::new(
                "generator-error",
                &pointer_push(pointer, "selector"),
                format!("error parsing label selector: {e}"),
            )
        })?),
        None => None,
    };

    let interpolated;
    let entry = match interpolate_with {
        Some(params) if !params.is_empty() => {
            interpolated = interpolate(entry, params, ctx.opts).map_err(|e| {
                Failure::new("template-render-error", pointer, e)
                    .wrap("failed to replace parameters in generator")
            })?;
            &interpolated
        }
        _ => entry,
    };

    let mut results = Vec::new();
    let mut first_error: Option<Failure> = None;
    for &kind in KINDS {
        if nesting >= 2 && (kind == "matrix" || kind == "merge") {
            continue;
        }
        let Some(spec) = entry.get(kind).filter(|v| !v.is_null()) else {
            continue;
        };
        let kind_pointer = pointer_push(pointer, kind);
        let generated = match kind {
            "list" => list::generate(spec, &kind_pointer, ctx, recovered),
            "clusters" => clusters::generate(spec, &kind_pointer, ctx),
            "git" => git::generate(spec, &kind_pointer, ctx),
            "matrix" => matrix::generate(spec, &kind_pointer, ctx, nesting, recovered),
            "merge" => merge::generate(spec, &kind_pointer, ctx, nesting, recovered),
            other => Err(Failure::new(
                "generator-unsupported",
                &kind_pointer,
                format!("the `{other}` generator needs a live service and is not expanded offline"),
            )),
        };
        let params = match generated {
            Ok(p) => p,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let params = match &selector {
            Some(sel) => params
                .into_iter()
                .filter(|p| sel.matches(&selector_labels(p)))
                .collect(),
            None => params,
        };
        results.push(TransformResult {
            params,
            template: spec.get("template").filter(|t| !t.is_null()).cloned(),
        });
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// Argo CD's `flattenParameters`: nested keys joined with dots (list items by
/// index), values printed with Go's `%v`; empty maps and lists vanish.
pub fn flatten_params(params: &Params) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in params {
        flatten_into(&mut out, k, v, 0, false);
    }
    out
}

/// The labels a generator entry's `selector` matches parameters by:
/// [`flatten_params`], except that the git generator's `path.segments`
/// (a Go `[]string`, which Argo CD's flattening does not enter) is one
/// value, `[a b]`.
pub fn selector_labels(params: &Params) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in params {
        flatten_into(&mut out, k, v, 0, true);
    }
    out
}

fn flatten_into(
    out: &mut BTreeMap<String, String>,
    key: &str,
    v: &Value,
    depth: usize,
    typed_segments: bool,
) {
    if depth > template::MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                flatten_into(out, &format!("{key}.{k}"), item, depth + 1, typed_segments);
            }
        }
        // The git generator's `path.segments` is a Go `[]string`, which
        // Argo CD's flattening does not enter: it is one value, `[a b]`.
        Value::Array(_)
            if typed_segments && (key == "path.segments" || key.ends_with(".path.segments")) =>
        {
            out.insert(key.to_string(), gofmt::sprint(v));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten_into(out, &format!("{key}.{i}"), item, depth + 1, typed_segments);
            }
        }
        other => {
            out.insert(key.to_string(), gofmt::sprint(other));
        }
    }
}

/// Argo CD's `RenderGeneratorParams`: every string of the generator entry is
/// rendered with `params`, except the `values` of `clusters`/`git`, which are
/// pre-resolved with `missingkey=error` and kept raw where a key is missing
/// (they are rendered later against the generator's own parameters).
fn interpolate(
    entry: &Map<String, Value>,
    params: &Params,
    opts: Options,
) -> Result<Map<String, Value>, String> {
    let mut rest = entry.clone();
    let mut held: Vec<(&str, Map<String, Value>)> = Vec::new();
    for kind in ["clusters", "git"] {
        if let Some(Value::Object(spec)) = rest.get_mut(kind)
            && let Some(Value::Object(values)) = spec.remove("values")
        {
            held.push((kind, values));
        }
    }
    let rendered =
        template::render_value(&Value::Object(rest), params, opts).map_err(|e| e.message)?;
    let Value::Object(mut rendered) = rendered else {
        return Err("generator is not a mapping".into());
    };
    let strict = opts.strict();
    for (kind, values) in held {
        let mut resolved = Map::new();
        for (k, v) in values {
            let resolved_value = match &v {
                Value::String(s) => match template::replace(s, params, strict) {
                    Ok(r) => Value::String(r),
                    Err(e) if e.missing_key => v.clone(),
                    Err(e) => {
                        return Err(format!(
                            "failed to pre-resolve Values key {k:?}: {}",
                            e.message
                        ));
                    }
                },
                _ => v.clone(),
            };
            resolved.insert(k, resolved_value);
        }
        if let Some(Value::Object(spec)) = rendered.get_mut(kind) {
            spec.insert("values".into(), Value::Object(resolved));
        }
    }
    Ok(rendered)
}

/// A generator's `values` (`map[string]string`), rendered with the params
/// the generator produced, added as `values.<k>` (fasttemplate) or `values`
/// (goTemplate) — Argo CD's `appendTemplatedValues`.
pub fn append_templated_values(
    values: Option<&Value>,
    params: &mut Params,
    opts: Options,
    pointer: &str,
) -> Result<(), Failure> {
    let Some(values) = values.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let Some(values) = values.as_object() else {
        return Err(Failure::new(
            "generator-error",
            pointer,
            "`values` must be a map of strings",
        ));
    };
    let mut nested = Map::new();
    let mut flat = Vec::new();
    for (k, v) in values {
        let Some(s) = v.as_str() else {
            return Err(Failure::new(
                "generator-error",
                &pointer_push(pointer, k),
                format!("`values.{k}` must be a string"),
            ));
        };
        let rendered = template::replace(s, params, opts).map_err(|e| {
            Failure::new(
                "template-render-error",
                &pointer_push(pointer, k),
                e.message,
            )
            .wrap("failed to replace templated string with rendered values")
            .wrap("failed to replace templated string")
        })?;
        if opts.go_template {
            nested.insert(k.clone(), Value::String(rendered));
        } else {
            flat.push((format!("values.{k}"), Value::String(rendered)));
        }
    }
    if opts.go_template {
        params.insert("values".into(), Value::Object(nested));
    } else {
        params.extend(flat);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flatten_params_joins_keys_and_prints_like_go() {
        let p = json!({"a": {"b": 1, "c": [true, "x"]}, "e": {}, "n": 1000000})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let flat = flatten_params(&p);
        assert_eq!(flat.get("a.b").map(String::as_str), Some("1"));
        assert_eq!(flat.get("a.c.0").map(String::as_str), Some("true"));
        assert_eq!(flat.get("a.c.1").map(String::as_str), Some("x"));
        assert_eq!(flat.get("n").map(String::as_str), Some("1e+06"));
        assert!(!flat.contains_key("e"));
    }

    #[test]
    fn selector_labels_leave_git_segments_whole() {
        // Argo CD's flattening does not enter the git generator's `[]string`
        // segments (fidelity case 94): `path.segments.1` is no label.
        let p = json!({"path": {"segments": ["apps", "api"]}, "src": {"path": {"segments": ["a"]}}, "list": ["x"]})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let labels = selector_labels(&p);
        assert_eq!(
            labels.get("path.segments").map(String::as_str),
            Some("[apps api]")
        );
        assert_eq!(
            labels.get("src.path.segments").map(String::as_str),
            Some("[a]")
        );
        assert!(!labels.contains_key("path.segments.1"));
        assert_eq!(labels.get("list.0").map(String::as_str), Some("x"));
        assert!(flatten_params(&p).contains_key("path.segments.1"));
    }

    #[test]
    fn interpolation_keeps_values_with_missing_keys_raw_in_go_mode() {
        let entry = json!({"clusters": {"selector": {"matchLabels": {"env": "{{.env}}"}}, "values": {"a": "{{.env}}", "b": "{{.name}}"}}});
        let params = json!({"env": "prod"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let out = interpolate(
            entry.as_object().unwrap_or(&Map::new()),
            &params,
            Options::new(true, &[]),
        )
        .unwrap();
        assert_eq!(out["clusters"]["selector"]["matchLabels"]["env"], "prod");
        assert_eq!(out["clusters"]["values"]["a"], "prod");
        assert_eq!(out["clusters"]["values"]["b"], "{{.name}}");
    }
}
