//! Many scenarios' reports as one: what `run PATH...` and `report merge`
//! produce. Each scenario keeps its own report, unchanged; the suite adds a
//! summary and one exit code.

use std::time::Duration;

use serde::Serialize;

use super::Report;
use crate::error::exit;

/// The reports of several scenarios, sorted by file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuiteReport {
    /// `run` or `merge`.
    pub command: String,
    /// `K/N` when the run was one shard of a suite.
    pub shard: Option<String>,
    /// Wall-clock time: of the whole run, or for a merge the longest of
    /// the merged reports' (shards run side by side).
    pub duration: Duration,
    pub scenarios: Vec<Report>,
}

/// The counts a pipeline reads first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub scenarios: usize,
    pub passed: usize,
    /// Ran to their verdict, and a check failed.
    pub failed: usize,
    /// Stopped before their verdict (input, environment, interrupted).
    pub stopped: usize,
    pub exit_code: u8,
    pub duration_ms: u64,
}

impl SuiteReport {
    pub fn summary(&self) -> Summary {
        let passed = self.scenarios.iter().filter(|r| r.passed()).count();
        let stopped = self
            .scenarios
            .iter()
            .filter(|r| r.stopped.is_some())
            .count();
        Summary {
            scenarios: self.scenarios.len(),
            passed,
            failed: self.scenarios.len() - passed - stopped,
            stopped,
            exit_code: self.exit_code(),
            duration_ms: self.duration.as_millis() as u64,
        }
    }

    /// The worst of the scenarios' exit codes, by [`worst`].
    pub fn exit_code(&self) -> u8 {
        worst(self.scenarios.iter().map(Report::exit_code))
    }

    pub fn passed(&self) -> bool {
        self.exit_code() == exit::PASSED
    }
}

/// The exit code of several runs: 130 if any was interrupted, else the worst
/// by 3 (environment) > 2 (input) > 1 (a check failed) > 0 (passed). An
/// environment failure outranks bad input because it says nothing about the
/// scenarios: a pipeline must look at the machine first. No runs: 0.
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    const ORDER: [u8; 5] = [
        exit::PASSED,
        exit::CHECK_FAILED,
        exit::INVALID_INPUT,
        exit::ENVIRONMENT,
        exit::INTERRUPTED,
    ];
    // A code outside the table is treated as an environment failure.
    let rank = |c: u8| {
        ORDER
            .iter()
            .position(|o| *o == c)
            .unwrap_or(ORDER.len() - 2)
    };
    codes
        .into_iter()
        .map(rank)
        .max()
        .map_or(exit::PASSED, |r| ORDER[r])
}

/// How the combined JSON is laid out: the summary first, then every
/// scenario's report exactly as `run --json` writes it for one.
#[derive(Serialize)]
pub(super) struct SuiteOut<'a> {
    pub command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<&'a str>,
    pub summary: Summary,
    pub scenarios: &'a [Report],
}

impl<'a> From<&'a SuiteReport> for SuiteOut<'a> {
    fn from(s: &'a SuiteReport) -> Self {
        SuiteOut {
            command: &s.command,
            shard: s.shard.as_deref(),
            summary: s.summary(),
            scenarios: &s.scenarios,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Stopped;

    #[test]
    fn the_worst_exit_code_wins_in_the_documented_order() {
        assert_eq!(worst([]), 0);
        assert_eq!(worst([0, 0]), 0);
        assert_eq!(worst([0, 1, 0]), 1);
        assert_eq!(worst([1, 2]), 2);
        assert_eq!(worst([3, 2, 1]), 3);
        assert_eq!(worst([2, 3]), 3);
        assert_eq!(worst([3, 130, 0]), 130);
        assert_eq!(worst([1, 7]), 3);
    }

    fn report(name: &str, stopped: Option<(&'static str, u8)>) -> Report {
        Report {
            command: "run".into(),
            name: name.into(),
            file: format!("{name}.yaml"),
            stopped: stopped.map(|(kind, exit_code)| Stopped {
                kind,
                reason: "why".into(),
                exit_code,
            }),
            ..Report::default()
        }
    }

    #[test]
    fn the_summary_counts_each_scenario_once() {
        let suite = SuiteReport {
            command: "run".into(),
            shard: None,
            duration: Duration::from_millis(1500),
            scenarios: vec![
                report("a", None),
                report("b", Some(("environment", 3))),
                report("c", Some(("input", 2))),
            ],
        };
        let s = suite.summary();
        assert_eq!((s.scenarios, s.passed, s.failed, s.stopped), (3, 1, 0, 2));
        assert_eq!(s.exit_code, 3);
        assert_eq!(s.duration_ms, 1500);
    }
}
