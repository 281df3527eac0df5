//! Markdown: fits a CI step summary (e.g. `$GITHUB_STEP_SUMMARY`).

use std::fmt::Write;

use super::{Outcome, Report, Status, StepKind, SuiteReport};
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
                code(&a.name),
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
            let message = group::variants_text(&variants);
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

    environments(&mut out, report);
    if let Some(chart) = super::gantt::render(report) {
        let _ = writeln!(out, "### Timeline\n");
        let _ = writeln!(out, "```mermaid\n{}```\n", chart);
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

/// What the assert step checked in each environment: one row per scenario
/// cluster the Applications go to (an Application whose server maps to no
/// cluster is listed under its server). Only a live run has one.
fn environments(out: &mut String, report: &Report) {
    if !report.steps.iter().any(|s| s.step != StepKind::Plan) || report.applications.is_empty() {
        return;
    }
    let assert = report.steps.iter().find(|s| s.step == StepKind::Assert);
    // Environments in the order their first Application is listed.
    let mut rows: Vec<(String, Vec<&str>)> = Vec::new();
    for a in &report.applications {
        let env = a.cluster.clone().unwrap_or_else(|| a.server.clone());
        match rows.iter_mut().find(|(e, _)| *e == env) {
            Some((_, apps)) => apps.push(&a.name),
            None => rows.push((env, vec![&a.name])),
        }
    }
    let _ = writeln!(out, "### Environments\n");
    if let Some(reason) = assert.and_then(|s| s.skipped.as_deref()) {
        let _ = writeln!(out, "Step `assert` was skipped: {}\n", cell(reason));
    }
    let _ = writeln!(
        out,
        "| Environment | Applications | Passed | Failed | Skipped | Failed checks |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|");
    let checks = assert.map(|s| s.checks.as_slice()).unwrap_or_default();
    for (env, apps) in &rows {
        let mine: Vec<_> = checks
            .iter()
            .filter(|c| c.application.as_deref().is_some_and(|a| apps.contains(&a)))
            .collect();
        let count = |f: fn(&Outcome) -> bool| mine.iter().filter(|c| f(&c.outcome)).count();
        let failed: Vec<String> = mine
            .iter()
            .filter(|c| c.outcome.is_failed())
            .map(|c| {
                let app = c.application.as_deref().unwrap_or_default();
                format!("`{}`: {}", app.replace('`', "'"), c.name)
            })
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            code(env),
            apps.iter()
                .map(|a| format!("`{}`", code(a)))
                .collect::<Vec<_>>()
                .join(", "),
            count(|o| matches!(o, Outcome::Passed)),
            count(Outcome::is_failed),
            count(|o| matches!(o, Outcome::Skipped { .. })),
            cell(&failed.join("\n")),
        );
    }
    // Checks about no Application of the plan (none today) still count.
    let others = checks
        .iter()
        .filter(|c| {
            !c.application
                .as_deref()
                .is_some_and(|a| rows.iter().any(|(_, apps)| apps.contains(&a)))
        })
        .count();
    if others > 0 {
        let _ = writeln!(
            out,
            "\n{others} assert checks are about no Application of the plan; see the step above."
        );
    }
    out.push('\n');
}

/// Text for a code span inside a table cell: a backtick would end the span.
fn code(text: &str) -> String {
    cell(&text.replace('`', "'"))
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::check::Check;
    use crate::report::{ApplicationSummary, ApplicationSync, Phase, StepResult};

    /// An Application name no template should produce, written to break the
    /// chart (a new statement, a task of its own, a comment) and the tables.
    const HOSTILE: &str = "web\nsection pwned :x, 0, 1ms; #35; %% `|";

    fn app(name: &str, cluster: &str) -> ApplicationSummary {
        ApplicationSummary {
            name: name.into(),
            project: "default".into(),
            server: format!("https://{cluster}.example"),
            namespace: "demo".into(),
            cluster: Some(cluster.into()),
            spec: json!({}),
        }
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn step(step: StepKind, start: u64, duration: u64, checks: Vec<Check>) -> StepResult {
        StepResult {
            step,
            checks,
            skipped: None,
            duration: ms(duration),
            start: Some(ms(start)),
        }
    }

    fn phase(name: &str, start: u64, duration: u64) -> Phase {
        Phase {
            name: name.into(),
            duration: ms(duration),
            start: Some(ms(start)),
        }
    }

    fn run_report() -> Report {
        let assert_checks = vec![
            Check::passed("replicas = 1").for_app("demo-dev"),
            Check::passed("namespace demo exists").for_app("demo-dev"),
            Check::failed("replicas = 5", "readyReplicas 3").for_app("demo-prod"),
            Check::new(
                Some("demo-prod"),
                "imagePullSecrets [ecr-prod]",
                Outcome::skipped("no Deployment"),
            ),
            Check::failed("replicas = 1", "no Deployment `web`").for_app(HOSTILE),
        ];
        Report {
            command: "run".into(),
            name: "demo".into(),
            file: "scenarios/demo.yaml".into(),
            provider: Some("kwok".into()),
            applications: vec![
                app("demo-dev", "dev"),
                app("demo-prod", "prod"),
                app(HOSTILE, "prod"),
            ],
            steps: vec![
                step(
                    StepKind::Plan,
                    0,
                    0,
                    vec![Check::passed("expected Applications")],
                ),
                step(StepKind::DryRun, 4200, 800, vec![]),
                step(StepKind::Diff, 5000, 300, vec![]),
                step(StepKind::Count, 5300, 100, vec![]),
                step(StepKind::Sync, 5400, 6100, vec![]),
                step(StepKind::Assert, 11500, 900, assert_checks),
            ],
            phases: vec![
                phase("clusters up", 0, 2500),
                phase("Argo CD ready", 1200, 3000),
                phase("teardown", 12400, 600),
                phase("total", 0, 13000),
            ],
            syncs: vec![
                ApplicationSync {
                    application: "demo-dev".into(),
                    start: ms(5400),
                    duration: ms(2100),
                    synced: true,
                },
                ApplicationSync {
                    application: HOSTILE.into(),
                    start: ms(5400),
                    duration: ms(6100),
                    synced: false,
                },
            ],
            ..Report::default()
        }
    }

    /// The fenced chart of `markdown`, its lines.
    fn gantt_lines(markdown: &str) -> Vec<String> {
        let start = markdown.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
        let end = start + markdown[start..].find("```").expect("the block ends");
        markdown[start..end].lines().map(str::to_string).collect()
    }

    #[test]
    fn a_run_shows_its_timeline_and_what_each_environment_asserted() {
        insta::assert_snapshot!(render(&run_report()));
    }

    #[test]
    fn the_timeline_is_a_well_formed_gantt_chart_whatever_the_names() {
        let lines = gantt_lines(&render(&run_report()));
        assert_eq!(lines[0], "gantt");
        assert!(lines.contains(&"    dateFormat x".to_string()), "{lines:?}");
        let task =
            regex::Regex::new(r"^    [A-Za-z_][\w .()/-]* :(crit, )?[pa]\d+, \d+, [1-9]\d*ms$")
                .unwrap();
        let statement = regex::Regex::new(r"^    (title|dateFormat|axisFormat|section) ").unwrap();
        let mut tasks = 0;
        for line in &lines[1..] {
            if task.is_match(line) {
                tasks += 1;
            } else {
                assert!(
                    statement.is_match(line),
                    "not a task nor a statement: {line:?}"
                );
            }
        }
        // Three phases and five steps, two Applications synced.
        assert_eq!(tasks, 3 + 5 + 2, "{lines:#?}");
        let sections: Vec<_> = lines
            .iter()
            .filter(|l| l.starts_with("    section "))
            .collect();
        assert_eq!(sections.len(), 2, "{sections:?}");
    }

    #[test]
    fn a_plan_has_neither_timeline_nor_environments() {
        let mut report = run_report();
        report.command = "plan".into();
        report.steps.retain(|s| s.step == StepKind::Plan);
        report.phases.clear();
        report.syncs.clear();
        let text = render(&report);
        assert!(!text.contains("mermaid"), "{text}");
        assert!(!text.contains("### Environments"), "{text}");
    }
}
