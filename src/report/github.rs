//! GitHub Actions workflow commands: one `::error`/`::warning` annotation
//! per mistake, so findings show on the pull request's changed lines.
//!
//! GitHub shows at most 10 error and 10 warning annotations of a step; one
//! per mistake rather than per Application keeps the ones that matter in.

use std::fmt::Write;

use crate::lint::{self, Finding, Severity, group};

/// The workflow commands for these findings, one a line.
pub fn annotations(findings: &[Finding]) -> String {
    let mut out = String::new();
    for g in lint::group(findings) {
        let command = match g.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(loc) = g.location() {
            let (file, line, column) = super::sarif::place(loc);
            props.push(format!("file={}", property(&file)));
            if let Some(line) = line {
                props.push(format!("line={line}"));
            }
            if let Some(column) = column {
                props.push(format!("col={column}"));
            }
        }
        props.push(format!("title={}", property(g.rule())));
        let apps = g.applications();
        let variants = g.variants();
        let mut message = match variants.as_slice() {
            [one] if !apps.is_empty() => format!(
                "[{}]: {}",
                group::applications_label(&apps, group::NAMES_SHOWN),
                one.message
            ),
            _ => group::variants_text(&variants),
        };
        let _ = write!(message, "\nhelp: {}", g.advice());
        let _ = writeln!(out, "::{command} {}::{}", props.join(","), data(&message));
    }
    out
}

/// A command's message: `%`, CR and LF escaped (GitHub's `escapeData`).
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as `data`, and `:` and `,` too (`escapeProperty`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::Location;
    use crate::yaml::Pos;

    #[test]
    fn escapes_as_github_documents() {
        assert_eq!(data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn one_annotation_per_mistake_with_its_place() {
        let loc = Some(Location {
            file: "dir,x/a:b.yaml".into(),
            pos: Some(Pos { line: 4, column: 9 }),
        });
        let f = |app: &str| Finding {
            rule: "placeholder-server".into(),
            severity: Severity::Error,
            message: format!("Application `{app}`: server is 100% fake"),
            application: Some(app.into()),
            location: loc.clone(),
            advice: "use a real one".into(),
            group: "g".into(),
        };
        let text = annotations(&[f("a-dev"), f("a-prod")]);
        assert_eq!(
            text,
            "::error file=dir%2Cx/a%3Ab.yaml,line=4,col=9,title=placeholder-server::\
             [a-dev, a-prod]: server is 100%25 fake%0Ahelp: use a real one\n"
        );
    }
}
