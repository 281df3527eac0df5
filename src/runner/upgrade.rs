//! An upgrade run's previous release: where its files come from — a git ref
//! of the checkout holding the scenario, exported into the run's directory,
//! or files the scenario names — read and expanded before any cluster comes
//! up, so that a wrong ref or a missing file costs no environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::appset::Expansion;
use crate::error::Error;
use crate::process::Cmd;
use crate::scenario::{Loaded, UpgradeFrom};
use crate::yaml::Document;

/// The release deployed before the working copy.
#[derive(Debug, Clone)]
pub struct Previous {
    /// Where it came from, for the report: `ref main (3f2c1d0)` or `files`.
    pub label: String,
    pub appset: Document,
    pub expansion: Expansion,
    /// Its directory for each of `spec.repos`, in order.
    pub repo_paths: Vec<PathBuf>,
}

/// How long one git command of the export may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

/// Reads the previous release `from` names; a ref's files are exported
/// under `dir` (the run's own directory). `current` is the name of the
/// ApplicationSet under test, which the previous one must share.
pub async fn resolve(
    loaded: &Loaded,
    current: &str,
    from: &UpgradeFrom,
    dir: &Path,
) -> Result<Previous, Error> {
    let (label, appset_file, repo_paths) = match from {
        UpgradeFrom::Files {
            application_set,
            repo_paths,
        } => (
            "files".to_string(),
            application_set.clone(),
            repo_paths.clone(),
        ),
        UpgradeFrom::Ref(r) => {
            let mut wanted = vec![loaded.application_set.clone()];
            wanted.extend(loaded.repo_paths.iter().cloned());
            let (label, mut exported) = export_ref(&loaded.file, r, &wanted, dir).await?;
            let appset = exported.remove(0);
            (label, appset, exported)
        }
    };
    let mut at_previous = loaded.clone();
    at_previous.repo_paths = repo_paths.clone();
    let env = crate::plan::environment(&at_previous);
    let (appset, expansion) = crate::plan::previous_appset(&appset_file, &env)?;
    let name = |d: &Document| {
        d.value
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if current != name(&appset) {
        return Err(Error::Input {
            message: format!(
                "the previous release's ApplicationSet `{}` (in `{}`) is not the one under test, `{current}`",
                name(&appset),
                appset_file.display()
            ),
            help: Some(
                "an upgrade updates one ApplicationSet in place: both releases must give it the same `metadata.name`"
                    .into(),
            ),
        });
    }
    Ok(Previous {
        label,
        appset,
        expansion,
        repo_paths,
    })
}

/// Exports `paths` (files and directories of the checkout holding
/// `scenario`) as they are at `reference` into `dir/previous`; returns a
/// label naming the commit and the exported path of each, in order.
async fn export_ref(
    scenario: &Path,
    reference: &str,
    paths: &[PathBuf],
    dir: &Path,
) -> Result<(String, Vec<PathBuf>), Error> {
    if !crate::scenario::plausible_ref(reference) {
        return Err(Error::Input {
            message: format!("`{reference}` is not a git ref"),
            help: Some("a branch, tag or commit, e.g. `main`, `v1.2.0` or `HEAD~1`".into()),
        });
    }
    let scenario_dir = scenario
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let top = git_output(scenario_dir, &["rev-parse", "--show-toplevel"])
        .await
        .map_err(|e| Error::Input {
            message: format!(
                "an upgrade from `{reference}` needs the scenario `{}` in a git checkout: {e}",
                scenario.display()
            ),
            help: Some(
                "run from a clone of the repository, or give the previous release's files with \
                 `spec.upgrade.applicationSet` and `spec.upgrade.repos`"
                    .into(),
            ),
        })?;
    let top = PathBuf::from(top.trim());
    let commit = git_output(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{reference}^{{commit}}"),
        ],
    )
    .await
    .map_err(|_| Error::Input {
        message: format!(
            "`{reference}` is not a commit of the checkout `{}`",
            top.display()
        ),
        help: Some(
            "name a branch, tag or commit that exists there (`git log --oneline` lists them)"
                .into(),
        ),
    })?;
    let commit = commit.trim().to_string();
    let short = &commit[..commit.len().min(7)];
    let canonical_top = top.canonicalize().map_err(|source| Error::File {
        action: "read",
        path: top.clone(),
        source,
    })?;
    let mut relative = Vec::with_capacity(paths.len());
    for path in paths {
        let canonical = path.canonicalize().map_err(|source| Error::File {
            action: "read",
            path: path.clone(),
            source,
        })?;
        let rel = canonical
            .strip_prefix(&canonical_top)
            .map_err(|_| Error::Input {
                message: format!(
                    "`{}` is outside the checkout `{}`, so it has no version at `{reference}`",
                    path.display(),
                    top.display()
                ),
                help: Some(
                    "keep the ApplicationSet and the repository paths in the scenario's checkout, \
                     or give the previous release's files with `spec.upgrade`"
                        .into(),
                ),
            })?
            .to_path_buf();
        let spec = if rel.as_os_str().is_empty() {
            format!("{commit}:")
        } else {
            format!("{commit}:{}", rel.display())
        };
        if git_output(&top, &["cat-file", "-e", &spec]).await.is_err() {
            return Err(Error::Input {
                message: format!(
                    "`{}` does not exist at `{reference}` ({short}) in `{}`",
                    rel.display(),
                    top.display()
                ),
                help: Some(
                    "an upgrade needs the previous release of every file it serves; \
                     choose a ref that has it, or give the files with `spec.upgrade`"
                        .into(),
                ),
            });
        }
        relative.push(rel);
    }
    let dest = dir.join("previous");
    let env_error = |what: &str, e: &dyn std::fmt::Display| Error::Environment {
        context: format!(
            "cannot export `{reference}` ({short}) of `{}`",
            top.display()
        ),
        source: anyhow::anyhow!("{what}: {e}"),
    };
    std::fs::create_dir_all(&dest).map_err(|e| env_error("create the directory", &e))?;
    let tar = dir.join("previous.tar");
    let mut archive: Vec<String> = vec![
        "archive".into(),
        "--format=tar".into(),
        "-o".into(),
        tar.display().to_string(),
        commit.clone(),
    ];
    // The whole checkout, or only what the run serves.
    if !relative.iter().any(|r| r.as_os_str().is_empty()) {
        archive.push("--".into());
        archive.extend(relative.iter().map(|r| r.display().to_string()));
    }
    let archive: Vec<&str> = archive.iter().map(String::as_str).collect();
    git_output(&top, &archive)
        .await
        .map_err(|e| env_error("git archive", &e))?;
    run_bounded(
        Cmd::new("tar")
            .arg("-x")
            .arg("--no-same-owner")
            .arg("-f")
            .arg(&tar)
            .arg("-C")
            .arg(&dest),
    )
    .await
    .map_err(|e| env_error("tar", &e))?;
    let _ = std::fs::remove_file(&tar);
    let exported = relative.iter().map(|r| dest.join(r)).collect();
    Ok((format!("`{reference}` ({short})"), exported))
}

/// `git ARGS` in `dir`, without the user's hooks or pager.
async fn git_output(dir: &Path, args: &[&str]) -> Result<String, String> {
    run_bounded(
        Cmd::new("git")
            .current_dir(dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .args(args),
    )
    .await
}

async fn run_bounded(cmd: Cmd) -> Result<String, String> {
    match tokio::time::timeout(GIT_TIMEOUT, cmd.output()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(crate::steps::error_chain(&e)),
        Err(_) => Err(format!(
            "did not finish within {}",
            humantime::format_duration(GIT_TIMEOUT)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    }

    /// A checkout whose first commit has `charts/a.txt` = "one" and whose
    /// second has "two" and a new `appset.yaml`.
    fn checkout() -> tempfile::TempDir {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path();
        git(d, &["init", "-q", "-b", "main"]);
        std::fs::create_dir(d.join("charts")).expect("mkdir");
        std::fs::write(d.join("charts/a.txt"), "one").expect("write");
        git(d, &["add", "charts"]);
        git(d, &["commit", "-q", "-m", "one"]);
        git(d, &["tag", "v1"]);
        std::fs::write(d.join("charts/a.txt"), "two").expect("write");
        std::fs::write(d.join("appset.yaml"), "x").expect("write");
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "two"]);
        t
    }

    #[tokio::test]
    async fn a_ref_exports_each_path_as_it_was_there() {
        let repo = checkout();
        let run = tempfile::tempdir().expect("tempdir");
        let scenario = repo.path().join("scenario.yaml");
        let (label, paths) = export_ref(&scenario, "v1", &[repo.path().join("charts")], run.path())
            .await
            .expect("export");
        assert!(label.starts_with("`v1` ("), "{label}");
        assert_eq!(paths, vec![run.path().join("previous/charts")]);
        let text = std::fs::read_to_string(run.path().join("previous/charts/a.txt")).expect("read");
        assert_eq!(text, "one");
        assert!(!run.path().join("previous.tar").exists());
    }

    #[tokio::test]
    async fn a_missing_ref_or_path_is_an_input_error_naming_it() {
        let repo = checkout();
        let run = tempfile::tempdir().expect("tempdir");
        let scenario = repo.path().join("scenario.yaml");
        let e = export_ref(&scenario, "v9", &[repo.path().join("charts")], run.path())
            .await
            .expect_err("no such ref");
        assert_eq!(e.exit_code(), crate::error::exit::INVALID_INPUT);
        assert!(e.to_string().contains("`v9` is not a commit"), "{e}");
        let e = export_ref(
            &scenario,
            "v1",
            &[repo.path().join("appset.yaml")],
            run.path(),
        )
        .await
        .expect_err("not there at v1");
        assert!(
            e.to_string()
                .contains("`appset.yaml` does not exist at `v1`"),
            "{e}"
        );
        let e = export_ref(&scenario, "--output=x", &[], run.path())
            .await
            .expect_err("an option");
        assert!(e.to_string().contains("is not a git ref"), "{e}");
        assert!(!run.path().join("x").exists());
    }

    #[tokio::test]
    async fn a_path_outside_the_checkout_is_refused() {
        let repo = checkout();
        let outside = tempfile::tempdir().expect("tempdir");
        let run = tempfile::tempdir().expect("tempdir");
        let e = export_ref(
            &repo.path().join("scenario.yaml"),
            "main",
            &[outside.path().to_path_buf()],
            run.path(),
        )
        .await
        .expect_err("outside");
        assert!(e.to_string().contains("is outside the checkout"), "{e}");
    }
}
