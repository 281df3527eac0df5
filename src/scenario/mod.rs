//! Scenario files: the declarative description of one end-to-end check.

mod load;
mod model;

pub use load::{LoadError, Loaded, load};
pub use model::*;

pub fn schema() -> serde_json::Value {
    unimplemented!("scenario::schema")
}
