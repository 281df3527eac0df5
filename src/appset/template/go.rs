//! Go text/template with Argo CD's function set, on the project's own
//! implementation of Go's `text/template` (`gotext`).
//!
//! The parameters are the dot, as Argo CD hands them to Go: a
//! `map[string]interface{}` whose numbers are `float64` (`1000000` prints
//! `1e+06`). Each distinct template string is parsed once per thread.
//!
//! Known gaps:
//! - execution stops after a step budget and an output budget per template
//!   string (`set_render_limits`), where Argo CD would run on; a template
//!   that hits them is reported as over the limit, not rendered;
//! - blocks and parentheses nest at most 100 deep in a template's text, and
//!   `template` calls, blocks and parenthesized pipelines at most 300 deep
//!   while it runs (Go allows 100000 `template` calls): deeper is an error,
//!   never a stack overflow;
//! - a value a function builds is limited to 1 Mi elements or bytes and 256
//!   levels of nesting;
//! - Go strings may hold invalid UTF-8 (`"\xff"`), these cannot: such bytes
//!   become U+FFFD; complex constants (`1i`) and `call` are refused;
//! - Sprig functions check their own arguments (`funcs`): an `int`
//!   parameter takes a whole `float64` (a JSON number), which Go refuses
//!   with `wrong type for value`, and argument errors read `error calling
//!   NAME: …`;
//! - Sprig functions not in `funcs` fail as undefined functions.

use serde_json::{Map, Value};

use super::RenderError;
use super::gotext::{self, ErrorKind, MissingKey, Value as GoValue, exec};

/// Renders `tmpl` with `params` as the dot; `missing_key_error` is
/// `missingkey=error`, else `missingkey=default`.
pub fn render(
    tmpl: &str,
    params: &Map<String, Value>,
    missing_key_error: bool,
) -> Result<String, RenderError> {
    let mode = if missing_key_error {
        MissingKey::Error
    } else {
        MissingKey::Invalid
    };
    render_with(tmpl, params, mode)
}

/// Renders `tmpl` with `params` as the dot, under a `missingkey` mode.
pub fn render_with(
    tmpl: &str,
    params: &Map<String, Value>,
    missing_key: MissingKey,
) -> Result<String, RenderError> {
    let parsed = gotext::parse_cached(tmpl);
    let tree = match parsed.as_ref() {
        Ok(tree) => tree,
        Err(e) => {
            return Err(RenderError::new(format!(
                "failed to parse template {tmpl}: {}",
                e.0
            )));
        }
    };
    let limits = gotext::render_limits();
    exec::execute(
        tree,
        gotext::TEMPLATE_NAME,
        GoValue::Params(params),
        missing_key,
        &limits,
    )
    .map_err(|e| RenderError {
        message: format!("failed to execute go template {tmpl}: {}", e.message),
        missing_key: e.kind == ErrorKind::MissingKey,
        limit: e.kind == ErrorKind::Limit,
    })
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
    fn go_field_of_missing_key_is_no_value_and_of_null_an_error() {
        // Go: a field of an invalid value is invalid again (no error by
        // default); a field of a nil interface is an error.
        assert_eq!(
            r("{{.metadata.labels.env}}", json!({"name": "in-cluster"})),
            "<no value>"
        );
        assert_eq!(
            r("{{.metadata.labels}}", json!({"metadata": null})),
            "ERR: failed to execute go template {{.metadata.labels}}: template: base:1:11: \
             executing \"base\" at <.metadata.labels>: nil pointer evaluating interface {}.labels"
        );
        let err = render("{{.a.b}}", &p(json!({})), true).unwrap_err();
        assert!(
            err.message.ends_with("map has no entry for key \"a\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn go_chained_field_errors_name_the_chain_position() {
        // Go gives a chained field the position of its second part: 1:9
        // and 1:12 as Argo CD reported them (fidelity cases 78 and 105).
        let err = render("{{ .image.tag }}", &p(json!({"image": {}})), true).unwrap_err();
        assert!(
            err.message.contains("template: base:1:9: executing"),
            "{}",
            err.message
        );
        let err = render(
            "{{ .metadata.labels.env }}",
            &p(json!({"metadata": {"labels": {}}})),
            true,
        )
        .unwrap_err();
        assert!(
            err.message.contains("template: base:1:12: executing"),
            "{}",
            err.message
        );
        // A field of a map element names the element's type, `interface {}`.
        assert!(
            r("{{ .name.first }}", json!({"name": "api"}))
                .ends_with("at <.name.first>: can't evaluate field first in type interface {}")
        );
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
        // JSON numbers are float64 in Go: `%d` refuses them, `int` converts.
        assert_eq!(
            r(
                "{{ printf \"%s-%d-%d-%v\" .env .n (int .n) .n }}",
                v.clone()
            ),
            "prod-%!d(float64=3)-3-3"
        );
        assert_eq!(r("{{- .env -}}  ", v), "prod");
    }

    #[test]
    fn go_named_templates_run_and_recursion_is_an_error_not_an_overflow() {
        let v = json!({"name": "a", "n": 3});
        assert_eq!(
            r(
                "{{define \"x\"}}[{{.}}]{{end}}{{template \"x\" .name}}",
                v.clone()
            ),
            "[a]"
        );
        assert_eq!(r("{{block \"b\" .name}}<{{.}}>{{end}}", v.clone()), "<a>");
        // A countdown through recursion works while it stays shallow.
        assert_eq!(
            r(
                "{{define \"c\"}}{{.}}{{if gt . 0}}{{template \"c\" (sub . 1)}}{{end}}{{end}}{{template \"c\" 3}}",
                v.clone()
            ),
            "3210"
        );
        let err = render(
            "{{define \"a\"}}{{template \"a\"}}{{end}}{{template \"a\"}}",
            &p(json!({})),
            false,
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("exceeded maximum template depth (300)"),
            "{}",
            err.message
        );
        assert!(r("{{template \"nope\"}}", v).contains("template \"nope\" not defined"));
    }

    #[test]
    fn go_range_over_a_map_visits_keys_sorted() {
        let v = json!({"m": {"b": 2, "a": 1, "c": "x"}});
        assert_eq!(
            r(
                "{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}",
                v.clone()
            ),
            "a=1;b=2;c=x;"
        );
        assert_eq!(r("{{ range .m }}{{ . }},{{ end }}", v.clone()), "1,2,x,");
        assert_eq!(r("{{ range $v := .m }}{{ $v }}{{ end }}", v), "12x");
    }

    #[test]
    fn go_prints_values_as_fmt_v_does() {
        let v = json!({
            "big": 1000000, "small": 123456, "frac": 0.000012, "neg": -3, "half": 1.5,
            "list": [1, "two", true, null, [2]], "map": {"b": "x", "a": 1, "n": null},
            "nothing": null, "yes": true
        });
        assert_eq!(
            r(
                "{{ .big }}|{{ .small }}|{{ .frac }}|{{ .neg }}|{{ .half }}",
                v.clone()
            ),
            "1e+06|123456|1.2e-05|-3|1.5"
        );
        assert_eq!(r("{{ .list }}", v.clone()), "[1 two true <nil> [2]]");
        assert_eq!(r("{{ .map }}", v.clone()), "map[a:1 b:x n:<nil>]");
        assert_eq!(
            r("{{ .nothing }}|{{ .missing }}|{{ .yes }}", v.clone()),
            "<no value>|<no value>|true"
        );
        // Functions return ints; constants are ints or float64s.
        assert_eq!(
            r(
                "{{ add 1 2 }}|{{ 1.0 }}|{{ 1e6 }}|{{ 42 }}|{{ 'a' }}",
                v.clone()
            ),
            "3|1|1e+06|42|97"
        );
        assert_eq!(
            r("{{ list 1 \"a\" (dict \"k\" 2) }}", v.clone()),
            "[1 a map[k:2]]"
        );
        assert_eq!(
            r(
                "{{ print 1 2 \"a\" \"b\" 3 }}|{{ println 1 \"a\" }}",
                v.clone()
            ),
            "1 2ab3|1 a\n"
        );
        assert_eq!(
            r(
                "{{ printf \"%v %s %q %5.2f %x %t %T %03d\" .list .map.b .map.b .half 255 .yes .big 7 }}",
                v
            ),
            "[1 two true <nil> [2]] x \"x\"  1.50 ff true float64 007"
        );
    }

    #[test]
    fn go_actions_control_flow_and_variables() {
        let v = json!({"xs": [1, 2, 3, 4], "name": "a", "empty": [], "m": {}});
        assert_eq!(
            r(
                "{{ range .xs }}{{ if eq . 2.0 }}{{ continue }}{{ end }}{{ if eq . 4.0 }}{{ break }}{{ end }}{{ . }}{{ end }}",
                v.clone()
            ),
            "13"
        );
        assert_eq!(
            r("{{ range .empty }}x{{ else }}none{{ end }}", v.clone()),
            "none"
        );
        assert_eq!(
            r("{{ range .m }}x{{ else }}no keys{{ end }}", v.clone()),
            "no keys"
        );
        assert_eq!(r("{{ range 3 }}{{ . }}{{ end }}", v.clone()), "012");
        assert_eq!(
            r(
                "{{ if eq .name \"b\" }}b{{ else if eq .name \"a\" \"c\" }}a-or-c{{ else }}other{{ end }}",
                v.clone()
            ),
            "a-or-c"
        );
        assert_eq!(
            r(
                "{{ with .missing }}x{{ else with .name }}{{ . }}{{ end }}",
                v.clone()
            ),
            "a"
        );
        assert_eq!(
            r(
                "{{ $x := 1 }}{{ range .xs }}{{ $x = . }}{{ end }}{{ $x }}-{{ $.name }}",
                v.clone()
            ),
            "4-a"
        );
        assert_eq!(
            r(
                "{{ and 1 0 (fail \"not evaluated\") }}|{{ or 0 \"\" \"x\" }}",
                v.clone()
            ),
            "0|x"
        );
        assert_eq!(
            r("{{/* a comment */}}a {{- \" b \" -}} c", v.clone()),
            "a b c"
        );
        assert_eq!(
            r(
                "{{ (index .xs 1) }}|{{ len .xs }}|{{ slice .xs 1 2 }}|{{ not true }}",
                v.clone()
            ),
            "2|4|[2]|false"
        );
        assert_eq!(
            r(
                "{{ html \"<a&b>\" }}|{{ js \"it's\" }}|{{ urlquery \"a b&c\" }}",
                v.clone()
            ),
            "&lt;a&amp;b&gt;|it\\'s|a+b%26c"
        );
        assert_eq!(
            r("{{ lt 1 2 }}{{ ge \"b\" \"a\" }}{{ ne 1 2 }}", v.clone()),
            "truetruetrue"
        );
        assert!(
            r("{{ eq 1 1.0 }}", v).contains("error calling eq: incompatible types for comparison")
        );
    }

    #[test]
    fn go_errors_are_worded_as_argo_cd_reports_them() {
        let e = |t: &str, v: Value, strict: bool| render(t, &p(v), strict).unwrap_err().message;
        assert_eq!(
            e("{{ .ns }}", json!({"name": "a"}), true),
            "failed to execute go template {{ .ns }}: template: base:1:3: executing \"base\" at <.ns>: map has no entry for key \"ns\""
        );
        assert_eq!(
            e(
                "{{ if .broken }}{{ fail \"web is broken\" }}{{ end }}x",
                json!({"broken": true}),
                false
            ),
            "failed to execute go template {{ if .broken }}{{ fail \"web is broken\" }}{{ end }}x: template: base:1:19: executing \"base\" at <fail \"web is broken\">: error calling fail: web is broken"
        );
        assert_eq!(
            e("{{ index .items 5 }}", json!({"items": [1]}), false),
            "failed to execute go template {{ index .items 5 }}: template: base:1:3: executing \"base\" at <index .items 5>: error calling index: index out of range: 5"
        );
        assert_eq!(
            e("{{ .name }", json!({}), false),
            "failed to parse template {{ .name }: template: base:1: unexpected \"}\" in operand"
        );
        assert_eq!(
            e("{{ required \"ns is required\" .ns }}", json!({}), false),
            "failed to parse template {{ required \"ns is required\" .ns }}: template: base:1: function \"required\" not defined"
        );
    }

    #[test]
    fn go_parse_errors_are_reported_before_anything_runs() {
        // The failing `fail` would run first if the template were executed.
        let err = render("{{ fail \"ran\" }}{{ end }}", &p(json!({})), false).unwrap_err();
        assert_eq!(
            err.message,
            "failed to parse template {{ fail \"ran\" }}{{ end }}: template: base:1: unexpected {{end}}"
        );
        let err = render("a\n{{ if .a }}x", &p(json!({})), false).unwrap_err();
        assert!(
            err.message.ends_with("template: base:2: unexpected EOF"),
            "{}",
            err.message
        );
        assert!(
            render("{{ $x }}", &p(json!({})), false)
                .unwrap_err()
                .message
                .contains("undefined variable \"$x\"")
        );
        assert!(
            render("{{ break }}", &p(json!({})), false)
                .unwrap_err()
                .message
                .contains("{{break}} outside {{range}}")
        );
    }

    #[test]
    fn go_budget_stops_a_runaway_template_quickly() {
        let xs: Vec<u32> = (0..3000).collect();
        let t = "{{ range .xs }}{{ range $.xs }}{{ range $.xs }}ab{{ end }}{{ end }}{{ end }}";
        let started = std::time::Instant::now();
        let err = render(t, &p(json!({ "xs": xs })), false).unwrap_err();
        assert!(err.limit, "{}", err.message);
        assert!(
            err.message.ends_with(
                "the template's output passed 1048576 bytes (the render limit per field)"
            ),
            "{}",
            err.message
        );
        // About 0.1 s in a debug build; the bound leaves room for a loaded machine.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Steps run out where nothing is written.
        let t = "{{ range .xs }}{{ range $.xs }}{{ range $.xs }}{{ end }}{{ end }}{{ end }}";
        let started = std::time::Instant::now();
        let err = render(t, &p(json!({ "xs": xs })), false).unwrap_err();
        assert!(err.limit, "{}", err.message);
        assert!(
            err.message.ends_with(
                "the template took more than 10000000 steps (the render limit per field)"
            ),
            "{}",
            err.message
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn go_values_built_in_a_loop_stay_bounded() {
        let v = json!({});
        // A list nested in itself 100000 times would overflow the stack
        // when printed or dropped.
        let deep = r(
            "{{ $l := list }}{{ range until 100000 }}{{ $l = list $l }}{{ end }}{{ len $l }}",
            v.clone(),
        );
        assert!(deep.contains("nested deeper than 256 levels"), "{deep}");
        let wide = r(
            "{{ $s := \"ab\" }}{{ range until 40 }}{{ $s = cat $s $s }}{{ end }}{{ len $s }}",
            v,
        );
        assert!(wide.contains("the render limit per value"), "{wide}");
    }

    #[test]
    fn go_budget_is_the_one_given() {
        let parsed = gotext::parse_cached("{{ range .xs }}{{ . }}{{ end }}");
        let tree = parsed.as_ref().as_ref().unwrap();
        let params = p(json!({"xs": ["abc", "def", "ghi"]}));
        let run = |max_steps, max_output| {
            exec::execute(
                tree,
                "base",
                GoValue::Params(&params),
                MissingKey::Invalid,
                &gotext::Limits {
                    max_steps,
                    max_output,
                },
            )
            .map_err(|e| (e.kind, e.message))
        };
        assert_eq!(run(100, 100).unwrap(), "abcdefghi");
        let (kind, message) = run(100, 5).unwrap_err();
        assert_eq!(kind, ErrorKind::Limit);
        assert_eq!(
            message,
            "the template's output passed 5 bytes (the render limit per field)"
        );
        assert_eq!(run(4, 100).unwrap_err().0, ErrorKind::Limit);
    }

    #[test]
    fn go_same_template_is_parsed_once() {
        let a = gotext::parse_cached("{{ .cached }}");
        let b = gotext::parse_cached("{{ .cached }}");
        assert!(std::rc::Rc::ptr_eq(&a, &b));
    }
}

#[cfg(test)]
mod malformed {
    use super::*;

    #[test]
    fn go_ten_thousand_parentheses_are_an_error() {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
        let err = render(&deep, &Map::new(), false).unwrap_err();
        assert!(
            err.message.contains("nested deeper than 100"),
            "{}",
            err.message
        );
    }

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

#[cfg(test)]
mod random {
    use super::*;
    use serde_json::json;

    /// Random token soup: every template is parsed and run to an answer,
    /// none panics or hangs.
    #[test]
    fn random_templates_end_without_panics() {
        const TOKENS: &[&str] = &[
            "{{",
            "}}",
            "{{- ",
            " -}}",
            " ",
            ".",
            ".a",
            ".xs",
            "$",
            "$x",
            ":=",
            "=",
            "|",
            "(",
            ")",
            "\"s\"",
            "'c'",
            "`r`",
            "-",
            "1",
            "2.5",
            "e",
            "if ",
            "end",
            "range ",
            "else",
            "with ",
            "define \"d\"",
            "template \"d\"",
            "block \"b\" .",
            "break",
            "continue",
            ",",
            "/*",
            "*/",
            "printf \"%v\"",
            "len",
            "index",
            "nil",
            "true",
            "slice",
            "eq",
            "and",
            "or",
            "not",
            "upper",
            "until 3",
            "x",
            "\n",
            "$i, $v := ",
            "print",
        ];
        let params = json!({"a": "A", "xs": [1, "b", {"k": null}], "m": {"z": 1}});
        let params = params.as_object().cloned().unwrap_or_default();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut t = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (seed >> 59) as usize + 1;
            for _ in 0..n * 2 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                t.push_str(TOKENS[(seed >> 33) as usize % TOKENS.len()]);
            }
            let _ = render(&t, &params, false);
            let _ = render(&t, &params, true);
        }
    }
}
