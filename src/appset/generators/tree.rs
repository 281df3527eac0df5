//! What a git generator reads: the directory a scenario serves for its
//! `repoURL`, as Argo CD's repo-server would read the repository.
//!
//! Inside a git checkout (the directory or a subdirectory of one, which is
//! then the repository's root), the tree is the commit `revision` names,
//! resolved the way Argo CD's `LsRemote` resolves it: empty or `HEAD` is
//! HEAD; then a branch, then a tag (a full `refs/…` name as well); a
//! 40-digit SHA; a 7 to 39-digit SHA prefix. Anything else (`HEAD~1`,
//! `origin/main`) does not resolve, as it would not on a remote. Only that
//! commit counts: uncommitted edits and untracked files are not read (lint's
//! `repo-uncommitted-changes` says when there are some). Argo CD also takes a
//! semantic-version constraint (`1.*`) and resolves it against the tags; that
//! is not resolved here.
//!
//! Anywhere else the directory is read as it is on disk (lint's
//! `git-revision-ignored` says when a `revision` cannot be honoured).
//!
//! Either way the listing has the same shape: every directory (hidden ones
//! left out) and every file (symbolic links count as files), `/`-separated and
//! relative to the served directory, in `filepath.WalkDir` order. Git runs as
//! a child process with an argument vector, bounded in time and in output.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::input::{MAX_FILE_BYTES, text_from_bytes, too_large};

/// Limits on what a listing of a served repository holds.
const MAX_ENTRIES: usize = 100_000;
const MAX_DEPTH: usize = 64;

/// The longest one git command may take, and the most a listing may print.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_LISTING_BYTES: u64 = 64 << 20;
/// The most of a failed git command's stderr an error quotes.
const MAX_STDERR_BYTES: u64 = 16 << 10;
/// Symbolic links followed inside a commit before giving up (Linux's limit).
const MAX_LINKS: usize = 40;

/// A directory inside a git checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The served directory.
    pub dir: PathBuf,
    /// The checkout's top-level directory.
    pub top: PathBuf,
    /// The served directory relative to `top`: empty, or `a/b/`.
    pub prefix: String,
}

/// The tree a git generator lists and reads.
#[derive(Debug)]
pub enum Tree {
    /// A directory that is not in a git checkout, as it is on disk.
    Worktree(PathBuf),
    /// One commit of a checkout, restricted to the served directory.
    Commit(CommitTree),
}

#[derive(Debug)]
pub struct CommitTree {
    pub checkout: Checkout,
    /// The full SHA `revision` resolved to.
    pub commit: String,
    /// Directory (relative, `""` for the root) → its entries (name, is a directory).
    children: HashMap<String, Vec<(String, bool)>>,
    /// File path → the blob holding it.
    blobs: HashMap<String, Blob>,
}

#[derive(Debug, Clone)]
struct Blob {
    id: String,
    size: u64,
    link: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// `revision` names no branch, tag or commit of the checkout.
    RevisionNotFound { revision: String, top: PathBuf },
    /// Git failed, or the served directory is missing at that commit.
    Other(String),
}

impl Tree {
    /// The tree of `dir` at `revision` (`""` is `HEAD`).
    pub fn open(dir: &Path, revision: &str) -> Result<Tree, OpenError> {
        let Some(checkout) = checkout(dir).map_err(OpenError::Other)? else {
            return Ok(Tree::Worktree(dir.to_path_buf()));
        };
        let commit = resolve(&checkout, revision)
            .map_err(OpenError::Other)?
            .ok_or_else(|| OpenError::RevisionNotFound {
                revision: if revision.is_empty() {
                    "HEAD"
                } else {
                    revision
                }
                .to_string(),
                top: checkout.top.clone(),
            })?;
        CommitTree::list(checkout, commit)
            .map(Tree::Commit)
            .map_err(OpenError::Other)
    }

    /// Every directory and every file, in `filepath.WalkDir` order.
    pub fn walk(&self) -> Result<(Vec<String>, Vec<String>), String> {
        match self {
            Tree::Worktree(root) => walk_with(|rel| read_dir(root, rel)),
            Tree::Commit(tree) => {
                walk_with(|rel| Ok(tree.children.get(rel).cloned().unwrap_or_default()))
            }
        }
    }

    /// The text of `file`, a path `walk` listed.
    pub fn read(&self, file: &str) -> Result<String, String> {
        match self {
            Tree::Worktree(root) => {
                crate::input::read_text(&root.join(file)).map_err(|e| e.to_string())
            }
            Tree::Commit(tree) => tree.read(file),
        }
    }
}

impl CommitTree {
    fn list(checkout: Checkout, commit: String) -> Result<CommitTree, String> {
        let prefix = checkout.prefix.trim_end_matches('/');
        let treeish = format!("{commit}:{prefix}");
        let out = git(
            &checkout.dir,
            &["ls-tree", "-r", "-t", "-l", "-z", "--full-tree", &treeish],
            MAX_LISTING_BYTES,
        )
        .map_err(|e| match e {
            GitError::Failed { stderr, .. }
                if !prefix.is_empty() && stderr.contains("Not a valid object name") =>
            {
                format!(
                    "the served directory `{}` is `{prefix}` in the checkout `{}`, which commit \
                 {commit} does not have",
                    checkout.dir.display(),
                    checkout.top.display()
                )
            }
            e => e.to_string(),
        })?;
        let mut children: HashMap<String, Vec<(String, bool)>> = HashMap::new();
        let mut blobs = HashMap::new();
        let mut count = 0usize;
        for record in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            count += 1;
            if count > MAX_ENTRIES {
                return Err(format!("repository has more than {MAX_ENTRIES} entries"));
            }
            let record = String::from_utf8_lossy(record);
            let Some((meta, path)) = record.split_once('\t') else {
                return Err(format!("unexpected `git ls-tree` output: {record:?}"));
            };
            let mut fields = meta.split_ascii_whitespace();
            let (Some(mode), Some(kind), Some(id), Some(size)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(format!("unexpected `git ls-tree` output: {record:?}"));
            };
            // A submodule (`commit`) is a directory, as in a checkout; its
            // contents are another repository's and are not listed.
            let is_dir = kind == "tree" || kind == "commit";
            let (parent, name) = match path.rsplit_once('/') {
                Some((parent, name)) => (parent.to_string(), name.to_string()),
                None => (String::new(), path.to_string()),
            };
            children.entry(parent).or_default().push((name, is_dir));
            if kind == "blob" {
                blobs.insert(
                    path.to_string(),
                    Blob {
                        id: id.to_string(),
                        size: size.parse().unwrap_or(u64::MAX),
                        link: mode == "120000",
                    },
                );
            }
        }
        Ok(CommitTree {
            checkout,
            commit,
            children,
            blobs,
        })
    }

    /// Reads a file of the commit, following symbolic links that stay inside
    /// the served directory, with the limits of any input file.
    fn read(&self, file: &str) -> Result<String, String> {
        let mut path = file.to_string();
        for _ in 0..MAX_LINKS {
            let Some(blob) = self.blobs.get(&path) else {
                return Err(if self.children.contains_key(&path) {
                    format!("`{path}` is a directory, not a regular file")
                } else {
                    format!("`{path}` does not exist at commit {}", self.commit)
                });
            };
            if blob.link {
                let target = self.blob(&blob.id, 4096)?;
                path = follow_link(&path, &String::from_utf8_lossy(&target)).ok_or_else(|| {
                    format!("symbolic link `{path}` points outside the repository")
                })?;
                continue;
            }
            if blob.size > MAX_FILE_BYTES {
                return Err(too_large(MAX_FILE_BYTES).to_string());
            }
            let bytes = self.blob(&blob.id, MAX_FILE_BYTES)?;
            return text_from_bytes(bytes).map_err(|e| e.to_string());
        }
        Err(format!("too many levels of symbolic links at `{file}`"))
    }

    fn blob(&self, id: &str, limit: u64) -> Result<Vec<u8>, String> {
        git(&self.checkout.dir, &["cat-file", "blob", id], limit).map_err(|e| match e {
            GitError::TooLarge => too_large(limit).to_string(),
            e => e.to_string(),
        })
    }
}

/// The path a symbolic link at `link` pointing to `target` names, if it
/// stays inside the tree.
fn follow_link(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The checkout `dir` is in, if any. Without git on the machine, a directory
/// with no `.git` above it is not a checkout; one with a `.git` is an error,
/// since its committed tree cannot be read.
pub fn checkout(dir: &Path) -> Result<Option<Checkout>, String> {
    match git(
        dir,
        &["rev-parse", "--show-toplevel", "--show-prefix"],
        64 << 10,
    ) {
        Ok(out) => {
            let out = String::from_utf8_lossy(&out);
            let mut lines = out.lines();
            let top = lines.next().unwrap_or_default();
            let prefix = lines.next().unwrap_or_default();
            Ok(Some(Checkout {
                dir: dir.to_path_buf(),
                top: PathBuf::from(top),
                prefix: prefix.to_string(),
            }))
        }
        Err(GitError::Failed { stderr, .. }) if stderr.contains("not a git repository") => Ok(None),
        Err(GitError::Spawn(e)) if e.kind() == io::ErrorKind::NotFound => {
            match dir.ancestors().find(|d| d.join(".git").exists()) {
                None => Ok(None),
                Some(top) => Err(format!(
                    "`{}` is in the git checkout `{}`, but `git` cannot be started to read it: {e}",
                    dir.display(),
                    top.display()
                )),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The commit `revision` names in `checkout`, as Argo CD resolves a revision
/// against a remote's refs; `None` when it names none.
pub fn resolve(checkout: &Checkout, revision: &str) -> Result<Option<String>, String> {
    let rev = if revision.is_empty() {
        "HEAD"
    } else {
        revision
    };
    let hex = rev.len() <= 40 && rev.bytes().all(|b| b.is_ascii_hexdigit());
    let mut candidates = Vec::new();
    if rev == "HEAD" || (hex && rev.len() == 40) || (rev.starts_with("refs/") && plain_ref(rev)) {
        candidates.push(rev.to_string());
    } else if plain_ref(rev) {
        candidates.push(format!("refs/heads/{rev}"));
        candidates.push(format!("refs/tags/{rev}"));
        if hex && rev.len() >= 7 {
            candidates.push(rev.to_string());
        }
    }
    for candidate in candidates {
        let spec = format!("{candidate}^{{commit}}");
        match git(
            &checkout.dir,
            &["rev-parse", "--verify", "--quiet", &spec],
            4096,
        ) {
            Ok(out) => {
                let sha = String::from_utf8_lossy(&out).trim().to_string();
                if !sha.is_empty() {
                    return Ok(Some(sha));
                }
            }
            // `--verify --quiet` exits 1, silently, for a name that is not there.
            Err(GitError::Failed { status, .. }) if status.code() == Some(1) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(None)
}

/// A name that is a ref name as it stands, not git revision syntax
/// (`main~1`, `v1^{tree}`, `@{1}`, `a..b`), and cannot read as an option.
fn plain_ref(rev: &str) -> bool {
    !rev.is_empty()
        && !rev.starts_with('-')
        && !rev.contains("..")
        && !rev.contains("@{")
        && !rev
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
}

/// Uncommitted and untracked paths inside the served directory, as
/// `git status --porcelain` prints them (`XY path`, relative to the
/// checkout's top).
pub fn uncommitted(checkout: &Checkout) -> Result<Vec<String>, String> {
    let out = git(
        &checkout.dir,
        &[
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--",
            ".",
        ],
        MAX_LISTING_BYTES,
    )
    .map_err(|e| e.to_string())?;
    let mut changes = Vec::new();
    let mut records = out.split(|b| *b == 0).filter(|r| !r.is_empty());
    while let Some(record) = records.next() {
        let record = String::from_utf8_lossy(record).into_owned();
        // A rename or copy is followed by the path it came from.
        if record.starts_with('R') || record.starts_with('C') {
            records.next();
        }
        changes.push(record);
    }
    Ok(changes)
}

#[derive(Debug)]
enum GitError {
    Spawn(io::Error),
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
    TimedOut(String),
    TooLarge,
    Read(io::Error),
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::Spawn(e) => write!(f, "cannot start `git`: {e}"),
            GitError::Failed {
                command,
                status,
                stderr,
            } => {
                write!(f, "`{command}` failed ({status})")?;
                match stderr.trim() {
                    "" => Ok(()),
                    s => write!(f, ": {s}"),
                }
            }
            GitError::TimedOut(command) => write!(
                f,
                "`{command}` did not finish within {} s",
                GIT_TIMEOUT.as_secs()
            ),
            GitError::TooLarge => f.write_str("git printed more than expected"),
            GitError::Read(e) => write!(f, "cannot read what git printed: {e}"),
        }
    }
}

enum Pipe {
    Out(io::Result<Vec<u8>>),
    Err(io::Result<Vec<u8>>),
}

/// Runs `git -C dir ARGS` on that repository alone: no `GIT_DIR` or the like
/// from the environment, no file-system monitor (a command the repository's
/// configuration could name), no optional locks (reading never writes the
/// index). Returns stdout, which may hold at most `limit` bytes.
fn git(dir: &Path, args: &[&str], limit: u64) -> Result<Vec<u8>, GitError> {
    let command = format!("git -C {} {}", dir.display(), args.join(" "));
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["-c", "core.fsmonitor=false", "-c", "core.quotePath=false"])
        .args(args.iter().map(OsStr::new));
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(GitError::Spawn)?;
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let r = stdout.take(limit + 1).read_to_end(&mut buf).map(|_| buf);
            let _ = tx.send(Pipe::Out(r));
        });
    }
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut stderr = stderr;
            let mut buf = Vec::new();
            let r = (&mut stderr)
                .take(MAX_STDERR_BYTES)
                .read_to_end(&mut buf)
                .and_then(|_| io::copy(&mut stderr, &mut io::sink()))
                .map(|_| buf);
            let _ = tx.send(Pipe::Err(r));
        });
    }
    let deadline = Instant::now() + GIT_TIMEOUT;
    let (mut out, mut err) = (None, None);
    while out.is_none() || err.is_none() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Pipe::Out(r)) => out = Some(r),
            Ok(Pipe::Err(r)) => err = Some(r),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(GitError::TimedOut(command));
            }
        }
        // Past the limit the reader stops; git must not wait on a full pipe.
        if matches!(&out, Some(Ok(b)) if b.len() as u64 > limit) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(GitError::TooLarge);
        }
    }
    let status = child.wait().map_err(GitError::Read)?;
    let out = out
        .unwrap_or_else(|| Ok(Vec::new()))
        .map_err(GitError::Read)?;
    let err = err.unwrap_or_else(|| Ok(Vec::new())).unwrap_or_default();
    if !status.success() {
        return Err(GitError::Failed {
            command,
            status,
            stderr: String::from_utf8_lossy(&err).into_owned(),
        });
    }
    Ok(out)
}

/// The entries of the directory `rel` below `root`, at most [`MAX_ENTRIES`].
fn read_dir(root: &Path, rel: &str) -> Result<Vec<(String, bool)>, String> {
    let abs = root.join(rel);
    let read = fs::read_dir(&abs)
        .map_err(|e| format!("error walking the file tree: {}: {e}", abs.display()))?;
    let mut entries = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| format!("error walking the file tree: {e}"))?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        entries.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
        if entries.len() > MAX_ENTRIES {
            break;
        }
    }
    Ok(entries)
}

/// Every directory (hidden ones left out, their contents still walked) and
/// every file (only `.git` skipped), given each directory's entries, in
/// `filepath.WalkDir` order: pre-order, names sorted in each directory.
/// Symbolic links are entries that are not directories: never followed.
fn walk_with(
    mut children: impl FnMut(&str) -> Result<Vec<(String, bool)>, String>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    // (relative path, depth, inside a hidden directory)
    let mut stack: Vec<(String, usize, bool)> = vec![(String::new(), 0, false)];
    let mut seen = 0usize;
    while let Some((rel, depth, hidden)) = stack.pop() {
        let mut entries = children(&rel)?;
        seen += entries.len();
        if seen > MAX_ENTRIES {
            return Err(format!("repository has more than {MAX_ENTRIES} entries"));
        }
        entries.sort();
        let mut subdirs = Vec::new();
        for (name, is_dir) in entries {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if is_dir {
                if name == ".git" || depth + 1 > MAX_DEPTH {
                    continue;
                }
                let child_hidden = hidden || name.starts_with('.');
                subdirs.push((child_rel, depth + 1, child_hidden));
            } else {
                files.push(child_rel);
            }
        }
        // Visit directories in order: push in reverse; record pre-order.
        for d in subdirs.into_iter().rev() {
            stack.push(d);
        }
        if !rel.is_empty() && !hidden {
            dirs.push(rel);
        }
    }
    Ok((dirs, files))
}

/// A git repository made for a test, with the machine's and the user's git
/// configuration kept out of the commands that build it.
#[cfg(test)]
pub(crate) mod testrepo {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    pub struct TestRepo {
        pub dir: tempfile::TempDir,
        home: tempfile::TempDir,
    }

    impl TestRepo {
        /// An empty repository whose first branch is `main`.
        pub fn new() -> Self {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            let repo = TestRepo { dir, home };
            repo.git(&["init", "-q", "-b", "main"]);
            repo
        }

        pub fn path(&self) -> PathBuf {
            self.dir.path().to_path_buf()
        }

        pub fn write(&self, file: &str, text: &str) {
            let path = self.dir.path().join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
            }
            std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
        }

        /// Stages everything and commits; returns the new commit's SHA.
        pub fn commit(&self, message: &str) -> String {
            self.git(&["add", "-A"]);
            self.git(&["commit", "-q", "-m", message]);
            self.git(&["rev-parse", "HEAD"]).trim().to_string()
        }

        pub fn git(&self, args: &[&str]) -> String {
            git_in(self.dir.path(), self.home.path(), args)
        }
    }

    fn git_in(dir: &Path, home: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=gitops-e2e test",
                "-c",
                "user.email=test@localhost",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
            ])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap_or_else(|e| panic!("cannot start git: {e}"));
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::testrepo::TestRepo;
    use super::*;

    /// Two commits (the first branched as `release-1` and tagged `v1`), then
    /// a modified and an untracked file in the working tree.
    fn history() -> (TestRepo, String, String) {
        let repo = TestRepo::new();
        repo.write("apps/api/config.json", r#"{"env": "v1"}"#);
        repo.write("apps/web/config.json", "{}");
        let first = repo.commit("first");
        repo.git(&["branch", "release-1"]);
        repo.git(&["tag", "-a", "v1", "-m", "v1"]);
        repo.write("apps/api/config.json", r#"{"env": "v2"}"#);
        repo.write("apps/db/config.json", "{}");
        let second = repo.commit("second");
        repo.write("apps/api/config.json", r#"{"env": "dirty"}"#);
        repo.write("apps/new/config.json", "{}");
        (repo, first, second)
    }

    fn dirs(tree: &Tree) -> Vec<String> {
        tree.walk().unwrap_or_else(|e| panic!("{e}")).0
    }

    #[test]
    fn head_is_the_committed_tree() {
        let (repo, _, second) = history();
        for revision in ["", "HEAD", "main", "refs/heads/main", &second, &second[..7]] {
            let tree = Tree::open(&repo.path(), revision).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(
                dirs(&tree),
                ["apps", "apps/api", "apps/db", "apps/web"],
                "{revision}"
            );
            assert_eq!(
                tree.read("apps/api/config.json").as_deref(),
                Ok(r#"{"env": "v2"}"#)
            );
        }
    }

    #[test]
    fn an_older_branch_tag_or_sha_is_the_older_tree() {
        let (repo, first, _) = history();
        for revision in ["release-1", "v1", "refs/tags/v1", &first, &first[..8]] {
            let tree = Tree::open(&repo.path(), revision).unwrap_or_else(|e| panic!("{e:?}"));
            let Tree::Commit(commit) = &tree else {
                panic!("not read from git");
            };
            assert_eq!(commit.commit, first, "{revision}");
            assert_eq!(dirs(&tree), ["apps", "apps/api", "apps/web"]);
            assert_eq!(
                tree.walk().map(|w| w.1),
                Ok(vec![
                    "apps/api/config.json".to_string(),
                    "apps/web/config.json".to_string()
                ])
            );
            assert_eq!(
                tree.read("apps/api/config.json").as_deref(),
                Ok(r#"{"env": "v1"}"#)
            );
        }
    }

    #[test]
    fn revisions_argo_cd_cannot_resolve_are_not_found() {
        let (repo, _, _) = history();
        for revision in [
            "nope",
            "HEAD~1",
            "main^",
            "v1^{tree}",
            "main@{0}",
            "-h",
            "0000000",
        ] {
            match Tree::open(&repo.path(), revision) {
                Err(OpenError::RevisionNotFound { revision: r, .. }) => assert_eq!(r, revision),
                other => panic!("{revision}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_subdirectory_of_a_checkout_is_the_repository_root() {
        let (repo, _, _) = history();
        let tree = Tree::open(&repo.path().join("apps"), "v1").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(dirs(&tree), ["api", "web"]);
        assert_eq!(
            tree.read("api/config.json").as_deref(),
            Ok(r#"{"env": "v1"}"#)
        );
        // A directory the revision does not have yet.
        repo.write("later/x.json", "{}");
        repo.commit("later");
        match Tree::open(&repo.path().join("later"), "v1") {
            Err(OpenError::Other(m)) => assert!(m.contains("does not have"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hidden_directories_and_order_match_a_walk_of_the_disk() {
        let repo = TestRepo::new();
        for f in [
            "a-b/x",
            "a/x",
            "a/.hidden/in/x",
            "foo.txt",
            "foo/x",
            ".top/x",
        ] {
            repo.write(f, "x");
        }
        repo.commit("tree");
        let from_git = Tree::open(&repo.path(), "")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .walk();
        let from_disk = Tree::Worktree(repo.path()).walk().map(|(d, f)| {
            // The disk also has `.git`'s files: never listed by git.
            (
                d,
                f.into_iter().filter(|f| !f.starts_with(".git/")).collect(),
            )
        });
        assert_eq!(from_git, from_disk);
        assert_eq!(
            from_git.map(|w| w.0),
            Ok(vec!["a".to_string(), "a-b".to_string(), "foo".to_string()])
        );
    }

    #[test]
    fn symbolic_links_are_followed_inside_the_tree_only() {
        let repo = TestRepo::new();
        repo.write("real/config.json", r#"{"a": 1}"#);
        std::os::unix::fs::symlink("real/config.json", repo.path().join("link.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        repo.write("sub/keep", "");
        std::os::unix::fs::symlink("../link.json", repo.path().join("sub/in.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("/etc/hostname", repo.path().join("out.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("../../x", repo.path().join("sub/up.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        repo.commit("links");
        let tree = Tree::open(&repo.path(), "").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(tree.read("link.json").as_deref(), Ok(r#"{"a": 1}"#));
        assert_eq!(tree.read("sub/in.json").as_deref(), Ok(r#"{"a": 1}"#));
        assert!(tree.read("out.json").is_err_and(|e| e.contains("outside")));
        assert!(
            tree.read("sub/up.json")
                .is_err_and(|e| e.contains("outside"))
        );
        assert!(tree.read("real").is_err_and(|e| e.contains("directory")));
    }

    #[test]
    fn a_file_over_the_input_limit_is_refused_before_it_is_read() {
        let repo = TestRepo::new();
        repo.write("big.json", &"a".repeat(MAX_FILE_BYTES as usize + 1));
        repo.commit("big");
        let tree = Tree::open(&repo.path(), "").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            tree.read("big.json"),
            Err("it is larger than the 8 MiB input limit".to_string())
        );
    }

    #[test]
    fn a_directory_outside_any_checkout_is_read_from_disk() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("apps/api")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(checkout(dir.path()), Ok(None));
        let tree = Tree::open(dir.path(), "v1").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(tree, Tree::Worktree(_)));
        assert_eq!(dirs(&tree), ["apps", "apps/api"]);
    }

    #[test]
    fn uncommitted_lists_changes_inside_the_served_directory_only() {
        let repo = TestRepo::new();
        repo.write("apps/api/config.json", "{}");
        repo.write("other/x", "x");
        repo.commit("first");
        let whole = checkout(&repo.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("not a checkout"));
        assert_eq!(whole.prefix, "");
        assert_eq!(uncommitted(&whole), Ok(vec![]));
        repo.write("other/x", "changed");
        let apps = checkout(&repo.path().join("apps"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("not a checkout"));
        assert_eq!(apps.prefix, "apps/");
        assert_eq!(uncommitted(&apps), Ok(vec![]));
        repo.write("apps/api/config.json", r#"{"a": 1}"#);
        repo.write("apps/new/config.json", "{}");
        assert_eq!(
            uncommitted(&apps),
            Ok(vec![
                " M apps/api/config.json".to_string(),
                "?? apps/new/config.json".to_string()
            ])
        );
    }

    #[test]
    fn follow_link_stays_inside() {
        assert_eq!(follow_link("a/b", "c").as_deref(), Some("a/c"));
        assert_eq!(follow_link("a/b", "../c/./d").as_deref(), Some("c/d"));
        assert_eq!(follow_link("a/b", "../../c"), None);
        assert_eq!(follow_link("a", "/etc/passwd"), None);
    }
}
