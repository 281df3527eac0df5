//! Builds a run's report from its events: the same stream the progress
//! display shows, so the report and the terminal cannot disagree.

use std::sync::Mutex;
use std::time::Duration;

use super::{Phase, Report, StepResult, Stopped};
use crate::check::{Check, StepKind};
use crate::events::{Event, Sink};

#[derive(Default)]
pub struct Collector {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Checks of the step under way.
    pending: Vec<(StepKind, Check)>,
    steps: Vec<StepResult>,
    phases: Vec<Phase>,
    /// Phase names in the order they started: phases that overlap (the
    /// other clusters and Argo CD) are reported in that order.
    started: Vec<String>,
}

/// Phases that are part of a step: their times are the steps' own.
fn is_step_phase(name: &str) -> bool {
    name.starts_with("step ") || name.starts_with("waiting for ")
}

impl Sink for Collector {
    fn emit(&self, event: Event) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match event {
            Event::PhaseStarted { name } if !is_step_phase(&name) => {
                state.started.push(name);
            }
            Event::PhaseFinished { name, duration } if !is_step_phase(&name) => {
                state.phases.push(Phase { name, duration });
                let State {
                    phases, started, ..
                } = &mut *state;
                let order = |p: &Phase| started.iter().position(|s| *s == p.name);
                phases.sort_by_key(|p| order(p).unwrap_or(usize::MAX));
            }
            Event::Check { step, check } => state.pending.push((step, check)),
            Event::StepFinished {
                step,
                skipped,
                duration,
            } => {
                let (mine, others) = std::mem::take(&mut state.pending)
                    .into_iter()
                    .partition(|(s, _)| *s == step);
                state.pending = others;
                state.steps.push(StepResult {
                    step,
                    checks: mine.into_iter().map(|(_, c)| c).collect(),
                    skipped,
                    duration,
                });
            }
            _ => {}
        }
    }
}

impl Collector {
    /// The run's report: `base` (the offline plan's) with the live steps and
    /// phases after it. A stopped run lists the steps it did not reach as
    /// skipped, with why, so that every report names all five.
    pub fn report(
        &self,
        base: Report,
        provider: Option<&str>,
        total: Duration,
        stopped: Option<Stopped>,
    ) -> Report {
        let state = self
            .state
            .lock()
            .map(|s| s.clone_parts())
            .unwrap_or_default();
        let (mut steps, mut phases) = state;
        if let Some(stopped) = &stopped {
            for step in StepKind::LIVE {
                if !steps.iter().any(|s| s.step == step) {
                    steps.push(StepResult {
                        step,
                        checks: Vec::new(),
                        skipped: Some(format!("not reached: {}", stopped.reason)),
                        duration: Duration::ZERO,
                    });
                }
            }
        }
        phases.push(Phase {
            name: "total".into(),
            duration: total,
        });
        let mut report = base;
        report.command = "run".into();
        report.provider = provider.map(str::to_string);
        report.steps.extend(steps);
        report.phases = phases;
        report.stopped = stopped;
        report
    }
}

impl State {
    fn clone_parts(&self) -> (Vec<StepResult>, Vec<Phase>) {
        (self.steps.clone(), self.phases.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Outcome;

    #[test]
    fn steps_and_phases_come_from_events() {
        let c = Collector::default();
        c.emit(Event::PhaseStarted {
            name: "clusters up".into(),
        });
        c.emit(Event::PhaseFinished {
            name: "clusters up".into(),
            duration: Duration::from_secs(2),
        });
        c.emit(Event::Check {
            step: StepKind::DryRun,
            check: Check::passed("a"),
        });
        c.emit(Event::PhaseFinished {
            name: "step dry-run".into(),
            duration: Duration::from_secs(1),
        });
        c.emit(Event::StepFinished {
            step: StepKind::DryRun,
            skipped: None,
            duration: Duration::from_secs(1),
        });
        let r = c.report(
            Report::default(),
            Some("kwok"),
            Duration::from_secs(3),
            None,
        );
        assert_eq!(r.command, "run");
        assert_eq!(r.provider.as_deref(), Some("kwok"));
        assert_eq!(r.steps.len(), 1);
        assert_eq!(r.steps[0].checks[0].outcome, Outcome::Passed);
        let names: Vec<&str> = r.phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["clusters up", "total"]);
        assert!(r.passed());
    }

    #[test]
    fn a_stopped_run_names_the_steps_it_did_not_reach() {
        let c = Collector::default();
        c.emit(Event::StepFinished {
            step: StepKind::DryRun,
            skipped: None,
            duration: Duration::ZERO,
        });
        let stopped = Stopped {
            kind: "environment",
            reason: "cannot apply the ApplicationSet".into(),
            exit_code: 3,
        };
        let r = c.report(Report::default(), None, Duration::ZERO, Some(stopped));
        let steps: Vec<&str> = r.steps.iter().map(|s| s.step.title()).collect();
        assert_eq!(steps, ["dry-run", "diff", "count", "sync", "assert"]);
        assert_eq!(
            r.steps[1].skipped.as_deref(),
            Some("not reached: cannot apply the ApplicationSet")
        );
        assert!(!r.passed());
    }
}
