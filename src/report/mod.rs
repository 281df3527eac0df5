//! The result model every command produces, and its renderers. A renderer
//! only reads a `Report`; adding a format never touches the runner.

pub mod json;
pub mod junit;
pub mod markdown;
mod model;
pub mod progress;
pub mod terminal;

pub use model::*;
