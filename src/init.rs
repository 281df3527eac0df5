//! `gitops-e2e init`: a first scenario for an existing ApplicationSet, so
//! that testing one's own starts from a file that already plans.
//!
//! The ApplicationSet is planned on its own; every distinct destination of
//! what it generates becomes a cluster (the in-cluster address the hub Argo CD
//! runs in), and `expect` lists the Applications with their cluster and
//! namespace. Repositories cannot be guessed: they are listed, commented out,
//! for the user to point at local checkouts.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::appset::IN_CLUSTER_SERVER;
use crate::error::Error;
use crate::plan;
use crate::scenario::{
    ArgoCd, Cluster, Expect, ExpectedApplication, Metadata, ProviderKind, Scenario, Spec, Timeouts,
};

/// Argo CD's name for the cluster it runs in.
const HUB: &str = "in-cluster";

/// The scenario text for `appset_file`, with paths relative to `dir` (where
/// the scenario will be written).
pub fn scenario_for(appset_file: &Path, dir: &Path) -> Result<String, Error> {
    let planned = plan::plan_file(appset_file)?;
    if planned.scenario.is_some() {
        return Err(Error::Input {
            message: format!(
                "`{}` is already a scenario; init takes an ApplicationSet",
                appset_file.display()
            ),
            help: Some("give the manifest its `spec.applicationSet` names".into()),
        });
    }
    let appset = &planned.appset.value;
    let mut clusters = Clusters::default();
    let mut expected = BTreeMap::new();
    for app in &planned.expansion.applications {
        let server = app.manifest.pointer("/spec/destination/server");
        let cluster = match server.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            Some(url) => clusters.by_url(url),
            None => clusters.by_name(&app.server()),
        };
        let namespace = app.namespace();
        expected.insert(
            app.name.clone(),
            ExpectedApplication {
                cluster: Some(cluster),
                namespace: (!namespace.is_empty()).then_some(namespace),
                ..ExpectedApplication::default()
            },
        );
    }
    // Argo CD needs a cluster to run in, even when nothing is deployed there.
    if !clusters.list.iter().any(|c| c.name == HUB) {
        clusters.list.insert(0, cluster(HUB, None));
    }
    let name = appset
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(dns_label)
        .unwrap_or_else(|| "scenario".into());
    let scenario = Scenario {
        api_version: "gitops-e2e/v1alpha1".into(),
        kind: "Scenario".into(),
        metadata: Metadata {
            name,
            description: Some(format!(
                "Written by `gitops-e2e init` from {}; check the clusters and the expectations.",
                appset_file.display()
            )),
        },
        spec: Spec {
            provider: ProviderKind::default(),
            clusters: clusters.list,
            argocd: ArgoCd {
                cluster: Some(HUB.into()),
                ..ArgoCd::default()
            },
            repos: Vec::new(),
            images: Vec::new(),
            fixtures: BTreeMap::new(),
            application_set: relative(appset_file, dir).display().to_string(),
            upgrade: None,
            expect: Expect {
                applications: Some(expected),
                findings: Vec::new(),
            },
            timeouts: Timeouts::default(),
        },
    };
    let mut text = crate::yaml::to_string(&scenario);
    text.push_str(&repos_comment(appset, &planned.expansion));
    Ok(text)
}

#[derive(Default)]
struct Clusters {
    list: Vec<Cluster>,
    /// Destination (URL or name) → cluster name.
    seen: BTreeMap<String, String>,
}

impl Clusters {
    fn by_url(&mut self, url: &str) -> String {
        if url == IN_CLUSTER_SERVER {
            return self.hub();
        }
        let host = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        let first = host.split('.').next().unwrap_or_default();
        self.add(url, &dns_label(first), Some(url))
    }

    /// A destination by name matches a cluster of that name only: the name is
    /// kept as it is (the scenario refuses it if it is no DNS label).
    fn by_name(&mut self, name: &str) -> String {
        if name == HUB {
            return self.hub();
        }
        self.add(name, name, None)
    }

    /// The cluster Argo CD runs in, at the in-cluster address.
    fn hub(&mut self) -> String {
        if !self.list.iter().any(|c| c.name == HUB) {
            self.list.push(cluster(HUB, None));
        }
        HUB.to_string()
    }

    /// A cluster for destination `key`, named `wanted` or, when that is
    /// taken (the hub's name included), `wanted-2`, `wanted-3`, ….
    fn add(&mut self, key: &str, wanted: &str, server: Option<&str>) -> String {
        if let Some(name) = self.seen.get(key) {
            return name.clone();
        }
        let mut name = wanted.to_string();
        let mut n = 2;
        while name == HUB || self.list.iter().any(|c| c.name == name) {
            name = format!("{wanted}-{n}");
            n += 1;
        }
        self.list.push(cluster(&name, server));
        self.seen.insert(key.to_string(), name.clone());
        name
    }
}

fn cluster(name: &str, server: Option<&str>) -> Cluster {
    Cluster {
        name: name.into(),
        kind_config: None,
        server: server.map(str::to_string),
        context: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        node_labels: BTreeMap::new(),
    }
}

/// `text` as a DNS label: lowercase letters, digits and `-`, at most 63.
fn dns_label(text: &str) -> String {
    let mapped: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let label: String = mapped.trim_matches('-').chars().take(63).collect();
    let label = label.trim_end_matches('-').to_string();
    if label.is_empty() {
        "cluster".into()
    } else {
        label
    }
}

/// Every repository URL the ApplicationSet names (its generators' and
/// template's) and its Applications use, as a commented `repos:` block to
/// fill in; a git generator cannot be planned without it.
fn repos_comment(appset: &Value, expansion: &crate::appset::Expansion) -> String {
    let mut urls = Vec::new();
    let mut push = |url: &str| {
        // Written into a comment: a line break would end it.
        let plain = !url.is_empty() && !url.contains("{{") && !url.chars().any(char::is_control);
        if plain && !urls.iter().any(|u| u == url) {
            urls.push(url.to_string());
        }
    };
    for app in &expansion.applications {
        collect_repo_urls(app.manifest.get("spec").unwrap_or(&Value::Null), &mut push);
    }
    collect_repo_urls(appset.pointer("/spec").unwrap_or(&Value::Null), &mut push);
    if urls.is_empty() {
        return String::new();
    }
    let git_generator = has_key(appset.pointer("/spec/generators"), "git");
    let mut out = String::from(
        "# The repositories the ApplicationSet uses. To serve a local copy in place of one,\n\
         # uncomment it and set `path:` to a checkout (relative to this file); a chart\n\
         # repository is served from a directory of charts.\n",
    );
    if git_generator {
        out.push_str(
            "# The ApplicationSet has a git generator: `gitops-e2e plan` needs the path of\n\
             # the repository it reads before it can expand it.\n",
        );
    }
    out.push_str("#  repos:\n");
    for url in urls {
        out.push_str(&format!("#    - url: {url}\n#      path: FILL-IN\n"));
    }
    out
}

fn collect_repo_urls(value: &Value, push: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("repoURL", Value::String(url)) => push(url),
                    _ => collect_repo_urls(v, push),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_repo_urls(v, push)),
        _ => {}
    }
}

fn has_key(value: Option<&Value>, key: &str) -> bool {
    match value {
        Some(Value::Object(map)) => {
            map.contains_key(key) || map.values().any(|v| has_key(Some(v), key))
        }
        Some(Value::Array(items)) => items.iter().any(|v| has_key(Some(v), key)),
        _ => false,
    }
}

/// `path` relative to `dir`, both taken from the current directory.
fn relative(path: &Path, dir: &Path) -> PathBuf {
    let absolute = |p: &Path| {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        p.canonicalize().unwrap_or(p)
    };
    let (path, dir) = (absolute(path), absolute(dir));
    let (a, b): (Vec<Component>, Vec<Component>) =
        (path.components().collect(), dir.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &a[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_dns_labels_and_unique() {
        let mut c = Clusters::default();
        assert_eq!(c.by_url("https://kubernetes.default.svc"), "in-cluster");
        assert_eq!(
            c.by_url("https://Staging_EKS.example.com:443/x"),
            "staging-eks"
        );
        assert_eq!(c.by_url("https://staging-eks.other.com"), "staging-eks-2");
        assert_eq!(
            c.by_url("https://Staging_EKS.example.com:443/x"),
            "staging-eks"
        );
        assert_eq!(c.by_url("https://in-cluster.example.com"), "in-cluster-2");
        assert_eq!(c.by_name("in-cluster"), "in-cluster");
        assert_eq!(dns_label("--"), "cluster");
    }

    #[test]
    fn paths_are_relative_to_the_scenario() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            relative(
                &root.join("scenarios/lesson/appsets/03-constraints.yaml"),
                &root.join("tests")
            ),
            Path::new("../scenarios/lesson/appsets/03-constraints.yaml")
        );
    }
}
