//! The Argo CD already installed on the hub (`argocd.install: existing`, for
//! the `existing` provider): used as it is. Nothing is installed or
//! reconfigured; its version is read (`GET /api/version`) and reported.
//!
//! Its API is reached through a port-forward to an argocd-server pod. That
//! server normally serves HTTPS only, with a certificate it made itself: the
//! forward speaks TLS to it (see [`crate::forward::tunnelled_tls`] for why
//! the certificate is not checked), unless it answers in plain HTTP
//! (`server.insecure`). The token is `ARGOCD_AUTH_TOKEN` when set, else a
//! session of `admin` with the password of `argocd-initial-admin-secret`.
//!
//! What the run creates, and only that, is removed at the end ([`stop`]):
//! - before anything is created ([`register`]), it records each cluster's
//!   namespaces, and refuses to go on when an object it would create exists
//!   already (the ApplicationSet, an Application it generates, a fixture);
//! - a cluster Secret is created only for a server Argo CD has none for; an
//!   existing one is used and left as it is;
//! - at the end the ApplicationSet goes (its Applications orphaned, then
//!   deleted without Argo CD's cascading finalizer, so that Argo CD deletes
//!   nothing), then what the Applications deployed that was created during
//!   the run (its `creationTimestamp` is not older than the ApplicationSet),
//!   the fixtures, the namespaces the run created (of those it names), and
//!   the cluster Secrets it added.
//!
//! [`stop`]: ArgoCdRuntime::stop
//! [`register`]: ArgoCdRuntime::register

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{Scope, pinned_kind};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::api::{ApiAccess, ArgoApi};
use super::clusters::{self, Registration};
use super::proxy::ConnectProxy;
use super::{ArgoCdRuntime, DiagnosticFile};
use crate::appset::IN_CLUSTER_SERVER;
use crate::forward::{self, Forward, Wire};
use crate::provider::{Provisioned, namespace_names};

/// argocd-server's pods and the port that serves its API (HTTPS, or HTTP
/// with `server.insecure`, and gRPC on the same port).
const SERVER_SELECTOR: &str = "app.kubernetes.io/name=argocd-server";
const SERVER_PORT: u16 = 8080;

/// The label that makes a Secret a cluster registration.
const CLUSTER_SECRET_LABEL: &str = "argocd.argoproj.io/secret-type";

/// The finalizer with which Argo CD deletes what an Application deployed.
const CASCADE_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// How long the removal of what the run created may take in all.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(300);

/// What a run creates on the clusters, by name, known from the plan before
/// it starts.
#[derive(Debug, Clone, Default)]
pub struct RunObjects {
    /// The ApplicationSet under test.
    pub appset: String,
    /// The Applications it generates (the plan's).
    pub applications: Vec<String>,
    /// The namespaces the Applications deploy to and the fixtures name:
    /// the only ones the run may remove (when it created them).
    pub namespaces: BTreeSet<String>,
    /// The fixture manifests of each scenario cluster.
    pub fixtures: BTreeMap<String, Vec<Value>>,
}

impl RunObjects {
    /// From the plan's Applications, the ApplicationSet's name and the
    /// scenario's fixtures.
    pub fn new(
        appset: &str,
        applications: &[crate::appset::GeneratedApp],
        fixtures: &BTreeMap<String, Vec<Value>>,
    ) -> Self {
        let mut namespaces: BTreeSet<String> = applications
            .iter()
            .filter_map(|a| {
                a.spec()
                    .pointer("/destination/namespace")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            })
            .collect();
        for doc in fixtures.values().flatten() {
            let name = doc.pointer("/metadata/name").and_then(Value::as_str);
            if doc.get("kind").and_then(Value::as_str) == Some("Namespace") {
                namespaces.extend(name.map(str::to_string));
            } else if let Some(ns) = doc.pointer("/metadata/namespace").and_then(Value::as_str) {
                namespaces.insert(ns.to_string());
            }
        }
        RunObjects {
            appset: appset.to_string(),
            applications: applications.iter().map(|a| a.name.clone()).collect(),
            namespaces,
            fixtures: fixtures.clone(),
        }
    }
}

/// A scenario cluster as the run found it.
struct Found {
    name: String,
    /// The URL the ApplicationSet uses for it.
    server: String,
    client: kube::Client,
    namespaces: BTreeSet<String>,
}

/// What was there before the run created anything, and what it added.
struct Before {
    clusters: Vec<Found>,
    /// The cluster Secrets this run created in Argo CD's namespace.
    secrets: Vec<String>,
}

/// The Argo CD already on the hub.
pub struct Existing {
    run: RunObjects,
    run_id: String,
    forward: Option<Forward>,
    proxy: Option<ConnectProxy>,
    /// Where the hub's pods reach this machine, if they do (a kind hub).
    host_address: Option<IpAddr>,
    hub: Option<(kube::Client, String)>,
    before: Option<Before>,
    notes: Vec<String>,
}

impl Existing {
    pub fn new(run: RunObjects, run_id: &str) -> Self {
        Existing {
            run,
            run_id: run_id.to_string(),
            forward: None,
            proxy: None,
            host_address: None,
            hub: None,
            before: None,
            notes: Vec::new(),
        }
    }

    /// The name of the cluster Secret this run adds for `cluster`: its own,
    /// so that it never takes the name of a Secret it did not create.
    fn secret_name(&self, cluster: &str) -> String {
        format!("gitops-e2e-{}-{cluster}", self.run_id)
    }

    /// Refuses before anything is created when an object the run would
    /// create is there already: it would be overwritten, then deleted.
    async fn refuse_overwrites(
        &self,
        hub: &kube::Client,
        namespace: &str,
        clusters: &[Found],
    ) -> anyhow::Result<()> {
        let appsets = argo(hub, namespace, "ApplicationSet", "applicationsets");
        let apps = argo(hub, namespace, "Application", "applications");
        let why = "with `argocd.install: existing` the run creates only what it can remove \
                   afterwards, and would overwrite it";
        if appsets.get_opt(&self.run.appset).await?.is_some() {
            anyhow::bail!(
                "ApplicationSet `{}` already exists in namespace `{namespace}` of the hub: {why}; \
                 delete it, or test the ApplicationSet under another name",
                self.run.appset
            );
        }
        for app in &self.run.applications {
            if apps.get_opt(app).await?.is_some() {
                anyhow::bail!(
                    "Application `{app}` already exists in namespace `{namespace}` of the hub: \
                     {why}; delete it, or have the ApplicationSet generate other names"
                );
            }
        }
        for found in clusters {
            for doc in self.run.fixtures.get(&found.name).into_iter().flatten() {
                let (Some(kind), Some(name)) = (
                    doc.get("kind").and_then(Value::as_str),
                    doc.pointer("/metadata/name").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let api = super::install::api_for(
                    &found.client,
                    doc,
                    doc.get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("v1"),
                    kind,
                    "default",
                )
                .await
                .with_context(|| format!("cannot look up fixture {kind} `{name}`"))?;
                if api.get_opt(name).await?.is_some() {
                    anyhow::bail!(
                        "fixture {kind} `{name}` already exists on cluster `{}`: {why}; remove it \
                         from the scenario's fixtures (what the cluster has is used as it is)",
                        found.name
                    );
                }
            }
        }
        Ok(())
    }

    /// Removes what the run created; returns what it could not remove, or
    /// left on purpose, in words.
    async fn remove_run_objects(
        &self,
        hub: &kube::Client,
        namespace: &str,
        before: &Before,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        let appsets = argo(hub, namespace, "ApplicationSet", "applicationsets");
        let apps = argo(hub, namespace, "Application", "applications");
        // The ApplicationSet, and what it generated as it is now.
        let mut marker = None;
        let mut generated: Vec<DynamicObject> = Vec::new();
        match appsets.get_opt(&self.run.appset).await {
            Ok(Some(appset)) => {
                marker = timestamp(&appset);
                let uid = appset.metadata.uid.clone().unwrap_or_default();
                match apps.list(&ListParams::default()).await {
                    Ok(list) => {
                        generated = list
                            .items
                            .into_iter()
                            .filter(|a| {
                                a.metadata
                                    .owner_references
                                    .iter()
                                    .flatten()
                                    .any(|o| o.uid == uid)
                            })
                            .collect();
                    }
                    Err(e) => notes.push(format!("cannot list the Applications: {e}")),
                }
                // Orphaned: the Applications are deleted below, without
                // letting Argo CD cascade to what they deployed.
                let orphan = DeleteParams::orphan();
                if let Err(e) = gone_or(appsets.delete(&self.run.appset, &orphan).await) {
                    notes.push(format!(
                        "cannot delete ApplicationSet `{}`: {e}",
                        self.run.appset
                    ));
                }
                let name = self.run.appset.clone();
                if let Err(e) = until_gone("the ApplicationSet", || async {
                    Ok(appsets.get_opt(&name).await?.into_iter().count())
                })
                .await
                {
                    notes.push(e.to_string());
                }
            }
            Ok(None) => {}
            Err(e) => notes.push(format!(
                "cannot read ApplicationSet `{}`: {e}",
                self.run.appset
            )),
        }
        let names: Vec<String> = generated
            .iter()
            .filter_map(|a| a.metadata.name.clone())
            .collect();
        for app in &generated {
            let Some(name) = app.metadata.name.as_deref() else {
                continue;
            };
            let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
            let kept: Vec<&String> = finalizers
                .iter()
                .filter(|f| !f.starts_with(CASCADE_FINALIZER))
                .collect();
            if kept.len() != finalizers.len() {
                let patch = json!({"metadata": {"finalizers": kept}});
                if let Err(e) = apps
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    notes.push(format!(
                        "cannot remove Argo CD's cascading finalizer from Application `{name}`: {e}"
                    ));
                    continue;
                }
            }
            if let Err(e) = gone_or(apps.delete(name, &DeleteParams::default()).await) {
                notes.push(format!("cannot delete Application `{name}`: {e}"));
            }
        }
        if let Err(e) = until_gone("the Applications", || async {
            let mut left = 0;
            for name in &names {
                left += apps.get_opt(name).await?.into_iter().count();
            }
            Ok(left)
        })
        .await
        {
            notes.push(e.to_string());
        }
        // The namespaces this run created, per cluster: whatever is in them
        // goes with them.
        let mut created: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for found in &before.clusters {
            match namespace_names::<BTreeSet<String>>(&found.client).await {
                Ok(now) => {
                    created.insert(
                        &found.name,
                        now.difference(&found.namespaces)
                            .filter(|n| self.run.namespaces.contains(*n))
                            .cloned()
                            .collect(),
                    );
                }
                Err(e) => notes.push(format!(
                    "cannot list the namespaces of `{}`: {e}",
                    found.name
                )),
            }
        }
        let in_created = |cluster: &str, ns: Option<&str>| {
            ns.is_some_and(|ns| created.get(cluster).is_some_and(|c| c.contains(ns)))
        };
        // What the Applications deployed outside those namespaces.
        for app in &generated {
            let Some(found) = destination(&before.clusters, app) else {
                continue;
            };
            let resources = app
                .data
                .pointer("/status/resources")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for r in resources {
                let ns = r.get("namespace").and_then(Value::as_str);
                if in_created(&found.name, ns.filter(|n| !n.is_empty())) {
                    continue;
                }
                if let Some(note) = remove_deployed(found, &r, marker.as_deref()).await {
                    notes.push(note);
                }
            }
        }
        // The fixtures outside those namespaces (none existed before).
        for found in &before.clusters {
            let docs: Vec<Value> = self
                .run
                .fixtures
                .get(&found.name)
                .into_iter()
                .flatten()
                .filter(|d| {
                    let ns = d
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .or(Some("default"));
                    d.get("kind").and_then(Value::as_str) != Some("Namespace")
                        && !in_created(&found.name, ns)
                })
                .cloned()
                .collect();
            for problem in super::install::delete(&found.client, &docs, "default").await {
                notes.push(format!("on `{}`: {problem}", found.name));
            }
        }
        // The namespaces, on every cluster at once.
        let deletions = before.clusters.iter().map(|found| {
            let names: Vec<String> = created
                .get(found.name.as_str())
                .map(|c| c.iter().cloned().collect())
                .unwrap_or_default();
            async move {
                let api = Api::<Namespace>::all(found.client.clone());
                let mut problems = Vec::new();
                for name in &names {
                    if let Err(e) = gone_or(api.delete(name, &DeleteParams::default()).await) {
                        problems.push(format!(
                            "cannot delete namespace `{name}` on `{}`: {e}",
                            found.name
                        ));
                    }
                }
                let what = format!("namespaces on `{}`", found.name);
                if let Err(e) = until_gone(&what, || async {
                    let mut left = 0;
                    for name in &names {
                        left += api.get_opt(name).await?.into_iter().count();
                    }
                    Ok(left)
                })
                .await
                {
                    problems.push(e.to_string());
                }
                problems
            }
        });
        notes.extend(
            futures::future::join_all(deletions)
                .await
                .into_iter()
                .flatten(),
        );
        // The cluster Secrets the run added.
        let secrets = Api::<Secret>::namespaced(hub.clone(), namespace);
        for name in &before.secrets {
            if let Err(e) = gone_or(secrets.delete(name, &DeleteParams::default()).await) {
                notes.push(format!("cannot delete cluster Secret `{name}`: {e}"));
            }
        }
        notes
    }
}

/// An Argo CD kind in `namespace`.
fn argo(client: &kube::Client, namespace: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
    Api::namespaced_with(client.clone(), namespace, &resource)
}

/// An object's `creationTimestamp` as the API server wrote it (RFC 3339 in
/// UTC, whole seconds: such strings sort as the times do).
fn timestamp(object: &DynamicObject) -> Option<String> {
    let t = object.metadata.creation_timestamp.as_ref()?;
    serde_json::to_value(t).ok()?.as_str().map(str::to_string)
}

/// A deletion whose object is already gone succeeded.
fn gone_or<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Polls `left` until it counts nothing (within [`CLEANUP_TIMEOUT`]).
async fn until_gone<F, Fut>(what: &str, left: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let started = Instant::now();
    loop {
        let n = left().await?;
        if n == 0 {
            return Ok(());
        }
        if started.elapsed() > CLEANUP_TIMEOUT {
            anyhow::bail!("{what}: {n} still there after {CLEANUP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The scenario cluster an Application deploys to.
fn destination<'a>(clusters: &'a [Found], app: &DynamicObject) -> Option<&'a Found> {
    let server = app
        .data
        .pointer("/spec/destination/server")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = app
        .data
        .pointer("/spec/destination/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    clusters.iter().find(|c| {
        (!server.is_empty() && same_server(&c.server, server))
            || (!name.is_empty() && c.name == name)
    })
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Deletes one resource an Application deployed (an entry of its
/// `status.resources`) when it was created during the run; says why when
/// it is left.
async fn remove_deployed(found: &Found, r: &Value, marker: Option<&str>) -> Option<String> {
    let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
    let (group, version, kind, ns, name) = (
        field("group"),
        field("version"),
        field("kind"),
        field("namespace"),
        field("name"),
    );
    let what = if ns.is_empty() {
        format!("{kind} `{name}` on `{}`", found.name)
    } else {
        format!("{kind} `{ns}/{name}` on `{}`", found.name)
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = match pinned_kind(&found.client, &gvk).await {
        Ok(found) => found,
        Err(e) => return Some(format!("cannot remove {what}: {e}")),
    };
    let api: Api<DynamicObject> = if caps.scope == Scope::Namespaced {
        Api::namespaced_with(found.client.clone(), ns, &resource)
    } else {
        Api::all_with(found.client.clone(), &resource)
    };
    let object = match api.get_opt(name).await {
        Ok(Some(object)) => object,
        Ok(None) => return None,
        Err(e) => return Some(format!("cannot read {what}: {e}")),
    };
    let created = timestamp(&object);
    match (marker, created.as_deref()) {
        (Some(marker), Some(created)) if created >= marker => {
            gone_or(api.delete(name, &DeleteParams::default()).await)
                .err()
                .map(|e| format!("cannot delete {what}: {e}"))
        }
        _ => Some(format!(
            "left {what}: it was there before the run (the Application took it over)"
        )),
    }
}

/// The password Argo CD generated at install, if its Secret is still there.
async fn initial_admin_password(
    client: &kube::Client,
    namespace: &str,
) -> anyhow::Result<SecretString> {
    let name = "argocd-initial-admin-secret";
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await?
        .with_context(|| {
            format!(
                "no Secret `{name}` in namespace `{namespace}` (deleted after the first login, as \
                 Argo CD advises): set ARGOCD_AUTH_TOKEN to an API token of an account that may \
                 create ApplicationSets"
            )
        })?;
    let bytes = secret
        .data
        .and_then(|d| d.get("password").cloned())
        .with_context(|| format!("`{name}` has no password"))?;
    let password = String::from_utf8(bytes.0).with_context(|| format!("`{name}`: not UTF-8"))?;
    Ok(SecretString::from(password))
}

/// The cluster Secrets Argo CD has, by server URL.
async fn cluster_secrets(
    hub: &kube::Client,
    namespace: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let list = Api::<Secret>::namespaced(hub.clone(), namespace)
        .list(&ListParams::default().labels(&format!("{CLUSTER_SECRET_LABEL}=cluster")))
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|s| {
            let server = s.data.as_ref()?.get("server")?.0.clone();
            let server = String::from_utf8(server).ok()?;
            Some((server.trim_end_matches('/').to_string(), s.metadata.name?))
        })
        .collect())
}

/// How the hub's Argo CD reaches a cluster it has no Secret for.
#[derive(Debug, PartialEq)]
enum Route {
    /// The hub itself, which Argo CD knows without a Secret.
    InCluster,
    /// At the URL the ApplicationSet uses, which is the cluster's own.
    Direct,
    /// The ApplicationSet's URL stands for another address: through the
    /// harness's CONNECT proxy to this one.
    Proxied(SocketAddr),
}

fn route(reg: &Registration<'_>) -> Result<Route, String> {
    if reg.server == IN_CLUSTER_SERVER {
        return Ok(Route::InCluster);
    }
    if same_server(&reg.server, &reg.cluster.server) {
        return Ok(Route::Direct);
    }
    clusters::host_port(&reg.cluster.server)
        .and_then(|hp| hp.parse::<SocketAddr>().ok())
        .map(Route::Proxied)
        .ok_or_else(|| {
            format!(
                "cluster `{}`: the ApplicationSet's URL `{}` is not its context's server `{}`, \
                 which is no address on this machine the harness could route it to",
                reg.cluster.name, reg.server, reg.cluster.server
            )
        })
}

/// The Secret for a cluster Argo CD reaches at its own URL: no proxy, and
/// the certificate checked against the server's own name.
fn direct(mut secret: Value) -> Value {
    if let Some(config) = secret
        .pointer("/stringData/config")
        .and_then(Value::as_str)
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
    {
        let mut config = config;
        if let Some(map) = config.as_object_mut() {
            map.remove("proxyUrl");
        }
        if let Some(tls) = config
            .get_mut("tlsClientConfig")
            .and_then(Value::as_object_mut)
        {
            tls.remove("serverName");
        }
        secret["stringData"]["config"] = json!(config.to_string());
    }
    secret
}

#[async_trait::async_trait]
impl ArgoCdRuntime for Existing {
    fn name(&self) -> &'static str {
        "existing"
    }

    async fn start(
        &mut self,
        hub: &Provisioned,
        namespace: &str,
        _dir: &Path,
        timeout: Duration,
    ) -> anyhow::Result<ApiAccess> {
        self.host_address = hub.host_address;
        let client = hub.client().await?;
        self.hub = Some((client.clone(), namespace.to_string()));
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        crate::pods::ready_pod(&pods, SERVER_SELECTOR)
            .await
            .with_context(|| {
                format!(
                    "`argocd.install: existing` uses the Argo CD in namespace `{namespace}` of \
                     context `{}`, and it has no Ready argocd-server pod",
                    hub.context
                )
            })?;
        let tls = forward::tunnelled_tls().context("cannot make a TLS configuration")?;
        let speaks_tls = forward::speaks_tls(
            client.clone(),
            namespace,
            SERVER_SELECTOR,
            SERVER_PORT,
            tls.clone(),
        )
        .await
        .context("cannot open a port-forward to argocd-server")?;
        let wire = if speaks_tls {
            Wire::Tls(tls)
        } else {
            Wire::Plain
        };
        let forward = Forward::to_pods_over(
            client.clone(),
            namespace,
            SERVER_SELECTOR,
            SERVER_PORT,
            wire,
        )
        .await
        .context("cannot listen for the port-forward to argocd-server")?;
        let url = forward.url();
        self.forward = Some(forward);
        tokio::time::timeout(timeout, super::incluster::wait_healthz(&url))
            .await
            .map_err(|_| anyhow::anyhow!("argocd-server /healthz did not answer in time"))??;
        let token = match std::env::var("ARGOCD_AUTH_TOKEN") {
            Ok(token) if !token.trim().is_empty() => SecretString::from(token.trim().to_string()),
            _ => {
                let password = initial_admin_password(&client, namespace).await?;
                ArgoApi::new(&url)
                    .login("admin", &password)
                    .await
                    .context("cannot log in to Argo CD as admin")?
            }
        };
        let access = ApiAccess {
            url,
            token: Some(token),
        };
        let version = ArgoApi::with_access(&access)
            .version()
            .await
            .context("cannot read Argo CD's version")?;
        self.notes.push(format!(
            "using the Argo CD already installed on cluster `{}` (context `{}`, namespace \
             `{namespace}`): version {version}, its API reached through a port-forward {}; nothing \
             is installed, and what this run creates is removed at its end",
            hub.name,
            hub.context,
            if speaks_tls {
                "over TLS"
            } else {
                "in plain HTTP (server.insecure)"
            }
        ));
        Ok(access)
    }

    async fn register(
        &mut self,
        hub: &kube::Client,
        regs: &[Registration<'_>],
        namespace: &str,
    ) -> anyhow::Result<()> {
        let mut clusters = Vec::new();
        for r in regs {
            let client = r.cluster.client().await?;
            let namespaces = namespace_names(&client)
                .await
                .with_context(|| format!("cannot list the namespaces of `{}`", r.cluster.name))?;
            clusters.push(Found {
                name: r.cluster.name.clone(),
                server: r.server.clone(),
                client,
                namespaces,
            });
        }
        self.refuse_overwrites(hub, namespace, &clusters).await?;
        self.before = Some(Before {
            clusters,
            secrets: Vec::new(),
        });
        let known = cluster_secrets(hub, namespace)
            .await
            .context("cannot list Argo CD's cluster Secrets")?;
        let mut routes = BTreeMap::new();
        let mut secrets = Vec::new();
        for r in regs {
            if let Some(name) = known.get(r.server.trim_end_matches('/')) {
                self.notes.push(format!(
                    "cluster `{}`: Argo CD already has a cluster Secret for {} (`{name}`); it is \
                     used as it is",
                    r.cluster.name, r.server
                ));
                continue;
            }
            let mut secret = match route(r).map_err(anyhow::Error::msg)? {
                // Labels and annotations for a clusters generator need a
                // Secret; without them Argo CD knows its own cluster.
                Route::InCluster if r.labels.is_empty() && r.annotations.is_empty() => continue,
                Route::InCluster => clusters::secret(r, namespace, ""),
                Route::Direct => direct(clusters::secret(r, namespace, "")),
                Route::Proxied(to) => {
                    let from = clusters::host_port(&r.server)
                        .with_context(|| format!("server `{}` is not an https URL", r.server))?;
                    routes.insert(from, to);
                    // The URL is filled in once the proxy listens.
                    clusters::secret(r, namespace, "")
                }
            };
            secret["metadata"]["name"] = json!(self.secret_name(&r.cluster.name));
            secrets.push(secret);
        }
        if !routes.is_empty() {
            let ip = self.host_address.context(
                "the ApplicationSet names clusters by URLs that are not their own, and the hub's \
                 pods cannot reach this machine to be routed (only a kind hub on this machine \
                 can): give those clusters `server:` URLs Argo CD reaches, or register them in \
                 Argo CD yourself (an existing cluster Secret for the URL is used as it is)",
            )?;
            let proxy = ConnectProxy::start_on(ip, routes).await?;
            for s in &mut secrets {
                let Some(config) = s
                    .pointer("/stringData/config")
                    .and_then(Value::as_str)
                    .and_then(|c| serde_json::from_str::<Value>(c).ok())
                else {
                    continue;
                };
                if config.get("proxyUrl").is_some() {
                    let mut config = config;
                    config["proxyUrl"] = json!(proxy.url());
                    s["stringData"]["config"] = json!(config.to_string());
                }
            }
            self.proxy = Some(proxy);
        }
        let api = Api::<Secret>::namespaced(hub.clone(), namespace);
        for s in secrets {
            let secret: Secret = serde_json::from_value(s).context("a cluster Secret")?;
            let name = secret.metadata.name.clone().unwrap_or_default();
            // Created, never applied: a Secret of that name is not this
            // run's, and is not overwritten.
            api.create(&PostParams::default(), &secret)
                .await
                .with_context(|| format!("cannot create cluster Secret `{name}`"))?;
            if let Some(before) = &mut self.before {
                before.secrets.push(name);
            }
        }
        Ok(())
    }

    async fn diagnostics(&self) -> Vec<DiagnosticFile> {
        let mut files = match &self.hub {
            Some((client, namespace)) => super::incluster::pod_logs(client, namespace).await,
            None => Vec::new(),
        };
        files.extend(self.proxy.as_ref().and_then(ConnectProxy::refused_file));
        files
    }

    async fn stop(&mut self) {
        if let (Some((hub, namespace)), Some(before)) = (self.hub.clone(), self.before.take()) {
            match tokio::time::timeout(
                CLEANUP_TIMEOUT,
                self.remove_run_objects(&hub, &namespace, &before),
            )
            .await
            {
                Ok(notes) => self.notes.extend(notes),
                Err(_) => self.notes.push(format!(
                    "not everything this run created in the existing clusters was removed \
                     within {CLEANUP_TIMEOUT:?}"
                )),
            }
        }
        self.forward = None;
        self.proxy = None;
    }

    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provisioned(name: &str, server: &str) -> Provisioned {
        Provisioned {
            context: format!("kind-{name}"),
            ..crate::argocd::clusters::tests::provisioned(name, server)
        }
    }

    #[test]
    fn each_cluster_is_reached_the_way_its_url_needs() {
        let empty = BTreeMap::new();
        let dev = provisioned("dev", "https://127.0.0.1:30001");
        let staging = provisioned("staging", "https://127.0.0.1:30002");
        let real = provisioned("real", "https://api.staging.example.com");
        let reg = |server: &str, cluster| Registration {
            server: server.into(),
            labels: &empty,
            annotations: &empty,
            cluster,
        };
        assert_eq!(route(&reg(IN_CLUSTER_SERVER, &dev)), Ok(Route::InCluster));
        assert_eq!(
            route(&reg("https://staging-eks.example.com", &staging)),
            Ok(Route::Proxied("127.0.0.1:30002".parse().unwrap()))
        );
        assert_eq!(
            route(&reg("https://api.staging.example.com/", &real)),
            Ok(Route::Direct)
        );
        let err = route(&reg("https://prod-eks.example.com", &real)).unwrap_err();
        assert!(err.contains("api.staging.example.com"), "{err}");
    }

    #[test]
    fn a_direct_secret_has_no_proxy_and_checks_the_servers_own_name() {
        let empty = BTreeMap::new();
        let real = provisioned("real", "https://api.staging.example.com");
        let reg = Registration {
            server: "https://api.staging.example.com".into(),
            labels: &empty,
            annotations: &empty,
            cluster: &real,
        };
        let s = direct(clusters::secret(&reg, "argocd", ""));
        let config: Value =
            serde_json::from_str(s["stringData"]["config"].as_str().unwrap()).unwrap();
        assert!(config.get("proxyUrl").is_none(), "{config}");
        assert!(config["tlsClientConfig"].get("serverName").is_none());
        assert_eq!(config["tlsClientConfig"]["caData"], "Q0E=");
    }

    #[test]
    fn the_run_may_remove_only_the_namespaces_it_names() {
        let fixtures = BTreeMap::from([(
            "prod".to_string(),
            vec![
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "agents"}}),
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "ecr", "namespace": "pull"}}),
            ],
        )]);
        let run = RunObjects::new("set", &[], &fixtures);
        assert_eq!(
            run.namespaces,
            BTreeSet::from(["agents".to_string(), "pull".to_string()])
        );
        assert_eq!(run.appset, "set");
    }

    #[test]
    fn timestamps_compare_as_times() {
        let object = |t: &str| -> DynamicObject {
            serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "x", "creationTimestamp": t}}))
            .unwrap()
        };
        let early = timestamp(&object("2026-12-04T09:59:59Z")).unwrap();
        let late = timestamp(&object("2026-12-04T10:00:00Z")).unwrap();
        assert!(late > early, "{early} {late}");
        assert_eq!(late, "2026-12-04T10:00:00Z");
    }
}
