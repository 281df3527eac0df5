//! `report merge`: the reports of a suite's shards as one, each scenario
//! once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::SuiteReport;
use crate::error::Error;

/// The merged report, and what the user should know about the inputs.
#[derive(Debug)]
pub struct Merged {
    pub report: SuiteReport,
    /// E.g. a shard of the matrix whose report is missing.
    pub warnings: Vec<String>,
}

/// Merges reports read from the given files (combined or one scenario's).
/// A scenario (by its file) present twice is an error naming both files:
/// the same shard given twice, or shards from two different splits.
pub fn merge(inputs: Vec<(PathBuf, SuiteReport)>) -> Result<Merged, Error> {
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut scenarios = Vec::new();
    let mut duration = std::time::Duration::ZERO;
    let mut shards: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (path, suite) in inputs {
        duration = duration.max(suite.duration);
        if let Some((k, n)) = suite.shard.as_deref().and_then(parse_shard) {
            shards.entry(n).or_default().insert(k);
        }
        for report in suite.scenarios {
            let key = normalize(&report.file);
            if let Some(first) = seen.get(&key) {
                return Err(Error::Input {
                    message: format!(
                        "scenario `{key}` is in both `{}` and `{}`",
                        first.display(),
                        path.display()
                    ),
                    help: Some(
                        "give each shard's report once; shards of one split never share a scenario"
                            .into(),
                    ),
                });
            }
            seen.insert(key, path.clone());
            scenarios.push(report);
        }
    }
    scenarios.sort_by_key(|r| normalize(&r.file));
    Ok(Merged {
        report: SuiteReport {
            command: "merge".into(),
            shard: None,
            duration,
            scenarios,
        },
        warnings: shard_warnings(&shards),
    })
}

/// A split whose shards are not all there, or two splits mixed.
fn shard_warnings(shards: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<String> {
    let mut warnings = Vec::new();
    if shards.len() > 1 {
        let totals: Vec<String> = shards.keys().map(|n| format!("/{n}")).collect();
        warnings.push(format!(
            "the reports come from different splits ({})",
            totals.join(", ")
        ));
    }
    for (n, present) in shards {
        let missing: Vec<String> = (1..=*n)
            .filter(|k| !present.contains(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "no report of shard {}: its scenarios are not in the merged report",
                missing.join(", ")
            ));
        }
    }
    warnings
}

fn parse_shard(text: &str) -> Option<(usize, usize)> {
    let (k, n) = text.split_once('/')?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// `./a/b.yaml` and `a/b.yaml` are one scenario.
fn normalize(file: &str) -> String {
    let path: PathBuf = Path::new(file)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Report, Stopped};
    use std::time::Duration;

    fn report(file: &str, exit: Option<u8>) -> Report {
        Report {
            command: "run".into(),
            name: file.trim_end_matches(".yaml").into(),
            file: file.into(),
            stopped: exit.map(|exit_code| Stopped {
                kind: if exit_code == 130 {
                    "interrupted"
                } else {
                    "environment"
                },
                reason: "why".into(),
                exit_code,
            }),
            ..Report::default()
        }
    }

    fn shard(k: usize, n: usize, secs: u64, reports: Vec<Report>) -> SuiteReport {
        SuiteReport {
            command: "run".into(),
            shard: Some(format!("{k}/{n}")),
            duration: Duration::from_secs(secs),
            scenarios: reports,
        }
    }

    #[test]
    fn every_scenario_once_sorted_with_the_worst_exit_code() {
        let merged = merge(vec![
            (
                "b.json".into(),
                shard(
                    2,
                    2,
                    30,
                    vec![report("z.yaml", None), report("b.yaml", Some(3))],
                ),
            ),
            (
                "a.json".into(),
                shard(1, 2, 40, vec![report("a.yaml", None)]),
            ),
        ])
        .unwrap();
        let files: Vec<&str> = merged
            .report
            .scenarios
            .iter()
            .map(|r| r.file.as_str())
            .collect();
        assert_eq!(files, ["a.yaml", "b.yaml", "z.yaml"]);
        assert_eq!(merged.report.exit_code(), 3);
        assert_eq!(merged.report.duration, Duration::from_secs(40));
        assert!(merged.warnings.is_empty(), "{:?}", merged.warnings);
    }

    #[test]
    fn a_scenario_twice_is_an_error_naming_both_files() {
        let e = merge(vec![
            (
                "one.json".into(),
                shard(1, 2, 1, vec![report("a.yaml", None)]),
            ),
            (
                "two.json".into(),
                shard(2, 2, 1, vec![report("./a.yaml", None)]),
            ),
        ])
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "scenario `a.yaml` is in both `one.json` and `two.json`"
        );
    }

    #[test]
    fn an_interrupted_shard_makes_the_merge_130() {
        let merged = merge(vec![
            (
                "1.json".into(),
                shard(1, 2, 1, vec![report("a.yaml", Some(3))]),
            ),
            (
                "2.json".into(),
                shard(2, 2, 1, vec![report("b.yaml", Some(130))]),
            ),
        ])
        .unwrap();
        assert_eq!(merged.report.exit_code(), 130);
    }

    #[test]
    fn a_missing_shard_is_named() {
        let merged = merge(vec![
            (
                "1.json".into(),
                shard(1, 3, 1, vec![report("a.yaml", None)]),
            ),
            ("3.json".into(), shard(3, 3, 1, vec![])),
        ])
        .unwrap();
        assert_eq!(
            merged.warnings,
            ["no report of shard 2/3: its scenarios are not in the merged report"]
        );
        assert_eq!(merged.report.exit_code(), 0);
    }
}
