//! The clusters generator (`generators/cluster.go`), over `Environment::clusters`.
//!
//! Every cluster with a Secret is matched against `selector` (its labels
//! include `argocd.argoproj.io/secret-type: cluster`, as a real Secret's do).
//! The local cluster is added last as `in-cluster` only when the selector is
//! empty and no Secret already points at `https://kubernetes.default.svc`.
//! Argo CD lists Secrets in map order; here they keep the scenario's order.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Ctx, Failure, Params, append_templated_values, selector};
use crate::appset::ClusterInfo;
use crate::appset::template::sanitize_name;
use crate::yaml::pointer_push;

pub const IN_CLUSTER_NAME: &str = "in-cluster";
/// The in-cluster address of the cluster Argo CD runs in; the one definition
/// (`crate::appset::IN_CLUSTER_SERVER`) that the plan, lint and the live
/// cluster registration all use.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

pub fn generate(spec: &Value, pointer: &str, ctx: &Ctx<'_>) -> Result<Vec<Params>, Failure> {
    let sel = spec.get("selector").filter(|s| !s.is_null());
    let values = spec.get("values");
    let values_pointer = pointer_push(pointer, "values");
    let flat_list = spec
        .get("flatList")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let go = ctx.opts.go_template;
    let selector = selector::parse(sel.unwrap_or(&Value::Null), selector::Flavor::Kubernetes)
        .map_err(|e| {
            Failure::new(
                "generator-error",
                &pointer_push(pointer, "selector"),
                format!("error converting label selector: {e}"),
            )
            .wrap("error getting cluster secrets")
        })?;

    let mut out = Vec::new();
    let secrets: Vec<&ClusterInfo> = ctx
        .env
        .clusters
        .iter()
        .filter(|c| !c.local_without_secret)
        .collect();
    // Argo CD keys Secrets by name: a later Secret with the same name wins.
    let mut by_name: Vec<&ClusterInfo> = Vec::new();
    for c in &secrets {
        if let Some(existing) = by_name.iter_mut().find(|e| e.name == c.name) {
            *existing = c;
        } else {
            by_name.push(c);
        }
    }
    for cluster in by_name {
        let labels = secret_labels(cluster);
        if !selector.matches(&labels) {
            continue;
        }
        let mut params = cluster_params(cluster, &labels, go);
        append_templated_values(values, &mut params, ctx.opts, &values_pointer)
            .map_err(|e| e.wrap("error appending templated values for cluster"))?;
        out.push(params);
    }

    let has_local_secret = secrets.iter().any(|c| c.server == IN_CLUSTER_SERVER);
    let has_local = ctx.env.clusters.iter().any(|c| c.local_without_secret);
    if selector::is_empty(sel) && has_local && !has_local_secret {
        let mut params = Map::new();
        params.insert("name".into(), IN_CLUSTER_NAME.into());
        params.insert("nameNormalized".into(), IN_CLUSTER_NAME.into());
        params.insert("server".into(), IN_CLUSTER_SERVER.into());
        params.insert("project".into(), "".into());
        append_templated_values(values, &mut params, ctx.opts, &values_pointer)
            .map_err(|e| e.wrap("error appending templated values for local cluster"))?;
        out.push(params);
    }

    if flat_list {
        let mut one = Map::new();
        one.insert(
            "clusters".into(),
            Value::Array(out.into_iter().map(Value::Object).collect()),
        );
        return Ok(vec![one]);
    }
    Ok(out)
}

fn secret_labels(cluster: &ClusterInfo) -> BTreeMap<String, String> {
    let mut labels = cluster.labels.clone();
    labels
        .entry(SECRET_TYPE_LABEL.to_string())
        .or_insert_with(|| "cluster".to_string());
    labels
}

fn cluster_params(cluster: &ClusterInfo, labels: &BTreeMap<String, String>, go: bool) -> Params {
    let mut params = Map::new();
    params.insert("name".into(), cluster.name.clone().into());
    params.insert("nameNormalized".into(), sanitize_name(&cluster.name).into());
    params.insert("server".into(), cluster.server.clone().into());
    params.insert(
        "project".into(),
        cluster.project.clone().unwrap_or_default().into(),
    );
    let to_map = |m: &BTreeMap<String, String>| -> Value {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    if go {
        let mut meta = Map::new();
        if !cluster.annotations.is_empty() {
            meta.insert("annotations".into(), to_map(&cluster.annotations));
        }
        if !labels.is_empty() {
            meta.insert("labels".into(), to_map(labels));
        }
        params.insert("metadata".into(), Value::Object(meta));
    } else {
        for (k, v) in &cluster.annotations {
            params.insert(format!("metadata.annotations.{k}"), v.clone().into());
        }
        for (k, v) in labels {
            params.insert(format!("metadata.labels.{k}"), v.clone().into());
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appset::Environment;
    use crate::appset::template::Options;
    use serde_json::json;

    fn cluster(name: &str, server: &str, labels: &[(&str, &str)]) -> ClusterInfo {
        ClusterInfo {
            name: name.into(),
            server: server.into(),
            project: None,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            local_without_secret: false,
        }
    }

    fn env() -> Environment {
        let mut local = cluster("dev", IN_CLUSTER_SERVER, &[]);
        local.local_without_secret = true;
        Environment {
            clusters: vec![
                cluster("staging", "https://staging", &[("env", "staging")]),
                cluster("Prod_EU", "https://prod", &[("env", "prod")]),
                local,
            ],
            repos: vec![],
        }
    }

    fn run(spec: Value, go: bool) -> Vec<Params> {
        let env = env();
        let ctx = Ctx {
            env: &env,
            opts: Options::new(go, &[]),
        };
        generate(&spec, "/spec/generators/0/clusters", &ctx).unwrap()
    }

    fn names(ps: &[Params]) -> Vec<&str> {
        ps.iter().filter_map(|p| p["name"].as_str()).collect()
    }

    #[test]
    fn clusters_without_selector_include_in_cluster_last() {
        let ps = run(json!({}), false);
        assert_eq!(names(&ps), vec!["staging", "Prod_EU", "in-cluster"]);
        assert_eq!(ps[1]["nameNormalized"], "prod-eu");
        assert_eq!(ps[1]["metadata.labels.env"], "prod");
        assert_eq!(
            ps[1]["metadata.labels.argocd.argoproj.io/secret-type"],
            "cluster"
        );
        assert_eq!(ps[2]["server"], IN_CLUSTER_SERVER);
        assert_eq!(ps[2]["project"], "");
    }

    #[test]
    fn clusters_selector_filters_and_excludes_in_cluster() {
        let ps = run(json!({"selector": {"matchLabels": {"env": "prod"}}}), false);
        assert_eq!(names(&ps), vec!["Prod_EU"]);
        let ps = run(
            json!({"selector": {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}}),
            false,
        );
        assert_eq!(names(&ps), vec!["staging"]);
    }

    #[test]
    fn clusters_no_in_cluster_when_a_secret_points_at_it() {
        let mut e = env();
        e.clusters.push(cluster("hub", IN_CLUSTER_SERVER, &[]));
        let ctx = Ctx {
            env: &e,
            opts: Options::default(),
        };
        let ps = generate(&json!({}), "/p", &ctx).unwrap();
        assert_eq!(names(&ps), vec!["staging", "Prod_EU", "hub"]);
    }

    #[test]
    fn clusters_values_are_templated_with_cluster_params() {
        let ps = run(
            json!({"values": {"ns": "agents-{{name}}", "x": "{{metadata.labels.env}}"}}),
            false,
        );
        assert_eq!(ps[0]["values.ns"], "agents-staging");
        assert_eq!(ps[0]["values.x"], "staging");
        assert_eq!(ps[2]["values.x"], "{{metadata.labels.env}}");
    }

    #[test]
    fn clusters_go_template_nests_metadata_and_values() {
        let ps = run(json!({"values": {"ns": "{{ .name | upper }}"}}), true);
        assert_eq!(ps[0]["metadata"]["labels"]["env"], "staging");
        assert_eq!(ps[0]["values"]["ns"], "STAGING");
        assert!(ps[2].get("metadata").is_none());
    }

    #[test]
    fn clusters_flat_list_yields_one_param_set() {
        let ps = run(json!({"flatList": true}), true);
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0]["clusters"].as_array().map(Vec::len), Some(3));
    }
}
