//! External commands as argument vectors. A command that cannot start, or
//! exits non-zero, is an error that carries the command line and the tail of
//! its stderr. Long-running components are `Managed`: they run in their own
//! process group, log to a file, and are killed (the whole group) when
//! dropped, so nothing outlives the run.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

/// How much of a failed command's stderr an error quotes.
const STDERR_TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}){}", stderr_suffix(.stderr))]
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
    #[error("cannot open log file `{}`", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(":\n{}", stderr.trim_end())
    }
}

/// A command line: program, arguments, environment, working directory.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    fn program_name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Runs to completion; returns stdout, or an error with stderr's tail.
    pub async fn output(&self) -> Result<String, ProcessError> {
        let out = self
            .command()
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| ProcessError::Spawn {
                program: self.program_name(),
                source,
            })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(ProcessError::Failed {
                command: self.to_string(),
                status: out.status,
                stderr: error_and_tail(&String::from_utf8_lossy(&out.stderr)),
            })
        }
    }

    /// Starts a long-running component in its own process group, with stdout
    /// and stderr appended to `log`.
    pub fn spawn_logged(&self, name: &str, log: &Path) -> Result<Managed, ProcessError> {
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| ProcessError::Log {
                    path: log.to_owned(),
                    source,
                })
        };
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(open()?)
            .stderr(open()?)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProcessError::Spawn {
                program: self.program_name(),
                source,
            })?;
        Ok(Managed {
            name: name.to_string(),
            pid: child.id(),
            child: Some(child),
            log: log.to_owned(),
        })
    }
}

impl fmt::Display for Cmd {
    /// The command line as a person would type it (for messages only: it is
    /// never parsed back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |s: &OsStr| {
            let s = s.to_string_lossy();
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c))
            {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        };
        write!(f, "{}", quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", quote(a))?;
        }
        Ok(())
    }
}

/// A running component. Dropping it kills its whole process group.
#[derive(Debug)]
pub struct Managed {
    pub name: String,
    pid: Option<u32>,
    /// `None` once detached.
    child: Option<tokio::process::Child>,
    pub log: PathBuf,
}

impl Managed {
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether it has exited, and how.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// SIGTERM to the group, then SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        signal_group(self.pid, libc::SIGTERM);
        if let Some(child) = self.child.as_mut()
            && tokio::time::timeout(grace, child.wait()).await.is_err()
        {
            signal_group(self.pid, libc::SIGKILL);
            let _ = child.wait().await;
        }
        // Children that left the group's leader behind still get the signal.
        signal_group(self.pid, libc::SIGKILL);
        self.pid = None;
    }

    /// Leaves it running after this process is gone (a kept environment):
    /// neither dropping this nor exiting stops it any more. Returns its pid.
    pub fn detach(mut self) -> Option<u32> {
        // Forgetting the child is what keeps its kill-on-drop from firing.
        std::mem::forget(self.child.take());
        self.pid.take()
    }

    /// The last lines of its log, for diagnostics and error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        std::fs::read_to_string(&self.log)
            .map(|text| tail(&text, lines))
            .unwrap_or_default()
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        signal_group(self.pid, libc::SIGKILL);
    }
}

fn signal_group(pid: Option<u32>, signal: libc::c_int) {
    if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok())
        && pid > 0
    {
        // SAFETY: killpg only sends a signal; the group is the one we created
        // with process_group(0), whose id is the leader's pid.
        unsafe {
            libc::killpg(pid, signal);
        }
    }
}

/// What a failed command's stderr says, shortened: its lines that name a
/// cause (kind's `ERROR` line, kubeadm's failed phase, `[ERROR …]` preflight
/// checks, timeouts) first, then the last lines with Go stack traces left
/// out (kind prints its error first and a stack trace of the failing call
/// after it, which says nothing to a user).
fn error_and_tail(stderr: &str) -> String {
    const CAUSES: [&str; 5] = [
        "error execution phase",
        "[ERROR",
        "timed out",
        "deadline exceeded",
        "unhealthy",
    ];
    let mut kept: Vec<&str> = Vec::new();
    let lines: Vec<&str> = stderr.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        // A Go stack frame is a function line followed by a tab-indented
        // `file:line` line.
        let frame =
            line.starts_with('\t') || lines.get(i + 1).is_some_and(|next| next.starts_with('\t'));
        if !frame {
            kept.push(line);
        }
    }
    let last = tail(&kept.join("\n"), STDERR_TAIL_LINES);
    let mut causes: Vec<&str> = Vec::new();
    for line in &kept {
        let l = line.trim();
        let cause = l.starts_with("ERROR") || CAUSES.iter().any(|c| l.contains(c));
        if cause && !causes.contains(&l) && !last.contains(l) && causes.len() < 4 {
            causes.push(l);
        }
    }
    if causes.is_empty() {
        last
    } else {
        format!("{}\n…\n{last}", causes.join("\n"))
    }
}

/// `$PATH` with `first` in front, in order: for a child that must find the
/// toolchain's binaries before any others. Empty when a directory cannot be
/// part of a PATH (it contains the separator).
pub fn search_path(first: &[PathBuf]) -> OsString {
    let mut paths = first.to_vec();
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A loopback port nothing listens on now: bound to port 0 and released.
///
/// Components that get these ports bind them later, and clusters and Argo CD
/// start at the same time, so a port handed out once is never handed out
/// again by this process: the kernel may give a released port back at once.
pub fn free_port() -> Result<u16, std::io::Error> {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..100 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut given = GIVEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if given.insert(port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no loopback port that was not handed out already",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_commands_error_line_survives_a_long_stack_trace() {
        let mut stderr = String::from(
            "Creating cluster ...\nERROR: failed to init node with kubeadm\nCommand Output: \
             [init] Using Kubernetes version\n\
             error execution phase wait-control-plane: timed out after 4m0s\n",
        );
        for i in 0..40 {
            stderr.push_str(&format!("I1202 kubeadm log line {i}\n"));
        }
        for i in 0..40 {
            stderr.push_str(&format!("pkg.fn{i}\n\tfile.go:{i}\n"));
        }
        stderr.push_str("last words\n");
        let shown = super::error_and_tail(&stderr);
        assert!(
            shown.starts_with(
                "ERROR: failed to init node with kubeadm\n\
                 error execution phase wait-control-plane: timed out after 4m0s\n…\n"
            ),
            "{shown}"
        );
        assert!(shown.ends_with("last words"), "{shown}");
        assert!(!shown.contains("file.go"), "{shown}");
        assert!(shown.contains("log line 39") && !shown.contains("log line 5\n"));
        // When the tail holds it, it is not repeated.
        assert_eq!(
            super::error_and_tail("a\nERROR: x\n"),
            super::tail("a\nERROR: x\n", 20)
        );
    }

    use super::*;

    /// A component that ignores SIGTERM, and a child of it that does too, are
    /// both gone once the grace runs out: teardown cannot hang on them.
    #[tokio::test]
    async fn stop_kills_a_group_that_ignores_sigterm_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let script = format!(
            "trap '' TERM; sh -c 'trap \"\" TERM; echo $$ > {}; sleep 60' & sleep 60",
            pidfile.display()
        );
        let mut managed = Cmd::new("sh")
            .args(["-c", &script])
            .spawn_logged("stubborn", &dir.path().join("stubborn.log"))
            .unwrap();
        let leader = managed.pid().unwrap();
        let started = std::time::Instant::now();
        while !pidfile.exists() && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let child: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
        };
        assert!(alive(leader) && alive(child));
        let stopping = std::time::Instant::now();
        managed.stop(Duration::from_millis(300)).await;
        let took = stopping.elapsed();
        assert!(took < Duration::from_secs(5), "stop took {took:?}");
        let gone = std::time::Instant::now();
        while (alive(leader) || alive(child)) && gone.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(leader), "the leader ignored SIGTERM and survived");
        assert!(!alive(child), "its child ignored SIGTERM and survived");
    }

    #[test]
    fn free_ports_are_never_handed_out_twice() {
        let ports: Vec<u16> = (0..200).map(|_| free_port().unwrap()).collect();
        let unique: std::collections::BTreeSet<&u16> = ports.iter().collect();
        assert_eq!(unique.len(), ports.len());
    }

    #[test]
    fn search_path_puts_the_given_directories_first() {
        let path = search_path(&[PathBuf::from("/a/bin"), PathBuf::from("/b/bin")]);
        let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        assert_eq!(
            dirs[..2],
            [PathBuf::from("/a/bin"), PathBuf::from("/b/bin")]
        );
        if let Some(system) = std::env::var_os("PATH") {
            assert!(
                dirs[2..]
                    .iter()
                    .eq(std::env::split_paths(&system).collect::<Vec<_>>().iter())
            );
        }
        assert!(search_path(&[PathBuf::from("/a:b")]).is_empty());
    }

    #[tokio::test]
    async fn output_returns_stdout() {
        let out = Cmd::new("sh").args(["-c", "echo hello"]).output().await;
        assert_eq!(out.unwrap(), "hello\n");
    }

    #[tokio::test]
    async fn failure_carries_command_and_stderr() {
        let err = Cmd::new("sh")
            .args(["-c", "echo broken >&2; exit 3"])
            .output()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`sh -c 'echo broken >&2; exit 3'` failed"),
            "{text}"
        );
        assert!(text.contains("broken"), "{text}");
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let err = Cmd::new("/nonexistent/tool").output().await.unwrap_err();
        assert!(matches!(err, ProcessError::Spawn { .. }));
        assert_eq!(err.to_string(), "cannot start `/nonexistent/tool`");
    }

    /// Running, i.e. present and not a zombie waiting to be reaped.
    fn running(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.contains(") Z "))
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn dropping_a_managed_process_kills_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        // The shell starts a grandchild; both must die with the group.
        let managed = Cmd::new("sh")
            .args(["-c", "sleep 300 & echo $!; wait"])
            .spawn_logged("sleeper", &log)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let grandchild = managed.log_tail(1);
        assert!(running(&grandchild), "sleep {grandchild:?} did not start");
        drop(managed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!running(&grandchild), "grandchild {grandchild} survived");
    }

    #[tokio::test]
    async fn stop_terminates_and_keeps_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("c.log");
        let mut managed = Cmd::new("sh")
            .args(["-c", "echo up; sleep 300"])
            .spawn_logged("c", &log)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        managed.stop(Duration::from_secs(2)).await;
        assert_eq!(managed.log_tail(5), "up");
    }
}
