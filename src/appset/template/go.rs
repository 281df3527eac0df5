//! Go text/template with Argo CD's function set, on the `gtmpl` crate.
//!
//! `missingkey=error`: gtmpl renders a missing key of a `Map` as `<no value>`
//! but refuses a missing field of an `Object`. So the parameters are handed to
//! gtmpl as `Map`s by default and as `Object`s under `missingkey=error`; the
//! refusal is reported with Go's wording (`map has no entry for key "x"`).
//!
//! Known gaps of gtmpl, kept visible rather than papered over:
//! - `range` over a map visits keys in hash order (Go sorts them);
//! - maps and lists print in Rust debug form (Go prints `map[a:1]`, `[a b]`);
//! - `define`/`template`/`block` are refused here: a self-calling template
//!   would overflow gtmpl's stack, which cannot be caught;
//! - gtmpl's parser loops forever on some malformed templates (an unclosed
//!   action): parsing is tried first on a helper thread with a deadline.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use gtmpl::error::ExecError;
use gtmpl::{Context, Template, Value as GValue};
use regex::Regex;
use serde_json::{Map, Value};

use super::RenderError;
use super::funcs;

/// Renders `tmpl` with `params` as the dot.
pub fn render(
    tmpl: &str,
    params: &Map<String, Value>,
    missing_key_error: bool,
) -> Result<String, RenderError> {
    if uses_named_templates(tmpl) {
        return Err(RenderError::new(format!(
            "failed to parse template {tmpl}: `define`, `template` and `block` are not supported by the offline renderer"
        )));
    }
    check_parses(tmpl)
        .map_err(|e| RenderError::new(format!("failed to parse template {tmpl}: {e}")))?;
    let mut t = Template::default();
    t.add_funcs(funcs::FUNCS);
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        t.parse(tmpl).map_err(|e| e.to_string())
    }));
    match parsed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(RenderError::new(format!(
                "failed to parse template {tmpl}: {e}"
            )));
        }
        Err(_) => {
            return Err(RenderError::new(format!(
                "failed to parse template {tmpl}: the template parser crashed"
            )));
        }
    }
    let dot = to_gtmpl_map(params, missing_key_error, 0);
    let ctx = Context::from(dot);
    let rendered = catch_unwind(AssertUnwindSafe(|| {
        t.render(&ctx).map_err(|e| exec_error(tmpl, e))
    }));
    match rendered {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(RenderError::new(format!(
            "failed to execute go template {tmpl}: the template engine crashed"
        ))),
    }
}

/// Deepest `if`/`range`/`with` or parenthesis nesting accepted.
const MAX_NESTING: usize = 50;

/// How long gtmpl may take to parse one template.
const PARSE_TIMEOUT: Duration = Duration::from_secs(2);

thread_local! {
    /// Templates already known to parse (the same strings recur for every app).
    static PARSES: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
}

/// gtmpl's parser never returns on some malformed input (an unclosed action
/// such as `{{ .name `). So a template is first parsed on a helper thread
/// with a deadline; on timeout that thread is abandoned and the template
/// reported as unparsable.
fn check_parses(tmpl: &str) -> Result<(), String> {
    if PARSES.with(|p| p.borrow().contains(tmpl)) {
        return Ok(());
    }
    // The common case needs no thread: an action opened and never closed.
    // Deep nesting is refused too: gtmpl parses recursively and a stack
    // overflow cannot be caught.
    let mut rest = tmpl;
    let mut blocks = 0usize;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            return Err("unclosed action".into());
        };
        let action = rest[open + 2..open + 2 + close]
            .trim_start_matches('-')
            .trim_start();
        // Go refuses these literals at parse time; gtmpl accepts some and
        // spins on others.
        super::golit::check_action(action.trim_end_matches('-'))
            .map_err(|e| format!("template: :1: {e}"))?;
        let word = action
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or_default();
        match word {
            "if" | "range" | "with" => blocks += 1,
            "end" => blocks = blocks.saturating_sub(1),
            _ => {}
        }
        let mut parens = 0usize;
        for c in action.chars() {
            match c {
                '(' => parens += 1,
                ')' => parens = parens.saturating_sub(1),
                _ => {}
            }
            if parens > MAX_NESTING {
                return Err(format!("parentheses nested deeper than {MAX_NESTING}"));
            }
        }
        if blocks > MAX_NESTING {
            return Err(format!("blocks nested deeper than {MAX_NESTING}"));
        }
        rest = &rest[open + 2 + close + 2..];
    }
    let (tx, rx) = mpsc::channel();
    let text = tmpl.to_string();
    let spawned = thread::Builder::new()
        .name("gtmpl-parse".into())
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut t = Template::default();
                t.add_funcs(funcs::FUNCS);
                t.parse(text).map_err(|e| e.to_string())
            }))
            .unwrap_or_else(|_| Err("the template parser crashed".to_string()));
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start the template parser: {e}"));
    }
    match rx.recv_timeout(PARSE_TIMEOUT) {
        Ok(Ok(())) => {
            PARSES.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < 10_000 {
                    p.insert(tmpl.to_string());
                }
            });
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err("the template does not parse (an unclosed action or string?)".into()),
    }
}

fn exec_error(tmpl: &str, e: ExecError) -> RenderError {
    if let ExecError::NoFiledFor(key, _) = &e {
        return RenderError {
            message: format!(
                "failed to execute go template {tmpl}: map has no entry for key \"{key}\""
            ),
            missing_key: true,
        };
    }
    let detail = match &e {
        ExecError::FuncError(f) => f.to_string(),
        other => other.to_string(),
    };
    RenderError::new(format!("failed to execute go template {tmpl}: {detail}"))
}

fn uses_named_templates(tmpl: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{\{-?\s*(define|template|block)\b").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(tmpl))
}

const MAX_DEPTH: usize = super::MAX_DEPTH;

fn to_gtmpl_map(map: &Map<String, Value>, strict: bool, depth: usize) -> GValue {
    let inner: HashMap<String, GValue> = map
        .iter()
        .map(|(k, v)| (k.clone(), to_gtmpl(v, strict, depth + 1)))
        .collect();
    if strict {
        GValue::Object(inner)
    } else {
        GValue::Map(inner)
    }
}

/// JSON → gtmpl; maps become `Object`s when missing keys must be errors.
pub(crate) fn to_gtmpl(v: &Value, strict: bool, depth: usize) -> GValue {
    if depth > MAX_DEPTH {
        return GValue::Nil;
    }
    match v {
        Value::Null => GValue::Nil,
        Value::Bool(b) => GValue::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                GValue::from(u)
            } else if let Some(i) = n.as_i64() {
                GValue::from(i)
            } else {
                GValue::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => GValue::String(s.clone()),
        Value::Array(items) => GValue::Array(
            items
                .iter()
                .map(|i| to_gtmpl(i, strict, depth + 1))
                .collect(),
        ),
        Value::Object(map) => to_gtmpl_map(map, strict, depth),
    }
}

/// gtmpl → JSON, maps with sorted keys (as Go's encoders write them).
pub(crate) fn to_json(v: &GValue, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match v {
        GValue::NoValue | GValue::Nil | GValue::Function(_) => Value::Null,
        GValue::Bool(b) => Value::Bool(*b),
        GValue::String(s) => Value::String(s.clone()),
        GValue::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
                    .map_or(Value::Null, Value::Number)
            }
        }
        GValue::Array(items) => Value::Array(items.iter().map(|i| to_json(i, depth + 1)).collect()),
        GValue::Map(m) | GValue::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(item) = m.get(k) {
                    out.insert(k.clone(), to_json(item, depth + 1));
                }
            }
            Value::Object(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn r(t: &str, v: Value) -> String {
        render(t, &p(v), false).unwrap_or_else(|e| format!("ERR: {e}"))
    }

    #[test]
    fn go_renders_nested_fields() {
        assert_eq!(
            r(
                "{{.path.basename}}-{{ .name }}",
                json!({"name": "a", "path": {"basename": "b"}})
            ),
            "b-a"
        );
    }

    #[test]
    fn go_missing_key_renders_no_value_by_default() {
        assert_eq!(r("x-{{.missing}}", json!({"name": "a"})), "x-<no value>");
    }

    #[test]
    fn go_missing_key_is_an_error_with_missingkey_error() {
        let err = render("x-{{.missing}}", &p(json!({"name": "a"})), true).unwrap_err();
        assert!(err.missing_key);
        assert!(
            err.message.contains("map has no entry for key \"missing\""),
            "{}",
            err.message
        );
        let err = render(
            "{{.path.nope}}",
            &p(json!({"path": {"basename": "b"}})),
            true,
        )
        .unwrap_err();
        assert!(err.message.contains("\"nope\""), "{}", err.message);
        assert_eq!(
            render("{{.name}}", &p(json!({"name": "a"})), true).unwrap(),
            "a"
        );
    }

    #[test]
    fn go_field_of_missing_key_is_an_error_even_by_default() {
        assert!(r("{{.metadata.labels.env}}", json!({"name": "in-cluster"})).starts_with("ERR"));
    }

    #[test]
    fn go_parse_error_is_reported() {
        let err = render("{{ .name ", &p(json!({})), false).unwrap_err();
        assert!(
            err.message.starts_with("failed to parse template"),
            "{}",
            err.message
        );
    }

    #[test]
    fn go_control_flow_and_builtins() {
        let v = json!({"env": "prod", "n": 3, "segs": ["a", "b"]});
        assert_eq!(
            r("{{ if eq .env \"prod\" }}5{{ else }}1{{ end }}", v.clone()),
            "5"
        );
        assert_eq!(r("{{ index .segs 1 }}", v.clone()), "b");
        assert_eq!(
            r(
                "{{ range $i, $s := .segs }}{{$i}}={{$s}};{{ end }}",
                v.clone()
            ),
            "0=a;1=b;"
        );
        assert_eq!(r("{{ printf \"%s-%d\" .env .n }}", v.clone()), "prod-3");
        assert_eq!(r("{{- .env -}}  ", v), "prod");
    }

    #[test]
    fn go_named_templates_are_refused_not_overflowed() {
        let err = render(
            "{{define \"a\"}}{{template \"a\"}}{{end}}{{template \"a\"}}",
            &p(json!({})),
            false,
        )
        .unwrap_err();
        assert!(err.message.contains("not supported"));
    }
}

#[cfg(test)]
mod malformed {
    use super::*;

    #[test]
    fn go_deep_nesting_is_refused_not_overflowed() {
        let deep_ifs = "{{ if true }}".repeat(200) + &"{{ end }}".repeat(200);
        assert!(render(&deep_ifs, &Map::new(), false).is_err());
        let deep_parens = format!("{{{{ {}1{} }}}}", "(".repeat(200), ")".repeat(200));
        assert!(render(&deep_parens, &Map::new(), false).is_err());
        let ok = "{{ if true }}{{ if true }}x{{ end }}{{ end }}";
        assert_eq!(render(ok, &Map::new(), false).unwrap(), "x");
    }

    #[test]
    fn go_malformed_templates_are_errors_not_hangs() {
        for t in [
            "{{ \"abc }}",
            "{{ ( .a }}",
            "{{ end }}",
            "{{ if .a }}",
            "{{/* x }}",
            "{{ `raw }}",
            "{{ 'x }}",
            "{{ $x := }}",
        ] {
            let r = render(t, &Map::new(), false);
            assert!(r.is_err(), "{t}: {r:?}");
        }
    }
}
