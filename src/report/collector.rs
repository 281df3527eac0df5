//! Builds a run's report from its events: the same stream the progress
//! display shows, so the report and the terminal cannot disagree.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{ApplicationSync, Phase, Report, StepResult, Stopped};
use crate::check::{Check, StepKind};
use crate::events::{Event, Sink};

/// Times in the report count from the collector's creation, which is the
/// start of the run.
pub struct Collector {
    origin: Instant,
    state: Mutex<State>,
}

impl Default for Collector {
    fn default() -> Self {
        Collector {
            origin: Instant::now(),
            state: Mutex::default(),
        }
    }
}

#[derive(Default)]
struct State {
    /// Checks of the step under way.
    pending: Vec<(StepKind, Check)>,
    steps: Vec<StepResult>,
    phases: Vec<Phase>,
    syncs: Vec<ApplicationSync>,
    /// Phase names in the order they started: phases that overlap (the
    /// other clusters and Argo CD) are reported in that order.
    started: Vec<String>,
    /// When each phase (steps' too) last started, from the origin.
    started_at: HashMap<String, Duration>,
}

/// Phases that are part of a step: their times are the steps' own.
fn is_step_phase(name: &str) -> bool {
    name.starts_with("step ") || name.starts_with("waiting for ")
}

impl Sink for Collector {
    fn emit(&self, event: Event) {
        let now = self.origin.elapsed();
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match event {
            Event::PhaseStarted { name } => {
                state.started_at.insert(name.clone(), now);
                if !is_step_phase(&name) {
                    state.started.push(name);
                }
            }
            Event::PhaseFinished { name, duration } if !is_step_phase(&name) => {
                let start = state
                    .started_at
                    .get(&name)
                    .copied()
                    .unwrap_or_else(|| now.saturating_sub(duration));
                state.phases.push(Phase {
                    name,
                    duration,
                    start: Some(start),
                });
                let State {
                    phases, started, ..
                } = &mut *state;
                let order = |p: &Phase| started.iter().position(|s| *s == p.name);
                phases.sort_by_key(|p| order(p).unwrap_or(usize::MAX));
            }
            Event::Check { step, check } => state.pending.push((step, check)),
            Event::Awaited {
                application,
                duration,
                synced,
            } => state.syncs.push(ApplicationSync {
                application,
                start: now.saturating_sub(duration),
                duration,
                synced,
            }),
            Event::StepFinished {
                step,
                skipped,
                duration,
            } => {
                let (mine, others) = std::mem::take(&mut state.pending)
                    .into_iter()
                    .partition(|(s, _)| *s == step);
                state.pending = others;
                // A skipped step never started: it has no place in time.
                let start = match skipped {
                    None => state
                        .started_at
                        .get(&format!("step {}", step.title()))
                        .copied(),
                    Some(_) => None,
                };
                state.steps.push(StepResult {
                    step,
                    checks: mine.into_iter().map(|(_, c)| c).collect(),
                    skipped,
                    duration,
                    start,
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
        let (mut steps, mut phases, syncs) = state;
        if let Some(stopped) = &stopped {
            for step in StepKind::LIVE {
                if !steps.iter().any(|s| s.step == step) {
                    steps.push(StepResult {
                        step,
                        checks: Vec::new(),
                        skipped: Some(format!("not reached: {}", stopped.reason)),
                        duration: Duration::ZERO,
                        start: None,
                    });
                }
            }
        }
        phases.push(Phase {
            name: "total".into(),
            duration: total,
            start: Some(Duration::ZERO),
        });
        let mut report = base;
        report.command = "run".into();
        report.provider = provider.map(str::to_string);
        report.steps.extend(steps);
        report.phases = phases;
        report.syncs = syncs;
        report.stopped = stopped;
        report
    }
}

impl State {
    fn clone_parts(&self) -> (Vec<StepResult>, Vec<Phase>, Vec<ApplicationSync>) {
        (self.steps.clone(), self.phases.clone(), self.syncs.clone())
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
    fn phases_steps_and_syncs_are_placed_in_time_from_the_start_of_the_run() {
        let c = Collector::default();
        c.emit(Event::PhaseStarted {
            name: "clusters up".into(),
        });
        std::thread::sleep(Duration::from_millis(20));
        c.emit(Event::PhaseFinished {
            name: "clusters up".into(),
            duration: Duration::from_millis(20),
        });
        c.emit(Event::PhaseStarted {
            name: "step sync".into(),
        });
        c.emit(Event::Awaited {
            application: "demo-dev".into(),
            duration: Duration::ZERO,
            synced: true,
        });
        c.emit(Event::StepFinished {
            step: StepKind::Sync,
            skipped: None,
            duration: Duration::ZERO,
        });
        c.emit(Event::StepFinished {
            step: StepKind::Assert,
            skipped: Some("no Application".into()),
            duration: Duration::ZERO,
        });
        let r = c.report(Report::default(), None, Duration::from_secs(1), None);
        let clusters = r.phases[0].start.expect("a start");
        let sync = r.steps[0].start.expect("a start");
        assert!(sync >= clusters + Duration::from_millis(20), "{r:?}");
        assert_eq!(r.steps[1].start, None, "a skipped step has no start");
        assert_eq!(r.phases.last().unwrap().start, Some(Duration::ZERO));
        assert_eq!(r.syncs.len(), 1);
        assert_eq!(r.syncs[0].application, "demo-dev");
        assert!(r.syncs[0].synced && r.syncs[0].start >= sync, "{r:?}");
        // Written and read back, the times survive; a report without them
        // (written before runs recorded them) still reads.
        let json = super::super::json::render(&r);
        assert!(json.contains("\"start_ms\""), "{json}");
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.syncs.len(), 1);
        assert_eq!(
            back.phases[0].start.map(|d| d.as_millis()),
            Some(clusters.as_millis())
        );
        let old = r#"{"command":"run","name":"a","file":"a.yaml","steps":[{"step":"sync","checks":[],"duration_ms":1}],"phases":[{"name":"total","duration_ms":5}]}"#;
        let old: Report = serde_json::from_str(old).unwrap();
        assert_eq!((old.steps[0].start, old.phases[0].start), (None, None));
        assert!(old.syncs.is_empty());
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
