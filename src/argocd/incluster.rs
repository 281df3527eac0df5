//! Argo CD as it runs in production: its pinned install manifest applied to
//! the hub (server-side, through kube-rs), every component a pod, readiness
//! by watches, the admin password from `argocd-initial-admin-secret`, and its
//! API reached through a port-forward, not an exposed port.
//!
//! The manifest is the one the toolchain carries, checked against the SHA-256
//! recorded here for its version. What the harness changes in it, and why:
//! - the namespace of its ClusterRoleBindings' subjects, when the scenario
//!   installs into another namespace than `argocd`;
//! - `imagePullPolicy: Always` becomes `IfNotPresent`, so that images loaded
//!   into the nodes are used (the tags are pinned either way);
//! - Dex (SSO) is scaled to zero: a throwaway Argo CD logs in as admin;
//! - argocd-server serves plain HTTP (`server.insecure`): it is reached only
//!   through the harness's port-forward;
//! - Applications are reconciled every 10 s instead of 3 min: runs are short.
//!
//! Other clusters are registered under the URLs the ApplicationSet uses, with
//! `proxyUrl` pointing at a CONNECT proxy that listens where the hub's pods
//! reach this machine (the `kind` network's gateway).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::future::join_all;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::runtime::wait::await_condition;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::api::{ApiAccess, ArgoApi};
use super::clusters::{self, Registration};
use super::install::{self, Mode};
use super::proxy::ConnectProxy;
use super::{ArgoCdRuntime, DiagnosticFile};
use crate::forward::Forward;
use crate::provider::Provisioned;

/// The SHA-256 of each install manifest this harness knows, by Argo CD
/// version: a manifest that matches none is refused.
pub const KNOWN_INSTALL_MANIFESTS: &[(&str, &str)] = &[(
    "v3.5.3",
    "7efe2d6bbc03f63623640f1e4198f16c84009d510fb810ef71e56df1b7614ba9",
)];

/// The Argo CD image the upstream manifests of `version` name.
pub fn argocd_image(version: &str) -> String {
    format!("quay.io/argoproj/argocd:{version}")
}

/// The components a run needs, and how each is deployed.
const COMPONENTS: &[(Workload, &str)] = &[
    (Workload::Deployment, "argocd-redis"),
    (Workload::Deployment, "argocd-repo-server"),
    (Workload::Deployment, "argocd-server"),
    (Workload::Deployment, "argocd-applicationset-controller"),
    (Workload::StatefulSet, "argocd-application-controller"),
];

/// How long argocd-server's /healthz may take to answer through the forward.
const HEALTHZ_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum Workload {
    Deployment,
    StatefulSet,
}

/// Argo CD installed in the hub from its manifest.
pub struct InCluster {
    manifest: PathBuf,
    forward: Option<Forward>,
    proxy: Option<ConnectProxy>,
    /// Where the hub's pods reach this machine, from `start`.
    host_address: Option<IpAddr>,
    /// What `start` saw of the components when they were not ready.
    not_ready: Option<String>,
    /// The hub and Argo CD's namespace there, once `start` ran.
    hub: Option<(kube::Client, String)>,
}

impl InCluster {
    /// `manifest` is Argo CD's `install.yaml`.
    pub fn new(manifest: PathBuf) -> Self {
        Self {
            manifest,
            forward: None,
            proxy: None,
            host_address: None,
            not_ready: None,
            hub: None,
        }
    }
}

/// Reads the install manifest and checks it against the recorded digests;
/// returns its documents and the Argo CD version it installs.
pub fn read_install_manifest(path: &Path) -> anyhow::Result<(Vec<Value>, &'static str)> {
    let text = crate::input::read_text(path).with_context(|| {
        format!(
            "cannot read Argo CD's install manifest `{}`",
            path.display()
        )
    })?;
    let digest: String = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let version = KNOWN_INSTALL_MANIFESTS
        .iter()
        .find(|(_, sha)| *sha == digest)
        .map(|(v, _)| *v)
        .with_context(|| {
            format!(
                "`{}` has SHA-256 {digest}, which is no install manifest this harness knows \
                 (known: {})",
                path.display(),
                KNOWN_INSTALL_MANIFESTS
                    .iter()
                    .map(|(v, _)| *v)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    let docs = crate::yaml::parse(&text).map_err(|e| {
        anyhow::anyhow!(
            "`{}`:{}:{}: {}",
            path.display(),
            e.pos.line,
            e.pos.column,
            e.message
        )
    })?;
    Ok((
        docs.into_iter()
            .map(|d| d.value)
            .filter(|v| v.is_object())
            .collect(),
        version,
    ))
}

/// The manifest as the harness applies it (see the module's documentation).
pub fn prepare_manifest(mut docs: Vec<Value>, namespace: &str) -> Vec<Value> {
    for doc in &mut docs {
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match kind.as_str() {
            "ClusterRoleBinding" | "RoleBinding" => {
                if let Some(subjects) = doc.get_mut("subjects").and_then(Value::as_array_mut) {
                    for s in subjects {
                        if s.get("namespace").is_some() {
                            s["namespace"] = json!(namespace);
                        }
                    }
                }
            }
            "Deployment" | "StatefulSet" => {
                if name == "argocd-dex-server" {
                    doc["spec"]["replicas"] = json!(0);
                }
                for list in ["containers", "initContainers"] {
                    let pointer = format!("/spec/template/spec/{list}");
                    if let Some(containers) =
                        doc.pointer_mut(&pointer).and_then(Value::as_array_mut)
                    {
                        for c in containers {
                            if c.get("imagePullPolicy").and_then(Value::as_str) == Some("Always") {
                                c["imagePullPolicy"] = json!("IfNotPresent");
                            }
                        }
                    }
                }
            }
            "ConfigMap" if name == "argocd-cmd-params-cm" => {
                data(doc).insert("server.insecure".into(), json!("true"));
            }
            "ConfigMap" if name == "argocd-cm" => {
                data(doc).insert("timeout.reconciliation".into(), json!("10s"));
            }
            _ => {}
        }
    }
    docs
}

fn data(doc: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !doc.get("data").is_some_and(Value::is_object) {
        doc["data"] = json!({});
    }
    doc["data"].as_object_mut().expect("just made an object")
}

/// Applies the manifest: the namespace, the CRDs (until Established), then
/// everything else.
async fn apply(client: &kube::Client, docs: &[Value], namespace: &str) -> anyhow::Result<()> {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    install::apply(
        client,
        "Argo CD namespace",
        &[ns],
        namespace,
        Mode::default(),
    )
    .await?;
    let (crds, rest): (Vec<Value>, Vec<Value>) = docs
        .iter()
        .cloned()
        .partition(|d| d.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"));
    install::apply(client, "Argo CD CRDs", &crds, namespace, Mode::default()).await?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds
        .iter()
        .filter_map(|d| d.pointer("/metadata/name").and_then(Value::as_str))
    {
        let established =
            await_condition(api.clone(), crd, |c: Option<&CustomResourceDefinition>| {
                c.and_then(|c| c.status.as_ref())
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c.type_ == "Established" && c.status == "True")
                    })
            });
        tokio::time::timeout(Duration::from_secs(60), established)
            .await
            .with_context(|| format!("CRD `{crd}` not Established after 60s"))??;
    }
    install::apply(
        client,
        "Argo CD's install manifest",
        &rest,
        namespace,
        Mode::default(),
    )
    .await?;
    Ok(())
}

/// Waits until each component has all its replicas ready.
async fn wait_components(client: &kube::Client, namespace: &str) -> anyhow::Result<()> {
    let waits = COMPONENTS.iter().map(|(workload, name)| {
        let client = client.clone();
        async move {
            match workload {
                Workload::Deployment => {
                    let api: Api<Deployment> = Api::namespaced(client, namespace);
                    await_condition(api, name, |d: Option<&Deployment>| {
                        d.is_some_and(|d| {
                            let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                            let status = d.status.as_ref();
                            status.and_then(|s| s.ready_replicas).unwrap_or(0) >= want
                                && status.and_then(|s| s.updated_replicas).unwrap_or(0) >= want
                        })
                    })
                    .await
                    .map(drop)
                }
                Workload::StatefulSet => {
                    let api: Api<StatefulSet> = Api::namespaced(client, namespace);
                    await_condition(api, name, |s: Option<&StatefulSet>| {
                        s.is_some_and(|s| {
                            let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                            s.status
                                .as_ref()
                                .and_then(|s| s.ready_replicas)
                                .unwrap_or(0)
                                >= want
                        })
                    })
                    .await
                    .map(drop)
                }
            }
            .with_context(|| format!("cannot watch `{name}`"))
        }
    });
    join_all(waits).await.into_iter().collect()
}

/// The last lines of every container's log in Argo CD's namespace, for the
/// diagnostics bundle (each read bounded in time and size).
pub(super) async fn pod_logs(client: &kube::Client, namespace: &str) -> Vec<DiagnosticFile> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{ListParams, LogParams};
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let Ok(Ok(list)) =
        tokio::time::timeout(Duration::from_secs(10), pods.list(&ListParams::default())).await
    else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for pod in &list.items {
        let Some(name) = pod.metadata.name.as_deref() else {
            continue;
        };
        let containers: Vec<String> = pod
            .spec
            .iter()
            .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers))
            .map(|c| c.name.clone())
            .collect();
        for container in containers {
            let params = LogParams {
                container: Some(container.clone()),
                tail_lines: Some(1000),
                limit_bytes: Some(1 << 20),
                ..LogParams::default()
            };
            let text = match tokio::time::timeout(Duration::from_secs(10), pods.logs(name, &params))
                .await
            {
                Ok(Ok(text)) => text,
                Ok(Err(e)) => format!("(no log: {e})\n"),
                Err(_) => "(no log: not read within 10 s)\n".into(),
            };
            files.push(DiagnosticFile::Text {
                name: format!("{name}-{container}.log"),
                text,
            });
        }
    }
    files
}

/// The admin password Argo CD generated at install.
async fn admin_password(client: &kube::Client, namespace: &str) -> anyhow::Result<SecretString> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let name = "argocd-initial-admin-secret";
    let secret = await_condition(secrets, name, |s: Option<&Secret>| {
        s.and_then(|s| s.data.as_ref())
            .is_some_and(|d| d.contains_key("password"))
    });
    let secret = tokio::time::timeout(Duration::from_secs(60), secret)
        .await
        .with_context(|| format!("no `{name}` after 60s"))??
        .with_context(|| format!("`{name}` is gone"))?;
    let bytes = secret
        .data
        .and_then(|d| d.get("password").cloned())
        .with_context(|| format!("`{name}` has no password"))?;
    let password = String::from_utf8(bytes.0).with_context(|| format!("`{name}`: not UTF-8"))?;
    Ok(SecretString::from(password))
}

/// Polls /healthz through the forward until argocd-server answers.
pub(super) async fn wait_healthz(url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let started = Instant::now();
    loop {
        let last = match http.get(format!("{url}/healthz")).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("status {}", r.status()),
            Err(e) => e.to_string(),
        };
        if started.elapsed() > HEALTHZ_TIMEOUT {
            anyhow::bail!(
                "argocd-server /healthz did not answer within {HEALTHZ_TIMEOUT:?}: {last}"
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[async_trait::async_trait]
impl ArgoCdRuntime for InCluster {
    fn name(&self) -> &'static str {
        "in-cluster"
    }

    async fn start(
        &mut self,
        hub: &Provisioned,
        namespace: &str,
        _dir: &Path,
        timeout: Duration,
    ) -> anyhow::Result<ApiAccess> {
        self.host_address = hub.host_address;
        let (docs, _version) = read_install_manifest(&self.manifest)?;
        let docs = prepare_manifest(docs, namespace);
        let client = hub.client().await?;
        self.hub = Some((client.clone(), namespace.to_string()));
        apply(&client, &docs, namespace)
            .await
            .context("cannot install Argo CD")?;
        if tokio::time::timeout(timeout, wait_components(&client, namespace))
            .await
            .is_err()
        {
            let why = crate::pods::not_ready(&client, namespace, &["argocd-dex-server"]).await;
            self.not_ready = Some(why.clone());
            anyhow::bail!(
                "Argo CD's components were not ready within {}:\n{why}",
                humantime::format_duration(timeout)
            );
        }
        let forward = Forward::to_pods(
            client.clone(),
            namespace,
            "app.kubernetes.io/name=argocd-server",
            8080,
        )
        .await
        .context("cannot listen for the port-forward to argocd-server")?;
        let url = forward.url();
        self.forward = Some(forward);
        wait_healthz(&url).await?;
        let password = admin_password(&client, namespace).await?;
        let token = ArgoApi::new(&url)
            .login("admin", &password)
            .await
            .context("cannot log in to Argo CD as admin")?;
        Ok(ApiAccess {
            url,
            token: Some(token),
        })
    }

    async fn register(
        &mut self,
        hub: &kube::Client,
        regs: &[Registration<'_>],
        namespace: &str,
    ) -> anyhow::Result<()> {
        let routes = clusters::proxy_routes(regs).map_err(anyhow::Error::msg)?;
        let ip = self
            .host_address
            .context("the hub's provider gave no address at which its pods reach this machine")?;
        let proxy = ConnectProxy::start_on(ip, routes).await?;
        let secrets: Vec<Value> = regs
            .iter()
            .map(|r| clusters::secret(r, namespace, &proxy.url()))
            .collect();
        self.proxy = Some(proxy);
        install::apply(hub, "cluster Secrets", &secrets, namespace, Mode::default()).await?;
        Ok(())
    }

    async fn diagnostics(&self) -> Vec<DiagnosticFile> {
        let mut files = match &self.hub {
            Some((client, namespace)) => pod_logs(client, namespace).await,
            None => Vec::new(),
        };
        if let Some(why) = &self.not_ready {
            files.push(DiagnosticFile::Text {
                name: "argocd-pods-not-ready.txt".into(),
                text: format!("{why}\n"),
            });
        }
        files.extend(self.proxy.as_ref().and_then(ConnectProxy::refused_file));
        files
    }

    async fn stop(&mut self) {
        // The hub goes with the run's clusters; only the tunnels stop here.
        self.forward = None;
        self.proxy = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Vec<Value> {
        vec![
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "argocd-server"},
                   "subjects": [{"kind": "ServiceAccount", "name": "argocd-server", "namespace": "argocd"}]}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "argocd-dex-server"},
                   "spec": {"template": {"spec": {
                       "initContainers": [{"name": "copyutil", "imagePullPolicy": "Always"}],
                       "containers": [{"name": "dex", "imagePullPolicy": "Always"}]}}}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "argocd-server"},
                   "spec": {"template": {"spec": {
                       "containers": [{"name": "argocd-server", "imagePullPolicy": "Always"},
                                      {"name": "sidecar", "imagePullPolicy": "Never"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cmd-params-cm"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argocd-cm"},
                   "data": {"kept": "yes"}}),
        ]
    }

    #[test]
    fn the_manifest_is_changed_only_where_documented() {
        let docs = prepare_manifest(manifest(), "gitops");
        assert_eq!(docs[0]["subjects"][0]["namespace"], "gitops");
        assert_eq!(docs[1]["spec"]["replicas"], 0);
        assert_eq!(
            docs[1]["spec"]["template"]["spec"]["initContainers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(
            docs[2]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(
            docs[2]["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"],
            "Never"
        );
        assert!(docs[2]["spec"].get("replicas").is_none());
        assert_eq!(docs[3]["data"]["server.insecure"], "true");
        assert_eq!(docs[4]["data"]["timeout.reconciliation"], "10s");
        assert_eq!(docs[4]["data"]["kept"], "yes");
    }

    #[test]
    fn an_unknown_manifest_is_refused_with_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("install.yaml");
        std::fs::write(&path, "kind: ConfigMap\n").unwrap();
        let err = read_install_manifest(&path).unwrap_err().to_string();
        assert!(err.contains("install.yaml"), "{err}");
        assert!(
            err.contains("no install manifest this harness knows"),
            "{err}"
        );
        assert!(err.contains("v3.5.3"), "{err}");
    }

    /// The toolchain's manifest is the recorded one, and preparing it leaves
    /// no image to pull on every start.
    #[test]
    #[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
    fn the_toolchains_manifest_is_known() {
        let toolchain = crate::toolchain::Toolchain::locate().unwrap();
        let path = toolchain.argocd_manifests().join("install.yaml");
        let (docs, version) = read_install_manifest(&path).unwrap();
        assert_eq!(version, "v3.5.3");
        let prepared = prepare_manifest(docs, "argocd");
        let pull_always = prepared
            .iter()
            .flat_map(|d| {
                ["containers", "initContainers"]
                    .into_iter()
                    .flat_map(move |l| {
                        d.pointer(&format!("/spec/template/spec/{l}"))
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                    })
            })
            .filter(|c| c["imagePullPolicy"] == "Always")
            .count();
        assert_eq!(pull_always, 0);
        for (_, name) in COMPONENTS {
            assert!(
                prepared
                    .iter()
                    .any(|d| d.pointer("/metadata/name").and_then(Value::as_str) == Some(name)),
                "{name} is not in the manifest"
            );
        }
    }
}
