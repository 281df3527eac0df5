//! What happens during a run, for the reporters. The runner never prints: it
//! emits these, and a `Sink` (the terminal progress, a test's recorder)
//! consumes them.

use std::time::Duration;

use crate::report::{Check, StepKind, StepResult};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A phase (clusters, Argo CD, a step) began.
    PhaseStarted { name: String },
    /// A phase ended, with its wall-clock time.
    PhaseFinished { name: String, duration: Duration },
    /// One check finished.
    Check { step: StepKind, check: Check },
    /// A whole step finished (or was skipped).
    StepFinished(StepResult),
    /// Something worth a line that is not a check.
    Note(String),
}

pub trait Sink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Discards everything.
pub struct Silent;

impl Sink for Silent {
    fn emit(&self, _: Event) {}
}

/// Keeps everything, for tests.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Sink for Recorder {
    fn emit(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}
