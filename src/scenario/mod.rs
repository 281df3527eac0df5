//! Scenario files: the declarative description of one end-to-end check.

mod load;
mod model;

pub use load::{LoadError, Loaded, Timeouts as TimeoutDurations, UpgradeFrom, load, plausible_ref};
pub use model::*;

/// The JSON Schema of a scenario file, generated from the Rust types; the
/// checked-in copy is `scenarios/scenario.schema.json`.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(Scenario).to_value()
}
