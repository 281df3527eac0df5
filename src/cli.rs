//! Command-line types only; `main.rs` dispatches them.
