//! Where Applications deploy to: cluster and namespace.

use serde_json::Value;

use super::util::{dotted, helm_values, list_text};
use super::{Draft, Emitter, Severity, Target};
use crate::appset::{Environment, IN_CLUSTER_SERVER};

fn normalize(server: &str) -> String {
    server.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Why a server URL cannot be a real cluster endpoint, if it cannot.
fn placeholder_reason(server: &str) -> Option<String> {
    if server.contains("{{") || server.contains("<no value>") {
        return Some("still contains a template placeholder".to_string());
    }
    // Checked on the text, not by the URL parser, which would read
    // `prod-eks:6443` as the scheme `prod-eks`.
    let Some((scheme, _)) = server.split_once("://") else {
        return Some("is not a URL (no `https://`)".to_string());
    };
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Some(format!("has the scheme `{scheme}`, not `https`"));
    }
    let host = match url::Url::parse(server) {
        Ok(url) => match url.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => String::new(),
        },
        Err(url::ParseError::EmptyHost) => String::new(),
        Err(e) => return Some(format!("is not a valid URL ({e})")),
    };
    if host.is_empty() {
        return Some("has no host".to_string());
    }
    if ["localhost", "127.0.0.1", "::1", "0.0.0.0"].contains(&host.as_str())
        || host.ends_with(".localhost")
    {
        return Some(
            "points at localhost: from the Argo CD pod that is Argo CD's own pod, not the cluster \
             you mean"
                .to_string(),
        );
    }
    for domain in ["example.com", "example.org", "example.net"] {
        if host == domain || host.ends_with(&format!(".{domain}")) {
            return Some(format!(
                "uses the documentation domain `{domain}`, a placeholder"
            ));
        }
    }
    for tld in [".local", ".invalid", ".test", ".example"] {
        if host.ends_with(tld) {
            return Some(format!("uses the reserved domain `{tld}`, a placeholder"));
        }
    }
    if host == "kubernetes.default.svc" || host == "kubernetes.default.svc.cluster.local" {
        return None;
    }
    let ip = host.parse::<std::net::IpAddr>().is_ok();
    if !host.contains('.') && !ip {
        return Some(format!(
            "has the host `{host}`, a bare name no other cluster can resolve"
        ));
    }
    None
}

fn known_clusters(env: &Environment) -> String {
    let items: Vec<String> = env
        .clusters
        .iter()
        .map(|c| format!("`{}` ({})", c.name, c.server))
        .collect();
    list_text(&items, 6)
}

/// `placeholder-server`: a destination no cluster answers to.
pub fn placeholder_server(out: &mut Emitter<'_>, t: &Target<'_>, env: Option<&Environment>) {
    // Without a scenario the plan knows only the implicit local cluster:
    // then the URL alone decides.
    let env = env.filter(|e| e.clusters.iter().any(|c| !c.local_without_secret));
    let server = t
        .str_at("/spec/destination/server")
        .filter(|s| !s.trim().is_empty());
    let name = t
        .str_at("/spec/destination/name")
        .filter(|s| !s.trim().is_empty());
    let has_local = |e: &Environment| {
        e.clusters
            .iter()
            .any(|c| c.local_without_secret || normalize(&c.server) == IN_CLUSTER_SERVER)
    };
    let base_advice = "use the API server URL of a cluster registered in Argo CD (`argocd cluster \
                       list`): `https://kubernetes.default.svc` for the cluster Argo CD runs in, \
                       the real endpoint (e.g. `https://ABC.gr7.us-east-1.eks.amazonaws.com`) for \
                       others; or set `destination.name` to the registered cluster name";
    // Both destination forms are reported the same way, at their own field.
    let mut emit = |field: &str, value: &str, problem: &str, advice: &str| {
        out.emit(
            Draft {
                rule: "placeholder-server",
                severity: Severity::Error,
                application: t.application(),
                message: format!(
                    "Application `{}`: destination {field} `{value}` {problem}",
                    t.name
                ),
                advice: advice.to_string(),
            },
            &t.origin(&format!("/spec/destination/{field}")),
        );
    };
    if let Some(server) = server {
        let reason = placeholder_reason(server);
        let problem = match env {
            Some(e) => {
                let known = e
                    .clusters
                    .iter()
                    .any(|c| normalize(&c.server) == normalize(server))
                    || (normalize(server) == IN_CLUSTER_SERVER && has_local(e));
                (!known).then(|| {
                    let why = reason.map(|r| format!("{r}, and it ")).unwrap_or_default();
                    format!(
                        "{why}matches no cluster of the scenario (known: {})",
                        known_clusters(e)
                    )
                })
            }
            None => reason,
        };
        if let Some(problem) = problem {
            emit("server", server, &problem, base_advice);
        }
    } else if let Some(name) = name {
        let problem = if name.contains("{{") || name.contains("<no value>") {
            Some("still contains a template placeholder".to_string())
        } else {
            env.and_then(|e| {
                let known = e.clusters.iter().any(|c| c.name == name)
                    || (name == "in-cluster" && has_local(e));
                (!known).then(|| {
                    format!(
                        "matches no cluster name of the scenario (known: {})",
                        known_clusters(e)
                    )
                })
            })
        };
        if let Some(problem) = problem {
            emit(
                "name",
                name,
                &problem,
                "set `destination.name` to the name of a cluster registered in Argo CD (the \
                 `name` of its cluster Secret; `in-cluster` for the local one)",
            );
        }
    }
}

/// `destination-server-and-name`: Argo CD rejects a destination with both.
pub fn server_and_name(out: &mut Emitter<'_>, t: &Target<'_>) {
    let set = |p: &str| t.str_at(p).is_some_and(|s| !s.trim().is_empty());
    if !(set("/spec/destination/server") && set("/spec/destination/name")) {
        return;
    }
    out.emit(
        Draft {
            rule: "destination-server-and-name",
            severity: Severity::Error,
            application: t.application(),
            message: format!(
                "Application `{}`: sets both `destination.server` and `destination.name`; Argo CD \
                 rejects it (\"application destination can't have both name and server defined\")",
                t.name
            ),
            advice: "keep one: `server` (the API URL) or `name` (the registered cluster name)"
                .to_string(),
        },
        &t.origin("/spec/destination/name"),
    );
}

const SYSTEM_NAMESPACES: &[&str] = &["argocd", "kube-system", "kube-public", "kube-node-lease"];

/// `namespace-mismatch`: where resources would land is not the destination.
pub fn namespace_mismatch(out: &mut Emitter<'_>, t: &Target<'_>) {
    let dest = t
        .str_at("/spec/destination/namespace")
        .filter(|s| !s.trim().is_empty());
    let emit = |out: &mut Emitter<'_>, pointer: &str, message: String, advice: &str| {
        out.emit(
            Draft {
                rule: "namespace-mismatch",
                severity: Severity::Warning,
                application: t.application(),
                message,
                advice: advice.to_string(),
            },
            &t.origin(pointer),
        );
    };
    match dest {
        None => emit(
            out,
            "/spec/destination",
            format!(
                "Application `{}`: no `destination.namespace`; resources without a namespace of \
                 their own land in whatever namespace the cluster defaults to",
                t.name
            ),
            "set `destination.namespace` to the namespace the workload belongs in (with \
             `CreateNamespace=true` if Argo CD should create it)",
        ),
        Some(ns) if SYSTEM_NAMESPACES.contains(&ns) => emit(
            out,
            "/spec/destination/namespace",
            format!(
                "Application `{}`: deploys into the system namespace `{ns}`",
                t.name
            ),
            "deploy workloads into their own namespace; `argocd` holds Argo CD itself and \
             `kube-system` the cluster's components",
        ),
        Some(_) => {}
    }
    let Some(dest) = dest else { return };
    for (sp, source) in t.sources() {
        for vs in helm_values(source, &sp) {
            for inner in [
                "/namespace",
                "/namespaceOverride",
                "/metadata/namespace",
                "/global/namespace",
            ] {
                let Some(ns) = vs.value.pointer(inner).and_then(Value::as_str) else {
                    continue;
                };
                if ns.is_empty() || ns.contains("{{") || ns == dest {
                    continue;
                }
                let at = vs.at(inner);
                emit(
                    out,
                    &at,
                    format!(
                        "Application `{}`: the Helm values set `{}` to `{ns}`, but \
                         `destination.namespace` is `{dest}`",
                        t.name,
                        inner.trim_start_matches('/').replace('/', ".")
                    ),
                    "make them agree: drop the namespace from the values (the chart then uses the \
                     release namespace, i.e. `destination.namespace`) or change the destination",
                );
            }
        }
        if let Some(ns) = source
            .pointer("/kustomize/namespace")
            .and_then(Value::as_str)
        {
            if !ns.is_empty() && ns != dest && !ns.contains("{{") {
                emit(
                    out,
                    &format!("{sp}/kustomize/namespace"),
                    format!(
                        "Application `{}`: `{}` is `{ns}`, but `destination.namespace` is `{dest}`",
                        t.name,
                        dotted(&format!("{sp}/kustomize/namespace"))
                    ),
                    "make them agree, or drop `kustomize.namespace` so the destination namespace \
                     applies",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;
    use super::placeholder_reason;
    use crate::appset::{ClusterInfo, Environment};

    #[test]
    fn placeholder_hosts() {
        for s in [
            "https://minikube.example.com",
            "https://{{cluster}}.example.com",
            "https://localhost:6443",
            "https://prod.cluster.local",
            "prod-eks",
            "https://minikube",
            "https://x.test",
        ] {
            assert!(placeholder_reason(s).is_some(), "{s}");
        }
        for s in [
            "https://kubernetes.default.svc",
            "https://prod-eks-cluster-abc.eks.amazonaws.com",
            "https://10.0.0.1:6443",
            "https://api.corp.internal:6443/",
        ] {
            assert!(placeholder_reason(s).is_none(), "{s}");
        }
    }

    #[test]
    fn placeholder_reasons_name_the_problem() {
        let reason = |s: &str| placeholder_reason(s).unwrap_or_default();
        assert!(reason("prod-eks:6443").contains("no `https://`"));
        assert!(reason("ftp://prod.corp").contains("scheme `ftp`"));
        assert_eq!(reason("https://"), "has no host");
        assert!(reason("https://[::1]:6443").contains("localhost"));
        assert!(reason("https://admin@localhost").contains("localhost"));
        assert!(reason("https://minikube:6443").contains("`minikube`"));
        assert!(reason("https://prod.corp:port").contains("not a valid URL"));
    }

    #[test]
    fn lesson_servers_are_placeholders_per_application() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let p = of_rule(&f, "placeholder-server");
        assert_eq!(p.len(), 6, "{p:#?}");
        assert!(
            p.iter().all(|f| f.location.as_ref().unwrap().pos
                == d.pos("/spec/template/spec/destination/server"))
        );
        assert!(p.iter().any(
            |f| f.application.as_deref() == Some("fastapi-agent-dev-docker.io")
                && f.message.contains("https://minikube.example.com")
                && f.message.contains("example.com")
        ));
    }

    #[test]
    fn scenario_clusters_decide() {
        let d = doc(json!({"spec": {}}));
        let mut a = good_spec("a");
        a["destination"]["server"] = json!("https://staging-eks.example.com");
        let mut b = good_spec("b");
        b["destination"]["server"] = json!("https://prod-eks-cluster-abc.eks.amazonaws.com");
        let mut c = good_spec("c");
        c["destination"] = json!({"name": "prod", "namespace": "agents"});
        let mut n = good_spec("n");
        n["destination"] = json!({"name": "production", "namespace": "agents"});
        let e = expansion(vec![
            app("a", a, json!({})),
            app("b", b, json!({})),
            app("c", c, json!({})),
            app("n", n, json!({})),
            app("in", good_spec("in"), json!({})),
        ]);
        let env = Environment {
            clusters: vec![
                cluster("staging", "https://staging-eks.example.com"),
                cluster("prod", "https://prod-eks-cluster-abc.eks.amazonaws.com/"),
                cluster("dev", "https://kubernetes.default.svc"),
            ],
            ..Environment::default()
        };
        let f = lint_env(&d, &e, &env);
        let p = of_rule(&f, "placeholder-server");
        let apps: Vec<_> = p
            .iter()
            .map(|f| f.application.as_deref().unwrap())
            .collect();
        assert_eq!(apps, ["n"], "{p:#?}");
        assert!(p[0].message.contains("`prod`"));
        // Without clusters a real-looking URL passes, a placeholder does not.
        let f = lint(&d, &e);
        let only_local = Environment {
            clusters: vec![ClusterInfo {
                local_without_secret: true,
                ..cluster("in-cluster", "https://kubernetes.default.svc")
            }],
            ..Environment::default()
        };
        assert_eq!(f, lint_env(&d, &e, &only_local));
        let apps: Vec<_> = of_rule(&f, "placeholder-server")
            .iter()
            .map(|f| f.application.clone().unwrap())
            .collect();
        assert_eq!(apps, ["a"]);
    }

    #[test]
    fn server_and_name_together() {
        let d = doc(json!({"spec": {}}));
        let mut both = good_spec("b");
        both["destination"]["name"] = json!("in-cluster");
        let e = expansion(vec![
            app("b", both, json!({})),
            app("ok", good_spec("ok"), json!({})),
        ]);
        let f = lint(&d, &e);
        let x = of_rule(&f, "destination-server-and-name");
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].application.as_deref(), Some("b"));
    }

    #[test]
    fn namespaces() {
        let d = doc(json!({"spec": {}}));
        let mut a = good_spec("a");
        a["source"]["helm"]["valuesObject"]["namespace"] = json!("production-agents");
        a["destination"]["namespace"] = json!("agents");
        let mut b = good_spec("b");
        b["destination"] = json!({"server": "https://kubernetes.default.svc"});
        let mut c = good_spec("c");
        c["destination"]["namespace"] = json!("kube-system");
        let mut ok = good_spec("ok");
        ok["source"]["helm"]["valuesObject"]["namespace"] = json!("ok-agents");
        let e = expansion(vec![
            app("a", a, json!({})),
            app("b", b, json!({})),
            app("c", c, json!({})),
            app("ok", ok, json!({})),
        ]);
        let f = lint(&d, &e);
        let n = of_rule(&f, "namespace-mismatch");
        let apps: Vec<_> = n.iter().map(|f| f.application.clone().unwrap()).collect();
        assert_eq!(apps.len(), 3, "{n:#?}");
        for x in ["a", "b", "c"] {
            assert!(apps.contains(&x.to_string()));
        }
        assert!(n.iter().any(|f| f.message.contains("production-agents")));
    }
}
