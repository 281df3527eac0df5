//! fasttemplate, as Argo CD uses it (`applicationset/utils/utils.go`, `Replace`).
//!
//! A string is rendered only when one of its lines holds `{{…}}` (Argo CD
//! guards with the regex `.*{{.*}}.*`, whose `.` does not cross a newline).
//! Every `{{tag}}` is then looked up with surrounding spaces trimmed; a tag
//! that is not a parameter, or whose value is not a string, stays exactly as
//! written. A `{{` with no `}}` after it is an error, as in fasttemplate.

use serde_json::{Map, Value};

const START: &str = "{{";
const END: &str = "}}";

/// Renders `tmpl` with the flat parameters `params`.
pub fn render(tmpl: &str, params: &Map<String, Value>) -> Result<String, String> {
    if !is_templated(tmpl) {
        return Ok(tmpl.to_string());
    }
    let mut out = String::with_capacity(tmpl.len());
    let mut rest = tmpl;
    while let Some(start) = rest.find(START) {
        out.push_str(&rest[..start]);
        let after = &rest[start + START.len()..];
        let Some(end) = after.find(END) else {
            let quote = super::gotext::go_quote;
            return Err(format!(
                "invalid template: Cannot find end tag=\"}}}}\" in the template={} starting from {}",
                quote(tmpl),
                quote(after)
            ));
        };
        let tag = &after[..end];
        let trimmed = tag.trim();
        match params.get(trimmed) {
            Some(Value::String(s)) if !trimmed.is_empty() => out.push_str(s),
            _ => {
                out.push_str(START);
                out.push_str(tag);
                out.push_str(END);
            }
        }
        rest = &after[end + END.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Argo CD's `isTemplatedRegex` (`.*{{.*}}.*`): some line holds `{{` and a later `}}`.
pub fn is_templated(s: &str) -> bool {
    s.split('\n').any(|line| {
        line.find(START)
            .is_some_and(|i| line[i + START.len()..].contains(END))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn fast_replaces_known_params_with_or_without_spaces() {
        let p = params(json!({"name": "dev", "values.x": "1"}));
        assert_eq!(
            render("app-{{name}}-{{ name }}-{{values.x}}", &p).unwrap(),
            "app-dev-dev-1"
        );
    }

    #[test]
    fn fast_unknown_param_stays_literal_as_written() {
        let p = params(json!({"name": "dev"}));
        assert_eq!(
            render("{{ missing }}/{{name}}", &p).unwrap(),
            "{{ missing }}/dev"
        );
    }

    #[test]
    fn fast_non_string_param_stays_literal() {
        let p = params(json!({"replicas": 1}));
        assert_eq!(render("r={{replicas}}", &p).unwrap(), "r={{replicas}}");
    }

    #[test]
    fn fast_empty_tag_stays_literal() {
        let p = params(json!({"": "x"}));
        assert_eq!(render("a{{ }}b", &p).unwrap(), "a{{ }}b");
    }

    #[test]
    fn fast_unclosed_tag_after_a_complete_one_is_an_error() {
        let p = params(json!({"a": "x"}));
        let err = render("{{a}} {{b", &p).unwrap_err();
        assert!(err.contains("Cannot find end tag"), "{err}");
    }

    #[test]
    fn fast_string_without_complete_tag_on_one_line_is_untouched() {
        let p = params(json!({"a": "x"}));
        assert_eq!(render("{{a\n}}", &p).unwrap(), "{{a\n}}");
        assert_eq!(render("plain", &p).unwrap(), "plain");
    }

    #[test]
    fn fast_tag_spanning_lines_is_rendered_when_another_line_is_templated() {
        let p = params(json!({"a": "x"}));
        assert_eq!(render("{{a}}\n{{b\n}}", &p).unwrap(), "x\n{{b\n}}");
    }
}
