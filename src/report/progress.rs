//! Live progress on stderr: a spinner per running phase on a terminal, plain
//! timestamped lines otherwise (pipes, files, `CI=true`). Scenarios that run
//! side by side share one display, each line marked with its scenario.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::check::Outcome;
use crate::events::{Event, Sink};

/// The spinners of the phases still running, by phase name.
type Bars = (MultiProgress, Mutex<Vec<(String, ProgressBar)>>);

pub struct Progress {
    started: Instant,
    bars: Option<Bars>,
}

impl Progress {
    /// Spinners when stderr is a terminal and not in CI, plain lines otherwise.
    pub fn new() -> Self {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        let bars = (std::io::stderr().is_terminal() && !ci)
            .then(|| (MultiProgress::new(), Mutex::new(Vec::new())));
        Self {
            started: Instant::now(),
            bars,
        }
    }

    /// A sink for one of several scenarios running at once: its lines and
    /// spinners start with `[label]`.
    pub fn labelled(self: &Arc<Self>, label: impl Into<String>) -> Labelled {
        Labelled {
            progress: Arc::clone(self),
            label: format!("[{}] ", label.into()),
        }
    }

    fn line(&self, label: &str, text: &str) {
        let text = format!("{label}{text}");
        let text = super::terminal_safe(&text);
        let stamp = format!("[{:6.1}s] ", self.started.elapsed().as_secs_f64());
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(format!("{stamp}{text}"));
            }
            None => {
                let _ = writeln!(std::io::stderr(), "{stamp}{text}");
            }
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for Progress {
    fn emit(&self, event: Event) {
        self.emit_as("", event);
    }
}

/// [`Progress`] for one scenario among several.
pub struct Labelled {
    progress: Arc<Progress>,
    label: String,
}

impl Sink for Labelled {
    fn emit(&self, event: Event) {
        self.progress.emit_as(&self.label, event);
    }
}

impl Progress {
    /// Shows `event`; `label` (empty for a lone scenario) starts every line.
    fn emit_as(&self, label: &str, event: Event) {
        match event {
            Event::PhaseStarted { name } => match &self.bars {
                Some((multi, bars)) => {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    let name = format!("{label}{name}");
                    bar.set_message(super::terminal_safe(&name).into_owned());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    if let Ok(mut bars) = bars.lock() {
                        bars.push((name, bar));
                    }
                }
                None => self.line(label, &format!("{name} ..")),
            },
            Event::PhaseFinished { name, duration } => {
                let key = format!("{label}{name}");
                if let Some((_, bars)) = &self.bars
                    && let Ok(mut bars) = bars.lock()
                    && let Some(i) = bars.iter().position(|(n, _)| *n == key)
                {
                    bars.remove(i).1.finish_and_clear();
                }
                self.line(
                    label,
                    &format!("{name}: done in {:.1}s", duration.as_secs_f64()),
                );
            }
            Event::Check { step, check } => {
                let app = check
                    .application
                    .as_deref()
                    .map(|a| format!("{a}: "))
                    .unwrap_or_default();
                let text = match &check.outcome {
                    Outcome::Passed => format!("  ok    {} {app}{}", step.title(), check.name),
                    Outcome::Failed { reason } => {
                        format!("  FAIL  {} {app}{} — {reason}", step.title(), check.name)
                    }
                    Outcome::Skipped { reason } => {
                        format!("  skip  {} {app}{} ({reason})", step.title(), check.name)
                    }
                };
                self.line(label, &text);
            }
            Event::StepFinished {
                step,
                skipped: Some(why),
                ..
            } => self.line(label, &format!("step {} skipped: {why}", step.title())),
            Event::StepFinished { .. } | Event::Awaited { .. } => {}
            Event::Note(text) => self.line(label, &text),
        }
    }
}
