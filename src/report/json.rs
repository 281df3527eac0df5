//! JSON: the whole result model, for machines.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialize report: {e}\"}}"));
    out.push('\n');
    out
}
