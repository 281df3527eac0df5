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
    /// `missingkey=zero` is the last `missingkey=` option.
    pub missing_key_zero: bool,
    /// Some option is not one Go's `Template.Option` knows: Go panics when
    /// Argo CD first renders a Go template, and that panic is all Argo CD
    /// reports ([`unrecognized_option`]).
    pub bad_option: bool,
    /// Some option that does not start with `missingkey=` is unknown: these
    /// panic even where Argo CD replaces the `missingkey` options by its own
    /// (generator `values` under a matrix or merge).
    pub bad_other_option: bool,
}

impl Options {
    pub fn new(go_template: bool, go_template_options: &[String]) -> Self {
        let mut o = Options {
            go_template,
            ..Options::default()
        };
        for opt in go_template_options {
            match opt.strip_prefix("missingkey=") {
                Some("error") => (o.missing_key_error, o.missing_key_zero) = (true, false),
                Some("zero") => (o.missing_key_error, o.missing_key_zero) = (false, true),
                Some("default" | "invalid") => {
                    (o.missing_key_error, o.missing_key_zero) = (false, false);
                }
                Some(_) => o.bad_option = true,
                None => {
                    o.bad_option = true;
                    o.bad_other_option = true;
                }
            }
        }
        o
    }

    /// The options Argo CD pre-resolves generator `values` with: the
    /// `missingkey` ones replaced by `missingkey=error`.
    pub fn strict(self) -> Self {
        Options {
            missing_key_error: self.go_template || self.missing_key_error,
            missing_key_zero: !self.go_template && self.missing_key_zero,
            bad_option: self.bad_other_option,
            ..self
        }
    }

    fn missing_key(self) -> gotext::MissingKey {
        if self.missing_key_error {
            gotext::MissingKey::Error
        } else if self.missing_key_zero {
            gotext::MissingKey::Zero
        } else {
            gotext::MissingKey::Invalid
        }
    }
}

/// What Go's `Template.Option` panics with for the first option it does not
/// know (`""` included), as Argo CD reports it; `None` when all are known.
pub fn unrecognized_option(go_template_options: &[String]) -> Option<String> {
    go_template_options
        .iter()
        .find_map(|opt| match opt.strip_prefix("missingkey=") {
            _ if opt.is_empty() => Some("empty option string".to_string()),
            Some("error" | "zero" | "default" | "invalid") => None,
            _ => Some(format!("unrecognized option: {opt}")),
        })
}

/// The message [`replace`] fails with under an unknown option; the
/// expansion then reports [`unrecognized_option`] instead of anything else.
pub const BAD_OPTION: &str = "Go's text/template panics on an unknown goTemplateOptions entry";

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
        if opts.bad_option {
            return Err(RenderError::new(BAD_OPTION));
        }
        go::render_with(tmpl, params, opts.missing_key())
    } else {
        fast::render(tmpl, params).map_err(RenderError::new)
    }
}

/// `json.Marshal` of a JSON-decoded value, as Go writes it: keys sorted at
/// every level, `<`, `>`, `&` escaped, numbers as float64s are written.
pub fn go_json(v: &Value) -> String {
    funcs::go_json(&gotext::Value::from_json(v), false, true)
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
    fn options_unknown_ones_are_what_go_panics_on() {
        let opts = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (given, want) in [
            (
                opts(&["missingkey=bogus"]),
                Some("unrecognized option: missingkey=bogus"),
            ),
            (
                opts(&[" missingkey=error"]),
                Some("unrecognized option:  missingkey=error"),
            ),
            (opts(&["missingkey=zero", ""]), Some("empty option string")),
            (opts(&["missingkey=invalid", "missingkey=zero"]), None),
        ] {
            assert_eq!(unrecognized_option(&given).as_deref(), want);
            assert_eq!(Options::new(true, &given).bad_option, want.is_some());
        }
        // Argo CD replaces the missingkey options when it pre-resolves
        // generator values: only other unknown options panic there.
        assert!(
            !Options::new(true, &opts(&["missingkey=bogus"]))
                .strict()
                .bad_option
        );
        assert!(Options::new(true, &opts(&["bogus"])).strict().bad_option);
        let bad = Options::new(true, &opts(&["missingkey=bogus"]));
        assert_eq!(
            replace("x", &Map::new(), bad).unwrap_err().message,
            BAD_OPTION
        );
        // fasttemplate never looks at the options.
        let fast = Options::new(false, &opts(&["missingkey=bogus"]));
        assert_eq!(replace("x", &Map::new(), fast).unwrap(), "x");
    }

    #[test]
    fn options_missingkey_zero_makes_a_field_of_a_missing_key_fail() {
        let o = Options::new(true, &["missingkey=zero".into()]);
        let params = p(json!({"name": "a"}));
        assert_eq!(replace("{{ .missing }}", &params, o).unwrap(), "<no value>");
        assert!(
            replace("{{ .absent.sub }}", &params, o)
                .unwrap_err()
                .message
                .ends_with("at <.absent.sub>: nil pointer evaluating interface {}.sub")
        );
        // A variable holds the invalid value again (Go unwraps the nil
        // interface a pipeline gives): no error.
        assert_eq!(
            replace("{{ $x := .absent }}{{ $x.sub }}", &params, o).unwrap(),
            "<no value>"
        );
        let default = Options::new(true, &[]);
        assert_eq!(
            replace("{{ .absent.sub }}", &params, default).unwrap(),
            "<no value>"
        );
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
