//! JUnit XML. One scenario: one test suite per step, one test case per
//! check; lint findings form a `lint` suite where an error is a failure.
//! Several scenarios: one test suite per scenario holding the same cases.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::{Outcome, Report, SuiteReport};
use crate::lint::Severity;

pub fn render(report: &Report) -> String {
    let mut junit = JunitReport::new(format!("gitops-e2e {} {}", report.command, report.name));
    for group in groups(report) {
        let mut suite = TestSuite::new(group.name);
        if let Some(time) = group.time {
            suite.set_time(time);
        }
        suite.add_test_cases(group.cases);
        junit.add_test_suite(suite);
    }
    to_string(&junit)
}

/// One `<testsuite>` per scenario, named after it (and its file when two
/// scenarios share a name), with the scenario's file as a property.
pub fn render_suite(suite: &SuiteReport) -> String {
    let mut junit = JunitReport::new(match &suite.shard {
        Some(shard) => format!("gitops-e2e {} (shard {shard})", suite.command),
        None => format!("gitops-e2e {}", suite.command),
    });
    junit.set_time(suite.duration);
    for report in &suite.scenarios {
        let shared = suite
            .scenarios
            .iter()
            .filter(|r| r.name == report.name)
            .count()
            > 1;
        let name = if shared {
            format!("{} ({})", report.name, report.file)
        } else {
            report.name.clone()
        };
        let mut test_suite = TestSuite::new(name);
        test_suite.add_property(("file", report.file.as_str()));
        if let Some(total) = report.total() {
            test_suite.set_time(total);
        }
        test_suite.add_test_cases(groups(report).into_iter().flat_map(|g| g.cases));
        junit.add_test_suite(test_suite);
    }
    to_string(&junit)
}

fn to_string(junit: &JunitReport) -> String {
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot serialize JUnit report: {e} -->\n"))
}

/// A scenario's test cases, grouped as the one-scenario report shows them.
struct Group {
    name: String,
    time: Option<Duration>,
    cases: Vec<TestCase>,
}

fn groups(report: &Report) -> Vec<Group> {
    let mut groups = Vec::new();
    if !report.findings.is_empty() {
        let mut cases = Vec::new();
        for f in &report.findings {
            let name = match &f.application {
                Some(app) => format!("{} ({app})", f.rule),
                None => f.rule.clone(),
            };
            let status = match f.severity {
                Severity::Error => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(f.message.clone()).set_type(f.rule.clone());
                    s.set_description(finding_text(f));
                    s
                }
                Severity::Warning => TestCaseStatus::success(),
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(format!("{}.lint", report.name));
            if f.severity == Severity::Warning {
                case.set_system_out(finding_text(f));
            }
            cases.push(case);
        }
        groups.push(Group {
            name: "lint".into(),
            time: None,
            cases,
        });
    }
    for step in &report.steps {
        let mut cases = Vec::new();
        if let Some(reason) = &step.skipped {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.clone());
            let mut case = TestCase::new(step.step.title(), status);
            case.set_classname(format!("{}.{}", report.name, step.step.title()));
            cases.push(case);
        }
        for check in &step.checks {
            let name = match &check.application {
                Some(app) => format!("{app}: {}", check.name),
                None => check.name.clone(),
            };
            let status = match &check.outcome {
                Outcome::Passed => TestCaseStatus::success(),
                Outcome::Failed { reason } => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(reason.clone());
                    if let Some(detail) = &check.detail {
                        s.set_description(detail.clone());
                    }
                    s
                }
                Outcome::Skipped { reason } => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(reason.clone());
                    s
                }
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(format!("{}.{}", report.name, step.step.title()));
            cases.push(case);
        }
        groups.push(Group {
            name: step.step.title().into(),
            time: Some(step.duration),
            cases,
        });
    }
    if let Some(stopped) = &report.stopped {
        // A run that stopped is one failed case of its own, so a pipeline
        // that reads only JUnit sees why.
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(stopped.reason.clone())
            .set_type(stopped.kind);
        let mut case = TestCase::new("the run completes", status);
        case.set_classname(format!("{}.run", report.name));
        groups.push(Group {
            name: "run".into(),
            time: None,
            cases: vec![case],
        });
    }
    groups
}

fn finding_text(f: &crate::lint::Finding) -> String {
    let mut text = String::new();
    if let Some(loc) = &f.location {
        text.push_str(&format!("{loc}: "));
    }
    text.push_str(&f.message);
    text.push_str("\nhelp: ");
    text.push_str(&f.advice);
    text
}
