//! junit renderer.
