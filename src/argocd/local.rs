//! Argo CD's real components as local processes, the way its own developers
//! run it: one multi-call `argocd` binary (the component chosen by
//! `ARGOCD_BINARY_NAME`), `ARGOCD_FAKE_IN_CLUSTER=true` so that
//! `https://kubernetes.default.svc` resolves through `$KUBECONFIG` (the hub),
//! and a local redis-server.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::config::Kubeconfig;
use kube::runtime::wait::await_condition;
use serde_json::json;

use super::clusters::{self, Registration};
use super::install::{self, ApplyError, Mode};
use super::proxy::ConnectProxy;
use super::{ArgoCdRuntime, DiagnosticFile};
use crate::process::{Cmd, Managed, ProcessError, search_path};
use crate::provider::Provisioned;
use crate::toolchain::Toolchain;

/// The CRDs that must be Established before anything else is applied.
const CRDS: &[&str] = &[
    "applications.argoproj.io",
    "applicationsets.argoproj.io",
    "appprojects.argoproj.io",
];

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot install Argo CD's CRDs and config objects on the hub")]
    Install(#[source] ApplyError),
    #[error("cannot talk to the hub cluster")]
    Hub(#[source] anyhow::Error),
    #[error("cannot start `{component}`")]
    Start {
        component: String,
        #[source]
        source: ProcessError,
    },
    #[error("`{component}` exited during start-up ({status}); last log lines:\n{log}")]
    Exited {
        component: String,
        status: String,
        log: String,
    },
    #[error("Argo CD was not ready after {0:?} (argocd-server /healthz never answered)")]
    NotReady(Duration),
    #[error("cannot prepare Argo CD's working directory `{}`", path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running local Argo CD. Stopping (or dropping) it stops every component.
pub struct LocalArgoCd {
    components: Vec<Managed>,
    /// argocd-server, plain HTTP on loopback, authentication disabled.
    pub server_url: String,
    pub namespace: String,
}

pub struct Options<'a> {
    pub toolchain: &'a Toolchain,
    pub hub: &'a Provisioned,
    pub dir: &'a Path,
    pub namespace: &'a str,
    pub timeout: Duration,
}

use crate::process::free_port;

/// Argo CD as local processes, with a CONNECT proxy on loopback that takes
/// each production cluster URL to the local API server playing it.
pub struct LocalProcesses {
    toolchain: Toolchain,
    running: Option<LocalArgoCd>,
    proxy: Option<ConnectProxy>,
    /// A kept Argo CD to use instead of starting one (`--reuse`): its
    /// server's URL, and its working directory once `start` named it.
    kept: Option<(String, Option<PathBuf>)>,
}

impl LocalProcesses {
    pub fn new(toolchain: Toolchain) -> Self {
        Self {
            toolchain,
            running: None,
            proxy: None,
            kept: None,
        }
    }

    /// An Argo CD an earlier run kept, its argocd-server at `server_url`.
    pub fn kept(toolchain: Toolchain, server_url: String) -> Self {
        Self {
            kept: Some((server_url, None)),
            ..Self::new(toolchain)
        }
    }
}

/// Whether argocd-server at `url` answers its /healthz within 5 s.
pub async fn answers(url: &str) -> bool {
    reqwest::Client::new()
        .get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[async_trait::async_trait]
impl ArgoCdRuntime for LocalProcesses {
    fn name(&self) -> &'static str {
        "local processes"
    }

    async fn start(
        &mut self,
        hub: &Provisioned,
        namespace: &str,
        dir: &Path,
        timeout: Duration,
    ) -> anyhow::Result<super::api::ApiAccess> {
        if let Some((url, kept_dir)) = &mut self.kept {
            *kept_dir = Some(dir.to_path_buf());
            anyhow::ensure!(
                answers(url).await,
                "the kept Argo CD at {url} does not answer /healthz"
            );
            return Ok(super::api::ApiAccess::open(url.clone()));
        }
        let argocd = start(Options {
            toolchain: &self.toolchain,
            hub,
            dir,
            namespace,
            timeout,
        })
        .await?;
        let access = super::api::ApiAccess::open(argocd.server_url.clone());
        self.running = Some(argocd);
        Ok(access)
    }

    async fn register(
        &mut self,
        hub: &kube::Client,
        regs: &[Registration<'_>],
        namespace: &str,
    ) -> anyhow::Result<()> {
        let routes = clusters::proxy_routes(regs).map_err(anyhow::Error::msg)?;
        let proxy = ConnectProxy::start(routes).await?;
        let secrets: Vec<serde_json::Value> = regs
            .iter()
            .map(|r| clusters::secret(r, namespace, &proxy.url()))
            .collect();
        self.proxy = Some(proxy);
        install::apply(hub, "cluster Secrets", &secrets, namespace, Mode::default()).await?;
        Ok(())
    }

    async fn diagnostics(&self) -> Vec<DiagnosticFile> {
        let mut files: Vec<DiagnosticFile> = self
            .running
            .iter()
            .flat_map(LocalArgoCd::logs)
            .map(|(name, from)| DiagnosticFile::Copy {
                name: format!("{name}.log"),
                from,
            })
            .collect();
        if let Some((_, Some(dir))) = &self.kept {
            let mut logs: Vec<PathBuf> = std::fs::read_dir(dir.join("logs"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .collect();
            logs.sort();
            files.extend(logs.into_iter().map(|from| {
                DiagnosticFile::Copy {
                    name: from
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    from,
                }
            }));
        }
        files.extend(self.proxy.as_ref().and_then(ConnectProxy::refused_file));
        files
    }

    async fn stop(&mut self) {
        if let Some(mut argocd) = self.running.take() {
            argocd.stop().await;
        }
        self.proxy = None;
    }

    async fn detach(&mut self) -> Option<String> {
        self.proxy = None;
        if let Some(argocd) = self.running.take() {
            let url = argocd.server_url.clone();
            for component in argocd.components {
                component.detach();
            }
            return Some(url);
        }
        self.kept.as_ref().map(|(url, _)| url.clone())
    }
}

/// Installs the CRDs and config objects on the hub, then starts redis and
/// the four components and waits until argocd-server answers.
pub async fn start(opts: Options<'_>) -> Result<LocalArgoCd, LocalError> {
    let client = opts
        .hub
        .client()
        .await
        .map_err(|e| LocalError::Hub(e.into()))?;
    install_objects(&client, opts.toolchain, opts.namespace).await?;

    let dirs = Dirs::create(opts.dir)?;
    let kubeconfig = namespaced_kubeconfig(opts.hub, opts.namespace, &dirs.root)?;
    let port = |what: &str| {
        free_port().map_err(|source| LocalError::Dir {
            path: PathBuf::from(format!("<port for {what}>")),
            source,
        })
    };
    let redis_port = port("redis")?;
    let repo_port = port("repo-server")?;
    let server_port = port("server")?;

    let mut local = LocalArgoCd {
        components: Vec::new(),
        server_url: format!("http://127.0.0.1:{server_port}"),
        namespace: opts.namespace.to_string(),
    };
    let redis = Cmd::new("redis-server").args([
        "--port",
        &redis_port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        // Keeps its command line and environment as started, so that
        // `gitops-e2e clean` finds it by the run's mark.
        "--set-proc-title",
        "no",
    ]);
    local.spawn("redis-server", redis, &dirs)?;

    let redis_addr = format!("127.0.0.1:{redis_port}");
    let repo_addr = format!("127.0.0.1:{repo_port}");
    let components: Vec<(&str, Vec<String>)> = vec![
        (
            "argocd-repo-server",
            vec![
                "--port".into(),
                repo_port.to_string(),
                "--metrics-port".into(),
                port("repo-server metrics")?.to_string(),
                "--redis".into(),
                redis_addr.clone(),
            ],
        ),
        (
            "argocd-application-controller",
            vec![
                "--redis".into(),
                redis_addr.clone(),
                "--repo-server".into(),
                repo_addr.clone(),
                "--metrics-port".into(),
                port("controller metrics")?.to_string(),
                // Reconcile every 10 s instead of 120 s: runs are short.
                "--app-resync".into(),
                "10".into(),
            ],
        ),
        (
            "argocd-applicationset-controller",
            vec![
                "--argocd-repo-server".into(),
                repo_addr.clone(),
                "--metrics-addr".into(),
                format!("127.0.0.1:{}", port("appset metrics")?),
                "--probe-addr".into(),
                format!("127.0.0.1:{}", port("appset probe")?),
                "--webhook-addr".into(),
                format!("127.0.0.1:{}", port("appset webhook")?),
            ],
        ),
        (
            "argocd-server",
            vec![
                "--redis".into(),
                redis_addr,
                "--repo-server".into(),
                repo_addr,
                "--port".into(),
                server_port.to_string(),
                "--metrics-port".into(),
                port("server metrics")?.to_string(),
                "--insecure".into(),
                "--disable-auth=true".into(),
                "--dex-server".into(),
                "http://127.0.0.1:1".into(),
            ],
        ),
    ];
    for (name, args) in components {
        let cmd = Cmd::new(opts.toolchain.bin("argocd"))
            .args(&args)
            .args(["--loglevel", "info"])
            .env("ARGOCD_BINARY_NAME", name)
            .env("ARGOCD_FAKE_IN_CLUSTER", "true")
            .env("KUBECONFIG", &kubeconfig)
            .env("ARGOCD_TLS_DATA_PATH", dirs.root.join("tls"))
            .env("ARGOCD_SSH_DATA_PATH", dirs.root.join("ssh"))
            .env("ARGOCD_GNUPGHOME", dirs.root.join("gpg/keys"))
            .env("ARGOCD_GPG_DATA_PATH", dirs.root.join("gpg/source"))
            .env("ARGOCD_GPG_ENABLED", "false")
            .env("HOSTNAME", "argocd-application-controller-0")
            .env("TMPDIR", dirs.root.join("tmp"))
            .env(
                "PATH",
                search_path(&[dirs.root.join("bin"), opts.toolchain.bin_dir()]),
            );
        local.spawn(name, cmd, &dirs)?;
    }
    local.wait_ready(opts.timeout).await?;
    Ok(local)
}

impl LocalArgoCd {
    fn spawn(&mut self, name: &str, cmd: Cmd, dirs: &Dirs) -> Result<(), LocalError> {
        let managed = cmd
            .env(crate::clean::RUN_ENV, &dirs.root)
            .spawn_logged(name, &dirs.logs.join(format!("{name}.log")))
            .map_err(|source| LocalError::Start {
                component: name.to_string(),
                source,
            })?;
        self.components.push(managed);
        Ok(())
    }

    /// Polls argocd-server's /healthz: a process gives no event to watch for.
    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), LocalError> {
        let started = Instant::now();
        let http = reqwest::Client::new();
        let url = format!("{}/healthz", self.server_url);
        loop {
            for c in &mut self.components {
                if let Some(status) = c.exited() {
                    return Err(LocalError::Exited {
                        component: c.name.clone(),
                        status: status.to_string(),
                        log: c.log_tail(15),
                    });
                }
            }
            let ok = http
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(LocalError::NotReady(timeout));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Each component's name and the last lines of its log.
    pub fn log_tails(&self, lines: usize) -> Vec<(String, String)> {
        self.components
            .iter()
            .map(|c| (c.name.clone(), c.log_tail(lines)))
            .collect()
    }

    /// Log files, for the diagnostics bundle.
    pub fn logs(&self) -> Vec<(String, PathBuf)> {
        self.components
            .iter()
            .map(|c| (c.name.clone(), c.log.clone()))
            .collect()
    }

    /// Stops every component (Argo CD first, redis last).
    pub async fn stop(&mut self) {
        let mut redis = self.components.drain(..1).collect::<Vec<_>>();
        join_all(
            self.components
                .iter_mut()
                .map(|c| c.stop(Duration::from_secs(5))),
        )
        .await;
        self.components.clear();
        for r in &mut redis {
            r.stop(Duration::from_secs(2)).await;
        }
    }
}

async fn install_objects(
    client: &kube::Client,
    toolchain: &Toolchain,
    namespace: &str,
) -> Result<(), LocalError> {
    let manifests = toolchain.argocd_manifests();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    install::apply(
        client,
        "Argo CD namespace",
        &[ns],
        namespace,
        Mode::default(),
    )
    .await
    .map_err(LocalError::Install)?;
    let crds = install::read_manifests(
        &install::manifest_files(&manifests.join("crds")).map_err(LocalError::Install)?,
    )
    .map_err(LocalError::Install)?;
    let docs: Vec<_> = crds.into_iter().map(|(_, d)| d).collect();
    install::apply(client, "Argo CD CRDs", &docs, namespace, Mode::default())
        .await
        .map_err(LocalError::Install)?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in CRDS {
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
            .map_err(|_| LocalError::Hub(anyhow::anyhow!("CRD `{crd}` not Established after 60s")))?
            .map_err(|e| LocalError::Hub(e.into()))?;
    }
    let config = install::read_manifests(
        &install::manifest_files(&manifests.join("config")).map_err(LocalError::Install)?,
    )
    .map_err(LocalError::Install)?;
    let docs: Vec<_> = config.into_iter().map(|(_, d)| d).collect();
    install::apply(
        client,
        "Argo CD config objects",
        &docs,
        namespace,
        Mode::default(),
    )
    .await
    .map_err(LocalError::Install)?;
    Ok(())
}

/// Where the components keep their files; removed with the run's directory.
struct Dirs {
    root: PathBuf,
    logs: PathBuf,
}

impl Dirs {
    fn create(dir: &Path) -> Result<Self, LocalError> {
        let mk = |p: PathBuf| {
            std::fs::create_dir_all(&p)
                .map(|()| p.clone())
                .map_err(|source| LocalError::Dir { path: p, source })
        };
        let root = mk(dir.to_path_buf())?;
        for sub in ["tls", "ssh", "gpg/keys", "gpg/source", "tmp", "bin"] {
            mk(root.join(sub))?;
        }
        let logs = mk(root.join("logs"))?;
        // The repo-server runs `git-verify-wrapper.sh REVISION` on every
        // checkout (Argo CD's image ships one). GPG verification is disabled,
        // so the stand-in reports no signature and succeeds.
        let wrapper = root.join("bin/git-verify-wrapper.sh");
        let write = || -> std::io::Result<()> {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(
                &wrapper,
                "#!/bin/sh\n# gitops-e2e: GPG verification is disabled; report no signature.\nexit 0\n",
            )?;
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        };
        write().map_err(|source| LocalError::Dir {
            path: wrapper.clone(),
            source,
        })?;
        Ok(Self { root, logs })
    }
}

/// The hub's kubeconfig with Argo CD's namespace as the context's namespace:
/// the components take their namespace from it.
fn namespaced_kubeconfig(
    hub: &Provisioned,
    namespace: &str,
    dir: &Path,
) -> Result<PathBuf, LocalError> {
    let mut config =
        Kubeconfig::read_from(&hub.kubeconfig).map_err(|e| LocalError::Hub(e.into()))?;
    for ctx in &mut config.contexts {
        if ctx.name == hub.context
            && let Some(c) = ctx.context.as_mut()
        {
            c.namespace = Some(namespace.to_string());
        }
    }
    config.current_context = Some(hub.context.clone());
    let path = dir.join("kubeconfig");
    std::fs::write(&path, crate::yaml::to_string(&config)).map_err(|source| LocalError::Dir {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
