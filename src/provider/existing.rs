//! The existing provider: kube contexts the user already has (a pre-release
//! check on a staging cluster). It touches only the contexts the scenario
//! names, creates nothing and so deletes nothing.
//!
//! A context whose API server is a kind cluster on this machine (a kind
//! control-plane container publishes that loopback port) is one whose pods
//! reach this machine at the `kind` network's gateway: its
//! [`Provisioned::host_address`] says so, which is how an Argo CD already
//! installed there reaches the other clusters (through the harness's
//! CONNECT proxy) and the repositories the harness serves.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use kube::config::Kubeconfig;

use super::{ClusterRequest, Provider, ProvisionError, Provisioned};

/// Names and servers that look like production: `prod`, `production`, `prd`
/// or `live` as a word of the context name or the server's host.
pub const DEFAULT_PRODUCTION_PATTERN: &str =
    r"(?i)(^|[^a-z0-9])(prod|production|prd|live)([^a-z0-9]|$)";

/// Which contexts a run may write to: none that looks like production
/// unless it is named on the command line.
#[derive(Debug, Clone)]
pub struct ContextGuard {
    pub production: regex::Regex,
    pub allowed: Vec<String>,
}

impl Default for ContextGuard {
    fn default() -> Self {
        ContextGuard {
            production: regex::Regex::new(DEFAULT_PRODUCTION_PATTERN).expect("a valid pattern"),
            allowed: Vec::new(),
        }
    }
}

impl ContextGuard {
    /// Why `context` (whose server is `server`) is refused, if it is.
    fn refusal(&self, name: &str, context: &str, server: &str) -> Option<ProvisionError> {
        if self.allowed.iter().any(|a| a == context) {
            return None;
        }
        let what = if self.production.is_match(context) {
            "its name".to_string()
        } else if self.production.is_match(server) {
            format!("its server `{server}`")
        } else {
            return None;
        };
        Some(ProvisionError::LooksLikeProduction {
            name: name.to_string(),
            context: context.to_string(),
            what,
            pattern: self.production.as_str().to_string(),
        })
    }
}

pub struct Existing {
    /// The user's kubeconfig (`$KUBECONFIG` or `~/.kube/config`), read once.
    kubeconfig: Kubeconfig,
    path: PathBuf,
    guard: ContextGuard,
}

impl Existing {
    pub fn new(path: Option<PathBuf>, guard: ContextGuard) -> Result<Self, ProvisionError> {
        let path = path
            .or_else(|| {
                std::env::var_os("KUBECONFIG").and_then(|v| std::env::split_paths(&v).next())
            })
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config")))
            .unwrap_or_else(|| PathBuf::from(".kube/config"));
        let kubeconfig = Kubeconfig::read_from(&path).map_err(|e| ProvisionError::Unavailable {
            provider: "existing",
            source: anyhow::Error::new(e)
                .context(format!("cannot read kubeconfig `{}`", path.display())),
        })?;
        Ok(Self {
            kubeconfig,
            path,
            guard,
        })
    }
}

#[async_trait::async_trait]
impl Provider for Existing {
    fn name(&self) -> &'static str {
        "existing"
    }

    async fn up(&self, clusters: &[ClusterRequest]) -> Result<Vec<Provisioned>, ProvisionError> {
        let available: Vec<String> = self
            .kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.clone())
            .collect();
        // Refuse before touching anything when any context is missing.
        for c in clusters {
            let context = c.context.clone().unwrap_or_else(|| c.name.clone());
            if !available.contains(&context) {
                return Err(ProvisionError::MissingContext {
                    name: c.name.clone(),
                    context,
                    available: available.clone(),
                });
            }
        }
        let mut provisioned: Vec<Provisioned> = clusters
            .iter()
            .map(|c| {
                let context = c.context.clone().unwrap_or_else(|| c.name.clone());
                let named = self.kubeconfig.contexts.iter().find(|n| n.name == context);
                let ctx = named.and_then(|n| n.context.as_ref());
                let cluster = ctx.and_then(|x| {
                    self.kubeconfig
                        .clusters
                        .iter()
                        .find(|cl| cl.name == x.cluster)
                        .and_then(|cl| cl.cluster.clone())
                });
                let auth = ctx.and_then(|x| x.user.as_ref()).and_then(|u| {
                    self.kubeconfig
                        .auth_infos
                        .iter()
                        .find(|a| &a.name == u)
                        .and_then(|a| a.auth_info.clone())
                });
                use secrecy::ExposeSecret as _;
                Provisioned {
                    name: c.name.clone(),
                    kubeconfig: self.path.clone(),
                    context,
                    server: cluster
                        .as_ref()
                        .and_then(|c| c.server.clone())
                        .unwrap_or_default(),
                    ca_data: cluster.and_then(|c| c.certificate_authority_data),
                    cert_data: auth
                        .as_ref()
                        .and_then(|a| a.client_certificate_data.clone()),
                    key_data: auth
                        .as_ref()
                        .and_then(|a| a.client_key_data.as_ref())
                        .map(|k| k.expose_secret().to_string()),
                    token: auth
                        .as_ref()
                        .and_then(|a| a.token.as_ref())
                        .map(|t| t.expose_secret().to_string()),
                    host_address: None,
                }
            })
            .collect();
        // Refuse before touching anything when any context looks like production.
        for p in &provisioned {
            if let Some(refusal) = self.guard.refusal(&p.name, &p.context, &p.server) {
                return Err(refusal);
            }
        }
        if let Some(ports) = kind_published_ports().await {
            let gateway = crate::provider::kind::network_gateway().await.ok();
            for p in &mut provisioned {
                if loopback_port(&p.server).is_some_and(|port| publishes(&ports, port)) {
                    p.host_address = gateway;
                }
            }
        }
        Ok(provisioned)
    }

    async fn down(&mut self) -> Vec<String> {
        Vec::new()
    }

    fn keep_instructions(&self) -> String {
        format!(
            "the existing contexts in `{}` were used as they are",
            self.path.display()
        )
    }
}

/// How long `docker ps` may take to list the kind clusters.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(15);

/// The port of an API server on this machine's loopback, if `server` is one.
fn loopback_port(server: &str) -> Option<u16> {
    let url = url::Url::parse(server).ok()?;
    let loopback = match url.host()? {
        url::Host::Domain(d) => d == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    loopback.then(|| url.port_or_known_default()).flatten()
}

/// What kind's control-plane containers publish (`docker ps`'s Ports
/// column, one line each); `None` where Docker does not answer.
async fn kind_published_ports() -> Option<String> {
    let ps = crate::process::Cmd::new("docker").args([
        "ps",
        "--filter",
        "label=io.x-k8s.kind.role=control-plane",
        "--format",
        "{{.Ports}}",
    ]);
    tokio::time::timeout(DOCKER_TIMEOUT, ps.output())
        .await
        .ok()?
        .ok()
}

/// Whether `ports` (`docker ps`'s Ports column) publishes the API server
/// port 6443 of a container on loopback `port`.
fn publishes(ports: &str, port: u16) -> bool {
    ports
        .split([',', '\n'])
        .map(str::trim)
        .filter_map(|p| p.strip_suffix("->6443/tcp"))
        .filter_map(|host| host.rsplit_once(':'))
        .any(|(ip, p)| {
            p.parse::<u16>() == Ok(port)
                && ip
                    .trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_clusters_are_recognised_by_their_published_loopback_port() {
        let ports = "127.0.0.1:39741->6443/tcp\n127.0.0.1:40001->6443/tcp, 0.0.0.0:80->80/tcp";
        assert_eq!(loopback_port("https://127.0.0.1:39741"), Some(39741));
        assert_eq!(loopback_port("https://localhost:40001/"), Some(40001));
        assert_eq!(loopback_port("https://10.0.0.5:6443"), None);
        assert_eq!(loopback_port("https://staging.example.com"), None);
        assert!(publishes(ports, 39741));
        assert!(publishes(ports, 40001));
        assert!(!publishes(ports, 80));
        assert!(!publishes(ports, 6443));
        assert!(!publishes("0.0.0.0:39741->6443/tcp", 39741));
    }

    #[test]
    fn production_looking_contexts_are_refused_unless_allowed() {
        let guard = ContextGuard::default();
        for (context, server) in [
            ("prod", "https://127.0.0.1:6443"),
            ("eks-prod-eu", "https://127.0.0.1:6443"),
            ("Production", "https://127.0.0.1:6443"),
            ("team-a", "https://api.prd.example.com"),
            ("team-a", "https://live.example.com:443"),
        ] {
            let refusal = guard.refusal("c", context, server);
            assert!(refusal.is_some(), "{context} {server}");
            let text = refusal.unwrap().to_string();
            assert!(
                text.contains(&format!("--allow-context {context}")),
                "{text}"
            );
        }
        for (context, server) in [
            ("dev", "https://127.0.0.1:6443"),
            ("staging", "https://staging.example.com"),
            ("product-catalog", "https://127.0.0.1:6443"),
            ("kind-deliver", "https://127.0.0.1:6443"),
        ] {
            assert!(guard.refusal("c", context, server).is_none(), "{context}");
        }
        let allowed = ContextGuard {
            allowed: vec!["eks-prod-eu".into()],
            ..ContextGuard::default()
        };
        assert!(allowed.refusal("c", "eks-prod-eu", "https://x").is_none());
        assert!(allowed.refusal("c", "prod", "https://x").is_some());
    }
}
