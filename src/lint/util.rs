//! Small helpers the rule families share: walking values with their
//! pointers, word matching, Helm values and image references.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::yaml::pointer_push_into;

/// Calls `f(pointer, key, value)` for `value` and every node below it;
/// `key` is the mapping key the node is under, if any.
pub fn walk<'v>(value: &'v Value, pointer: &str, f: &mut dyn FnMut(&str, Option<&str>, &'v Value)) {
    // One buffer for every pointer of the walk: lint walks each generated
    // Application, so a new string per node showed in the plan's profile.
    let mut buf = String::with_capacity(pointer.len() + 64);
    buf.push_str(pointer);
    walk_depth(value, &mut buf, None, 0, f);
}

/// Deeper than any manifest a person writes; keeps hostile input from
/// exhausting the stack.
const MAX_DEPTH: usize = 200;

fn walk_depth<'v>(
    value: &'v Value,
    pointer: &mut String,
    key: Option<&str>,
    depth: usize,
    f: &mut dyn FnMut(&str, Option<&str>, &'v Value),
) {
    f(pointer, key, value);
    if depth >= MAX_DEPTH {
        return;
    }
    let len = pointer.len();
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                pointer_push_into(pointer, k);
                walk_depth(v, pointer, Some(k), depth + 1, f);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let _ = write!(pointer, "/{i}");
                walk_depth(v, pointer, key, depth + 1, f);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// Every string below `value` with its pointer.
pub fn strings<'v>(value: &'v Value, pointer: &str) -> Vec<(String, &'v str)> {
    let mut out = Vec::new();
    walk(value, pointer, &mut |p, _, v| {
        if let Value::String(s) = v {
            out.push((p.to_string(), s.as_str()));
        }
    });
    out
}

/// The lowercase alphanumeric words of a text (`prod-eks.x` → prod, eks, x).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

pub fn has_word(text: &str, candidates: &[&str]) -> bool {
    words(text).any(|w| candidates.contains(&w.as_str()))
}

pub const PROD_WORDS: &[&str] = &["prod", "production", "prd"];

pub const ENV_WORDS: &[&str] = &[
    "dev",
    "development",
    "test",
    "testing",
    "qa",
    "uat",
    "stage",
    "staging",
    "stg",
    "preprod",
    "prod",
    "production",
    "prd",
    "sandbox",
];

/// A scalar rendered as text (`1.2` stays `1.2`), `None` for mappings/lists/null.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One place Helm values come from within a source.
pub struct ValuesSource {
    /// Application pointer of the field holding them.
    pub pointer: String,
    pub value: Value,
    /// Pointers inside `value` are not meaningful (parsed from a string or
    /// built from parameters): report at `pointer`.
    pub opaque: bool,
}

impl ValuesSource {
    /// The Application pointer of a node inside this source.
    pub fn at(&self, inner: &str) -> String {
        if self.opaque {
            self.pointer.clone()
        } else {
            format!("{}{inner}", self.pointer)
        }
    }
}

/// The Helm values of one source: `values` (string), `valuesObject`, the
/// invalid `valuesInline` (what the author meant), and `parameters`.
pub fn helm_values(source: &Value, source_pointer: &str) -> Vec<ValuesSource> {
    let mut out = Vec::new();
    let Some(helm) = source.get("helm").filter(|h| h.is_object()) else {
        return out;
    };
    let hp = format!("{source_pointer}/helm");
    if let Some(Value::String(text)) = helm.get("values") {
        // The values string is YAML written by the user, already rendered.
        // TODO: read it with `crate::yaml::parse` once that lands, so that
        // findings can point inside the string.
        if let Ok(v) = serde_yaml::from_str::<Value>(text) {
            if v.is_object() {
                out.push(ValuesSource {
                    pointer: format!("{hp}/values"),
                    value: v,
                    opaque: true,
                });
            }
        }
    } else if let Some(v @ Value::Object(_)) = helm.get("values") {
        out.push(ValuesSource {
            pointer: format!("{hp}/values"),
            value: v.clone(),
            opaque: false,
        });
    }
    for key in ["valuesObject", "valuesInline"] {
        if let Some(v @ Value::Object(_)) = helm.get(key) {
            out.push(ValuesSource {
                pointer: format!("{hp}/{key}"),
                value: v.clone(),
                opaque: false,
            });
        }
    }
    if let Some(Value::Array(params)) = helm.get("parameters") {
        let mut root = Value::Object(Map::new());
        for p in params {
            let (Some(name), Some(value)) = (
                p.get("name").and_then(Value::as_str),
                p.get("value").and_then(scalar_text),
            ) else {
                continue;
            };
            set_dotted(&mut root, name, Value::String(value));
        }
        if root.as_object().is_some_and(|m| !m.is_empty()) {
            out.push(ValuesSource {
                pointer: format!("{hp}/parameters"),
                value: root,
                opaque: true,
            });
        }
    }
    out
}

/// Sets `a.b.c` in a nested mapping (Helm `--set` style, without list indexes).
fn set_dotted(root: &mut Value, name: &str, value: Value) {
    let parts: Vec<&str> = name.split('.').collect();
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(m) = cur else { return };
        if i + 1 == parts.len() {
            m.insert((*part).to_string(), value);
            return;
        }
        let next = m
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        cur = next;
    }
}

/// A container image reference, split the way a container runtime reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub tag: Option<String>,
    pub digest: bool,
}

pub fn parse_image(text: &str) -> ImageRef {
    let text = text.trim();
    let (name, digest) = match text.split_once('@') {
        Some((n, _)) => (n, true),
        None => (text, false),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (
            &name[..last_slash + i],
            Some(name[last_slash + i + 1..].to_string()),
        ),
        None => (name, None),
    };
    let first = repo.split('/').next().unwrap_or_default();
    let registry = if repo.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        first.to_ascii_lowercase()
    } else {
        "docker.io".to_string()
    };
    ImageRef {
        registry,
        tag: tag.filter(|t| !t.is_empty()),
        digest,
    }
}

/// Registries that need credentials: ECR, GCR/Artifact Registry, GHCR, ACR.
pub fn private_registry(registry: &str) -> Option<&'static str> {
    let host = registry.split(':').next().unwrap_or_default();
    if host.contains(".dkr.ecr.") && host.ends_with(".amazonaws.com") {
        Some("Amazon ECR")
    } else if host == "gcr.io" || host.ends_with(".gcr.io") {
        Some("Google Container Registry")
    } else if host.ends_with("-docker.pkg.dev") {
        Some("Google Artifact Registry")
    } else if host == "ghcr.io" {
        Some("GitHub Container Registry")
    } else if host.ends_with(".azurecr.io") {
        Some("Azure Container Registry")
    } else {
        None
    }
}

/// A JSON pointer written the way users read a field:
/// `/spec/sources/0/helm` → `spec.sources[0].helm`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// The last key of a pointer (`/a/b/0` → `b`).
pub fn field_name(pointer: &str) -> String {
    pointer
        .split('/')
        .rev()
        .find(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_default()
        .replace("~1", "/")
        .replace("~0", "~")
}

/// Shortens a list for a message: `a, b, c, … (7 in all)`.
pub fn list_text(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{}, … ({} in all)", items[..max].join(", "), items.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = parse_image("ghcr.io/org/app:v1");
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        let r = parse_image("nginx");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.tag, None);
        let r = parse_image("localhost:5000/app");
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.tag, None);
        let r = parse_image("org/app@sha256:abc");
        assert!(r.digest);
        assert_eq!(r.registry, "docker.io");
    }

    #[test]
    fn private_registries() {
        assert!(private_registry("123456789.dkr.ecr.us-east-1.amazonaws.com").is_some());
        assert!(private_registry("europe-docker.pkg.dev").is_some());
        assert!(private_registry("eu.gcr.io").is_some());
        assert!(private_registry("myreg.azurecr.io").is_some());
        assert!(private_registry("docker.io").is_none());
        assert!(private_registry("public.ecr.aws").is_none());
    }

    #[test]
    fn words_match_whole_words_only() {
        assert!(has_word("fastapi-agent-prod", PROD_WORDS));
        assert!(has_word("https://prod-eks.x", PROD_WORDS));
        assert!(!has_word("product-catalog", PROD_WORDS));
    }

    #[test]
    fn parameters_become_nested_values() {
        let src = serde_json::json!({"helm": {"parameters": [
            {"name": "image.tag", "value": "latest"}, {"name": "replicas", "value": 2}]}});
        let v = helm_values(&src, "/spec/source");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].value["image"]["tag"], "latest");
        assert_eq!(v[0].value["replicas"], "2");
    }
}
