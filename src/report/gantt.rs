//! A run's timeline as a Mermaid `gantt` chart, which GitHub renders in a
//! Markdown step summary: where the minutes went, at a glance.
//!
//! Times are milliseconds from the start of the run (`dateFormat x`, the
//! epoch being the run's start); each task is `name :[crit, ]id, start, Nms`
//! — a duration rather than an end time, the form Mermaid parses reliably.

use std::fmt::Write;
use std::time::Duration;

use super::{Report, Status};

/// The chart, without its fence; `None` when the report holds no timing of a
/// live run (a plan, or a run stopped before anything was timed).
pub fn render(report: &Report) -> Option<String> {
    let run = run_tasks(report);
    if run.is_empty() {
        return None;
    }
    let mut out = String::new();
    let _ = writeln!(out, "gantt");
    let _ = writeln!(
        out,
        "    title Run timeline (minutes and seconds from its start)"
    );
    let _ = writeln!(out, "    dateFormat x");
    let _ = writeln!(out, "    axisFormat %M:%S");
    let _ = writeln!(out, "    section Run");
    for (i, t) in run.iter().enumerate() {
        task(&mut out, t, &format!("p{i}"));
    }
    if !report.syncs.is_empty() {
        let _ = writeln!(out, "    section Applications synced");
        for (i, s) in report.syncs.iter().enumerate() {
            let t = Task {
                name: s.application.clone(),
                start: s.start,
                duration: s.duration,
                failed: !s.synced,
            };
            task(&mut out, &t, &format!("a{i}"));
        }
    }
    Some(out)
}

struct Task {
    name: String,
    start: Duration,
    duration: Duration,
    failed: bool,
}

/// The phases (but `total`, which is the whole axis) and the steps that ran,
/// in the order the report lists them. A report written before runs recorded
/// start times gets them by adding up the durations before each one.
fn run_tasks(report: &Report) -> Vec<Task> {
    let mut cursor = Duration::ZERO;
    let mut at = |start: Option<Duration>, duration: Duration| {
        let start = start.unwrap_or(cursor);
        cursor = cursor.max(start + duration);
        start
    };
    let mut tasks = Vec::new();
    // Teardown comes after the steps; the other phases set the run up.
    let (teardown, setup): (Vec<_>, Vec<_>) = report
        .phases
        .iter()
        .filter(|p| p.name != "total")
        .partition(|p| p.name == "teardown");
    for p in setup {
        tasks.push(Task {
            name: p.name.clone(),
            start: at(p.start, p.duration),
            duration: p.duration,
            failed: false,
        });
    }
    for s in &report.steps {
        if s.skipped.is_some() || s.step == super::StepKind::Plan {
            continue;
        }
        tasks.push(Task {
            name: format!("step {}", s.step.title()),
            start: at(s.start, s.duration),
            duration: s.duration,
            failed: s.status() == Status::Failed,
        });
    }
    for p in teardown {
        tasks.push(Task {
            name: p.name.clone(),
            start: at(p.start, p.duration),
            duration: p.duration,
            failed: false,
        });
    }
    tasks
}

fn task(out: &mut String, t: &Task, id: &str) {
    let crit = if t.failed { "crit, " } else { "" };
    // A zero-length bar is not drawn at all.
    let ms = (t.duration.as_millis() as u64).max(1);
    let _ = writeln!(
        out,
        "    {} :{crit}{id}, {}, {ms}ms",
        name(&t.name),
        t.start.as_millis()
    );
}

/// Words that Mermaid's gantt lexer takes for a statement when a line starts
/// with them (case-insensitively), whatever follows.
const KEYWORDS: [&str; 17] = [
    "gantt",
    "dateformat",
    "inclusiveenddates",
    "topaxis",
    "axisformat",
    "tickinterval",
    "includes",
    "excludes",
    "todaymarker",
    "weekday",
    "title",
    "acctitle",
    "accdescr",
    "section",
    "click",
    "call",
    "href",
];

/// A task name that cannot be read as anything else: only letters, digits,
/// spaces and `-._/()` are kept (`:` ends a name, `#` and `;` end its data,
/// `%%` starts a comment, a newline a statement, a backtick the fence), and a
/// name that would start with a statement's keyword or a date is prefixed.
pub fn name(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | '(' | ')' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kept = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = kept.to_lowercase();
    let starts_unsafe = kept.is_empty()
        || !kept.starts_with(|c: char| c.is_alphabetic())
        || KEYWORDS.iter().any(|k| lower.starts_with(k));
    if starts_unsafe {
        format!("_{kept}")
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ApplicationSync, Phase, StepKind, StepResult};

    fn phase(name: &str, start: Option<u64>, ms: u64) -> Phase {
        Phase {
            name: name.into(),
            duration: Duration::from_millis(ms),
            start: start.map(Duration::from_millis),
        }
    }

    #[test]
    fn names_from_input_stay_one_task_name() {
        assert_eq!(name("demo-dev"), "demo-dev");
        assert_eq!(name("a: b#1;c\nd"), "a_ b_1_c_d");
        assert_eq!(name("gantt-dev"), "_gantt-dev");
        assert_eq!(name("Section x"), "_Section x");
        assert_eq!(name("2024-01-01"), "_2024-01-01");
        assert_eq!(name("%%{init}%%"), "____init___");
        assert_eq!(name("```"), "____");
        assert_eq!(name(""), "_");
    }

    #[test]
    fn a_report_without_start_times_gets_them_by_adding_durations() {
        let report = Report {
            command: "run".into(),
            phases: vec![
                phase("clusters up", None, 2000),
                phase("teardown", None, 500),
                phase("total", None, 9000),
            ],
            steps: vec![StepResult {
                step: StepKind::DryRun,
                checks: vec![],
                skipped: None,
                duration: Duration::from_millis(1000),
                start: None,
            }],
            ..Report::default()
        };
        let chart = render(&report).unwrap();
        assert!(
            chart.contains("    clusters up :p0, 0, 2000ms\n"),
            "{chart}"
        );
        assert!(
            chart.contains("    step dry-run :p1, 2000, 1000ms\n"),
            "{chart}"
        );
        assert!(chart.contains("    teardown :p2, 3000, 500ms\n"), "{chart}");
        assert!(!chart.contains("total"), "{chart}");
        assert!(!chart.contains("section Applications"), "{chart}");
    }

    #[test]
    fn a_plan_has_no_timeline() {
        assert_eq!(render(&Report::default()), None);
    }

    #[test]
    fn failed_syncs_are_marked_critical() {
        let report = Report {
            phases: vec![phase("clusters up", Some(0), 10)],
            syncs: vec![ApplicationSync {
                application: "web".into(),
                start: Duration::from_millis(20),
                duration: Duration::ZERO,
                synced: false,
            }],
            ..Report::default()
        };
        let chart = render(&report).unwrap();
        assert!(chart.contains("    web :crit, a0, 20, 1ms\n"), "{chart}");
    }
}
