//! Local directories served in place of the remote repositories an
//! ApplicationSet names.
//!
//! An Application that sets `path:` reads a git repository: the directory is
//! copied and committed into a fresh repository reached by a `file://` URL
//! ([`git_repository`]). One that sets `chart:` reads a Helm chart repository:
//! the charts are packaged and served with an `index.yaml` over HTTP on
//! loopback ([`helm_repository`]).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::process::{Cmd, ProcessError};

use super::staged::{self, Switch};
use super::static_server::{ServeError, StaticServer};

/// Author, committer and dates of the one commit: fixed, so the same
/// directory always gives the same commit SHA, and a report can name it.
const GIT_NAME: &str = "gitops-e2e";
const GIT_EMAIL: &str = "gitops-e2e@localhost";
const GIT_DATE: &str = "2000-01-01T00:00:00Z";
const GIT_MESSAGE: &str = "gitops-e2e: local repository";
/// `git commit` of everything staged, with the one message.
pub(super) const COMMIT: [&str; 7] = [
    "commit",
    "-q",
    "--allow-empty",
    "--no-verify",
    "--no-gpg-sign",
    "-m",
    GIT_MESSAGE,
];

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("local repository `{}` {problem}", path.display())]
    Source {
        path: PathBuf,
        problem: &'static str,
        #[source]
        source: Option<io::Error>,
    },
    #[error("cannot use `{}` for a repository: {problem}", path.display())]
    Dest {
        path: PathBuf,
        problem: &'static str,
        #[source]
        source: Option<io::Error>,
    },
    #[error("cannot copy `{}`", path.display())]
    Copy {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot create a git repository in `{}`", dest.display())]
    Git {
        dest: PathBuf,
        #[source]
        source: ProcessError,
    },
    #[error("no Helm chart in `{}`: no Chart.yaml there or in a directory below it", dir.display())]
    NoChart { dir: PathBuf },
    #[error("cannot {action} Helm chart `{}`", chart.display())]
    Helm {
        action: &'static str,
        chart: PathBuf,
        #[source]
        source: ProcessError,
    },
    #[error("`helm show chart {}` printed no name or version", chart.display())]
    ChartMetadata { chart: PathBuf },
    #[error("cannot index the Helm repository in `{}`", dest.display())]
    Index {
        dest: PathBuf,
        #[source]
        source: ProcessError,
    },
    #[error(
        "chart `{chart}` {version} differs between the previous release (`{}`) and the \
         working copy (`{}`) but keeps its version: Argo CD caches a chart by its version, \
         so the upgrade would not be seen; give the working copy a new `version` in Chart.yaml",
        previous.display(), next.display()
    )]
    SameVersion {
        chart: String,
        version: String,
        previous: PathBuf,
        next: PathBuf,
    },
    #[error("cannot switch the repository served from `{}` to the working copy", dir.display())]
    Switch {
        dir: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    Container(Box<super::repo_containers::ContainerError>),
}

/// Where the scenario's repositories are served from, for Argo CD to read.
#[async_trait::async_trait]
pub trait RepoServer: Send {
    /// Serves the directory `src` as a Helm chart repository (`chart`) or as
    /// a git repository; returns the URL Argo CD reads it from. `dest` is a
    /// new directory of the run's for what is served.
    async fn serve(&mut self, src: &Path, dest: &Path, chart: bool) -> Result<String, RepoError>;

    /// An upgrade: serves `previous` now and `next` after [`Self::advance`],
    /// from one URL (`crate::argocd::staged`).
    async fn serve_staged(
        &mut self,
        previous: &Path,
        next: &Path,
        dest: &Path,
        chart: bool,
    ) -> Result<String, RepoError>;

    /// Switches every repository served by [`Self::serve_staged`] to its
    /// working copy.
    async fn advance(&mut self) -> Result<(), RepoError>;

    /// Stops serving.
    async fn stop(&mut self);
}

/// Repositories for an Argo CD on this machine: git over `file://`, Helm
/// chart repositories over HTTP on 127.0.0.1.
pub struct Loopback {
    helm: PathBuf,
    helm_repos: Vec<HelmRepo>,
    /// Staged repositories: their servers, and where and how to switch them.
    staged_servers: Vec<StaticServer>,
    switches: Vec<(PathBuf, Switch)>,
}

impl Loopback {
    /// `helm` packages and indexes charts.
    pub fn new(helm: PathBuf) -> Self {
        Self {
            helm,
            helm_repos: Vec::new(),
            staged_servers: Vec::new(),
            switches: Vec::new(),
        }
    }
}

#[async_trait::async_trait]
impl RepoServer for Loopback {
    async fn serve(&mut self, src: &Path, dest: &Path, chart: bool) -> Result<String, RepoError> {
        if !chart {
            return git_repository(src, dest).await;
        }
        let repo = helm_repository(src, dest, &self.helm).await?;
        let url = repo.url.clone();
        self.helm_repos.push(repo);
        Ok(url)
    }

    async fn serve_staged(
        &mut self,
        previous: &Path,
        next: &Path,
        dest: &Path,
        chart: bool,
    ) -> Result<String, RepoError> {
        if !chart {
            let (url, switch) = staged::git_staged(previous, next, dest).await?;
            self.switches
                .push((dest.canonicalize().unwrap_or(dest.into()), switch));
            return Ok(url);
        }
        let (dir, switch) = staged::helm_staged(previous, next, dest, &self.helm).await?;
        let server = StaticServer::start(&dir).await?;
        let url = server.url();
        self.staged_servers.push(server);
        self.switches.push((dir, switch));
        Ok(url)
    }

    async fn advance(&mut self) -> Result<(), RepoError> {
        for (dir, switch) in &self.switches {
            staged::switch_local(dir, switch).await?;
        }
        Ok(())
    }

    async fn stop(&mut self) {
        self.helm_repos.clear();
        self.staged_servers.clear();
        self.switches.clear();
    }
}

/// Which local URL serves which remote repository URL: the ApplicationSet is
/// applied with the local ones, and what Argo CD answers is mapped back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UrlMap(Vec<(String, String)>);

impl UrlMap {
    pub fn insert(&mut self, remote: &str, local: &str) {
        self.0.push((remote.to_string(), local.to_string()));
    }

    /// Every string that is a remote URL (also with a trailing `/` or `.git`)
    /// becomes the local URL serving it.
    pub fn to_local(&self, value: &mut serde_json::Value) {
        self.rewrite(value, false);
    }

    /// Every string that is a local URL becomes the remote URL it serves.
    pub fn to_remote(&self, value: &mut serde_json::Value) {
        self.rewrite(value, true);
    }

    fn rewrite(&self, value: &mut serde_json::Value, back: bool) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                let found = self
                    .0
                    .iter()
                    .find(|(remote, local)| same_url(s, if back { local } else { remote }));
                if let Some((remote, local)) = found {
                    *s = if back { remote.clone() } else { local.clone() };
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite(v, back)),
            Value::Object(map) => map.values_mut().for_each(|v| self.rewrite(v, back)),
            _ => {}
        }
    }
}

/// The same repository: equal once a trailing `/` and `.git` are dropped.
pub fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| u.trim_end_matches('/').trim_end_matches(".git").to_string();
    norm(a) == norm(b)
}

/// Makes `dest` a git repository holding a copy of `src` (without any `.git`
/// inside it) in one commit, on both `main` and `master`; returns its
/// `file://` URL.
///
/// `dest` must be missing or empty. Files `src`'s own `.gitignore` excludes
/// are left out, as they would be from the remote repository. The commit is
/// reproducible: same content, same SHA.
///
/// No history is served, even when `src` is in a git checkout: a git
/// generator's `revision` empty, `HEAD`, `main` or `master` reads the working
/// tree (edits included), and any other branch, tag or SHA does not resolve.
/// The plan reads a checkout at `revision` instead
/// (`appset::generators::tree`), so the two agree on a clean checkout at
/// `HEAD`; lint's `repo-uncommitted-changes` and `git-revision-ignored` say
/// when they cannot.
pub async fn git_repository(src: &Path, dest: &Path) -> Result<String, RepoError> {
    check_source(src).await?;
    let dest = prepare_dest(dest).await?;
    copy_tree(src, &dest).await?;
    let git_error = |source| RepoError::Git {
        dest: dest.clone(),
        source,
    };
    let steps: [&[&str]; 4] = [
        &["init", "-q", "-b", "main"],
        &["add", "-A"],
        &COMMIT,
        &["branch", "master"],
    ];
    for args in steps {
        git(&dest).args(args).output().await.map_err(git_error)?;
    }
    Ok(file_url(&dest))
}

/// `git` run on the repository in `dest` only: the user's configuration,
/// hooks and any `GIT_DIR` in the environment do not apply.
pub(super) fn git(dest: &Path) -> Cmd {
    let git_dir = dest.join(".git");
    Cmd::new("git")
        .current_dir(dest)
        .env("GIT_DIR", &git_dir)
        .env("GIT_WORK_TREE", dest)
        .env("GIT_INDEX_FILE", git_dir.join("index"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", GIT_NAME)
        .env("GIT_AUTHOR_EMAIL", GIT_EMAIL)
        .env("GIT_AUTHOR_DATE", GIT_DATE)
        .env("GIT_COMMITTER_NAME", GIT_NAME)
        .env("GIT_COMMITTER_EMAIL", GIT_EMAIL)
        .env("GIT_COMMITTER_DATE", GIT_DATE)
}

/// A Helm chart repository served on loopback. Dropping it stops the server.
#[derive(Debug)]
pub struct HelmRepo {
    /// The repository URL for an Application's `repoURL` (no trailing slash).
    pub url: String,
    /// Name and version of each chart, in the order packaged.
    pub charts: Vec<(String, String)>,
    server: StaticServer,
}

impl HelmRepo {
    /// The directory served: the packaged charts and `index.yaml`.
    pub fn dir(&self) -> &Path {
        self.server.root()
    }
}

/// Packages the chart `src` (a directory with `Chart.yaml`), or every chart
/// directly below it, into `dest` (missing or empty), indexes `dest`, and
/// serves it over HTTP on 127.0.0.1.
pub async fn helm_repository(src: &Path, dest: &Path, helm: &Path) -> Result<HelmRepo, RepoError> {
    let (dest, packaged) = package_charts(src, dest, helm).await?;
    let server = StaticServer::start(&dest).await?;
    let url = server.url();
    index_charts(&dest, helm, Some(&url)).await?;
    Ok(HelmRepo {
        url,
        charts: packaged,
        server,
    })
}

/// Packages the chart `src`, or every chart directly below it, into `dest`
/// (missing or empty); returns `dest` and each chart's name and version.
pub async fn package_charts(
    src: &Path,
    dest: &Path,
    helm: &Path,
) -> Result<(PathBuf, Vec<(String, String)>), RepoError> {
    let charts = charts_in(src, helm).await?;
    let dest = prepare_dest(dest).await?;
    let mut packaged = Vec::with_capacity(charts.len());
    for chart in charts {
        package(&chart.dir, &dest, helm).await?;
        packaged.push((chart.name, chart.version));
    }
    Ok((dest, packaged))
}

/// A chart directory and the name and version its `Chart.yaml` gives.
#[derive(Debug, Clone)]
pub(super) struct ChartDir {
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
}

/// The chart `src`, or every chart directly below it, with its metadata.
pub(super) async fn charts_in(src: &Path, helm: &Path) -> Result<Vec<ChartDir>, RepoError> {
    check_source(src).await?;
    let mut charts = Vec::new();
    for dir in find_charts(src).await? {
        let shown = Cmd::new(helm)
            .args(["show", "chart"])
            .arg(&dir)
            .output()
            .await
            .map_err(|source| RepoError::Helm {
                action: "read",
                chart: dir.clone(),
                source,
            })?;
        let (name, version) = chart_metadata(&shown)
            .ok_or_else(|| RepoError::ChartMetadata { chart: dir.clone() })?;
        charts.push(ChartDir { dir, name, version });
    }
    Ok(charts)
}

/// `helm package CHART -d DEST`.
pub(super) async fn package(chart: &Path, dest: &Path, helm: &Path) -> Result<(), RepoError> {
    Cmd::new(helm)
        .arg("package")
        .arg(chart)
        .arg("-d")
        .arg(dest)
        .output()
        .await
        .map_err(|source| RepoError::Helm {
            action: "package",
            chart: chart.to_path_buf(),
            source,
        })?;
    Ok(())
}

/// Writes `dest/index.yaml` for the charts packaged there; their URLs are
/// absolute under `url`, or relative to the repository without one.
pub async fn index_charts(dest: &Path, helm: &Path, url: Option<&str>) -> Result<(), RepoError> {
    let mut index = Cmd::new(helm).args(["repo", "index"]).arg(dest);
    if let Some(url) = url {
        index = index.arg("--url").arg(url);
    }
    index.output().await.map_err(|source| RepoError::Index {
        dest: dest.to_path_buf(),
        source,
    })?;
    Ok(())
}

/// `src` itself when it is a chart, else the chart directories directly
/// below it, sorted by name.
async fn find_charts(src: &Path) -> Result<Vec<PathBuf>, RepoError> {
    let is_chart = |dir: &Path| dir.join("Chart.yaml").is_file();
    let path = src.to_owned();
    let src = src.to_owned();
    tokio::task::spawn_blocking(move || -> Result<Vec<PathBuf>, RepoError> {
        if is_chart(&src) {
            return Ok(vec![src]);
        }
        let read_error = |source| RepoError::Source {
            path: src.clone(),
            problem: "cannot be read",
            source: Some(source),
        };
        let mut charts = Vec::new();
        for entry in std::fs::read_dir(&src).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            if path.is_dir() && is_chart(&path) {
                charts.push(path);
            }
        }
        charts.sort();
        if charts.is_empty() {
            return Err(RepoError::NoChart { dir: src });
        }
        Ok(charts)
    })
    .await
    .map_err(|e| RepoError::Source {
        path,
        problem: "cannot be read",
        source: Some(io::Error::other(e)),
    })?
}

/// Name and version from `helm show chart`, which prints the chart's
/// metadata re-serialized by Helm: top-level `key: value` lines, strings
/// quoted only when they would read as another type.
fn chart_metadata(shown: &str) -> Option<(String, String)> {
    let field = |key: &str| {
        shown.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix(':')?.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            (!value.is_empty()).then(|| value.to_string())
        })
    };
    Some((field("name")?, field("version")?))
}

pub(super) async fn check_source(src: &Path) -> Result<(), RepoError> {
    match tokio::fs::metadata(src).await {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(RepoError::Source {
            path: src.to_owned(),
            problem: "is not a directory",
            source: None,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(RepoError::Source {
            path: src.to_owned(),
            problem: "does not exist",
            source: None,
        }),
        Err(e) => Err(RepoError::Source {
            path: src.to_owned(),
            problem: "cannot be read",
            source: Some(e),
        }),
    }
}

/// Creates `dest` if needed; it must end up an empty directory. Returns its
/// canonical path.
pub(super) async fn prepare_dest(dest: &Path) -> Result<PathBuf, RepoError> {
    let dest_error = |problem, source| RepoError::Dest {
        path: dest.to_owned(),
        problem,
        source,
    };
    tokio::fs::create_dir_all(dest)
        .await
        .map_err(|e| dest_error("cannot create the directory", Some(e)))?;
    let mut entries = tokio::fs::read_dir(dest)
        .await
        .map_err(|e| dest_error("cannot read the directory", Some(e)))?;
    if entries
        .next_entry()
        .await
        .map_err(|e| dest_error("cannot read the directory", Some(e)))?
        .is_some()
    {
        return Err(dest_error("the directory is not empty", None));
    }
    tokio::fs::canonicalize(dest)
        .await
        .map_err(|e| dest_error("cannot resolve the path", Some(e)))
}

/// Copies the tree `src` into `dest` (an existing directory), leaving out
/// every `.git`. Symbolic links are copied as links, never followed.
pub(super) async fn copy_tree(src: &Path, dest: &Path) -> Result<(), RepoError> {
    let path = src.to_owned();
    let (src, dest) = (src.to_owned(), dest.to_owned());
    tokio::task::spawn_blocking(move || copy_dir(&src, &dest))
        .await
        .map_err(|e| RepoError::Copy {
            path,
            source: io::Error::other(e),
        })?
}

fn copy_dir(src: &Path, dest: &Path) -> Result<(), RepoError> {
    let copy_error = |path: &Path| {
        let path = path.to_owned();
        move |source| RepoError::Copy { path, source }
    };
    for entry in std::fs::read_dir(src).map_err(copy_error(src))? {
        let entry = entry.map_err(copy_error(src))?;
        let name: OsString = entry.file_name();
        if name == ".git" {
            continue;
        }
        let (from, to) = (entry.path(), dest.join(&name));
        let kind = entry.file_type().map_err(copy_error(&from))?;
        if kind.is_dir() {
            std::fs::create_dir(&to).map_err(copy_error(&from))?;
            copy_dir(&from, &to)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&from).map_err(copy_error(&from))?;
            std::os::unix::fs::symlink(link, &to).map_err(copy_error(&from))?;
        } else if kind.is_file() {
            std::fs::copy(&from, &to).map_err(copy_error(&from))?;
        }
        // Sockets, pipes and devices have no place in a repository.
    }
    Ok(())
}

/// `file://` plus the absolute path, percent-encoding what a URL cannot
/// carry (git and go-git both decode it).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::argocd::static_server::tests::get;

    #[test]
    fn urls_are_rewritten_both_ways() {
        let mut map = UrlMap::default();
        map.insert(
            "https://github.com/your-org/helm-charts",
            "http://127.0.0.1:4000",
        );
        let mut v = serde_json::json!({"spec": {"source": {"repoURL": "https://github.com/your-org/helm-charts.git"},
                           "other": "https://github.com/your-org/helm-charts-extra"}});
        map.to_local(&mut v);
        assert_eq!(v["spec"]["source"]["repoURL"], "http://127.0.0.1:4000");
        assert_eq!(
            v["spec"]["other"],
            "https://github.com/your-org/helm-charts-extra"
        );
        map.to_remote(&mut v);
        assert_eq!(
            v["spec"]["source"]["repoURL"],
            "https://github.com/your-org/helm-charts"
        );
    }

    fn tree(root: &Path) {
        std::fs::create_dir_all(root.join("app/templates")).unwrap();
        std::fs::create_dir_all(root.join(".git/objects")).unwrap();
        std::fs::create_dir_all(root.join("app/.git")).unwrap();
        std::fs::write(root.join("app/values.yaml"), "replicas: 1\n").unwrap();
        std::fs::write(root.join("app/templates/d.yaml"), "kind: Deployment\n").unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/other\n").unwrap();
        std::fs::write(root.join("app/.git/config"), "").unwrap();
        std::os::unix::fs::symlink("app/values.yaml", root.join("values-link.yaml")).unwrap();
    }

    async fn git_out(dest: &Path, args: &[&str]) -> String {
        git(dest)
            .args(args)
            .output()
            .await
            .unwrap()
            .trim()
            .to_string()
    }

    #[tokio::test]
    async fn git_repository_has_both_branches_and_a_reproducible_commit() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        tree(&src);
        let one = dir.path().join("one");
        let url = git_repository(&src, &one).await.unwrap();
        let canonical = one.canonicalize().unwrap();
        assert_eq!(url, format!("file://{}", canonical.display()));
        let main = git_out(&one, &["rev-parse", "main"]).await;
        assert_eq!(git_out(&one, &["rev-parse", "master"]).await, main);
        assert_eq!(
            git_out(&one, &["symbolic-ref", "HEAD"]).await,
            "refs/heads/main"
        );
        let files = git_out(&one, &["ls-files"]).await;
        assert_eq!(
            files,
            "app/templates/d.yaml\napp/values.yaml\nvalues-link.yaml"
        );

        // Another destination (with a space, to exercise the URL) gives the same commit.
        let two = dir.path().join("two dirs");
        let url = git_repository(&src, &two).await.unwrap();
        assert!(url.ends_with("/two%20dirs"), "{url}");
        assert_eq!(git_out(&two, &["rev-parse", "main"]).await, main);

        // And the URL clones.
        let clone = dir.path().join("clone");
        Cmd::new("git")
            .args(["clone", "-q", "--branch", "master", &url])
            .arg(&clone)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(clone.join("app/values.yaml")).unwrap(),
            "replicas: 1\n"
        );
    }

    #[tokio::test]
    async fn git_repository_names_a_missing_source() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("charts");
        let err = git_repository(&missing, &dir.path().join("d"))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("local repository `{}` does not exist", missing.display())
        );
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = git_repository(&file, &dir.path().join("d"))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("local repository `{}` is not a directory", file.display())
        );
    }

    #[tokio::test]
    async fn git_repository_wants_an_empty_destination() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        tree(&src);
        let err = git_repository(&src, dir.path()).await.unwrap_err();
        assert!(matches!(err, RepoError::Dest { .. }), "{err}");
        assert!(
            err.to_string().ends_with("the directory is not empty"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn helm_repository_names_a_directory_without_charts() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        tree(&src);
        let err = helm_repository(&src, &dir.path().join("d"), Path::new("/nonexistent/helm"))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no Helm chart in `{}`: no Chart.yaml there or in a directory below it",
                src.display()
            )
        );
    }

    #[tokio::test]
    async fn a_missing_helm_is_an_error_naming_the_chart() {
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("c");
        std::fs::create_dir(&chart).unwrap();
        std::fs::write(chart.join("Chart.yaml"), "name: c\n").unwrap();
        let err = helm_repository(
            &chart,
            &dir.path().join("d"),
            Path::new("/nonexistent/helm"),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read Helm chart `{}`", chart.display())
        );
        assert!(matches!(
            err,
            RepoError::Helm {
                source: ProcessError::Spawn { .. },
                ..
            }
        ));
    }

    #[test]
    fn reads_chart_metadata_as_helm_prints_it() {
        let shown = "apiVersion: v2\nappVersion: sha-abc1234\nname: fastapi-agent\n\
                     type: application\nversion: 0.1.0\n";
        assert_eq!(
            chart_metadata(shown),
            Some(("fastapi-agent".into(), "0.1.0".into()))
        );
        assert_eq!(
            chart_metadata("name: 'a'\nversion: \"1.0\"\n"),
            Some(("a".into(), "1.0".into()))
        );
        assert_eq!(chart_metadata("names: a\nversion: 1\n"), None);
        assert_eq!(chart_metadata("name: a\nkubeVersion: x\n"), None);
    }

    #[test]
    fn file_urls_escape_what_urls_cannot_carry() {
        assert_eq!(file_url(Path::new("/tmp/a b/%c")), "file:///tmp/a%20b/%25c");
        assert_eq!(file_url(Path::new("/tmp/x-1.y_z~")), "file:///tmp/x-1.y_z~");
    }

    /// The toolchain's helm, if it has been built.
    pub(crate) fn toolchain_helm() -> Option<PathBuf> {
        let cache = std::env::var_os("GITOPS_E2E_CACHE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/gitops-e2e"))
            })?;
        let helm = cache.join("toolchain/bin/helm");
        helm.is_file().then_some(helm)
    }

    #[tokio::test]
    #[ignore = "live: needs helm from the toolchain (make toolchain); make test runs it when ready"]
    async fn helm_repository_serves_the_lesson_chart() {
        let helm = toolchain_helm().expect("helm is built (make toolchain)");
        let chart =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lesson/charts/fastapi-agent");
        let dir = tempfile::tempdir().unwrap();
        let repo = helm_repository(&chart, &dir.path().join("repo"), &helm)
            .await
            .unwrap();
        assert_eq!(
            repo.charts,
            [("fastapi-agent".to_string(), "0.1.0".to_string())]
        );
        let addr = repo.server.addr();

        let (status, index) = get(addr, "/index.yaml").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(index.contains("  fastapi-agent:\n"), "{index}");
        assert!(index.contains("    version: 0.1.0\n"), "{index}");
        let tgz_url = format!("{}/fastapi-agent-0.1.0.tgz", repo.url);
        assert!(index.contains(&format!("    - {tgz_url}\n")), "{index}");

        let response = crate::argocd::static_server::tests::raw(
            addr,
            "GET /fastapi-agent-0.1.0.tgz HTTP/1.1\r\n\r\n",
        )
        .await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\n"));
        let size = std::fs::metadata(repo.dir().join("fastapi-agent-0.1.0.tgz"))
            .unwrap()
            .len();
        assert!(
            response.contains(&format!("Content-Length: {size}\r\n")),
            "{size}"
        );
    }

    #[tokio::test]
    #[ignore = "live: needs helm from the toolchain (make toolchain); make test runs it when ready"]
    async fn helm_repository_packages_every_chart_below_a_directory() {
        let helm = toolchain_helm().expect("helm is built (make toolchain)");
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("charts");
        for (name, version) in [("b-chart", "2.0.0"), ("a-chart", "1.0.0")] {
            std::fs::create_dir_all(src.join(name)).unwrap();
            std::fs::write(
                src.join(name).join("Chart.yaml"),
                format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(src.join("not-a-chart")).unwrap();
        let repo = helm_repository(&src, &dir.path().join("repo"), &helm)
            .await
            .unwrap();
        assert_eq!(
            repo.charts,
            [
                ("a-chart".to_string(), "1.0.0".to_string()),
                ("b-chart".to_string(), "2.0.0".to_string())
            ]
        );
        let (status, _) = get(repo.server.addr(), "/b-chart-2.0.0.tgz").await;
        assert_eq!(status, "HTTP/1.1 200 OK");

        // A broken chart: helm's complaint is in the error.
        std::fs::write(
            src.join("a-chart/Chart.yaml"),
            "apiVersion: v2\nname: a-chart\n",
        )
        .unwrap();
        let err = helm_repository(&src, &dir.path().join("repo2"), &helm)
            .await
            .unwrap_err();
        let mut chain = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            chain.push_str(&format!(": {c}"));
            cause = c.source();
        }
        assert!(
            chain.contains("a-chart") && chain.contains("version"),
            "{chain}"
        );
    }
}
