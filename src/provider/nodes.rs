//! The nodes a cluster should have, read from its kind config: kind names and
//! taints them, and kwok simulates the same nodes so that scheduling (node
//! pools, affinity) behaves as it would on kind.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::Node;
use serde::Deserialize;
use serde_json::json;

use crate::yaml;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRequest {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub control_plane: bool,
    /// Kind taints the control plane when workers exist.
    pub tainted: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KindConfig {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    nodes: Vec<KindNode>,
}

/// What kind itself accepts: `kind: Cluster` in `kind.x-k8s.io/v1alpha4`.
const KIND_API_VERSION: &str = "kind.x-k8s.io/v1alpha4";
const KIND_ROLES: [&str; 2] = ["control-plane", "worker"];

#[derive(Debug, Deserialize)]
struct KindNode {
    #[serde(default = "control_plane")]
    role: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn control_plane() -> String {
    "control-plane".into()
}

#[derive(Debug, thiserror::Error)]
pub enum KindConfigError {
    #[error("cannot read kind config `{}`: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{}:{}: {message}", path.display(), pos.line, pos.column)]
    Invalid {
        path: std::path::PathBuf,
        pos: yaml::Pos,
        message: String,
    },
}

/// The nodes of cluster `cluster`: from its kind config when given (else one
/// control-plane node, as kind makes), plus `extra_labels` on every node that
/// runs workloads.
pub fn node_requests(
    cluster: &str,
    kind_config: Option<&Path>,
    extra_labels: &BTreeMap<String, String>,
) -> Result<Vec<NodeRequest>, KindConfigError> {
    let kind_nodes = match kind_config {
        Some(path) => read_kind_config(path)?.nodes,
        None => Vec::new(),
    };
    let kind_nodes = if kind_nodes.is_empty() {
        vec![KindNode {
            role: control_plane(),
            labels: BTreeMap::new(),
        }]
    } else {
        kind_nodes
    };
    let has_workers = kind_nodes.iter().any(|n| n.role == "worker");
    let mut workers = 0;
    let mut planes = 0;
    Ok(kind_nodes
        .into_iter()
        .map(|n| {
            let control_plane = n.role != "worker";
            let (count, base) = if control_plane {
                planes += 1;
                (planes, "control-plane")
            } else {
                workers += 1;
                (workers, "worker")
            };
            let name = if count == 1 {
                format!("{cluster}-{base}")
            } else {
                format!("{cluster}-{base}{count}")
            };
            let mut labels = n.labels;
            if control_plane {
                labels.insert(
                    "node-role.kubernetes.io/control-plane".into(),
                    String::new(),
                );
            }
            if !control_plane || !has_workers {
                labels.extend(extra_labels.clone());
            }
            NodeRequest {
                name,
                labels,
                control_plane,
                tainted: control_plane && has_workers,
            }
        })
        .collect())
}

fn read_kind_config(path: &Path) -> Result<KindConfig, KindConfigError> {
    let text = crate::input::read_text(path).map_err(|source| KindConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let docs = yaml::parse(&text).map_err(|e| KindConfigError::Invalid {
        path: path.to_owned(),
        pos: e.pos,
        message: e.message,
    })?;
    let Some(doc) = docs.first() else {
        return Err(KindConfigError::Invalid {
            path: path.to_owned(),
            pos: yaml::Pos { line: 1, column: 1 },
            message: "empty: a kind config is a `kind: Cluster` document".into(),
        });
    };
    let invalid = |pointer: &str, message: String| KindConfigError::Invalid {
        path: path.to_owned(),
        pos: doc.pos(pointer).unwrap_or(yaml::Pos { line: 1, column: 1 }),
        message,
    };
    let config = yaml::decode::<KindConfig>(doc, "").map_err(|e| KindConfigError::Invalid {
        path: path.to_owned(),
        pos: e.pos.unwrap_or(yaml::Pos { line: 1, column: 1 }),
        message: e.message,
    })?;
    // kind refuses anything else; finding it here costs no cluster start.
    if config.kind.as_deref() != Some("Cluster") {
        return Err(invalid(
            "/kind",
            format!(
                "`kind` is {}, not `Cluster`",
                config
                    .kind
                    .as_deref()
                    .map_or("missing".into(), |k| format!("`{k}`"))
            ),
        ));
    }
    if config.api_version.as_deref() != Some(KIND_API_VERSION) {
        return Err(invalid(
            "/apiVersion",
            format!(
                "`apiVersion` is {}, not `{KIND_API_VERSION}`",
                config
                    .api_version
                    .as_deref()
                    .map_or("missing".into(), |v| format!("`{v}`"))
            ),
        ));
    }
    if let Some((i, node)) = config
        .nodes
        .iter()
        .enumerate()
        .find(|(_, n)| !KIND_ROLES.contains(&n.role.as_str()))
    {
        return Err(invalid(
            &format!("/nodes/{i}/role"),
            format!(
                "node {} has role `{}`; kind knows `control-plane` and `worker`",
                i + 1,
                node.role
            ),
        ));
    }
    if !config.nodes.is_empty() && !config.nodes.iter().any(|n| n.role == "control-plane") {
        return Err(invalid(
            "/nodes",
            "no node has role `control-plane`; kind needs one".into(),
        ));
    }
    Ok(config)
}

/// The Node object KWOK manages (by its annotation) for `req`.
pub fn kwok_node(req: &NodeRequest) -> Result<Node, serde_json::Error> {
    let mut labels = req.labels.clone();
    labels.insert("kubernetes.io/hostname".into(), req.name.clone());
    labels.insert("kubernetes.io/os".into(), "linux".into());
    labels.insert("kubernetes.io/arch".into(), "amd64".into());
    labels.insert("type".into(), "kwok".into());
    let taints = if req.tainted {
        json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    } else {
        json!([])
    };
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": req.name,
            "labels": labels,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {"taints": taints},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        },
    }))
}

/// Whether a node reports Ready (the watch condition of every provider).
pub fn node_ready(node: Option<&Node>) -> bool {
    node.and_then(|n| n.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn no_kind_config_gives_one_schedulable_node_with_extra_labels() {
        let extra = BTreeMap::from([("workload".to_string(), "agents".to_string())]);
        let nodes = node_requests("dev", None, &extra).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].name, "dev-control-plane");
        assert!(!nodes[0].tainted);
        assert_eq!(
            nodes[0].labels.get("workload").map(String::as_str),
            Some("agents")
        );
    }

    #[test]
    fn agents_pool_has_tainted_plane_and_labelled_workers() {
        let f = config(
            "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n  - role: worker\n    labels:\n      workload: agents\n  - role: worker\n    labels:\n      workload: agents\n",
        );
        let nodes = node_requests("prod", Some(f.path()), &BTreeMap::new()).unwrap();
        let names: Vec<_> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["prod-control-plane", "prod-worker", "prod-worker2"]);
        assert!(nodes[0].tainted && nodes[0].control_plane);
        assert!(!nodes[0].labels.contains_key("workload"));
        assert!(
            nodes[1..]
                .iter()
                .all(|n| !n.tainted
                    && n.labels.get("workload").map(String::as_str) == Some("agents"))
        );
    }

    #[test]
    fn kwok_node_is_annotated_for_kwok_and_untainted_workers() {
        let req = NodeRequest {
            name: "w".into(),
            labels: BTreeMap::from([("workload".into(), "agents".into())]),
            control_plane: false,
            tainted: false,
        };
        let node = kwok_node(&req).unwrap();
        let annotations = node.metadata.annotations.unwrap();
        assert_eq!(annotations["kwok.x-k8s.io/node"], "fake");
        assert_eq!(node.metadata.labels.unwrap()["workload"], "agents");
        assert!(node.spec.unwrap().taints.unwrap_or_default().is_empty());
    }

    #[test]
    fn broken_kind_config_names_the_file() {
        let f = config("nodes:\n  - role: [oops\n");
        let err = node_requests("x", Some(f.path()), &BTreeMap::new()).unwrap_err();
        assert!(
            err.to_string().starts_with(&f.path().display().to_string()),
            "{err}"
        );
    }
}
