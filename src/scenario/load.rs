//! Reading a scenario: parse, validate, resolve paths relative to the file.

use std::path::{Path, PathBuf};

use super::Scenario;
use crate::yaml::Pos;

/// A scenario ready to plan or run: paths resolved, names checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    pub scenario: Scenario,
    /// `spec.applicationSet`, resolved.
    pub application_set: PathBuf,
    /// `spec.repos[].path`, resolved, in order.
    pub repo_paths: Vec<PathBuf>,
    /// `spec.fixtures`, resolved, by cluster.
    pub fixtures: std::collections::BTreeMap<String, Vec<PathBuf>>,
    /// `spec.clusters[].kindConfig`, resolved, by cluster.
    pub kind_configs: std::collections::BTreeMap<String, PathBuf>,
}

/// Why a scenario cannot be used; always names the file and, where known, the place.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    pub file: PathBuf,
    pub pos: Option<Pos>,
    pub message: String,
    pub help: Option<String>,
}

pub fn load(file: &Path) -> Result<Loaded, LoadError> {
    let _ = file;
    unimplemented!("scenario::load")
}

impl Loaded {
    pub fn server_of(&self, cluster: &str) -> String {
        let _ = cluster;
        unimplemented!("Loaded::server_of")
    }
}

impl LoadError {
    pub fn render(&self) -> String {
        unimplemented!("LoadError::render")
    }
}
