use std::fmt;
use std::path::Path;

use serde::{Serialize, Serializer};

use crate::yaml::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:7}` lines severities up.
        f.pad(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// `file:line:column`, serialized as `file:line` text plus the parts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub pos: Option<Pos>,
}

impl Location {
    pub fn new(file: &Path, pos: Option<Pos>) -> Self {
        Self {
            file: file.display().to_string(),
            pos,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}", self.file, p.line, p.column),
            None => f.write_str(&self.file),
        }
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.pos {
            Some(p) => s.serialize_str(&format!("{}:{}", self.file, p.line)),
            None => s.serialize_str(&self.file),
        }
    }
}

/// One problem a lint rule found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case rule name.
    pub rule: String,
    pub severity: Severity,
    /// What is wrong, naming the object.
    pub message: String,
    /// The generated Application it concerns, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// What to do instead.
    pub advice: String,
    /// The id of the mistake this finding is one instance of: findings of
    /// one rule at one place with one advice (one per generated Application)
    /// share it. See [`super::group`].
    pub group: String,
}
