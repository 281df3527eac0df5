//! Registering the scenario's clusters in Argo CD, declaratively: one Secret
//! labelled `argocd.argoproj.io/secret-type: cluster` each, named after the
//! scenario's cluster and carrying the server URL the ApplicationSet uses.
//!
//! The hub is registered at the in-cluster address (`ARGOCD_FAKE_IN_CLUSTER`
//! resolves it through the hub's kubeconfig). Every other cluster keeps its
//! production URL in Argo CD, and the CONNECT proxy named in `proxyUrl`
//! tunnels that URL's host to the local API server that plays it; TLS stays
//! end to end, checked against the local CA with the certificate's name.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::appset::IN_CLUSTER_SERVER;
use crate::provider::Provisioned;

/// A name in the local API servers' certificates (kwok's carry `kubernetes`).
pub const TLS_SERVER_NAME: &str = "kubernetes";

/// A cluster as the scenario names it and where it really is.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    /// The URL the ApplicationSet uses (`spec.clusters[].server`).
    pub server: String,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    pub cluster: &'a Provisioned,
}

/// `host:port` of an https URL, port 443 by default: what a client names in
/// its `CONNECT` (the host in lower case and IDNA-encoded, IPv6 in brackets,
/// without user info). `None` for anything that is not a valid https URL.
pub fn host_port(server: &str) -> Option<String> {
    let url = url::Url::parse(server).ok()?;
    if url.scheme() != "https" {
        return None;
    }
    let host = url.host_str().filter(|h| !h.is_empty())?;
    Some(format!("{host}:{}", url.port_or_known_default()?))
}

/// The proxy routes: each non-hub cluster's URL host to its local API server.
pub fn proxy_routes(regs: &[Registration<'_>]) -> Result<BTreeMap<String, SocketAddr>, String> {
    let mut routes = BTreeMap::new();
    for r in regs.iter().filter(|r| r.server != IN_CLUSTER_SERVER) {
        let from = host_port(&r.server).ok_or_else(|| {
            format!(
                "cluster `{}`: server `{}` is not an https URL",
                r.cluster.name, r.server
            )
        })?;
        let to = host_port(&r.cluster.server)
            .and_then(|hp| hp.parse::<SocketAddr>().ok())
            .ok_or_else(|| {
                format!(
                    "cluster `{}`: its API server `{}` is not an https address on this machine",
                    r.cluster.name, r.cluster.server
                )
            })?;
        routes.insert(from, to);
    }
    Ok(routes)
}

/// The cluster Secret for one registration.
pub fn secret(reg: &Registration<'_>, namespace: &str, proxy_url: &str) -> Value {
    let c = reg.cluster;
    let config = if reg.server == IN_CLUSTER_SERVER {
        json!({})
    } else {
        let mut tls = serde_json::Map::new();
        if let Some(ca) = &c.ca_data {
            tls.insert("caData".into(), json!(ca));
            tls.insert("serverName".into(), json!(TLS_SERVER_NAME));
        } else {
            tls.insert("insecure".into(), json!(true));
        }
        if let Some(cert) = &c.cert_data {
            tls.insert("certData".into(), json!(cert));
        }
        if let Some(key) = &c.key_data {
            tls.insert("keyData".into(), json!(key));
        }
        let mut config = json!({"tlsClientConfig": tls, "proxyUrl": proxy_url});
        if let Some(token) = &c.token {
            config["bearerToken"] = json!(token);
        }
        config
    };
    let mut labels = reg.labels.clone();
    labels.insert("argocd.argoproj.io/secret-type".into(), "cluster".into());
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": format!("cluster-{}", c.name),
            "namespace": namespace,
            "labels": labels,
            "annotations": reg.annotations,
        },
        "type": "Opaque",
        "stringData": {
            "name": c.name,
            "server": reg.server,
            "config": config.to_string(),
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A cluster with made-up credentials, its context named after it.
    pub(crate) fn provisioned(name: &str, server: &str) -> Provisioned {
        Provisioned {
            name: name.into(),
            kubeconfig: "/dev/null".into(),
            context: name.into(),
            server: server.into(),
            ca_data: Some("Q0E=".into()),
            cert_data: Some("Q0VSVA==".into()),
            key_data: Some("S0VZ".into()),
            token: None,
            host_address: None,
        }
    }

    #[test]
    fn host_port_defaults_to_443() {
        assert_eq!(
            host_port("https://prod.eks.amazonaws.com").as_deref(),
            Some("prod.eks.amazonaws.com:443")
        );
        assert_eq!(
            host_port("https://127.0.0.1:32764/").as_deref(),
            Some("127.0.0.1:32764")
        );
        assert_eq!(host_port("http://x"), None);
        assert_eq!(host_port("https://"), None);
        assert_eq!(host_port("https://x:port"), None);
        assert_eq!(
            host_port("https://[::1]:6443/api").as_deref(),
            Some("[::1]:6443")
        );
        assert_eq!(
            host_port("https://Prod.Example:443").as_deref(),
            Some("prod.example:443")
        );
    }

    #[test]
    fn production_urls_route_to_local_api_servers_and_the_hub_does_not() {
        let empty = BTreeMap::new();
        let dev = provisioned("dev", "https://127.0.0.1:30001");
        let prod = provisioned("prod", "https://127.0.0.1:30002");
        let regs = [
            Registration {
                server: IN_CLUSTER_SERVER.into(),
                labels: &empty,
                annotations: &empty,
                cluster: &dev,
            },
            Registration {
                server: "https://prod-eks-cluster-abc.eks.amazonaws.com".into(),
                labels: &empty,
                annotations: &empty,
                cluster: &prod,
            },
        ];
        let routes = proxy_routes(&regs).unwrap();
        assert_eq!(routes.len(), 1);
        assert_eq!(
            routes["prod-eks-cluster-abc.eks.amazonaws.com:443"],
            "127.0.0.1:30002".parse().unwrap()
        );
    }

    #[test]
    fn secret_keeps_the_scenario_url_and_proxies_it() {
        let labels = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let empty = BTreeMap::new();
        let prod = provisioned("prod", "https://127.0.0.1:30002");
        let reg = Registration {
            server: "https://prod.example.com".into(),
            labels: &labels,
            annotations: &empty,
            cluster: &prod,
        };
        let s = secret(&reg, "argocd", "http://127.0.0.1:9999");
        assert_eq!(
            s["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
            "cluster"
        );
        assert_eq!(s["metadata"]["labels"]["env"], "prod");
        assert_eq!(s["stringData"]["name"], "prod");
        assert_eq!(s["stringData"]["server"], "https://prod.example.com");
        let config: Value =
            serde_json::from_str(s["stringData"]["config"].as_str().unwrap()).unwrap();
        assert_eq!(config["proxyUrl"], "http://127.0.0.1:9999");
        assert_eq!(config["tlsClientConfig"]["serverName"], TLS_SERVER_NAME);
        assert_eq!(config["tlsClientConfig"]["certData"], "Q0VSVA==");
    }

    #[test]
    fn hub_secret_has_no_credentials() {
        let empty = BTreeMap::new();
        let dev = provisioned("dev", "https://127.0.0.1:30001");
        let reg = Registration {
            server: IN_CLUSTER_SERVER.into(),
            labels: &empty,
            annotations: &empty,
            cluster: &dev,
        };
        let s = secret(&reg, "argocd", "http://127.0.0.1:9999");
        assert_eq!(s["stringData"]["config"], "{}");
    }
}
