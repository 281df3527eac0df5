//! Which scenario files `run PATH...` was given: files as named, and from
//! each directory its `*.yaml`/`*.yml` files that are `kind: Scenario`,
//! recursively.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::error::Error;

/// The most scenarios one invocation takes: more is almost surely a
/// directory given by mistake (a home directory, a checkout's root).
pub const MAX_SCENARIOS: usize = 1000;
/// The most directory entries one walk looks at, for the same reason.
const MAX_ENTRIES: usize = 100_000;
/// A scenario is a small file; a larger YAML file is not read.
const MAX_SCENARIO_BYTES: u64 = 1 << 20;

/// The scenario files named by `paths`, each once, sorted by [`key`].
///
/// A directory contributes its YAML files whose top level says
/// `kind: Scenario`, at any depth. Entries whose names start with a dot
/// (`.git`, `.gitops-e2e` with its diagnostics) are passed over. Symbolic
/// links inside a directory are not followed (a path given on the command
/// line may be one): a link loop cannot make the walk go round, and nothing
/// outside the directory joins the suite.
pub fn discover(paths: &[PathBuf], cwd: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let mut canonical_seen = BTreeSet::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| Error::File {
            action: "read",
            path: path.clone(),
            source,
        })?;
        let files = if meta.is_dir() {
            walk(path)?
        } else {
            vec![path.clone()]
        };
        for file in files {
            let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if canonical_seen.insert(canonical) {
                found.push((key(&file, cwd), file));
            }
        }
        if found.len() > MAX_SCENARIOS {
            return Err(too_many(path));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, f)| f).collect())
}

/// A scenario's name for sorting and sharding: its path relative to `cwd`
/// with `.` parts dropped, so that every machine computes the same one from
/// the same checkout.
pub fn key(path: &Path, cwd: &Path) -> String {
    let relative = if path.is_absolute() {
        path.strip_prefix(cwd)
            .ok()
            .map(Path::to_path_buf)
            .or_else(|| {
                let cwd = std::fs::canonicalize(cwd).ok()?;
                let path = std::fs::canonicalize(path).ok()?;
                path.strip_prefix(&cwd).ok().map(Path::to_path_buf)
            })
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    let clean: PathBuf = relative
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    clean.display().to_string()
}

fn walk(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let read_error = |path: &Path, source| Error::File {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let canonical_root = std::fs::canonicalize(root).map_err(|e| read_error(root, e))?;
    let mut visited = BTreeSet::from([canonical_root]);
    let mut stack = vec![root.to_path_buf()];
    let mut files = Vec::new();
    let mut entries = 0usize;
    while let Some(dir) = stack.pop() {
        let mut children: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| read_error(&dir, e))?
            .filter_map(Result::ok)
            .collect();
        children.sort_by_key(|e| e.file_name());
        for child in children {
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(too_many(root));
            }
            if child.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = child.path();
            let Ok(kind) = child.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                // What a link points to inside the directory is found under
                // its own path; what is outside is not part of the suite.
                continue;
            }
            if kind.is_dir() {
                let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if visited.insert(canonical) {
                    stack.push(path);
                }
            } else if is_yaml(&path) && is_scenario(&path) {
                files.push(path);
                if files.len() > MAX_SCENARIOS {
                    return Err(too_many(root));
                }
            }
        }
    }
    Ok(files)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// A top-level `kind: Scenario` line. A scenario with a syntax error further
/// down still counts, so its run says what is wrong instead of skipping it.
fn is_scenario(path: &Path) -> bool {
    let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= MAX_SCENARIO_BYTES);
    let Ok(text) = (if small {
        std::fs::read_to_string(path)
    } else {
        return false;
    }) else {
        return false;
    };
    text.lines().any(|line| {
        let Some(value) = line.strip_prefix("kind:") else {
            return false;
        };
        let value = value.split(" #").next().unwrap_or_default().trim();
        matches!(value, "Scenario" | "\"Scenario\"" | "'Scenario'")
    })
}

fn too_many(path: &Path) -> Error {
    Error::Input {
        message: format!(
            "more than {MAX_SCENARIOS} scenarios (or {MAX_ENTRIES} entries) under `{}`",
            path.display()
        ),
        help: Some("name the directories that hold scenarios".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str =
        "apiVersion: gitops-e2e/v1alpha1\nkind: Scenario\nmetadata:\n  name: x\n";

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn keys(found: &[PathBuf], cwd: &Path) -> Vec<String> {
        found.iter().map(|f| key(f, cwd)).collect()
    }

    #[test]
    fn a_directory_gives_its_scenarios_sorted_and_skips_other_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("suite/b.yaml"), SCENARIO);
        write(
            &d.join("suite/a/z.yml"),
            "# a comment\nkind: 'Scenario' # here\n",
        );
        write(&d.join("suite/a/appset.yaml"), "kind: ApplicationSet\n");
        write(&d.join("suite/a/nested.yaml"), "spec:\n  kind: Scenario\n");
        write(&d.join("suite/notes.txt"), SCENARIO);
        write(&d.join("suite/.gitops-e2e/copy.yaml"), SCENARIO);
        let found = discover(&[d.join("suite")], d).unwrap();
        assert_eq!(keys(&found, d), ["suite/a/z.yml", "suite/b.yaml"]);
    }

    #[test]
    fn files_are_taken_as_named_once_and_sorted_with_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("s/b.yaml"), SCENARIO);
        write(&d.join("a.yaml"), "kind: Anything\n");
        let found = discover(&[d.join("s"), d.join("s/./b.yaml"), d.join("a.yaml")], d).unwrap();
        assert_eq!(keys(&found, d), ["a.yaml", "s/b.yaml"]);
    }

    #[test]
    fn a_path_that_does_not_exist_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let e = discover(&[dir.path().join("nope")], dir.path()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_are_not_followed_and_a_loop_ends() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("outside/secret.yaml"), SCENARIO);
        write(&d.join("suite/real/a.yaml"), SCENARIO);
        symlink(d.join("outside"), d.join("suite/out")).unwrap();
        symlink(d.join("suite"), d.join("suite/real/loop")).unwrap();
        symlink(d.join("suite/real"), d.join("suite/alias")).unwrap();
        symlink(d.join("suite/self"), d.join("suite/self")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let root = d.to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(discover(&[root.join("suite")], &root));
        });
        let found = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a symlink loop made discovery hang")
            .unwrap();
        assert_eq!(keys(&found, d), ["suite/real/a.yaml"]);
    }

    #[test]
    fn keys_are_relative_to_the_current_directory() {
        let cwd = Path::new("/work/repo");
        assert_eq!(key(Path::new("/work/repo/s/a.yaml"), cwd), "s/a.yaml");
        assert_eq!(key(Path::new("./s/./a.yaml"), cwd), "s/a.yaml");
        assert_eq!(
            key(Path::new("/elsewhere/a.yaml"), cwd),
            "/elsewhere/a.yaml"
        );
    }
}
