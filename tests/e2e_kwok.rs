//! End-to-end: `gitops-e2e run` on the real toolchain (kwok clusters with real
//! API servers, Argo CD's real components as local processes).
//!
//! Runs whenever the toolchain is built (`make toolchain`) and prints
//! `skipped: <reason>` otherwise. Runs are serialized: each brings up three
//! clusters and Argo CD, which is all two cores can take at once.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn missing_prerequisite() -> Option<String> {
    gitops_e2e::toolchain::missing_for_live_runs()
}

/// The tests below are `#[ignore]`d with the reason; `make test` includes them
/// when `gitops-e2e doctor` says live runs can start. Included by hand on a
/// machine that cannot run them, they fail and say why instead of passing.
macro_rules! require_toolchain {
    () => {
        if let Some(reason) = missing_prerequisite() {
            panic!("the live tier cannot run here: {reason}");
        }
    };
}

struct RunResult {
    code: i32,
    report: Value,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl RunResult {
    /// A finished run: its exit code and output, and the JSON report it
    /// wrote to `json` (null when it wrote none).
    fn read(out: &std::process::Output, json: &std::path::Path, elapsed: Duration) -> Self {
        RunResult {
            code: out.status.code().unwrap_or(-1),
            report: std::fs::read_to_string(json)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        }
    }

    fn step(&self, name: &str) -> &Value {
        self.report["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == name))
            .unwrap_or_else(|| panic!("no step {name} in report:\n{}", self.stdout))
    }

    /// Failed checks of a step as "application: name — reason" lines.
    fn failures(&self, step: &str) -> Vec<String> {
        self.step(step)["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["outcome"]["status"] == "failed")
            .map(|c| {
                format!(
                    "{}: {} — {}",
                    c["application"].as_str().unwrap_or("-"),
                    c["name"].as_str().unwrap_or(""),
                    c["outcome"]["reason"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    fn explain(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn run(scenario: &str) -> RunResult {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let tmp = private_tmp(dir.path());
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .args(["run", scenario, "--provider", "kwok", "--json"])
        .arg(&json)
        .arg("--diagnostics")
        .arg(dir.path().join("diagnostics"))
        .env("CI", "true")
        .env("TMPDIR", &tmp)
        .output()
        .expect("gitops-e2e runs");
    let left = run_dirs(&tmp);
    assert!(
        left.is_empty(),
        "{scenario}: run directories left behind: {left:?}"
    );
    RunResult::read(&out, &json, started.elapsed())
}

/// A temporary directory for one run alone (its `TMPDIR`), so that what it
/// leaves behind is told apart from what other tests and runs leave.
fn private_tmp(dir: &std::path::Path) -> PathBuf {
    let tmp = dir.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    tmp
}

fn run_dirs(tmp: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gitops-e2e-run-"))
        .collect()
}

/// No process a run started may survive it: kwok components, Argo CD, redis.
/// (`run` checks the run directory.)
fn assert_no_process_left(before: &[String]) {
    let leaked = leaked_processes(before);
    assert!(leaked.is_empty(), "processes left behind: {leaked:#?}");
}

/// Processes that were not there `before` and are still there five seconds
/// on (one killed by the teardown may take a moment to be gone).
fn leaked_processes(before: &[String]) -> Vec<String> {
    let started = Instant::now();
    loop {
        let leaked: Vec<String> = harness_processes()
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if leaked.is_empty() || started.elapsed() > Duration::from_secs(5) {
            return leaked;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn harness_processes() -> Vec<String> {
    let out = Command::new("ps")
        .args(["-eo", "pid=,args="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.contains("gitops-e2e-run-")
                || l.contains("argocd")
                || l.contains("redis-server")
                || l.contains("kube-apiserver")
                || l.contains("etcd")
                || l.split_whitespace()
                    .next()
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(marked)
        })
        .filter(|l| !l.contains(" ps -eo"))
        // A zombie has exited; only its parent (here PID 1, once kwokctl's
        // components are reparented) can reap it.
        .filter(|l| !l.ends_with("<defunct>"))
        .map(str::to_string)
        .collect()
}

/// Whether a process carries the mark every process a run starts gets.
fn marked(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
        env.split(|b| *b == 0)
            .any(|v| v.starts_with(b"GITOPS_E2E_RUN_DIR="))
    })
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn lesson_part_3_passes_on_kwok() {
    require_toolchain!();
    let before = harness_processes();
    let r = run("scenarios/lesson/03-constraints.yaml");
    assert_eq!(r.code, 0, "{}", r.explain());
    for step in ["dry-run", "diff", "count", "sync", "assert"] {
        assert!(
            r.failures(step).is_empty(),
            "{step}: {:?}",
            r.failures(step)
        );
        assert!(r.step(step)["skipped"].is_null(), "{step} skipped");
    }
    let checks: Vec<String> = r.step("assert")["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}: {}",
                c["application"].as_str().unwrap_or(""),
                c["name"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "fastapi-agent-dev: replicas = 1",
        "fastapi-agent-staging: replicas = 3",
        "fastapi-agent-prod: replicas = 5",
        "fastapi-agent-prod: Secret ecr-prod exists",
        "fastapi-agent-staging: Secret ecr-staging exists",
    ] {
        assert!(
            checks.iter().any(|c| c == expected),
            "no check `{expected}` in {checks:#?}"
        );
    }
    assert!(
        checks
            .iter()
            .any(|c| c.starts_with("fastapi-agent-prod: ") && c.contains("workload=agents")),
        "no placement check for prod in {checks:#?}"
    );
    assert!(
        r.stderr
            .contains("fastapi-agent-prod: manual sync policy, sync started by gitops-e2e"),
        "{}",
        r.stderr
    );
    println!(
        "lesson Part 3 verdict in {:.1}s; phases: {}",
        r.elapsed.as_secs_f64(),
        r.report["phases"]
    );
    assert_no_process_left(&before);
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn first_draft_fails_at_dry_run_and_says_why_later_steps_were_skipped() {
    require_toolchain!();
    let r = run("scenarios/lesson/01-first-draft.yaml");
    assert_eq!(r.code, 1, "{}", r.explain());
    let failures = r.failures("dry-run").join("\n");
    assert!(failures.contains("valid YAML as written"), "{failures}");
    assert!(failures.contains("{{replicas}}"), "{failures}");
    for step in ["diff", "count", "sync", "assert"] {
        let skipped = r.step(step)["skipped"].as_str().unwrap_or_default();
        assert!(skipped.contains("dry-run failed"), "{step}: {skipped:?}");
    }
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn repaired_matrix_fails_count_naming_the_extra_applications() {
    require_toolchain!();
    let r = run("tests/e2e/matrix-repaired.yaml");
    assert_eq!(r.code, 1, "{}", r.explain());
    let failures = r.failures("count").join("\n");
    assert!(
        failures.contains("fastapi-agent-prod-ghcr.io"),
        "{failures}"
    );
    assert!(
        failures.contains("fastapi-agent-dev-docker.io"),
        "{failures}"
    );
    assert!(
        failures.contains("missing: fastapi-agent-dev"),
        "{failures}"
    );
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn prod_without_agents_nodes_fails_assert_naming_the_affinity() {
    require_toolchain!();
    let r = run("tests/e2e/prod-without-agents-nodes.yaml");
    assert_eq!(r.code, 1, "{}", r.explain());
    let failures = r.failures("assert").join("\n");
    assert!(failures.contains("fastapi-agent-prod"), "{failures}");
    assert!(failures.contains("workload=agents"), "{failures}");
    assert!(failures.contains("affinity"), "{failures}");
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn missing_pull_secret_fails_assert() {
    require_toolchain!();
    let r = run("tests/e2e/missing-pull-secret.yaml");
    assert_eq!(r.code, 1, "{}", r.explain());
    let failures = r.failures("assert").join("\n");
    assert!(
        failures.contains("fastapi-agent-prod: Secret ecr-prod exists"),
        "{failures}"
    );
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn wrong_replica_expectation_fails_assert() {
    require_toolchain!();
    let r = run("tests/e2e/wrong-replicas.yaml");
    assert_eq!(r.code, 1, "{}", r.explain());
    let failures = r.failures("assert");
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with("fastapi-agent-prod: replicas = 4")),
        "{failures:#?}"
    );
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn missing_key_with_missingkey_error_quotes_the_error_condition() {
    require_toolchain!();
    let r = run("tests/e2e/missing-key.yaml");
    assert_eq!(r.code, 1, "{}", r.explain());
    let all: String = ["dry-run", "count"]
        .iter()
        .flat_map(|s| r.failures(s))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("storageClass"), "{all}");
}

#[test]
fn missing_repo_path_is_invalid_input_before_any_cluster() {
    // Needs no toolchain: the scenario is rejected before anything starts.
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .args([
            "run",
            "tests/e2e/missing-repo-path.yaml",
            "--provider",
            "kwok",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no-such-charts"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// What a watched run did.
struct Watched {
    code: Option<i32>,
    /// stdout, then stderr.
    output: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `gitops-e2e run SCENARIO --provider kwok ARGS` with its own `TMPDIR`
/// and calls `on_line(line, pid)` with each stderr line as it comes (to send
/// a signal or inject a fault at a given moment).
fn run_watched(
    scenario: &str,
    args: &[&std::ffi::OsStr],
    tmp: &std::path::Path,
    mut on_line: impl FnMut(&str, i32) + Send + 'static,
) -> Watched {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .args(["run", scenario, "--provider", "kwok"])
        .args(args)
        .env("CI", "true")
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            seen.push_str(&line);
            seen.push('\n');
            on_line(&line, pid);
        }
        seen
    });
    let status = child.wait().unwrap();
    let elapsed = started.elapsed();
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    Watched {
        code: status.code(),
        output: format!("{stdout}\n{stderr}"),
        stderr,
        elapsed,
    }
}

/// An `on_line` that sends `signal` once, at the first line containing `marker`.
fn signal_once(marker: &'static str, signal: i32) -> impl FnMut(&str, i32) + Send + 'static {
    let mut sent = false;
    move |line, pid| {
        if !sent && line.contains(marker) {
            sent = true;
            // SAFETY: signals the child the test spawned.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn ctrl_c_during_sync_leaves_nothing_behind() {
    require_toolchain!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = harness_processes();
    let dir = tempfile::tempdir().unwrap();
    let tmp = private_tmp(dir.path());
    // Interrupt once the run reaches step 4 (its progress line says so).
    let run = run_watched(
        "scenarios/lesson/03-constraints.yaml",
        &[],
        &tmp,
        signal_once("sync started by gitops-e2e", libc::SIGINT),
    );
    assert!(
        run.stderr.contains("sync started by gitops-e2e"),
        "never reached sync:\n{}",
        run.stderr
    );
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert_no_process_left(&before);
    let left = run_dirs(&tmp);
    assert!(left.is_empty(), "run directories left behind: {left:?}");
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn existing_provider_refuses_a_scenario_whose_context_is_missing() {
    require_toolchain!();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: 'https://127.0.0.1:1'}\n\
         users:\n- name: other\n  user: {token: x}\ncontexts:\n- name: other\n  context: {cluster: other, user: other}\n\
         current-context: other\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .args([
            "run",
            "scenarios/lesson/03-constraints.yaml",
            "--provider",
            "existing",
        ])
        .env("KUBECONFIG", &kubeconfig)
        .env("CI", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("kube context `dev` for cluster `dev` does not exist (available: other)"),
        "{stderr}"
    );
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn existing_provider_runs_the_lesson_on_contexts_it_did_not_create() {
    use gitops_e2e::provider::{ClusterRequest, Provider, kwok::Kwok, merged_kubeconfig, nodes};
    require_toolchain!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let toolchain = gitops_e2e::toolchain::Toolchain::locate().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Clusters the user already has: made here, outside the harness run.
    let mut kwok = Kwok::new(toolchain, dir.path(), "existing");
    let configs = root().join("kind-configs");
    let requests: Vec<ClusterRequest> = [
        ("dev", "single-node.yaml"),
        ("staging", "agents-pool.yaml"),
        ("prod", "agents-pool.yaml"),
    ]
    .iter()
    .map(|(name, config)| ClusterRequest {
        name: format!("user-{name}"),
        nodes: nodes::node_requests(name, Some(&configs.join(config)), &Default::default())
            .unwrap(),
        context: None,
        kind_config: None,
    })
    .collect();
    let clusters = runtime.block_on(kwok.up(&requests));
    let result = clusters.map(|clusters| {
        let kubeconfig = dir.path().join("user-kubeconfig");
        let merged = merged_kubeconfig(&clusters).unwrap();
        std::fs::write(&kubeconfig, gitops_e2e::yaml::to_string(&merged)).unwrap();
        Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
            .current_dir(root())
            .args([
                "run",
                "scenarios/lesson/03-constraints.yaml",
                "--provider",
                "existing",
            ])
            .arg("--diagnostics")
            .arg(dir.path().join("diagnostics"))
            .args([
                "--context",
                "dev=user-dev",
                "--context",
                "staging=user-staging",
                "--context",
                "prod=user-prod",
                // Its name says prod: refused unless allowed.
                "--allow-context",
                "user-prod",
            ])
            .env("KUBECONFIG", &kubeconfig)
            .env("CI", "true")
            .output()
            .unwrap()
    });
    let leftovers = runtime.block_on(kwok.down());
    let out = result.expect("user clusters come up");
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("provider: existing"), "{stdout}");
}

/// A run killed with SIGKILL cannot tear down; `gitops-e2e clean` finds what
/// it left by the harness's marks, lists it with --dry-run, and removes it.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn clean_removes_what_a_killed_run_left() {
    require_toolchain!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = harness_processes();
    let dir = tempfile::tempdir().unwrap();
    let tmp = private_tmp(dir.path());
    let run = run_watched(
        "scenarios/lesson/03-constraints.yaml",
        &[],
        &tmp,
        signal_once("sync started by gitops-e2e", libc::SIGKILL),
    );
    assert!(
        run.stderr.contains("sync started by gitops-e2e"),
        "never reached sync:\n{}",
        run.stderr
    );
    assert_eq!(run.code, None, "killed by a signal:\n{}", run.stderr);
    let left = run_dirs(&tmp);
    assert_eq!(left.len(), 1, "{left:?}");
    let clean = |dry: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"));
        cmd.arg("clean").env("TMPDIR", &tmp);
        if dry {
            cmd.arg("--dry-run");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = clean(true);
    assert!(listed.contains(&left[0]), "{listed}");
    let processes = listed.matches("  process ").count();
    // kwok components of three clusters, Argo CD's four, redis.
    assert!(processes >= 10, "{listed}");
    assert_eq!(run_dirs(&tmp).len(), 1, "--dry-run removed nothing");
    let cleaned = clean(false);
    assert!(cleaned.contains("removed"), "{cleaned}");
    assert!(run_dirs(&tmp).is_empty());
    assert_no_process_left(&before);
    assert!(clean(true).contains("nothing left"));
}

/// Runs the lesson and sends `signal` when a stderr line contains `marker`
/// (with `repeat`, every 20 ms from then on until the run ends); returns the
/// exit code, what stderr said, the JSON report and the run's TMPDIR.
fn signal_at(
    marker: &'static str,
    signal: i32,
    repeat: bool,
) -> (Option<i32>, String, Value, PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let tmp = private_tmp(&dir);
    let json = dir.join("report.json");
    let mut once = signal_once(marker, signal);
    let mut repeating = false;
    let run = run_watched(
        "scenarios/lesson/03-constraints.yaml",
        &["--json".as_ref(), json.as_os_str()],
        &tmp,
        move |line, pid| {
            once(line, pid);
            if repeat && !repeating && line.contains(marker) {
                repeating = true;
                std::thread::spawn(move || {
                    // SAFETY: signals the child the test spawned, while it exists.
                    while unsafe { libc::kill(pid, 0) } == 0 {
                        std::thread::sleep(Duration::from_millis(20));
                        unsafe { libc::kill(pid, signal) };
                    }
                });
            }
        },
    );
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (run.code, run.stderr, report, tmp)
}

/// SIGINT and SIGTERM in every phase stop the run, tear everything down,
/// write the report marked interrupted and exit 130; in teardown, a signal
/// only says what is still being stopped.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn signals_in_every_phase_leave_nothing_behind() {
    require_toolchain!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = harness_processes();
    let phases = [
        "clusters up ..",
        "Argo CD ready ..",
        "repositories served ..",
        "clusters registered ..",
        "step dry-run ..",
        "step diff ..",
        "step count ..",
        "step assert ..",
    ];
    let mut problems = Vec::new();
    for (i, phase) in phases.iter().enumerate() {
        let signal = if i % 2 == 0 {
            libc::SIGINT
        } else {
            libc::SIGTERM
        };
        let started = Instant::now();
        let (code, seen, report, tmp) = signal_at(phase, signal, false);
        let mut why = Vec::new();
        if !seen.contains(phase) {
            why.push("never reached the phase".to_string());
        }
        if code != Some(130) {
            why.push(format!("exit {code:?}"));
        }
        if report["stopped"]["kind"] != "interrupted" {
            why.push(format!("report stopped: {}", report["stopped"]));
        }
        let left = run_dirs(&tmp);
        if !left.is_empty() {
            why.push(format!("run directories left: {left:?}"));
        }
        let leaked = leaked_processes(&before);
        if !leaked.is_empty() {
            why.push(format!("processes left: {leaked:?}"));
        }
        println!(
            "signal {signal} at `{phase}`: exit {code:?} in {:.1?}",
            started.elapsed()
        );
        if !why.is_empty() {
            problems.push(format!(
                "{phase} (signal {signal}): {}\n{seen}",
                why.join("; ")
            ));
        }
    }
    // In teardown: the verdict stands, the signal gets an answer.
    let (code, seen, report, tmp) = signal_at("teardown ..", libc::SIGINT, true);
    if code != Some(0) || report["stopped"] != Value::Null {
        problems.push(format!(
            "teardown: exit {code:?}, stopped {}\n{seen}",
            report["stopped"]
        ));
    }
    if !seen.contains("still cleaning up: Argo CD") {
        problems.push(format!("teardown: no answer to the signal\n{seen}"));
    }
    if !run_dirs(&tmp).is_empty() {
        problems.push("teardown: run directory left".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert_no_process_left(&before);
}

/// The existing provider refuses a context that looks like production (by
/// name or server) before touching any cluster, unless --allow-context names it.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn existing_provider_refuses_production_contexts_unless_allowed() {
    require_toolchain!();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n\
         - name: dev\n  cluster: {server: 'https://127.0.0.1:1'}\n\
         - name: staging\n  cluster: {server: 'https://127.0.0.1:1'}\n\
         - name: eks\n  cluster: {server: 'https://api.prod.example.com:1'}\n\
         users:\n- name: u\n  user: {token: x}\ncontexts:\n\
         - name: dev\n  context: {cluster: dev, user: u}\n\
         - name: staging\n  context: {cluster: staging, user: u}\n\
         - name: prod\n  context: {cluster: staging, user: u}\n\
         - name: eks-main\n  context: {cluster: eks, user: u}\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
            .current_dir(root())
            .args([
                "run",
                "scenarios/lesson/03-constraints.yaml",
                "--provider",
                "existing",
            ])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .env("CI", "true")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stderr, started.elapsed())
    };
    // By name.
    let (code, stderr, took) = run(&[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("refusing kube context `prod` for cluster `prod`: its name matches"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-context prod"), "{stderr}");
    assert!(
        took < Duration::from_secs(10),
        "refused before any connection"
    );
    // By server.
    let (code, stderr, _) = run(&["--context", "prod=eks-main"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("its server `https://api.prod.example.com:1` matches"),
        "{stderr}"
    );
    // Allowed: it goes on, to fail on the unreachable server instead.
    let (code, stderr, _) = run(&["--allow-context", "prod"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(!stderr.contains("refusing"), "{stderr}");
}

/// Secrets stay secret: a canary in fixture Secrets, and the clusters'
/// credentials (the client keys, certificates and tokens of the run's
/// kubeconfigs, which Argo CD gets as cluster Secrets), appear in nothing a
/// failed run writes — terminal, reports, diagnostics bundle, and the logs
/// in its run directory. The run is kept so that its credentials can be
/// read; only the files that are credential stores by design may hold them.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn a_secret_canary_appears_nowhere_a_failed_run_writes() {
    require_toolchain!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let tmp = private_tmp(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .args([
            "run",
            "tests/e2e/secret-canary.yaml",
            "--provider",
            "kwok",
            "--keep",
        ])
        .arg("--json")
        .arg(dir.path().join("r.json"))
        .arg("--junit")
        .arg(dir.path().join("r.xml"))
        .arg("--markdown")
        .arg(dir.path().join("r.md"))
        .arg("--diagnostics")
        .arg(dir.path().join("diagnostics"))
        .env("CI", "true")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let canary = "gitops-e2e-canary-7f3a9c";
    // The canary as written, base64-encoded as the API server stores it, and
    // the dockerconfig's auth and whole value in both forms.
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let auth = b64(&format!("AWS:{canary}"));
    let dockerconfig = format!(
        r#"{{"auths":{{"123456789.dkr.ecr.us-east-1.amazonaws.com":{{"auth":"{auth}"}}}}}}"#
    );
    let mut forms = vec![
        canary.to_string(),
        b64(canary),
        auth.clone(),
        b64(&dockerconfig),
    ];
    let kept = run_dirs(&tmp);
    assert_eq!(kept.len(), 1, "--keep kept the run directory: {kept:?}");
    let run_dir = tmp.join(&kept[0]);
    let credentials = cluster_credentials(&run_dir.join("kubeconfigs"));
    assert!(
        credentials.len() >= 6,
        "a key and a certificate per cluster: {}",
        credentials.len()
    );
    forms.extend(credentials);
    // Where credentials are kept by design: the kubeconfigs, the clusters'
    // PKI and etcd (which stores the Secrets), Argo CD's kubeconfig and TLS.
    let store = |path: &std::path::Path| {
        parts_below(path, &run_dir).is_some_and(|parts| {
            matches!(
                parts
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
                ["kubeconfigs", ..]
                    | ["argocd", "kubeconfig" | "tls", ..]
                    | [
                        "kwok",
                        "clusters",
                        _,
                        "pki" | "etcd" | "kubeconfig.yaml",
                        ..
                    ]
            )
        })
    };
    let (files, leaks) = common::places_holding(
        dir.path(),
        &[("stdout", &stdout), ("stderr", &stderr)],
        &forms,
        store,
    );
    assert!(
        files >= 5,
        "reports and a diagnostics bundle were written ({files} files)"
    );
    // The kept clusters go before the verdict, whatever it is.
    let cleaned = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .arg("clean")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(cleaned.status.code(), Some(0));
    assert!(leaks.is_empty(), "the canary leaked into: {leaks:#?}");
    assert!(run_dirs(&tmp).is_empty(), "clean removed the kept run");
}

/// The client keys, certificates and tokens of the kubeconfigs in `dir`, as
/// written (base64) and as a line of the decoded PEM.
fn cluster_credentials(dir: &std::path::Path) -> Vec<String> {
    use base64::Engine as _;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once(": ") else {
                continue;
            };
            if !matches!(key, "client-key-data" | "client-certificate-data" | "token") {
                continue;
            }
            out.push(value.to_string());
            if let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(value) {
                let pem = String::from_utf8_lossy(&pem).into_owned();
                if let Some(body) = pem
                    .lines()
                    .find(|l| !l.starts_with("-----") && l.len() > 40)
                {
                    out.push(body.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// SIGKILLs the processes a run under `tmp` started whose command line and
/// environment satisfy `pick` (found by the run's mark in their environment).
fn kill_marked(tmp: &std::path::Path, pick: impl Fn(&str) -> bool) -> usize {
    let mark = format!("GITOPS_E2E_RUN_DIR={}", tmp.display());
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let marked = environ
            .split(|b| *b == 0)
            .any(|v| v.starts_with(mark.as_bytes()));
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        let seen = format!(
            "{cmdline} {}",
            String::from_utf8_lossy(&environ).replace('\0', " ")
        );
        if marked && pick(&seen) {
            // SAFETY: kills a process the run under test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed += 1;
        }
    }
    killed
}

/// Runs `scenario` with `extra` flags; when stderr shows `at`, kills what
/// `pick` selects. Returns what the run did, how many it killed, its TMPDIR.
fn fault_at(
    scenario: &str,
    extra: &[&str],
    at: &'static str,
    pick: Option<fn(&str) -> bool>,
) -> (Watched, usize, PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let tmp = private_tmp(&dir);
    let diagnostics = dir.join("diagnostics");
    let mut args: Vec<&std::ffi::OsStr> = extra.iter().map(|a| a.as_ref()).collect();
    args.extend(["--diagnostics".as_ref(), diagnostics.as_os_str()]);
    let killed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (count, marked_tmp) = (killed.clone(), tmp.clone());
    let run = run_watched(scenario, &args, &tmp, move |line, _| {
        use std::sync::atomic::Ordering;
        if let Some(pick) = pick
            && count.load(Ordering::SeqCst) == 0
            && line.contains(at)
        {
            count.store(kill_marked(&marked_tmp, pick), Ordering::SeqCst);
        }
    });
    let killed = killed.load(std::sync::atomic::Ordering::SeqCst);
    (run, killed, tmp)
}

/// Faults during a run: each ends in a failed step or exit 3 with the cause
/// named, and a complete teardown within the run's timeouts.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn faults_during_a_run_end_cleanly_with_the_cause_named() {
    require_toolchain!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = harness_processes();
    let lesson = "scenarios/lesson/03-constraints.yaml";
    struct Fault {
        what: &'static str,
        scenario: &'static str,
        extra: &'static [&'static str],
        at: &'static str,
        pick: Option<fn(&str) -> bool>,
        codes: &'static [i32],
        names: &'static str,
    }
    let cases = [
        Fault {
            what: "prod's API server killed mid-sync",
            scenario: lesson,
            extra: &["--timeout", "20s"],
            at: "sync started by gitops-e2e",
            pick: Some(|c| {
                let program = c.split_whitespace().next().unwrap_or_default();
                program.ends_with("kube-apiserver") && c.contains("prod")
            }),
            codes: &[1, 3],
            names: "cluster `prod`",
        },
        Fault {
            what: "repo-server stopped before the dry-run",
            scenario: lesson,
            extra: &["--timeout", "20s"],
            at: "step dry-run ..",
            pick: Some(|c| c.contains("ARGOCD_BINARY_NAME=argocd-repo-server")),
            codes: &[1, 3],
            names: "failed to generate manifest",
        },
        Fault {
            what: "redis stopped before the diff",
            scenario: lesson,
            extra: &["--timeout", "20s"],
            at: "step diff ..",
            pick: Some(|c| c.contains("redis-server")),
            codes: &[1, 3],
            names: "connection refused",
        },
        Fault {
            what: "clusters never ready",
            scenario: "tests/e2e/setup-timeout.yaml",
            extra: &[],
            at: "clusters up ..",
            pick: None,
            codes: &[3],
            names: "not ready within 3s (timeouts.setup)",
        },
    ];
    let mut problems = Vec::new();
    for Fault {
        what,
        scenario,
        extra,
        at,
        pick,
        codes,
        names,
    } in cases
    {
        let (run, killed, tmp) = fault_at(scenario, extra, at, pick);
        let (code, output, elapsed) = (run.code, run.output, run.elapsed);
        println!("{what}: exit {code:?} in {elapsed:.1?} ({killed} process(es) killed)");
        let mut why = Vec::new();
        if pick.is_some() && killed == 0 {
            why.push("nothing to kill was found".to_string());
        }
        if !code.is_some_and(|c| codes.contains(&c)) {
            why.push(format!("exit {code:?}, want one of {codes:?}"));
        }
        if !output.contains(names) {
            why.push(format!("the output does not name {names:?}"));
        }
        if elapsed > Duration::from_secs(120) {
            why.push(format!("took {elapsed:.1?}"));
        }
        if !run_dirs(&tmp).is_empty() {
            why.push("run directory left".into());
        }
        let leaked = leaked_processes(&before);
        if !leaked.is_empty() {
            why.push(format!("processes left: {leaked:?}"));
        }
        if !why.is_empty() {
            problems.push(format!("{what}: {}\n{output}", why.join("; ")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// `--reuse`: the first run keeps its environment, the second uses it (no
/// cluster or Argo CD started) and passes the same, each leaves it reset
/// (no Application, no namespace of the lesson's), one whose Argo CD died
/// is made afresh, and `clean` removes it with every process it runs.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn reuse_keeps_a_warm_environment_resets_it_and_recreates_an_unhealthy_one() {
    require_toolchain!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = harness_processes();
    let dir = tempfile::tempdir().unwrap();
    let tmp = private_tmp(dir.path());
    let run = |n: usize| {
        let json = dir.path().join(format!("report-{n}.json"));
        let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
            .current_dir(root())
            .args([
                "run",
                "scenarios/lesson/03-constraints.yaml",
                "--provider",
                "kwok",
                "--reuse",
            ])
            .arg("--json")
            .arg(&json)
            .arg("--diagnostics")
            .arg(dir.path().join("diagnostics"))
            .env("CI", "true")
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report: Value = std::fs::read_to_string(&json)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        (out.status.code(), stderr, report)
    };
    let phases = |report: &Value| -> Vec<String> {
        report["phases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    };
    let kubectl = |env: &std::path::Path, args: &[&str]| {
        Command::new(
            gitops_e2e::toolchain::Toolchain::locate()
                .unwrap()
                .bin("kubectl"),
        )
        .arg("--kubeconfig")
        .arg(env.join("kubeconfigs/all.yaml"))
        .args(args)
        .output()
        .unwrap()
    };
    let assert_reset = |env: &std::path::Path| {
        for cluster in ["dev", "staging", "prod"] {
            let ns = kubectl(env, &["--context", cluster, "get", "namespace", "agents"]);
            assert!(!ns.status.success(), "namespace agents left on {cluster}");
        }
        let apps = kubectl(
            env,
            &[
                "--context",
                "dev",
                "-n",
                "argocd",
                "get",
                "applications",
                "-o",
                "name",
            ],
        );
        assert!(
            apps.status.success(),
            "{}",
            String::from_utf8_lossy(&apps.stderr)
        );
        assert!(
            apps.stdout.is_empty(),
            "Applications left: {}",
            String::from_utf8_lossy(&apps.stdout)
        );
    };

    let (code, stderr, first) = run(1);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("environment kept for --reuse"), "{stderr}");
    let kept = run_dirs(&tmp);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].starts_with("gitops-e2e-run-reuse-"), "{kept:?}");
    let env = tmp.join(&kept[0]);
    assert!(env.join("environment.json").is_file());
    assert_reset(&env);

    let (code, stderr, second) = run(2);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("reusing the kept environment"), "{stderr}");
    assert_eq!(run_dirs(&tmp), kept, "the same environment, nothing else");
    assert_eq!(
        first["checks"], second["checks"],
        "the same verdict, check by check"
    );
    assert_eq!(phases(&first), phases(&second));
    assert_reset(&env);

    // Its argocd-server dies: the next run does not trust the environment.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(env.join("environment.json")).unwrap())
            .unwrap();
    let port = state["argocd_url"]
        .as_str()
        .and_then(|u| u.rsplit(':').next())
        .unwrap()
        .to_string();
    let killed = kill_marked(&tmp, |seen| {
        seen.contains("ARGOCD_BINARY_NAME=argocd-server") && seen.contains(&port)
    });
    assert!(killed >= 1, "argocd-server found and killed");
    let (code, stderr, _) = run(3);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("failed its health check"), "{stderr}");
    assert_eq!(run_dirs(&tmp), kept, "made afresh in the same place");

    let cleaned = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .arg("clean")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert_eq!(cleaned.status.code(), Some(0));
    assert!(
        run_dirs(&tmp).is_empty(),
        "clean removed the kept environment"
    );
    assert_no_process_left(&before);
}

/// The path of `path` below `base` as its components, if it is below it.
fn parts_below(path: &std::path::Path, base: &std::path::Path) -> Option<Vec<String>> {
    Some(
        path.strip_prefix(base)
            .ok()?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect(),
    )
}

/// The detail of a step's check named `name` of `application`.
fn detail<'a>(r: &'a RunResult, step: &str, application: &str, name: &str) -> &'a str {
    r.step(step)["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["application"] == application && c["name"] == name)
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_else(|| panic!("no {step} check `{application}: {name}`\n{}", r.stdout))
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn lesson_upgrade_shows_what_the_chart_upgrade_changes_in_each_environment() {
    require_toolchain!();
    let before = harness_processes();
    let r = run("scenarios/lesson/04-upgrade.yaml");
    assert_eq!(r.code, 0, "{}", r.explain());
    let phases = r.report["phases"].to_string();
    assert!(phases.contains("previous release deployed"), "{phases}");
    for (app, level) in [
        ("fastapi-agent-dev", "debug"),
        ("fastapi-agent-staging", "info"),
        ("fastapi-agent-prod", "warning"),
    ] {
        assert_eq!(detail(&r, "diff", app, "upgrade"), "0.1.0 → 0.2.0");
        let deployment = detail(&r, "diff", app, "Deployment agents/fastapi-agent");
        assert!(
            deployment.starts_with("changed by the upgrade\n--- previous release\n+++ upgraded"),
            "{app}: {deployment}"
        );
        for line in [
            "+        - name: LOG_LEVEL",
            &format!("+          value: {level}"),
            "+        readinessProbe:",
            "+            path: /healthz",
        ] {
            assert!(
                deployment.contains(line),
                "{app}: no `{line}` in\n{deployment}"
            );
        }
        assert_eq!(
            detail(&r, "diff", app, "Service agents/fastapi-agent"),
            "unchanged by the upgrade"
        );
    }
    assert!(r.failures("sync").is_empty(), "{:?}", r.failures("sync"));
    assert!(
        r.failures("assert").is_empty(),
        "{:?}",
        r.failures("assert")
    );
    assert!(
        r.stderr
            .contains("previous release: fastapi-agent-prod Synced and Healthy at 0.1.0"),
        "{}",
        r.stderr
    );
    assert_no_process_left(&before);
}

/// A checkout with a git-served repository whose previous commit deploys
/// 2 replicas and whose working copy 3, with a new label.
fn upgrade_checkout(dir: &std::path::Path) {
    let git = |args: &[&str]| {
        let ok = Command::new("git")
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
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let deployment = |replicas: u32, label: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: agent\n  labels: {{app: agent{label}}}\n\
             spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: agent}}}}\n  template:\n    \
             metadata: {{labels: {{app: agent}}}}\n    spec:\n      containers:\n        - name: agent\n          \
             image: busybox:1.37\n"
        )
    };
    write(
        "scenario.yaml",
        "apiVersion: gitops-e2e/v1alpha1\nkind: Scenario\nmetadata: {name: git-upgrade}\nspec:\n  \
         provider: kwok\n  clusters: [{name: dev}]\n  argocd: {cluster: dev}\n  repos:\n    \
         - {url: 'https://git.example.com/agents.git', path: repo}\n  applicationSet: appset.yaml\n  \
         expect:\n    applications:\n      agent-dev:\n        cluster: dev\n        namespace: agents\n        \
         deployments: {agent: {replicas: 3}}\n  timeouts: {sync: 2m, setup: 3m}\n",
    );
    write(
        "appset.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: agents}\nspec:\n  \
         goTemplate: true\n  generators: [{list: {elements: [{env: dev}]}}]\n  template:\n    \
         metadata: {name: 'agent-{{ .env }}'}\n    spec:\n      project: default\n      source:\n        \
         repoURL: https://git.example.com/agents.git\n        targetRevision: main\n        path: agent\n      \
         destination: {server: 'https://kubernetes.default.svc', namespace: agents}\n      \
         syncPolicy: {automated: {}, syncOptions: [CreateNamespace=true]}\n",
    );
    write("repo/agent/deployment.yaml", &deployment(2, ""));
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "release 1"]);
    write(
        "repo/agent/deployment.yaml",
        &deployment(3, ", tier: agents"),
    );
    git(&["commit", "-q", "-am", "release 2"]);
}

#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn upgrade_from_a_git_ref_serves_the_previous_commit_first_then_the_working_copy() {
    require_toolchain!();
    let checkout = tempfile::tempdir().unwrap();
    upgrade_checkout(checkout.path());
    let scenario = checkout.path().join("scenario.yaml");
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let json = checkout.path().join("report.json");
    let tmp = private_tmp(checkout.path());
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .arg("run")
        .arg(&scenario)
        .args(["--upgrade-from", "HEAD~1", "--json"])
        .arg(&json)
        .env("CI", "true")
        .env("TMPDIR", &tmp)
        .output()
        .expect("gitops-e2e runs");
    let r = RunResult::read(&out, &json, Duration::ZERO);
    assert_eq!(r.code, 0, "{}", r.explain());
    assert!(run_dirs(&tmp).is_empty(), "run directories left behind");
    let revisions = detail(&r, "diff", "agent-dev", "upgrade");
    let (from, to) = revisions.split_once(" → ").expect("from → to");
    assert!(
        from.len() == 7 && to.len() == 7 && from != to,
        "{revisions}"
    );
    let deployment = detail(&r, "diff", "agent-dev", "Deployment agents/agent");
    for line in ["-  replicas: 2", "+  replicas: 3", "+    tier: agents"] {
        assert!(deployment.contains(line), "no `{line}` in\n{deployment}");
    }
    assert!(
        r.failures("assert").is_empty(),
        "{:?}",
        r.failures("assert")
    );
    assert!(r.stderr.contains("`HEAD~1` ("), "{}", r.stderr);

    // A ref the checkout does not have: refused before any cluster.
    let out = Command::new(env!("CARGO_BIN_EXE_gitops-e2e"))
        .current_dir(root())
        .arg("run")
        .arg(&scenario)
        .args(["--upgrade-from", "v9.9.9"])
        .env("CI", "true")
        .env("TMPDIR", &tmp)
        .output()
        .expect("gitops-e2e runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`v9.9.9` is not a commit of the checkout"),
        "{stderr}"
    );
    assert!(!stderr.contains("clusters up"), "{stderr}");
}
