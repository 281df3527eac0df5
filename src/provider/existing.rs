//! The existing provider: kube contexts the user already has (a pre-release
//! check on a staging cluster). It touches only the contexts the scenario
//! names, creates nothing and so deletes nothing.

use std::path::PathBuf;

use kube::config::Kubeconfig;

use super::{ClusterRequest, Provider, ProvisionError, Provisioned};

pub struct Existing {
    /// The user's kubeconfig (`$KUBECONFIG` or `~/.kube/config`), read once.
    kubeconfig: Kubeconfig,
    path: PathBuf,
}

impl Existing {
    pub fn new(path: Option<PathBuf>) -> Result<Self, ProvisionError> {
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
        Ok(Self { kubeconfig, path })
    }
}

#[async_trait::async_trait]
impl Provider for Existing {
    fn name(&self) -> &'static str {
        "existing"
    }

    async fn up(
        &mut self,
        clusters: &[ClusterRequest],
    ) -> Result<Vec<Provisioned>, ProvisionError> {
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
        Ok(clusters
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
                }
            })
            .collect())
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
