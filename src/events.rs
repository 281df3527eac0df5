//! What happens during a run. The runner never prints and keeps no report of
//! its own: it emits these, and every consumer is built from the same stream
//! (the terminal progress, the report's [`Collector`](crate::report::Collector),
//! a test's [`Recorder`]).

use std::time::Duration;

use crate::check::{Check, StepKind};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A phase (clusters, Argo CD, a step, an Application awaited) began.
    PhaseStarted { name: String },
    /// A phase ended, with its wall-clock time.
    PhaseFinished { name: String, duration: Duration },
    /// One check of a step finished.
    Check { step: StepKind, check: Check },
    /// A whole step finished (its checks were sent before), or was skipped.
    StepFinished {
        step: StepKind,
        skipped: Option<String>,
        duration: Duration,
    },
    /// Step `sync` stopped waiting for one Application: it became Synced and
    /// Healthy (`synced`), or failed, or the wait timed out. Sent right after
    /// the wait's `PhaseFinished`, for the report's sync timeline.
    Awaited {
        application: String,
        duration: Duration,
        synced: bool,
    },
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

/// Sends each event to every sink, in order.
pub struct Tee<'a>(pub Vec<&'a dyn Sink>);

impl Sink for Tee<'_> {
    fn emit(&self, event: Event) {
        for sink in &self.0 {
            sink.emit(event.clone());
        }
    }
}

/// Keeps everything, for tests.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Recorder {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Sink for Recorder {
    fn emit(&self, event: Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}
