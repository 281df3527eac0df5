//! An upgrade's repositories: the previous release and the working copy of
//! each, both served from the start, so that one quick switch moves Argo CD
//! from the first to the second without restarting any server.
//!
//! - git: one repository whose `main` and `master` hold the previous release;
//!   the working copy is a second commit on top of it, kept at
//!   [`NEXT_REF`] until the switch moves both branches there.
//! - Helm: one chart repository holding the previous release's charts, and
//!   the working copy's in `next/`; `index.yaml` lists only the previous
//!   ones until the switch moves [`NEXT_INDEX`] (listing both) in its place,
//!   as publishing a new chart version does. A chart version in both releases
//!   must be the same chart in both: Argo CD caches a chart by its version.

use std::io;
use std::path::{Path, PathBuf};

use super::repos::{
    COMMIT, ChartDir, RepoError, charts_in, copy_tree, git, git_repository, index_charts, package,
    prepare_dest,
};

/// Where the working copy's commit waits for the switch.
pub const NEXT_REF: &str = "refs/gitops-e2e/next";
/// The index listing both releases' charts, moved over `index.yaml` by the switch.
pub const NEXT_INDEX: &str = "next-index.yaml";
/// Where the working copy's charts are packaged, below the repository.
const NEXT_DIR: &str = "next";

/// How one staged repository is switched to its working copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    /// Move `main` and `master` to this commit.
    Git { commit: String },
    /// Move [`NEXT_INDEX`] over `index.yaml`.
    Helm,
}

impl Switch {
    /// The commands that switch the repository served from `dir` (the git
    /// work tree, or the chart repository's directory), as argument vectors:
    /// the same for a local directory and inside a serving container.
    pub fn commands(&self, dir: &str) -> Vec<Vec<String>> {
        match self {
            Switch::Git { commit } => ["refs/heads/main", "refs/heads/master"]
                .iter()
                .map(|branch| {
                    [
                        "git",
                        "-c",
                        "safe.directory=*",
                        "--git-dir",
                        &format!("{dir}/.git"),
                        "update-ref",
                        branch,
                        commit,
                    ]
                    .map(String::from)
                    .to_vec()
                })
                .collect(),
            Switch::Helm => vec![
                [
                    "mv",
                    "-f",
                    &format!("{dir}/{NEXT_INDEX}"),
                    &format!("{dir}/index.yaml"),
                ]
                .map(String::from)
                .to_vec(),
            ],
        }
    }
}

/// Makes `dest` (missing or empty) a git repository serving `previous` on
/// `main` and `master`, with `next` committed on top at [`NEXT_REF`];
/// returns its `file://` URL and the switch.
pub async fn git_staged(
    previous: &Path,
    next: &Path,
    dest: &Path,
) -> Result<(String, Switch), RepoError> {
    let url = git_repository(previous, dest).await?;
    let dest = tokio::fs::canonicalize(dest)
        .await
        .map_err(|e| RepoError::Dest {
            path: dest.to_path_buf(),
            problem: "cannot resolve the path",
            source: Some(e),
        })?;
    let git_error = |source| RepoError::Git {
        dest: dest.clone(),
        source,
    };
    let head = |args: &'static [&'static str]| {
        let dest = dest.clone();
        async move { git(&dest).args(args).output().await }
    };
    let first = head(&["rev-parse", "HEAD"]).await.map_err(git_error)?;
    clear_work_tree(&dest).await?;
    copy_tree(next, &dest).await?;
    head(&["add", "-A"]).await.map_err(git_error)?;
    git(&dest).args(COMMIT).output().await.map_err(git_error)?;
    let second = head(&["rev-parse", "HEAD"]).await.map_err(git_error)?;
    let (first, second) = (first.trim().to_string(), second.trim().to_string());
    for (reference, commit) in [
        (NEXT_REF, &second),
        ("refs/heads/main", &first),
        ("refs/heads/master", &first),
    ] {
        git(&dest)
            .args(["update-ref", reference, commit])
            .output()
            .await
            .map_err(git_error)?;
    }
    Ok((url, Switch::Git { commit: second }))
}

/// Makes `dest` (missing or empty) a Helm chart repository whose index lists
/// `previous`'s charts, with `next`'s packaged beside them for the switch.
/// Chart URLs are relative, so any server of `dest` serves it.
pub async fn helm_staged(
    previous: &Path,
    next: &Path,
    dest: &Path,
    helm: &Path,
) -> Result<(PathBuf, Switch), RepoError> {
    let before = charts_in(previous, helm).await?;
    let after = charts_in(next, helm).await?;
    let dest = prepare_dest(dest).await?;
    for chart in &before {
        package(&chart.dir, &dest, helm).await?;
    }
    index_charts(&dest, helm, None).await?;
    let index = dest.join("index.yaml");
    let previous_index = read(&index).await?;
    let next_dir = dest.join(NEXT_DIR);
    tokio::fs::create_dir(&next_dir)
        .await
        .map_err(|e| RepoError::Dest {
            path: next_dir.clone(),
            problem: "cannot create the directory",
            source: Some(e),
        })?;
    for chart in &after {
        if let Some(old) = same_version(&before, chart) {
            if same_tree(&old.dir, &chart.dir).await? {
                continue;
            }
            return Err(RepoError::SameVersion {
                chart: chart.name.clone(),
                version: chart.version.clone(),
                previous: old.dir.clone(),
                next: chart.dir.clone(),
            });
        }
        package(&chart.dir, &next_dir, helm).await?;
    }
    index_charts(&dest, helm, None).await?;
    let both = dest.join(NEXT_INDEX);
    let written = async {
        tokio::fs::rename(&index, &both).await?;
        tokio::fs::write(&index, previous_index).await
    };
    written.await.map_err(|e| RepoError::Dest {
        path: dest.clone(),
        problem: "cannot write the chart indexes",
        source: Some(e),
    })?;
    Ok((dest, Switch::Helm))
}

fn same_version<'a>(charts: &'a [ChartDir], chart: &ChartDir) -> Option<&'a ChartDir> {
    charts
        .iter()
        .find(|c| c.name == chart.name && c.version == chart.version)
}

async fn read(path: &Path) -> Result<Vec<u8>, RepoError> {
    tokio::fs::read(path).await.map_err(|e| RepoError::Dest {
        path: path.to_path_buf(),
        problem: "cannot be read",
        source: Some(e),
    })
}

/// Removes everything in the repository `dest` but its `.git`.
async fn clear_work_tree(dest: &Path) -> Result<(), RepoError> {
    let dir = dest.to_path_buf();
    let cleared = tokio::task::spawn_blocking(move || -> io::Result<()> {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name() == ".git" {
                continue;
            }
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| Err(io::Error::other(e)));
    cleared.map_err(|e| RepoError::Dest {
        path: dest.to_path_buf(),
        problem: "cannot replace the previous release's files",
        source: Some(e),
    })
}

/// Whether two directories hold the same files with the same content
/// (`.git` left out; links compared by target).
async fn same_tree(a: &Path, b: &Path) -> Result<bool, RepoError> {
    let (a, b) = (a.to_path_buf(), b.to_path_buf());
    let path = a.clone();
    tokio::task::spawn_blocking(move || same_dir(&a, &b))
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
        .map_err(|source| RepoError::Copy { path, source })
}

fn same_dir(a: &Path, b: &Path) -> io::Result<bool> {
    let names = |dir: &Path| -> io::Result<Vec<std::ffi::OsString>> {
        let mut names = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .filter(|n| n.as_ref().map_or(true, |n| n != ".git"))
            .collect::<io::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    };
    let (left, right) = (names(a)?, names(b)?);
    if left != right {
        return Ok(false);
    }
    for name in left {
        let (x, y) = (a.join(&name), b.join(&name));
        let (mx, my) = (
            std::fs::symlink_metadata(&x)?,
            std::fs::symlink_metadata(&y)?,
        );
        let same = if mx.is_dir() && my.is_dir() {
            same_dir(&x, &y)?
        } else if mx.is_symlink() && my.is_symlink() {
            std::fs::read_link(&x)? == std::fs::read_link(&y)?
        } else if mx.is_file() && my.is_file() {
            mx.len() == my.len() && std::fs::read(&x)? == std::fs::read(&y)?
        } else {
            false
        };
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs a switch's commands on this machine.
pub async fn switch_local(dir: &Path, switch: &Switch) -> Result<(), RepoError> {
    let shown = dir.display().to_string();
    for argv in switch.commands(&shown) {
        crate::process::Cmd::new(&argv[0])
            .args(&argv[1..])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .await
            .map_err(|source| RepoError::Switch {
                dir: dir.to_path_buf(),
                source: Box::new(source),
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, file: &str, text: &str) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    async fn rev(dest: &Path, what: &str) -> String {
        git(dest)
            .args(["rev-parse", what])
            .output()
            .await
            .unwrap()
            .trim()
            .to_string()
    }

    async fn show(dest: &Path, what: &str) -> String {
        git(dest).args(["show", what]).output().await.unwrap()
    }

    #[tokio::test]
    async fn git_serves_the_previous_release_until_the_switch() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old"), dir.path().join("new"));
        write(&old, "app/values.yaml", "replicas: 1\n");
        write(&old, "app/gone.yaml", "x: 1\n");
        write(&new, "app/values.yaml", "replicas: 2\n");
        let dest = dir.path().join("served");
        let (url, switch) = git_staged(&old, &new, &dest).await.unwrap();
        assert!(url.starts_with("file://"), "{url}");
        let Switch::Git { commit } = &switch else {
            panic!("{switch:?}")
        };
        assert_eq!(&rev(&dest, NEXT_REF).await, commit);
        assert_eq!(rev(&dest, "main").await, rev(&dest, "master").await);
        assert_eq!(show(&dest, "main:app/values.yaml").await, "replicas: 1\n");
        assert_eq!(show(&dest, "main:app/gone.yaml").await, "x: 1\n");
        assert_eq!(
            show(&dest, &format!("{NEXT_REF}:app/values.yaml")).await,
            "replicas: 2\n"
        );

        switch_local(&dest, &switch).await.unwrap();
        assert_eq!(&rev(&dest, "main").await, commit);
        assert_eq!(&rev(&dest, "master").await, commit);
        assert_eq!(show(&dest, "main:app/values.yaml").await, "replicas: 2\n");
        // The working copy's commit does not keep a file it removed.
        let files = git(&dest)
            .args(["ls-tree", "-r", "--name-only", "main"])
            .output()
            .await
            .unwrap();
        assert_eq!(files.trim(), "app/values.yaml");
    }

    #[test]
    fn switch_commands_are_argument_vectors_for_either_place() {
        let git = Switch::Git {
            commit: "abc".into(),
        }
        .commands("/srv/git/repo");
        assert_eq!(git.len(), 2);
        assert_eq!(
            git[0],
            [
                "git",
                "-c",
                "safe.directory=*",
                "--git-dir",
                "/srv/git/repo/.git",
                "update-ref",
                "refs/heads/main",
                "abc"
            ]
        );
        assert_eq!(
            Switch::Helm.commands("/srv/www"),
            vec![vec![
                "mv".to_string(),
                "-f".into(),
                "/srv/www/next-index.yaml".into(),
                "/srv/www/index.yaml".into()
            ]]
        );
    }

    #[test]
    fn trees_compare_by_names_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for root in [&a, &b] {
            write(root, "Chart.yaml", "name: x\nversion: 1.0.0\n");
            write(root, "templates/d.yaml", "kind: Deployment\n");
            write(root, ".git/HEAD", "whatever\n");
        }
        assert!(same_dir(&a, &b).unwrap());
        write(&b, ".git/HEAD", "other\n");
        assert!(same_dir(&a, &b).unwrap(), ".git is left out");
        write(&b, "templates/d.yaml", "kind: StatefulSet\n");
        assert!(!same_dir(&a, &b).unwrap());
        write(&b, "templates/d.yaml", "kind: Deployment\n");
        write(&b, "templates/extra.yaml", "");
        assert!(!same_dir(&a, &b).unwrap());
    }

    /// A copy of the lesson's chart at `version`, with `extra` appended to its values.
    fn chart(root: &Path, version: &str, extra: &str) -> PathBuf {
        let lesson = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lesson/charts");
        let dest = root.join(version);
        std::fs::create_dir_all(&dest).unwrap();
        std::process::Command::new("cp")
            .arg("-r")
            .arg(lesson.join("fastapi-agent"))
            .arg(&dest)
            .status()
            .unwrap();
        let dir = dest.join("fastapi-agent");
        let meta = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap();
        std::fs::write(
            dir.join("Chart.yaml"),
            meta.replace("version: 0.1.0", &format!("version: {version}")),
        )
        .unwrap();
        let values = std::fs::read_to_string(dir.join("values.yaml")).unwrap();
        std::fs::write(dir.join("values.yaml"), values + extra).unwrap();
        dest
    }

    #[tokio::test]
    #[ignore = "live: needs helm from the toolchain (make toolchain); make test runs it when ready"]
    async fn helm_lists_the_new_version_only_after_the_switch() {
        let helm = super::super::repos::tests::toolchain_helm().expect("helm is built");
        let dir = tempfile::tempdir().unwrap();
        let old = chart(dir.path(), "0.1.0", "");
        let new = chart(dir.path(), "0.2.0", "logLevel: info\n");
        let dest = dir.path().join("served");
        let (served, switch) = helm_staged(&old, &new, &dest, &helm).await.unwrap();
        assert_eq!(switch, Switch::Helm);
        let index = std::fs::read_to_string(served.join("index.yaml")).unwrap();
        assert!(index.contains("version: 0.1.0"), "{index}");
        assert!(!index.contains("version: 0.2.0"), "{index}");
        switch_local(&served, &switch).await.unwrap();
        let index = std::fs::read_to_string(served.join("index.yaml")).unwrap();
        assert!(index.contains("version: 0.1.0"), "{index}");
        assert!(index.contains("version: 0.2.0"), "{index}");
        assert!(index.contains("- next/fastapi-agent-0.2.0.tgz"), "{index}");
        assert!(!served.join(NEXT_INDEX).exists());

        // The same version with other content is refused, naming the chart.
        let changed = chart(&dir.path().join("changed"), "0.1.0", "logLevel: info\n");
        let err = helm_staged(&old, &changed, &dir.path().join("again"), &helm)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("chart `fastapi-agent` 0.1.0 differs"), "{err}");
    }
}
