//! `gitops-e2e clean`: what earlier runs left behind — a run killed with
//! SIGKILL, or kept with `--keep` — found by the marks the harness gives what
//! it creates, and removed; nothing else is touched.
//!
//! The marks: every run directory is `$TMPDIR/gitops-e2e-run-*` and holds an
//! `owner` file (the harness's pid and start time); every process the harness
//! starts (kwok components, Argo CD, redis) carries [`RUN_ENV`] in its
//! environment, naming a path inside its run directory; every kind cluster
//! of a run is named `gitops-e2e-<run id>-…` and every container it starts
//! (the repository servers) carries the label `io.gitops-e2e.run=<run id>`.
//! A run whose owner is gone is left over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::runner::RUN_DIR_PREFIX;

/// The environment variable that marks a process as started by a run.
pub const RUN_ENV: &str = "GITOPS_E2E_RUN_DIR";

/// The file in a run directory that names the harness process owning it.
pub const OWNER_FILE: &str = "owner";

/// Records the current process as the owner of `run_dir`.
pub fn write_owner(run_dir: &Path) -> std::io::Result<()> {
    let pid = std::process::id();
    let started = start_time(pid).unwrap_or_default();
    std::fs::write(run_dir.join(OWNER_FILE), format!("{pid} {started}\n"))
}

/// A run whose owner is gone, and what it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub run_dir: PathBuf,
    /// Whether the directory itself still exists.
    pub dir_exists: bool,
    pub processes: Vec<Process>,
    /// Its kind clusters (found when Docker answers).
    pub kind_clusters: Vec<String>,
    /// Its containers, by id (found when Docker answers).
    pub containers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub pgid: u32,
    /// Its command line, for listing.
    pub command: String,
}

/// The runs under `tmp` (the system's temporary directory) whose owner is no
/// longer running, with the processes they left; runs of live harnesses and
/// anything not marked as the harness's are not listed.
pub fn find(tmp: &Path) -> Vec<Leftover> {
    let mut runs: std::collections::BTreeMap<PathBuf, Vec<Process>> = Default::default();
    for (process, marked) in marked_processes() {
        if let Some(dir) = run_dir_of(&marked)
            && dir.parent() == Some(tmp)
        {
            runs.entry(dir).or_default().push(process);
        }
    }
    if let Ok(entries) = std::fs::read_dir(tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && name.to_string_lossy().starts_with(RUN_DIR_PREFIX) {
                runs.entry(entry.path()).or_default();
            }
        }
    }
    let mut leftovers: Vec<Leftover> = runs
        .into_iter()
        .filter(|(dir, _)| !owner_alive(dir))
        .map(|(run_dir, processes)| Leftover {
            dir_exists: run_dir.is_dir(),
            run_dir,
            processes,
            kind_clusters: Vec::new(),
            containers: Vec::new(),
        })
        .collect();
    if !leftovers.is_empty() {
        let clusters = kind_clusters();
        for left in &mut leftovers {
            let id = crate::runner::run_id(&left.run_dir);
            let prefix = format!("gitops-e2e-{id}-");
            left.kind_clusters = clusters
                .iter()
                .filter(|c| c.starts_with(&prefix))
                .cloned()
                .collect();
            left.containers = labelled_containers(&id);
        }
    }
    leftovers
}

/// What the run directory `run_dir` holds and runs, whoever owns it: for
/// removing a kept environment that failed its health check.
pub fn leftover_of(run_dir: &Path) -> Leftover {
    Leftover {
        run_dir: run_dir.to_path_buf(),
        dir_exists: run_dir.is_dir(),
        processes: marked_processes()
            .into_iter()
            .filter(|(_, marked)| run_dir_of(marked).as_deref() == Some(run_dir))
            .map(|(process, _)| process)
            .collect(),
        kind_clusters: Vec::new(),
        containers: Vec::new(),
    }
}

/// kind clusters named like a run's whose run has no directory in `tmp`: a
/// run that used another temporary directory, or one whose directory was
/// removed while its clusters could not be. Listed, never removed: nothing
/// here says their run is over.
pub fn orphan_kind_clusters(tmp: &Path) -> Vec<String> {
    let ids: Vec<String> = std::fs::read_dir(tmp)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(RUN_DIR_PREFIX))
        .map(|e| crate::runner::run_id(&e.path()))
        .collect();
    kind_clusters()
        .into_iter()
        .filter(|c| {
            !ids.iter()
                .any(|id| c.starts_with(&format!("gitops-e2e-{id}-")))
        })
        .collect()
}

/// The kind binary: the toolchain's, else the one on `PATH`.
fn kind_binary() -> PathBuf {
    crate::toolchain::Toolchain::locate()
        .map(|t| t.bin("kind"))
        .ok()
        .filter(|b| b.is_file())
        .unwrap_or_else(|| "kind".into())
}

/// Runs a docker-side command for at most 30 s (`timeout` from coreutils);
/// its stdout lines, or none when it fails (no Docker, no kind).
fn lines_of(program: &Path, args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("timeout")
        .arg("30")
        .arg(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn kind_clusters() -> Vec<String> {
    lines_of(&kind_binary(), &["get", "clusters"])
        .into_iter()
        .filter(|c| c.starts_with("gitops-e2e-"))
        .collect()
}

fn labelled_containers(run_id: &str) -> Vec<String> {
    let label = format!(
        "label={}={run_id}",
        crate::argocd::repo_containers::RUN_LABEL
    );
    lines_of(
        Path::new("docker"),
        &["ps", "-a", "--filter", &label, "--format", "{{.ID}}"],
    )
}

/// Stops a leftover's processes (their whole groups: SIGTERM, then SIGKILL
/// after `grace`) and removes its run directory.
pub fn remove(leftover: &Leftover, grace: Duration) -> std::io::Result<()> {
    let groups: std::collections::BTreeSet<u32> =
        leftover.processes.iter().map(|p| p.pgid).collect();
    signal_groups(&groups, libc::SIGTERM);
    let deadline = std::time::Instant::now() + grace;
    while leftover.processes.iter().any(|p| alive(p.pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_groups(&groups, libc::SIGKILL);
    for p in &leftover.processes {
        // A process outside those groups (it made its own) still goes.
        if alive(p.pid) {
            // SAFETY: kill only sends a signal to a process marked as ours.
            unsafe { libc::kill(p.pid as libc::pid_t, libc::SIGKILL) };
        }
    }
    for cluster in &leftover.kind_clusters {
        // kind edits the kubeconfig it is given: the run's, never the user's.
        let kubeconfig = leftover
            .run_dir
            .join("kind")
            .join(format!("{cluster}.kubeconfig"));
        let kubeconfig = kubeconfig.to_string_lossy().into_owned();
        let deleted = lines_of(
            &kind_binary(),
            &[
                "delete",
                "cluster",
                "--name",
                cluster,
                "--kubeconfig",
                &kubeconfig,
            ],
        );
        drop(deleted);
    }
    if !leftover.containers.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(leftover.containers.iter().map(String::as_str));
        drop(lines_of(Path::new("docker"), &args));
    }
    let dir = &leftover.run_dir;
    let ours = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(RUN_DIR_PREFIX));
    let real_dir = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
    if ours && real_dir {
        std::fs::remove_dir_all(dir)?;
    }
    Ok(())
}

fn signal_groups(groups: &std::collections::BTreeSet<u32>, signal: libc::c_int) {
    for &pgid in groups {
        // Never our own group, nor init's.
        if pgid > 1 && pgid != own_pgid() {
            // SAFETY: killpg only sends a signal.
            unsafe { libc::killpg(pgid as libc::pid_t, signal) };
        }
    }
}

fn own_pgid() -> u32 {
    // SAFETY: getpgrp has no preconditions.
    unsafe { libc::getpgrp() as u32 }
}

/// The run directory a marked path lies in: the ancestor named `gitops-e2e-run-*`.
fn run_dir_of(marked: &Path) -> Option<PathBuf> {
    marked
        .ancestors()
        .find(|a| {
            a.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(RUN_DIR_PREFIX))
        })
        .map(Path::to_path_buf)
}

/// Every process whose environment holds [`RUN_ENV`], with its value.
fn marked_processes() -> Vec<(Process, PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let prefix = format!("{RUN_ENV}=");
    let own = std::process::id();
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != own)
        .filter_map(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let marked = environ
                .split(|b| *b == 0)
                .find_map(|var| var.strip_prefix(prefix.as_bytes()))?;
            let marked = PathBuf::from(String::from_utf8_lossy(marked).into_owned());
            let pgid = stat_field(pid, 2)?.parse().ok()?;
            let command = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .split('\0')
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            Some((Process { pid, pgid, command }, marked))
        })
        .collect()
}

/// The pid the owner file of `run_dir` names.
pub fn owner_pid(run_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(run_dir.join(OWNER_FILE))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Field `index` of `/proc/<pid>/stat` counted after the command name
/// (0 = state, 2 = process group, 19 = start time).
fn stat_field(pid: u32, index: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(index).map(str::to_string)
}

fn start_time(pid: u32) -> Option<String> {
    stat_field(pid, 19)
}

fn alive(pid: u32) -> bool {
    // A zombie has exited; only its parent can reap it.
    stat_field(pid, 0).is_some_and(|state| state != "Z")
}

/// Whether the harness that owns `run_dir` still runs (same pid and start
/// time, so a reused pid does not count). A directory without an owner file
/// that is younger than a minute may be a run being set up: left alone.
pub fn owner_alive(run_dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(run_dir.join(OWNER_FILE)) else {
        let young = std::fs::metadata(run_dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < Duration::from_secs(60));
        return young;
    };
    let mut parts = text.split_whitespace();
    let (Some(pid), Some(started)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    alive(pid) && start_time(pid).as_deref() == Some(started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A marked `sleep 60`, returned once it has exec'd (before that, its
    /// /proc entry still shows the parent's environment).
    fn sleeper(marked: &Path) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        let child = Command::new("sleep")
            .arg("60")
            .env(RUN_ENV, marked)
            .process_group(0)
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !std::fs::read(format!("/proc/{}/cmdline", child.id()))
            .is_ok_and(|c| c.starts_with(b"sleep"))
        {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "sleep never started"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child
    }

    #[test]
    fn finds_and_removes_a_run_whose_owner_is_gone_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        // A run killed with SIGKILL: its owner file names a pid that is gone.
        let dead = tmp.path().join(format!("{RUN_DIR_PREFIX}dead01"));
        std::fs::create_dir_all(dead.join("kwok")).unwrap();
        let mut gone = Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        gone.wait().unwrap();
        std::fs::write(dead.join(OWNER_FILE), format!("{gone_pid} 1\n")).unwrap();
        let mut orphan = sleeper(&dead.join("kwok"));
        // A live run: owned by this test process.
        let live = tmp.path().join(format!("{RUN_DIR_PREFIX}live01"));
        std::fs::create_dir_all(&live).unwrap();
        write_owner(&live).unwrap();
        let mut working = sleeper(&live);
        // Not the harness's: another name, and a symlink named like a run.
        let other = tmp.path().join("someone-elses");
        std::fs::create_dir_all(&other).unwrap();
        std::os::unix::fs::symlink(&other, tmp.path().join(format!("{RUN_DIR_PREFIX}link")))
            .unwrap();

        let found = find(tmp.path());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].run_dir, dead);
        assert_eq!(found[0].processes.len(), 1, "{found:#?}");
        assert_eq!(found[0].processes[0].pid, orphan.id());
        assert!(found[0].processes[0].command.starts_with("sleep 60"));

        remove(&found[0], Duration::from_secs(2)).unwrap();
        assert!(orphan.wait().is_ok());
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
        assert!(
            working.try_wait().unwrap().is_none(),
            "a live run's process survives"
        );
        assert!(find(tmp.path()).is_empty());
        working.kill().unwrap();
        working.wait().unwrap();
    }

    #[test]
    fn a_young_run_directory_without_an_owner_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join(format!("{RUN_DIR_PREFIX}new001"))).unwrap();
        assert!(find(tmp.path()).is_empty());
    }

    #[test]
    fn the_run_directory_of_a_marked_path() {
        assert_eq!(
            run_dir_of(Path::new("/tmp/gitops-e2e-run-AbC/argocd/logs")),
            Some(PathBuf::from("/tmp/gitops-e2e-run-AbC"))
        );
        assert_eq!(run_dir_of(Path::new("/home/user/project")), None);
    }
}
