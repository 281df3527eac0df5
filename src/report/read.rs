//! Reading reports back from their JSON: `report merge` and
//! `--shard-durations` take what earlier runs wrote, one scenario's report or
//! a combined one. The types `Report` borrows from `check` and `lint` are read
//! here through small mirrors, so those modules stay free of reading concerns.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::{Report, Stopped, SuiteReport};
use crate::check::{Check, Outcome, StepKind};
use crate::error::Error;
use crate::lint::{Finding, Location, Severity};

/// Reads `path`, a JSON report of one scenario or of many.
pub fn read_file(path: &Path) -> Result<SuiteReport, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::File {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|reason| Error::Input {
        message: format!(
            "`{}` is not a gitops-e2e JSON report: {reason}",
            path.display()
        ),
        help: Some("give files written by `--json` of `run` or `report merge`".into()),
    })
}

/// A combined report (it has `scenarios`) or one scenario's (it has `steps`).
pub fn parse(text: &str) -> Result<SuiteReport, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if value.get("scenarios").is_some() {
        let suite: SuiteIn = serde_path_to_error::deserialize(value).map_err(|e| e.to_string())?;
        Ok(SuiteReport {
            command: suite.command,
            shard: suite.shard,
            duration: Duration::from_millis(suite.summary.duration_ms),
            scenarios: suite.scenarios,
        })
    } else if value.get("steps").is_some() {
        let report: Report = serde_path_to_error::deserialize(value).map_err(|e| e.to_string())?;
        if report.command != "run" {
            return Err(format!(
                "it is the report of `{}`, not of `run`",
                report.command
            ));
        }
        Ok(SuiteReport {
            command: "run".into(),
            shard: None,
            duration: report.total().unwrap_or_default(),
            scenarios: vec![report],
        })
    } else {
        Err("it has neither `scenarios` nor `steps`".into())
    }
}

#[derive(Deserialize)]
struct SuiteIn {
    command: String,
    #[serde(default)]
    shard: Option<String>,
    summary: SummaryIn,
    scenarios: Vec<Report>,
}

#[derive(Deserialize)]
struct SummaryIn {
    #[serde(default)]
    duration_ms: u64,
}

pub(super) fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}

pub(super) fn opt_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<u64>::deserialize(d).map(|ms| ms.map(Duration::from_millis))
}

pub(super) fn step_kind<'de, D: Deserializer<'de>>(d: D) -> Result<StepKind, D::Error> {
    let name = String::deserialize(d)?;
    std::iter::once(StepKind::Plan)
        .chain(StepKind::LIVE)
        .find(|s| s.title() == name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown step `{name}`")))
}

#[derive(Deserialize)]
struct StoppedIn {
    kind: String,
    reason: String,
    exit_code: u8,
}

/// `kind` is one of three fixed words, kept as `&'static str`.
impl<'de> Deserialize<'de> for Stopped {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = StoppedIn::deserialize(d)?;
        let kind = ["environment", "input", "interrupted"]
            .into_iter()
            .find(|k| *k == s.kind)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown stop kind `{}`", s.kind)))?;
        Ok(Stopped {
            kind,
            reason: s.reason,
            exit_code: s.exit_code,
        })
    }
}

#[derive(Deserialize)]
struct CheckIn {
    name: String,
    #[serde(default)]
    application: Option<String>,
    outcome: OutcomeIn,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum OutcomeIn {
    Passed,
    Failed { reason: String },
    Skipped { reason: String },
}

pub(super) fn checks<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Check>, D::Error> {
    let checks = Vec::<CheckIn>::deserialize(d)?;
    Ok(checks
        .into_iter()
        .map(|c| Check {
            name: c.name,
            application: c.application,
            outcome: match c.outcome {
                OutcomeIn::Passed => Outcome::Passed,
                OutcomeIn::Failed { reason } => Outcome::Failed { reason },
                OutcomeIn::Skipped { reason } => Outcome::Skipped { reason },
            },
            detail: c.detail,
        })
        .collect())
}

#[derive(Deserialize)]
struct FindingIn {
    rule: String,
    severity: SeverityIn,
    message: String,
    #[serde(default)]
    application: Option<String>,
    #[serde(default)]
    location: Option<String>,
    advice: String,
    #[serde(default)]
    group: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum SeverityIn {
    Warning,
    Error,
}

pub(super) fn findings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Finding>, D::Error> {
    let findings = Vec::<FindingIn>::deserialize(d)?;
    Ok(findings
        .into_iter()
        .map(|f| {
            let severity = match f.severity {
                SeverityIn::Warning => Severity::Warning,
                SeverityIn::Error => Severity::Error,
            };
            // The JSON holds `file:line` as text; kept as the whole file
            // part, it prints back exactly as it was written.
            let location = f.location.map(|file| Location { file, pos: None });
            // A report written before findings had groups: group by what
            // it still holds.
            let group = f.group.unwrap_or_else(|| {
                crate::lint::group::group_id(&f.rule, severity, location.as_ref(), &f.advice)
            });
            Finding {
                rule: f.rule,
                severity,
                message: f.message,
                application: f.application,
                location,
                advice: f.advice,
                group,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan_file;

    #[test]
    fn a_plan_report_reads_back_as_it_was_written() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut report = plan_file(&root.join("scenarios/lesson/01-first-draft.yaml"))
            .unwrap()
            .report;
        report.command = "run".into();
        let json = super::super::json::render(&report);
        let suite = parse(&json).unwrap();
        assert_eq!(suite.scenarios.len(), 1);
        assert_eq!(super::super::json::render(&suite.scenarios[0]), json);
        assert!(!suite.scenarios[0].findings.is_empty());
    }

    #[test]
    fn what_is_not_a_report_says_why() {
        assert!(parse("[]").unwrap_err().contains("neither"));
        assert!(parse("{").is_err());
        let plan = r#"{"command":"plan","name":"a","file":"a.yaml","steps":[]}"#;
        assert!(parse(plan).unwrap_err().contains("not of `run`"));
        let bad = r#"{"command":"run","name":"a","file":"a.yaml","steps":[{"step":"x","checks":[],"duration_ms":1}]}"#;
        let e = parse(bad).unwrap_err();
        assert!(
            e.contains("steps[0].step") && e.contains("unknown step `x`"),
            "{e}"
        );
    }
}
