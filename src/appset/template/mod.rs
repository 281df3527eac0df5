//! fasttemplate (`{{name}}`) and Go text/template (`goTemplate: true`) rendering.
//!
//! Argo CD renders every string of the Application template, and every map key,
//! one at a time (`deeplyReplace` in `applicationset/utils/utils.go`); numbers,
//! booleans and structure are never touched. `render_value` does the same on
//! JSON.

pub mod fast;
mod funcs;
pub mod go;
pub(crate) mod gofmt;
mod golit;
pub mod gotext;

use serde_json::{Map, Value};

pub use funcs::{sanitize_name, slugify_name};
pub use gotext::set_render_limits;

/// How Argo CD is told to render: `spec.goTemplate` and `spec.goTemplateOptions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    pub go_template: bool,
    /// `missingkey=error` among the options (the last `missingkey=` wins, as in Go).
    pub missing_key_error: bool,
}

impl Options {
    pub fn new(go_template: bool, go_template_options: &[String]) -> Self {
        let mut missing_key_error = false;
        for opt in go_template_options {
            if let Some(mode) = opt.trim().strip_prefix("missingkey=") {
                missing_key_error = mode == "error";
            }
        }
        Options {
            go_template,
            missing_key_error,
        }
    }
}

/// A template that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub message: String,
    /// The error is a missing key under `missingkey=error` (Argo CD keeps the
    /// raw string in that case when pre-resolving generator `values`).
    pub missing_key: bool,
    /// The template ran out of its step or output budget
    /// ([`set_render_limits`]): a limit of the renderer, not a verdict.
    pub limit: bool,
}

impl RenderError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        RenderError {
            message: message.into(),
            missing_key: false,
            limit: false,
        }
    }
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Argo CD's `Replace`: renders one string.
pub fn replace(
    tmpl: &str,
    params: &Map<String, Value>,
    opts: Options,
) -> Result<String, RenderError> {
    if opts.go_template {
        go::render(tmpl, params, opts.missing_key_error)
    } else {
        fast::render(tmpl, params).map_err(RenderError::new)
    }
}

/// Deepest nesting rendered; deeper input is reported, not recursed into.
pub const MAX_DEPTH: usize = 256;

/// Renders every string and every map key of `value`.
pub fn render_value(
    value: &Value,
    params: &Map<String, Value>,
    opts: Options,
) -> Result<Value, RenderError> {
    render_at(value, params, opts, "", 0).map_err(|(_, e)| e)
}

/// `render_value`, naming the JSON pointer (below `base`) of what failed.
pub fn render_value_located(
    value: &Value,
    params: &Map<String, Value>,
    opts: Options,
    base: &str,
) -> Result<Value, (String, RenderError)> {
    render_at(value, params, opts, base, 0)
}

fn render_at(
    value: &Value,
    params: &Map<String, Value>,
    opts: Options,
    pointer: &str,
    depth: usize,
) -> Result<Value, (String, RenderError)> {
    if depth > MAX_DEPTH {
        return Err((
            pointer.to_string(),
            RenderError::new(format!("template nested deeper than {MAX_DEPTH} levels")),
        ));
    }
    let at = |e: RenderError| (pointer.to_string(), e);
    Ok(match value {
        Value::String(s) => Value::String(replace(s, params, opts).map_err(at)?),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                out.push(render_at(
                    v,
                    params,
                    opts,
                    &format!("{pointer}/{i}"),
                    depth + 1,
                )?);
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                // Argo CD skips nil map values (they vanish from the output).
                if v.is_null() {
                    continue;
                }
                let child = crate::yaml::pointer_push(pointer, k);
                let v = render_at(v, params, opts, &child, depth + 1)?;
                out.insert(replace(k, params, opts).map_err(|e| (child.clone(), e))?, v);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn options_last_missingkey_wins() {
        let o = Options::new(
            true,
            &["missingkey=error".into(), "missingkey=default".into()],
        );
        assert!(!o.missing_key_error);
        let o = Options::new(true, &["missingkey=error".into()]);
        assert!(o.missing_key_error);
    }

    #[test]
    fn render_value_renders_strings_and_keys_but_not_numbers() {
        let tmpl = json!({"metadata": {"labels": {"env-{{name}}": "{{name}}"}}, "replicas": 3, "list": ["{{name}}", true]});
        let out = render_value(&tmpl, &p(json!({"name": "dev"})), Options::default()).unwrap();
        assert_eq!(
            out,
            json!({"metadata": {"labels": {"env-dev": "dev"}}, "replicas": 3, "list": ["dev", true]})
        );
    }

    #[test]
    fn render_value_with_go_template() {
        let tmpl = json!({"name": "{{ .name | upper }}"});
        let out = render_value(&tmpl, &p(json!({"name": "dev"})), Options::new(true, &[])).unwrap();
        assert_eq!(out, json!({"name": "DEV"}));
    }

    #[test]
    fn render_value_rejects_absurd_nesting_without_overflowing() {
        let mut v = json!("x");
        for _ in 0..(MAX_DEPTH + 5) {
            v = json!([v]);
        }
        let err = render_value(&v, &Map::new(), Options::default()).unwrap_err();
        assert!(err.message.contains("nested deeper"));
    }

    #[test]
    fn render_value_located_names_the_failing_field() {
        let tmpl = json!({"spec": {"destination": {"namespace": "{{ .ns }}"}, "list": ["ok", "{{ fail \"x\" }}"]}});
        let (ptr, _) = render_value_located(
            &tmpl,
            &Map::new(),
            Options::new(true, &["missingkey=error".into()]),
            "/spec/template",
        )
        .unwrap_err();
        assert_eq!(ptr, "/spec/template/spec/destination/namespace");
    }
}
