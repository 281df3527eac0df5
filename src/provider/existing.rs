//! The existing provider: kube contexts the user already has (a pre-release
//! check on a staging cluster). It touches only the contexts the scenario
//! names, creates nothing and so deletes nothing.

use std::path::PathBuf;

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
        let provisioned: Vec<Provisioned> = clusters
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

#[cfg(test)]
mod tests {
    use super::*;

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
