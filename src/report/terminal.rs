//! terminal renderer.
