//! The result model every command produces, and its renderers. A renderer
//! only reads a `Report`; adding a format never touches the runner.

mod collector;
pub mod json;
pub mod junit;
pub mod markdown;
mod model;
pub mod progress;
pub mod terminal;

pub use collector::Collector;
pub use model::*;
