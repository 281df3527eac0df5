//! Markdown: fits a CI step summary (e.g. `$GITHUB_STEP_SUMMARY`).

use std::fmt::Write;

use super::{Outcome, Report, Status, SuiteReport};
use crate::lint::{self, Severity, group};

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let icon = if report.passed() { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "## {icon} gitops-e2e {} `{}`\n",
        report.command, report.name
    );
    let _ = writeln!(out, "{}\n", super::terminal::verdict(report));
    let _ = writeln!(out, "File: `{}`\n", report.file);

    if !report.applications.is_empty() {
        let _ = writeln!(out, "### Applications\n");
        let _ = writeln!(out, "| Application | Project | Server | Namespace |");
        let _ = writeln!(out, "|---|---|---|---|");
        for a in &report.applications {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                cell(&a.name),
                cell(&a.project),
                cell(&a.server),
                cell(&a.namespace)
            );
        }
        out.push('\n');
    }

    if !report.findings.is_empty() {
        // One row per mistake; the JSON report has one per Application.
        let groups = lint::group(&report.findings);
        let _ = writeln!(out, "### Findings\n");
        if groups.len() != report.findings.len() {
            let _ = writeln!(
                out,
                "{} mistakes, reported as {} findings (one per Application affected).\n",
                groups.len(),
                report.findings.len()
            );
        }
        let _ = writeln!(out, "| Severity | Rule | Applications | Where | Message |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for g in &groups {
            let sev = match g.severity() {
                Severity::Error => "🔴 error",
                Severity::Warning => "🟡 warning",
            };
            let variants = g.variants();
            let message = match variants.as_slice() {
                [one] => one.message.clone(),
                several => several
                    .iter()
                    .map(|v| {
                        format!(
                            "[{}]: {}",
                            group::applications_label(&v.applications, group::NAMES_SHOWN),
                            v.message
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            let _ = writeln!(
                out,
                "| {sev} | `{}` | {} | {} | {} |",
                g.rule(),
                cell(&group::applications_label(
                    &g.applications(),
                    group::NAMES_SHOWN
                )),
                g.location().map(|l| format!("`{l}`")).unwrap_or_default(),
                cell(&format!("{message} — {}", g.advice())),
            );
        }
        out.push('\n');
    }

    for step in &report.steps {
        let status = match step.status() {
            Status::Passed => "✅ passed",
            Status::Failed => "❌ failed",
            Status::Skipped => "⏭️ skipped",
        };
        let _ = writeln!(out, "### Step `{}`: {status}\n", step.step.title());
        if let Some(reason) = &step.skipped {
            let _ = writeln!(out, "Skipped: {}\n", cell(reason));
        }
        if step.checks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "| | Check | Application | Reason |");
        let _ = writeln!(out, "|---|---|---|---|");
        for c in &step.checks {
            let (mark, reason) = match &c.outcome {
                Outcome::Passed => ("✅", String::new()),
                Outcome::Failed { reason } => ("❌", cell(reason)),
                Outcome::Skipped { reason } => ("⏭️", cell(reason)),
            };
            let _ = writeln!(
                out,
                "| {mark} | {} | {} | {reason} |",
                cell(&c.name),
                c.application.as_deref().map(cell).unwrap_or_default()
            );
        }
        out.push('\n');
        for c in step.checks.iter().filter(|c| c.detail.is_some()) {
            let title = c.application.as_deref().unwrap_or(&c.name);
            let _ = writeln!(
                out,
                "<details><summary>{}</summary>\n\n```diff\n{}\n```\n</details>\n",
                cell(title),
                c.detail.as_deref().unwrap_or_default().trim_end()
            );
        }
    }

    if !report.phases.is_empty() {
        let _ = writeln!(out, "### Timings\n");
        let _ = writeln!(out, "| Phase | Seconds |");
        let _ = writeln!(out, "|---|---:|");
        for p in &report.phases {
            let _ = writeln!(out, "| {} | {:.1} |", p.name, p.duration.as_secs_f64());
        }
        out.push('\n');
    }
    if let Some(dir) = &report.diagnostics {
        let _ = writeln!(out, "Diagnostics: `{dir}`");
    }
    out
}

/// Escapes text for a table cell: pipes and newlines would break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// Several scenarios: a table of verdicts, then each scenario's own summary
/// folded (open when it did not pass).
pub fn render_suite(suite: &SuiteReport) -> String {
    let mut out = String::new();
    let icon = if suite.passed() { "✅" } else { "❌" };
    let shard = suite
        .shard
        .as_deref()
        .map(|s| format!(" (shard {s})"))
        .unwrap_or_default();
    let _ = writeln!(out, "## {icon} gitops-e2e {}{shard}\n", suite.command);
    let _ = writeln!(out, "{}\n", super::terminal::suite_verdict(suite));
    if suite.scenarios.is_empty() {
        return out;
    }
    let _ = writeln!(out, "| | Scenario | File | Checks | Seconds |");
    let _ = writeln!(out, "|---|---|---|---:|---:|");
    for r in &suite.scenarios {
        let checks: Vec<_> = r.steps.iter().flat_map(|s| &s.checks).collect();
        let failed = checks.iter().filter(|c| c.outcome.is_failed()).count();
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | {}/{} | {} |",
            scenario_icon(r),
            cell(&r.name),
            cell(&r.file),
            checks.len() - failed,
            checks.len(),
            r.total()
                .map(|d| format!("{:.1}", d.as_secs_f64()))
                .unwrap_or_default(),
        );
    }
    out.push('\n');
    for r in &suite.scenarios {
        let open = if r.passed() { "" } else { " open" };
        let _ = writeln!(
            out,
            "<details{open}><summary>{} <code>{}</code></summary>\n\n{}\n</details>\n",
            scenario_icon(r),
            html(&r.name),
            render(r).trim_end()
        );
    }
    out
}

fn scenario_icon(r: &Report) -> &'static str {
    match &r.stopped {
        Some(s) if s.kind == "interrupted" => "⏹️",
        Some(_) => "⚠️",
        None if r.passed() => "✅",
        None => "❌",
    }
}

/// Escapes text for HTML inside Markdown (a `<summary>`).
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
