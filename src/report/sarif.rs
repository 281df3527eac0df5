//! SARIF 2.1.0: findings as code scanning tools read them (GitHub code
//! scanning, GitLab, IDE viewers).
//!
//! One result per mistake (a finding group), not per Application: a viewer
//! shows one alert at the template line, and the group id, stable across
//! runs, is its fingerprint. The Applications it affects are in the message
//! and, all of them, in the result's `properties`. Every rule of the rule
//! book is in `tool.driver.rules`, with its explanation as help.

use serde_json::{Value, json};

use super::{Report, SuiteReport};
use crate::lint::{self, Finding, Location, Severity, group};

/// The fingerprint key under which the group id is written.
pub const FINGERPRINT: &str = "gitopsE2eMistake/v1";

pub fn render(report: &Report) -> String {
    document(&report.findings)
}

/// Several scenarios: one run holding every scenario's findings; a mistake
/// in an ApplicationSet two scenarios share is one result.
pub fn render_suite(suite: &SuiteReport) -> String {
    let findings: Vec<Finding> = suite
        .scenarios
        .iter()
        .flat_map(|r| r.findings.iter().cloned())
        .collect();
    document(&findings)
}

fn document(findings: &[Finding]) -> String {
    let rules: Vec<Value> = lint::RULES.iter().map(rule).collect();
    let results: Vec<Value> = lint::group(findings)
        .iter()
        .map(|g| result(g, rule_index(g.rule())))
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gitops-e2e",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialize SARIF: {e}\"}}"));
    out.push('\n');
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule(r: &lint::Rule) -> Value {
    let indent = |text: &str| {
        text.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    json!({
        "id": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.rationale},
        "help": {
            "text": format!(
                "{}\n\nWrong:\n{}\nRight:\n{}",
                r.fix,
                indent(r.wrong),
                indent(r.right)
            ),
            "markdown": format!(
                "{}\n\n{}\n\n**Wrong**\n\n```yaml\n{}\n```\n\n**Right**\n\n```yaml\n{}\n```\n",
                r.rationale, r.fix, r.wrong, r.right
            ),
        },
        "defaultConfiguration": {"level": level(r.severity)},
    })
}

/// Where the rule is in `tool.driver.rules`; a rule a report read back
/// names but this build does not know has none.
fn rule_index(name: &str) -> Option<usize> {
    lint::RULES.iter().position(|r| r.name == name)
}

fn result(g: &lint::FindingGroup<'_>, index: Option<usize>) -> Value {
    let apps = g.applications();
    let variants = g.variants();
    let mut text = group::variants_text(&variants);
    if !apps.is_empty() && variants.len() == 1 {
        text.push_str(&format!(
            " (in {})",
            group::applications_label(&apps, group::NAMES_SHOWN)
        ));
    }
    text.push_str(&format!("\nFix: {}", g.advice()));
    let mut r = json!({
        "ruleId": g.rule(),
        "level": level(g.severity()),
        "message": {"text": text},
        "partialFingerprints": {FINGERPRINT: g.id()},
        "properties": {"applications": apps, "findings": g.members.len()},
    });
    if let Some(i) = index {
        r["ruleIndex"] = json!(i);
    }
    if let Some(loc) = g.location() {
        r["locations"] = json!([location(loc)]);
    }
    r
}

/// A finding's place: the file as a path relative to the current directory
/// when it is under it, its line and column when known.
pub(super) fn place(loc: &Location) -> (String, Option<usize>, Option<usize>) {
    let (file, line, column) = match loc.pos {
        Some(p) => (loc.file.as_str(), Some(p.line), Some(p.column)),
        // A report read back holds `file:line` as one text.
        None => match loc.file.rsplit_once(':') {
            Some((file, line)) if !file.is_empty() && line.parse::<usize>().is_ok() => {
                (file, line.parse().ok(), None)
            }
            _ => (loc.file.as_str(), None, None),
        },
    };
    let path = std::path::Path::new(file);
    let file = match std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.to_path_buf()))
    {
        Some(rel) if path.is_absolute() => rel.to_string_lossy().into_owned(),
        _ => file.strip_prefix("./").unwrap_or(file).to_string(),
    };
    (
        file,
        line.filter(|l| *l > 0),
        column.filter(|c| *c > 0 && line.is_some()),
    )
}

fn location(loc: &Location) -> Value {
    let (file, line, column) = place(loc);
    let mut physical = json!({"artifactLocation": {"uri": uri(&file)}});
    if let Some(line) = line {
        let mut region = json!({"startLine": line});
        if let Some(c) = column {
            region["startColumn"] = json!(c);
        }
        physical["region"] = region;
    }
    json!({"physicalLocation": physical})
}

/// A path as a URI reference: relative ones stay relative (code scanning
/// resolves them against the repository root), others become `file://`
/// URIs; characters a URI cannot hold are percent-encoded.
fn uri(file: &str) -> String {
    if std::path::Path::new(file).is_absolute() {
        format!("file://{}", encode(file))
    } else {
        encode(file)
    }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str) -> Value {
        location(&Location {
            file: file.into(),
            pos: Some(crate::yaml::Pos { line: 3, column: 5 }),
        })["physicalLocation"]["artifactLocation"]["uri"]
            .clone()
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(at("scenarios/a b.yaml"), "scenarios/a%20b.yaml");
        assert_eq!(at("./x/ä.yaml"), "x/%C3%A4.yaml");
        assert_eq!(at("/nowhere/x.yaml"), "file:///nowhere/x.yaml");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(at(&cwd.join("y/z.yaml").to_string_lossy()), "y/z.yaml");
    }

    #[test]
    fn a_location_read_back_keeps_its_line() {
        let loc = Location {
            file: "a.yaml:12".into(),
            pos: None,
        };
        let v = location(&loc);
        assert_eq!(v["physicalLocation"]["artifactLocation"]["uri"], "a.yaml");
        assert_eq!(v["physicalLocation"]["region"]["startLine"], 12);
    }
}
