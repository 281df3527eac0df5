//! Harness errors and the exit-code table.
//!
//! A failed check is data in the report (exit 1). An error here means the
//! command could not do its job: the input was wrong (exit 2) or the
//! environment failed (exit 3). Causes live in `#[source]` and are printed
//! once, under "caused by:".

use std::path::PathBuf;

use crate::scenario::LoadError;

/// Exit codes, as documented in the README.
pub mod exit {
    pub const PASSED: u8 = 0;
    pub const CHECK_FAILED: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const ENVIRONMENT: u8 = 3;
    /// Stopped by Ctrl-C or SIGTERM (after cleaning up), as shells expect.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file that cannot be used.
    #[error(transparent)]
    Scenario(#[from] LoadError),
    /// An input file (manifest, output path) that cannot be read or written.
    #[error("cannot {action} `{}`", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Input that is not what the command takes.
    #[error("{message}")]
    Input {
        message: String,
        help: Option<String>,
    },
    /// The user stopped the run; everything it started was cleaned up.
    #[error("interrupted; everything the run started has been stopped")]
    Interrupted,
    /// The environment failed: a cluster, a tool, Argo CD itself.
    #[error("{context}")]
    Environment {
        context: String,
        #[source]
        source: anyhow::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Scenario(_) | Error::File { .. } | Error::Input { .. } => exit::INVALID_INPUT,
            Error::Environment { .. } => exit::ENVIRONMENT,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }
}
