//! JSON: the whole result model, for machines.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialize report: {e}\"}}"));
    out.push('\n');
    out
}

/// The combined report of several scenarios: `command`, `shard` (when one),
/// `summary`, then `scenarios`, each exactly as [`render`] writes it.
pub fn render_suite(suite: &super::SuiteReport) -> String {
    let mut out = serde_json::to_string_pretty(&super::suite::SuiteOut::from(suite))
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialize report: {e}\"}}"));
    out.push('\n');
    out
}
