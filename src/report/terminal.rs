//! The report as people read it in a terminal or a CI log.

use std::fmt::Write;

use super::{Outcome, Report, Status, SuiteReport};
use crate::lint::{self, Finding, Severity, group};

/// The report as text; whatever came from input is made terminal-safe.
pub fn render(report: &Report) -> String {
    super::terminal_safe(&render_raw(report)).into_owned()
}

fn render_raw(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {} ({})", report.command, report.name, report.file);
    if let Some(provider) = &report.provider {
        let _ = writeln!(out, "provider: {provider}");
    }
    applications(&mut out, report);
    findings(&mut out, &report.findings);
    steps(&mut out, report);
    phases(&mut out, report);
    if let Some(dir) = &report.diagnostics {
        let _ = writeln!(out, "\ndiagnostics written to {dir}");
    }
    let _ = writeln!(out, "\n{}", verdict(report));
    out
}

fn applications(out: &mut String, report: &Report) {
    if report.command == "lint" {
        return;
    }
    let _ = writeln!(out, "\nApplications ({}):", report.applications.len());
    let width = report
        .applications
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    for app in &report.applications {
        let cluster = app
            .cluster
            .as_deref()
            .map(|c| format!(" (cluster {c})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:width$}  project={} server={}{} namespace={}",
            app.name,
            app.project,
            app.server,
            cluster,
            if app.namespace.is_empty() {
                "-"
            } else {
                &app.namespace
            },
        );
    }
}

/// One entry per mistake: findings of one rule at one place with one advice
/// (one per generated Application) are shown once, with the Applications.
fn findings(out: &mut String, findings: &[Finding]) {
    let groups = lint::group(findings);
    let errors = groups
        .iter()
        .filter(|g| g.severity() == Severity::Error)
        .count();
    let warnings = groups.len() - errors;
    let counts = format!(
        "{errors} {}, {warnings} {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    if groups.len() == findings.len() {
        let _ = writeln!(out, "\nFindings ({counts}):");
    } else {
        let _ = writeln!(
            out,
            "\nFindings ({} {}: {counts}; {} {}, one per Application affected):",
            groups.len(),
            plural(groups.len(), "mistake"),
            findings.len(),
            plural(findings.len(), "finding"),
        );
    }
    for g in &groups {
        let apps = g.applications();
        let label = match apps.len() {
            0 => String::new(),
            _ => format!(
                " [{}]",
                group::applications_label(&apps, group::NAMES_SHOWN)
            ),
        };
        let variants = g.variants();
        match variants.as_slice() {
            [one] => {
                let _ = writeln!(
                    out,
                    "  {}[{}]{label}: {}",
                    g.severity(),
                    g.rule(),
                    one.message
                );
            }
            several => {
                let _ = writeln!(out, "  {}[{}]{label}:", g.severity(), g.rule());
                for v in several.iter().take(VARIANTS_SHOWN) {
                    let apps = match v.applications.len() {
                        0 => String::new(),
                        _ => format!(
                            "[{}]: ",
                            group::applications_label(&v.applications, group::NAMES_SHOWN)
                        ),
                    };
                    let _ = writeln!(out, "    - {apps}{}", v.message);
                }
                if several.len() > VARIANTS_SHOWN {
                    let _ = writeln!(
                        out,
                        "    - … {} more (the JSON report has each)",
                        several.len() - VARIANTS_SHOWN
                    );
                }
            }
        }
        if let Some(loc) = g.location() {
            let _ = writeln!(out, "    --> {loc}");
        }
        let _ = writeln!(out, "    help: {}", g.advice());
    }
    if !groups.is_empty() {
        let _ = writeln!(
            out,
            "  (`gitops-e2e explain RULE` says why a rule matters, with examples)"
        );
    }
}

/// How many distinct messages of one mistake are shown before "… N more".
const VARIANTS_SHOWN: usize = 3;

fn steps(out: &mut String, report: &Report) {
    for step in &report.steps {
        let status = match step.status() {
            Status::Passed => "passed",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        };
        let _ = writeln!(
            out,
            "\nStep {}: {status} ({} ms)",
            step.step.title(),
            step.duration.as_millis()
        );
        if let Some(reason) = &step.skipped {
            let _ = writeln!(out, "  skipped: {reason}");
        }
        for check in &step.checks {
            let app = check
                .application
                .as_deref()
                .map(|a| format!("{a}: "))
                .unwrap_or_default();
            match &check.outcome {
                Outcome::Passed => {
                    let _ = writeln!(out, "  ok    {app}{}", check.name);
                }
                Outcome::Failed { reason } => {
                    let _ = writeln!(out, "  FAIL  {app}{}", check.name);
                    let _ = writeln!(out, "        {reason}");
                }
                Outcome::Skipped { reason } => {
                    let _ = writeln!(out, "  skip  {app}{} ({reason})", check.name);
                }
            }
            if let Some(detail) = &check.detail {
                for line in detail.lines() {
                    let _ = writeln!(out, "        | {line}");
                }
            }
        }
    }
}

fn phases(out: &mut String, report: &Report) {
    if report.phases.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nTimings:");
    let width = report
        .phases
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    for phase in &report.phases {
        let _ = writeln!(
            out,
            "  {:width$} {:>8.1} s",
            phase.name,
            phase.duration.as_secs_f64()
        );
    }
}

/// The last line: what a person or a log grep looks for.
pub fn verdict(report: &Report) -> String {
    let checks: Vec<_> = report.steps.iter().flat_map(|s| &s.checks).collect();
    let failed = checks.iter().filter(|c| c.outcome.is_failed()).count();
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let word = match &report.stopped {
        Some(s) if s.kind == "interrupted" => "INTERRUPTED",
        Some(_) => "STOPPED",
        None if report.passed() => "PASSED",
        None => "FAILED",
    };
    let mistakes = lint::group(&report.findings)
        .iter()
        .filter(|g| g.severity() == Severity::Error)
        .count();
    let distinct = if mistakes == errors {
        String::new()
    } else {
        format!(" ({mistakes} {})", plural(mistakes, "mistake"))
    };
    let mut text = format!(
        "{word}: {} of {} {} passed, {errors} error {}{distinct}",
        checks.len() - failed,
        checks.len(),
        plural(checks.len(), "check"),
        plural(errors, "finding"),
    );
    if let Some(stopped) = &report.stopped {
        text.push_str(&format!("; the run stopped: {}", stopped.reason));
    }
    text
}

/// Several scenarios: each one's verdict line (with its failed checks), then
/// the total. Each scenario's full report is in `--json` and `--markdown`.
pub fn render_suite(suite: &SuiteReport) -> String {
    super::terminal_safe(&render_suite_raw(suite)).into_owned()
}

/// How many failed checks a scenario's summary lists before "and N more".
const FAILURES_SHOWN: usize = 10;

fn render_suite_raw(suite: &SuiteReport) -> String {
    let mut out = String::new();
    let shard = suite
        .shard
        .as_deref()
        .map(|s| format!(", shard {s}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} {}{shard}",
        suite.command,
        suite.scenarios.len(),
        plural(suite.scenarios.len(), "scenario")
    );
    let width = suite
        .scenarios
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    for r in &suite.scenarios {
        let word = match &r.stopped {
            Some(s) if s.kind == "interrupted" => "INTERRUPTED",
            Some(_) => "STOPPED",
            None if r.passed() => "PASSED",
            None => "FAILED",
        };
        let time = r
            .total()
            .map(|d| format!("{:>7.1} s", d.as_secs_f64()))
            .unwrap_or_default();
        let _ = writeln!(out, "\n{word:11} {:width$}  {time}  {}", r.name, r.file);
        let _ = writeln!(out, "  {}", verdict(r));
        let failed: Vec<_> = r
            .steps
            .iter()
            .flat_map(|s| s.checks.iter().map(move |c| (s.step, c)))
            .filter(|(_, c)| c.outcome.is_failed())
            .collect();
        for (step, check) in failed.iter().take(FAILURES_SHOWN) {
            let app = check
                .application
                .as_deref()
                .map(|a| format!("{a}: "))
                .unwrap_or_default();
            let reason = match &check.outcome {
                Outcome::Failed { reason } => reason.as_str(),
                _ => "",
            };
            let _ = writeln!(
                out,
                "  FAIL  {} {app}{} — {reason}",
                step.title(),
                check.name
            );
        }
        if failed.len() > FAILURES_SHOWN {
            let _ = writeln!(out, "  … and {} more", failed.len() - FAILURES_SHOWN);
        }
        if let Some(dir) = &r.diagnostics {
            let _ = writeln!(out, "  diagnostics written to {dir}");
        }
    }
    let _ = writeln!(out, "\n{}", suite_verdict(suite));
    out
}

/// The suite's last line: how many scenarios passed, and the exit code.
pub fn suite_verdict(suite: &SuiteReport) -> String {
    let s = suite.summary();
    let word = match s.exit_code {
        crate::error::exit::PASSED => "PASSED",
        crate::error::exit::CHECK_FAILED => "FAILED",
        crate::error::exit::INTERRUPTED => "INTERRUPTED",
        _ => "STOPPED",
    };
    format!(
        "{word}: {} of {} {} passed, {} failed, {} stopped, in {:.1} s (exit {})",
        s.passed,
        s.scenarios,
        plural(s.scenarios, "scenario"),
        s.failed,
        s.stopped,
        suite.duration.as_secs_f64(),
        s.exit_code
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
