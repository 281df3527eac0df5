use serde_json::Value;

use super::{Environment, Expansion};

/// Expands the ApplicationSet `appset` (the whole manifest) in `env`.
pub fn expand(appset: &Value, env: &Environment) -> Expansion {
    let _ = (appset, env);
    unimplemented!("appset::expand")
}
