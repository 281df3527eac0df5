//! Argo CD: typed resources (and, elsewhere, installation and its REST API).

pub mod resources;
