//! JUnit XML: one test suite per step, one test case per check; lint findings
//! form a `lint` suite where an error is a failure.

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::{Outcome, Report};
use crate::lint::Severity;

pub fn render(report: &Report) -> String {
    let mut junit = JunitReport::new(format!("gitops-e2e {} {}", report.command, report.name));
    if !report.findings.is_empty() {
        let mut suite = TestSuite::new("lint");
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
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    for step in &report.steps {
        let mut suite = TestSuite::new(step.step.title());
        suite.set_time(step.duration);
        if let Some(reason) = &step.skipped {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.clone());
            let mut case = TestCase::new(step.step.title(), status);
            case.set_classname(format!("{}.{}", report.name, step.step.title()));
            suite.add_test_case(case);
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
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    if let Some(stopped) = &report.stopped {
        // A run that stopped is one failed case of its own, so a pipeline
        // that reads only JUnit sees why.
        let mut suite = TestSuite::new("run");
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(stopped.reason.clone())
            .set_type(stopped.kind);
        let mut case = TestCase::new("the run completes", status);
        case.set_classname(format!("{}.run", report.name));
        suite.add_test_case(case);
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot serialize JUnit report: {e} -->\n"))
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
