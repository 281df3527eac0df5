//! `--reuse`: warm environments kept between runs.
//!
//! A run with `--reuse` keeps its clusters and Argo CD when it ends, in a
//! run directory named after a key: a digest of everything that shapes the
//! environment (the harness's version, the provider, the scenario's clusters
//! and Argo CD settings, the nodes of each cluster, its kind config, the
//! toolchain's binaries). The next run with the same key finds that
//! directory, checks that every cluster and Argo CD answer, and uses them;
//! one that fails the check is removed and made afresh, never trusted.
//!
//! At its end a reusing run resets only what a run changes: the
//! ApplicationSets and Applications (their resources go with them, through
//! Argo CD's finalizer), the fixtures, every namespace that was not there
//! when the environment was made, and the Secrets in Argo CD's namespace
//! that were not (cluster and repository registrations). A reset that does
//! not finish in time, or a run that was interrupted, removes the
//! environment instead. The directory carries the run directories' prefix
//! and owner file, so `gitops-e2e clean` removes a kept environment too;
//! one in use by a running harness is never taken by a second one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::live::Live;
use crate::provider::{Provisioned, namespace_names};
use crate::scenario::{Loaded, ProviderKind};
use crate::toolchain::Toolchain;

use super::RUN_DIR_PREFIX;

/// Kept environments in use by a run of this process (a suite runs several).
static IN_USE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A kept environment's directory, taken by one run until dropped.
#[derive(Debug)]
pub struct Claim(PathBuf);

impl Claim {
    /// Takes `dir` for this run, unless another run (of this process, or of
    /// another harness still running) has it.
    pub fn take(dir: &Path) -> Option<Claim> {
        let mut in_use = IN_USE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if in_use.iter().any(|d| d == dir) {
            return None;
        }
        let other_owner = crate::clean::owner_pid(dir).is_some_and(|pid| pid != std::process::id());
        if dir.exists() && other_owner && crate::clean::owner_alive(dir) {
            return None;
        }
        in_use.push(dir.to_path_buf());
        Some(Claim(dir.to_path_buf()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut in_use = IN_USE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        in_use.retain(|d| *d != self.0);
    }
}

/// The file in a kept environment's directory that describes it.
pub const STATE_FILE: &str = "environment.json";

/// How long the reset at the end of a run may take.
const RESET_TIMEOUT: Duration = Duration::from_secs(90);

/// A kept environment, as the run that made it left it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub key: String,
    pub clusters: Vec<Provisioned>,
    /// argocd-server's URL.
    pub argocd_url: String,
    /// The namespaces each cluster had when the environment was made.
    pub namespaces: BTreeMap<String, Vec<String>>,
    /// The Secrets in Argo CD's namespace on the hub at that time.
    pub secrets: Vec<String>,
}

/// The key of the environment `loaded` asks for on `provider`.
pub fn key(loaded: &Loaded, provider: ProviderKind, toolchain: &Toolchain) -> String {
    let mut h = Sha256::new();
    let mut add = |label: &str, value: &[u8]| {
        h.update(label.as_bytes());
        h.update((value.len() as u64).to_le_bytes());
        h.update(value);
    };
    add("version", env!("CARGO_PKG_VERSION").as_bytes());
    add("provider", format!("{provider:?}").as_bytes());
    let spec = &loaded.scenario.spec;
    add(
        "clusters",
        serde_json::to_string(&spec.clusters)
            .unwrap_or_default()
            .as_bytes(),
    );
    add(
        "argocd",
        serde_json::to_string(&spec.argocd)
            .unwrap_or_default()
            .as_bytes(),
    );
    add("nodes", format!("{:?}", loaded.nodes).as_bytes());
    for (cluster, path) in &loaded.kind_configs {
        add(
            cluster,
            crate::input::read_text(path).unwrap_or_default().as_bytes(),
        );
    }
    let mut bins: Vec<(String, String)> = std::fs::read_dir(toolchain.bin_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), target)
        })
        .collect();
    bins.sort();
    add("toolchain", format!("{bins:?}").as_bytes());
    let digest = h.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Where the environment with `key` is kept.
pub fn dir(key: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{RUN_DIR_PREFIX}reuse-{key}"))
}

/// The kept environment in `dir`, if its description is there and is for `key`.
pub fn load(dir: &Path, key: &str) -> Option<State> {
    let text = std::fs::read_to_string(dir.join(STATE_FILE)).ok()?;
    serde_json::from_str::<State>(&text)
        .ok()
        .filter(|s| s.key == key)
}

pub fn save(dir: &Path, state: &State) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)?;
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, dir.join(STATE_FILE))
}

/// Stops what the environment in `dir` runs (found by the run's marks, as
/// `clean` finds it) and removes the directory.
pub fn destroy(dir: &Path) -> std::io::Result<()> {
    crate::clean::remove(&crate::clean::leftover_of(dir), Duration::from_secs(5))
}

/// Whether every kept cluster and Argo CD answer; the first that does not, in words.
pub async fn health(state: &State) -> Result<(), String> {
    for cluster in &state.clusters {
        let answered = match cluster.client().await {
            Ok(client) => tokio::time::timeout(Duration::from_secs(5), client.apiserver_version())
                .await
                .is_ok_and(|r| r.is_ok()),
            Err(_) => false,
        };
        if !answered {
            return Err(format!("cluster `{}` does not answer", cluster.name));
        }
    }
    if !crate::argocd::local::answers(&state.argocd_url).await {
        return Err(format!(
            "Argo CD at {} does not answer /healthz",
            state.argocd_url
        ));
    }
    Ok(())
}

/// What the environment holds right after it was made: each cluster's
/// namespaces, the Secrets in Argo CD's namespace.
pub async fn baseline(
    clusters: &[(String, kube::Client)],
    hub: &kube::Client,
    argocd_namespace: &str,
) -> anyhow::Result<(BTreeMap<String, Vec<String>>, Vec<String>)> {
    let mut namespaces = BTreeMap::new();
    for (name, client) in clusters {
        namespaces.insert(name.clone(), namespace_names(client).await?);
    }
    let secrets = Api::<Secret>::namespaced(hub.clone(), argocd_namespace)
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    Ok((namespaces, secrets))
}

fn argo(client: &kube::Client, namespace: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
    Api::namespaced_with(client.clone(), namespace, &resource)
}

/// Puts the environment back as `state` describes it: what a run changed
/// is deleted, and the deletions are awaited (within [`RESET_TIMEOUT`]).
pub async fn reset(live: &Live, state: &State) -> anyhow::Result<()> {
    tokio::time::timeout(RESET_TIMEOUT, reset_now(live, state))
        .await
        .map_err(|_| anyhow::anyhow!("not done within {RESET_TIMEOUT:?}"))?
}

async fn reset_now(live: &Live, state: &State) -> anyhow::Result<()> {
    let hub_name = live.loaded.hub().name.clone();
    let hub = live
        .clusters
        .iter()
        .find(|c| c.name == hub_name)
        .map(|c| c.client.clone())
        .ok_or_else(|| anyhow::anyhow!("the hub is not connected"))?;
    let ns = live.namespace.as_str();
    // The ApplicationSets take their Applications along; each Application's
    // finalizer has Argo CD delete what it deployed first.
    let appsets = argo(&hub, ns, "ApplicationSet", "applicationsets");
    appsets
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    let apps = argo(&hub, ns, "Application", "applications");
    // Applications no ApplicationSet owns (none are expected) go too.
    apps.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    for cluster in &live.clusters {
        if let Some(docs) = live.loaded.fixture_docs.get(&cluster.name) {
            let problems = crate::argocd::install::delete(&cluster.client, docs, "default").await;
            anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
        }
    }
    // The namespaces a run added, on every cluster at once, while Argo CD
    // deletes what the Applications deployed.
    let namespaces = live.clusters.iter().map(|cluster| async move {
        let kept: &[String] = state
            .namespaces
            .get(&cluster.name)
            .map_or(&[], Vec::as_slice);
        let added = |names: Vec<String>| -> Vec<String> {
            names.into_iter().filter(|n| !kept.contains(n)).collect()
        };
        let api = Api::<Namespace>::all(cluster.client.clone());
        for name in added(namespace_names(&cluster.client).await?) {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        until_empty(&format!("namespaces on `{}`", cluster.name), || async {
            Ok(added(namespace_names(&cluster.client).await?))
        })
        .await
    });
    let applications = until_empty("Applications", || async {
        Ok(apps
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter_map(|a| a.metadata.name)
            .collect())
    });
    let (applications, namespaces) =
        tokio::join!(applications, futures::future::join_all(namespaces));
    applications?;
    for result in namespaces {
        result?;
    }
    let secrets = Api::<Secret>::namespaced(hub.clone(), ns);
    for secret in secrets.list(&ListParams::default()).await?.items {
        let Some(name) = secret.metadata.name else {
            continue;
        };
        if !state.secrets.contains(&name) {
            match secrets.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Polls `list` until it is empty (the caller's timeout bounds it); says
/// what is left when the API fails.
async fn until_empty<F, Fut>(what: &str, list: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<String>>>,
{
    let started = Instant::now();
    loop {
        let left = list().await?;
        if left.is_empty() {
            return Ok(());
        }
        if started.elapsed() > RESET_TIMEOUT {
            anyhow::bail!("{what} still there: {}", left.join(", "));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson() -> Loaded {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lesson/03-constraints.yaml");
        crate::scenario::load(&file).unwrap()
    }

    fn toolchain(dir: &Path) -> Toolchain {
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        Toolchain {
            root: dir.to_path_buf(),
        }
    }

    #[test]
    fn the_key_changes_with_what_shapes_the_environment_only() {
        let tmp = tempfile::tempdir().unwrap();
        let tc = toolchain(tmp.path());
        let loaded = lesson();
        let key = key(&loaded, ProviderKind::Kwok, &tc);
        assert_eq!(key.len(), 16);
        assert_eq!(
            key,
            super::key(&lesson(), ProviderKind::Kwok, &tc),
            "stable"
        );

        // Expectations and timeouts do not shape the environment.
        let mut other = lesson();
        other.timeouts.sync = Duration::from_secs(1);
        other.scenario.spec.expect = Default::default();
        assert_eq!(key, super::key(&other, ProviderKind::Kwok, &tc));

        let mut renamed = lesson();
        renamed.scenario.spec.clusters[1].name = "qa".into();
        assert_ne!(key, super::key(&renamed, ProviderKind::Kwok, &tc));
        assert_ne!(key, super::key(&loaded, ProviderKind::Kind, &tc));
        // Another toolchain binary: another environment.
        std::os::unix::fs::symlink("../store/kwok-v0.9.0", tmp.path().join("bin/kwok")).unwrap();
        assert_ne!(key, super::key(&loaded, ProviderKind::Kwok, &tc));
    }

    #[test]
    fn a_state_is_read_back_only_under_its_own_key() {
        let tmp = tempfile::tempdir().unwrap();
        let state = State {
            key: "0123456789abcdef".into(),
            clusters: Vec::new(),
            argocd_url: "http://127.0.0.1:1".into(),
            namespaces: BTreeMap::from([("dev".into(), vec!["default".into()])]),
            secrets: vec!["argocd-secret".into()],
        };
        save(tmp.path(), &state).unwrap();
        let read = load(tmp.path(), "0123456789abcdef").unwrap();
        assert_eq!(read.namespaces, state.namespaces);
        assert_eq!(read.secrets, state.secrets);
        assert!(load(tmp.path(), "fedcba9876543210").is_none());
        std::fs::write(tmp.path().join(STATE_FILE), "{not json").unwrap();
        assert!(load(tmp.path(), "0123456789abcdef").is_none());
    }

    #[test]
    fn a_kept_environment_is_claimed_by_one_run_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("env");
        let first = Claim::take(&dir).unwrap();
        assert!(Claim::take(&dir).is_none(), "taken by the first");
        drop(first);
        let again = Claim::take(&dir);
        assert!(again.is_some(), "free once the first is done");
        // Another harness that is still running owns it: not taken.
        drop(again);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(crate::clean::OWNER_FILE), "1 0\n").unwrap();
        let pid1_alive = crate::clean::owner_alive(&dir);
        assert_eq!(Claim::take(&dir).is_none(), pid1_alive);
    }

    #[test]
    fn kept_environments_live_among_the_run_directories() {
        let d = dir("0123456789abcdef");
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name, format!("{RUN_DIR_PREFIX}reuse-0123456789abcdef"));
        assert_eq!(d.parent(), Some(std::env::temp_dir().as_path()));
    }
}
