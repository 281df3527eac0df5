//! Repositories for an Argo CD that runs in containers (kind): each served
//! from its own container on the cluster network, started with
//! testcontainers and removed with the run. A git repository is served by
//! `git daemon` from the Argo CD image itself (it carries the git Argo CD
//! uses), a Helm chart repository by busybox's `httpd`.
//!
//! The content is copied into the container, not mounted, so that a remote
//! Docker engine works too.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testcontainers::core::CopyDataSource;
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

use super::repos::{RepoError, RepoServer, git_repository, index_charts, package_charts};
use super::staged::{self, Switch};

/// The image serving Helm chart repositories, and its `httpd`.
pub const HTTP_IMAGE: (&str, &str) = ("docker.io/library/busybox", "1.37");
const HTTP_PORT: u16 = 8080;
const GIT_PORT: u16 = 9418;

/// How long a started server may take to accept connections.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// The label that marks the run's containers, for `gitops-e2e clean`.
pub const RUN_LABEL: &str = "io.gitops-e2e.run";

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("cannot start the {what} container from image `{image}`")]
    Start {
        what: &'static str,
        image: String,
        #[source]
        source: testcontainers::TestcontainersError,
    },
    #[error("the {what} container has no address on network `{network}`")]
    Address {
        what: &'static str,
        network: String,
        #[source]
        source: testcontainers::TestcontainersError,
    },
    #[error("the {what} container at {addr} did not accept connections within {LISTEN_TIMEOUT:?}")]
    NotListening {
        what: &'static str,
        addr: SocketAddr,
    },
}

pub struct NetworkContainers {
    helm: PathBuf,
    /// The image with `git daemon` (Argo CD's own), as `(name, tag)`.
    git_image: (String, String),
    network: String,
    run_id: String,
    containers: Vec<ContainerAsync<GenericImage>>,
    /// Staged repositories: the index of the container serving each, the
    /// directory there, and the switch.
    switches: Vec<(usize, &'static str, Switch)>,
}

impl NetworkContainers {
    /// `git_image` is `name:tag` of an image with git (Argo CD's).
    pub fn new(helm: PathBuf, git_image: &str, network: &str, run_id: &str) -> Self {
        let (name, tag) = split_image(git_image);
        Self {
            helm,
            git_image: (name, tag),
            network: network.to_string(),
            run_id: run_id.to_string(),
            containers: Vec::new(),
            switches: Vec::new(),
        }
    }

    /// Starts `image` with `cmd` on the network, `content` copied to
    /// `target`; returns its address on the network once `port` accepts.
    async fn start(
        &mut self,
        what: &'static str,
        (name, tag): (&str, &str),
        cmd: &[&str],
        content: &Path,
        target: &str,
        port: u16,
    ) -> Result<SocketAddr, ContainerError> {
        let image = format!("{name}:{tag}");
        let request = GenericImage::new(name, tag)
            .with_cmd(cmd.iter().copied())
            .with_copy_to(target, CopyDataSource::File(content.to_path_buf()))
            .with_network(self.network.clone())
            .with_label(RUN_LABEL, self.run_id.clone());
        let container = request
            .start()
            .await
            .map_err(|source| ContainerError::Start {
                what,
                image,
                source,
            })?;
        let ip = container.get_bridge_ip_address().await;
        self.containers.push(container);
        let ip: IpAddr = ip.map_err(|source| ContainerError::Address {
            what,
            network: self.network.clone(),
            source,
        })?;
        let addr = SocketAddr::new(ip, port);
        wait_listening(addr)
            .await
            .then_some(addr)
            .ok_or(ContainerError::NotListening { what, addr })
    }
}

/// `name:tag` split at the tag's colon (a registry port is not a tag).
fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

async fn wait_listening(addr: SocketAddr) -> bool {
    let started = Instant::now();
    while started.elapsed() < LISTEN_TIMEOUT {
        let connect = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(2), connect).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

impl NetworkContainers {
    /// Serves the chart repository in `dir` (relative chart URLs) from an
    /// `httpd` container.
    async fn start_helm(&mut self, dir: &Path) -> Result<String, RepoError> {
        let addr = self
            .start(
                "Helm repository",
                HTTP_IMAGE,
                &["busybox", "httpd", "-f", "-p", "8080", "-h", HELM_DIR],
                dir,
                HELM_DIR,
                HTTP_PORT,
            )
            .await
            .map_err(serve_error)?;
        Ok(format!("http://{addr}"))
    }

    /// Serves the git repository in `dir` from a `git daemon` container.
    async fn start_git(&mut self, dir: &Path) -> Result<String, RepoError> {
        let (name, tag) = self.git_image.clone();
        let addr = self
            .start(
                "git server",
                (&name, &tag),
                &[
                    "git",
                    "-c",
                    "safe.directory=*",
                    "daemon",
                    "--export-all",
                    "--reuseaddr",
                    "--base-path=/srv/git",
                    "--port=9418",
                    "/srv/git",
                ],
                dir,
                GIT_DIR,
                GIT_PORT,
            )
            .await
            .map_err(serve_error)?;
        Ok(format!("git://{addr}/repo"))
    }
}

/// Where a container serves its repository from.
const HELM_DIR: &str = "/srv/www";
const GIT_DIR: &str = "/srv/git/repo";

fn serve_error(e: ContainerError) -> RepoError {
    RepoError::Container(Box::new(e))
}

#[async_trait::async_trait]
impl RepoServer for NetworkContainers {
    async fn serve(&mut self, src: &Path, dest: &Path, chart: bool) -> Result<String, RepoError> {
        if chart {
            let (dest, _) = package_charts(src, dest, &self.helm).await?;
            // Relative chart URLs: the server's address is known only once it runs.
            index_charts(&dest, &self.helm, None).await?;
            return self.start_helm(&dest).await;
        }
        git_repository(src, dest).await?;
        self.start_git(dest).await
    }

    async fn serve_staged(
        &mut self,
        previous: &Path,
        next: &Path,
        dest: &Path,
        chart: bool,
    ) -> Result<String, RepoError> {
        let (url, dir, switch) = if chart {
            let (dir, switch) = staged::helm_staged(previous, next, dest, &self.helm).await?;
            (self.start_helm(&dir).await?, HELM_DIR, switch)
        } else {
            let (_, switch) = staged::git_staged(previous, next, dest).await?;
            (self.start_git(dest).await?, GIT_DIR, switch)
        };
        self.switches
            .push((self.containers.len().saturating_sub(1), dir, switch));
        Ok(url)
    }

    async fn advance(&mut self) -> Result<(), RepoError> {
        for (index, dir, switch) in &self.switches {
            let Some(container) = self.containers.get(*index) else {
                continue;
            };
            // `docker exec`: the Docker engine the containers run on (the
            // same one testcontainers reaches), one argument vector each.
            for argv in switch.commands(dir) {
                let exec = crate::process::Cmd::new("docker")
                    .args(["exec", container.id()])
                    .args(&argv);
                match tokio::time::timeout(EXEC_TIMEOUT, exec.output()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        return Err(RepoError::Switch {
                            dir: PathBuf::from(dir),
                            source: Box::new(e),
                        });
                    }
                    Err(_) => {
                        return Err(RepoError::Switch {
                            dir: PathBuf::from(dir),
                            source: format!(
                                "`{}` did not end within {EXEC_TIMEOUT:?}",
                                argv.join(" ")
                            )
                            .into(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    async fn stop(&mut self) {
        self.switches.clear();
        for container in self.containers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(30), container.rm()).await;
        }
    }
}

/// How long one command inside a serving container may take.
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_at_the_tag() {
        assert_eq!(
            split_image("quay.io/argoproj/argocd:v3.5.3"),
            ("quay.io/argoproj/argocd".into(), "v3.5.3".into())
        );
        assert_eq!(
            split_image("localhost:5000/git"),
            ("localhost:5000/git".into(), "latest".into())
        );
        assert_eq!(split_image("busybox"), ("busybox".into(), "latest".into()));
    }
}
