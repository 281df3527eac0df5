//! Orchestration with fakes: a provider, an Argo CD and a repository server
//! that record what was asked of them, and steps that return what a test
//! says. A failure in each phase must end in the right exit code, a report
//! naming what completed, and a full teardown.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::argocd::repos::{RepoError, RepoServer};
use crate::argocd::{ArgoCdRuntime, DiagnosticFile};
use crate::check::{Check, StepKind};
use crate::events::Silent;
use crate::provider::{ClusterRequest, Provider, ProvisionError, Provisioned};
use crate::steps::StepOutput;

type Log = Arc<Mutex<Vec<String>>>;

fn log(log: &Log, line: impl Into<String>) {
    log.lock().unwrap().push(line.into());
}

#[derive(Clone, Copy, PartialEq)]
enum Fail {
    Nothing,
    Up,
    UpHangs,
    ArgoStart,
    Register,
    Serve,
}

struct FakeProvider {
    log: Log,
    fail: Fail,
    dir: PathBuf,
}

#[async_trait]
impl Provider for FakeProvider {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn up(&self, clusters: &[ClusterRequest]) -> Result<Vec<Provisioned>, ProvisionError> {
        log(&self.log, "up");
        match self.fail {
            Fail::Up => {
                return Err(ProvisionError::Create {
                    provider: "fake",
                    name: clusters[0].name.clone(),
                    source: anyhow::anyhow!("no room"),
                });
            }
            Fail::UpHangs => std::future::pending::<()>().await,
            _ => {}
        }
        Ok(clusters
            .iter()
            .map(|c| {
                let kubeconfig = self.dir.join(format!("{}.yaml", c.name));
                std::fs::write(&kubeconfig, kubeconfig_text(&c.name)).unwrap();
                Provisioned {
                    name: c.name.clone(),
                    kubeconfig,
                    context: c.name.clone(),
                    server: "https://127.0.0.1:1".into(),
                    ca_data: None,
                    cert_data: None,
                    key_data: None,
                    token: Some("t".into()),
                    host_address: None,
                }
            })
            .collect())
    }

    async fn down(&mut self) -> Vec<String> {
        log(&self.log, "down");
        Vec::new()
    }

    fn keep_instructions(&self) -> String {
        "kept".into()
    }
}

/// A kubeconfig whose server answers nothing: clients can be built, and
/// every call fails fast.
fn kubeconfig_text(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: https://127.0.0.1:1\n\
         contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n\
         users:\n- name: {name}\n  user:\n    token: t\ncurrent-context: {name}\n"
    )
}

struct FakeArgoCd {
    log: Log,
    fail: Fail,
}

#[async_trait]
impl ArgoCdRuntime for FakeArgoCd {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn start(
        &mut self,
        _hub: &Provisioned,
        _namespace: &str,
        _dir: &Path,
        _timeout: Duration,
    ) -> anyhow::Result<crate::argocd::api::ApiAccess> {
        log(&self.log, "argocd start");
        if self.fail == Fail::ArgoStart {
            anyhow::bail!("argocd-server exited");
        }
        Ok(crate::argocd::api::ApiAccess::open("http://127.0.0.1:1"))
    }

    async fn register(
        &mut self,
        _hub: &kube::Client,
        clusters: &[crate::argocd::clusters::Registration<'_>],
        _namespace: &str,
    ) -> anyhow::Result<()> {
        log(&self.log, format!("register {}", clusters.len()));
        if self.fail == Fail::Register {
            anyhow::bail!("forbidden");
        }
        Ok(())
    }

    async fn diagnostics(&self) -> Vec<DiagnosticFile> {
        vec![DiagnosticFile::Text {
            name: "argocd.log".into(),
            text: "log".into(),
        }]
    }

    async fn stop(&mut self) {
        log(&self.log, "argocd stop");
    }
}

struct FakeRepos {
    log: Log,
    fail: Fail,
}

#[async_trait]
impl RepoServer for FakeRepos {
    async fn serve(&mut self, src: &Path, _dest: &Path, chart: bool) -> Result<String, RepoError> {
        log(&self.log, format!("serve chart={chart}"));
        if self.fail == Fail::Serve {
            return Err(RepoError::NoChart {
                dir: src.to_path_buf(),
            });
        }
        Ok("http://127.0.0.1:2".into())
    }

    async fn serve_staged(
        &mut self,
        _previous: &Path,
        _next: &Path,
        _dest: &Path,
        chart: bool,
    ) -> Result<String, RepoError> {
        log(&self.log, format!("serve staged chart={chart}"));
        Ok("http://127.0.0.1:2".into())
    }

    async fn advance(&mut self) -> Result<(), RepoError> {
        log(&self.log, "repos advance");
        Ok(())
    }

    async fn stop(&mut self) {
        log(&self.log, "repos stop");
    }
}

enum Script {
    Checks(Vec<Check>),
    StopsLater(Vec<Check>, &'static str),
    EnvError,
    Hangs,
}

struct FakeStep {
    kind: StepKind,
    script: Script,
    log: Log,
}

#[async_trait]
impl Step for FakeStep {
    fn kind(&self) -> StepKind {
        self.kind
    }

    async fn run(&self, _live: &Live, _sink: &dyn Sink) -> Result<StepOutput, Error> {
        log(&self.log, format!("step {}", self.kind.title()));
        match &self.script {
            Script::Checks(checks) => Ok(StepOutput::checks(checks.clone())),
            Script::StopsLater(checks, why) => Ok(StepOutput {
                checks: checks.clone(),
                stops_later: Some(why.to_string()),
                skipped: None,
            }),
            Script::EnvError => Err(env_error(
                "cannot list pods on cluster `prod`",
                anyhow::anyhow!("forbidden"),
            )),
            Script::Hangs => std::future::pending().await,
        }
    }
}

struct Harness {
    log: Log,
    _kubeconfigs: tempfile::TempDir,
    diagnostics: tempfile::TempDir,
    /// Holds the run directory, so a kept one goes with the harness.
    scratch: tempfile::TempDir,
}

fn plan() -> Plan {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/lesson/03-constraints.yaml");
    crate::plan::plan_file(&file).expect("the lesson plans")
}

/// Runs the lesson with fakes; `script` gives each step's behaviour.
async fn run_with(
    fail: Fail,
    script: impl Fn(StepKind) -> Script,
    interrupt: impl Future<Output = ()>,
    keep: bool,
) -> (RunOutcome, Vec<String>, Harness) {
    let harness = Harness {
        log: Log::default(),
        _kubeconfigs: tempfile::tempdir().unwrap(),
        diagnostics: tempfile::tempdir().unwrap(),
        scratch: tempfile::tempdir().unwrap(),
    };
    let plan = plan();
    let mut loaded = plan.scenario.clone().unwrap();
    loaded.timeouts.setup = Duration::from_millis(300);
    let seams = Seams {
        provider: Box::new(FakeProvider {
            log: harness.log.clone(),
            fail,
            dir: harness._kubeconfigs.path().to_path_buf(),
        }),
        argocd: Box::new(FakeArgoCd {
            log: harness.log.clone(),
            fail,
        }),
        repos: Box::new(FakeRepos {
            log: harness.log.clone(),
            fail,
        }),
    };
    let steps: Vec<Box<dyn Step>> = StepKind::LIVE
        .into_iter()
        .map(|kind| {
            Box::new(FakeStep {
                kind,
                script: script(kind),
                log: harness.log.clone(),
            }) as Box<dyn Step>
        })
        .collect();
    let opts = RunOptions {
        keep,
        diagnostics: Some(harness.diagnostics.path().to_path_buf()),
        ..RunOptions::default()
    };
    let collector = Collector::default();
    let base = plan.report.clone();
    let dir = tempfile::Builder::new()
        .prefix(seams::RUN_DIR_PREFIX)
        .tempdir_in(harness.scratch.path())
        .unwrap();
    let end = {
        let sink = Silent;
        let tee = Tee(vec![&sink, &collector]);
        Runner::new(plan, loaded, opts, &tee, seams, steps, RunDir::Temp(dir))
            .run_to_end(interrupt)
            .await
    };
    let outcome = end.outcome(&collector, base, Duration::ZERO);
    let lines = harness.log.lock().unwrap().clone();
    (outcome, lines, harness)
}

fn passing(_: StepKind) -> Script {
    Script::Checks(vec![Check::passed("fine")])
}

fn never() -> impl Future<Output = ()> {
    std::future::pending()
}

fn exit_code(o: &RunOutcome) -> u8 {
    match &o.error {
        Some(e) => e.exit_code(),
        None if o.report.passed() => 0,
        None => 1,
    }
}

fn torn_down(lines: &[String]) -> bool {
    ["argocd stop", "repos stop", "down"]
        .iter()
        .all(|l| lines.iter().any(|x| x == l))
}

fn step_titles(report: &Report) -> Vec<&'static str> {
    report
        .steps
        .iter()
        .filter(|s| s.step != StepKind::Plan)
        .map(|s| s.step.title())
        .collect()
}

#[tokio::test]
async fn a_passing_run_runs_every_step_in_order_and_tears_down() {
    let (o, lines, _h) = run_with(Fail::Nothing, passing, never(), false).await;
    assert_eq!(exit_code(&o), 0, "{:?}", o.error);
    assert_eq!(
        step_titles(&o.report),
        ["dry-run", "diff", "count", "sync", "assert"]
    );
    let steps: Vec<&String> = lines.iter().filter(|l| l.starts_with("step ")).collect();
    assert_eq!(steps.len(), 5);
    assert!(torn_down(&lines), "{lines:?}");
    assert_eq!(o.report.provider.as_deref(), Some("fake"));
    assert_eq!(o.report.diagnostics, None);
    let phases: Vec<&str> = o.report.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        phases,
        [
            "clusters up",
            "Argo CD ready",
            "repositories served",
            "clusters registered",
            "teardown",
            "total"
        ]
    );
}

/// Each setup phase failing: exit 3, every step reported as not reached with
/// the reason, and a full teardown.
#[tokio::test]
async fn a_failure_in_each_setup_phase_ends_in_exit_3_a_report_and_a_teardown() {
    for (fail, said) in [
        (Fail::Up, "cannot bring the clusters up"),
        (Fail::UpHangs, "(timeouts.setup)"),
        (Fail::ArgoStart, "cannot start Argo CD on cluster `dev`"),
        (
            Fail::Serve,
            "cannot serve `https://your-org.github.io/helm-charts`",
        ),
        (Fail::Register, "cannot register the clusters in Argo CD"),
    ] {
        let (o, lines, _h) = run_with(fail, passing, never(), false).await;
        assert_eq!(exit_code(&o), 3, "{said}: {:?}", o.error);
        let stopped = o.report.stopped.as_ref().expect("stopped");
        assert_eq!(stopped.kind, "environment");
        assert!(stopped.reason.contains(said), "{said}: {}", stopped.reason);
        assert_eq!(
            step_titles(&o.report),
            ["dry-run", "diff", "count", "sync", "assert"]
        );
        assert!(o.report.steps[1..].iter().all(|s| {
            s.skipped
                .as_deref()
                .is_some_and(|w| w.starts_with("not reached: "))
        }));
        assert!(!lines.iter().any(|l| l.starts_with("step ")), "{lines:?}");
        assert!(torn_down(&lines), "{said}: {lines:?}");
    }
}

#[tokio::test]
async fn an_environment_error_in_a_step_keeps_the_checks_that_completed() {
    let script = |kind| match kind {
        StepKind::DryRun => {
            Script::Checks(vec![Check::passed("valid"), Check::failed("strict", "no")])
        }
        StepKind::Diff => Script::EnvError,
        _ => Script::Checks(vec![]),
    };
    let (o, lines, h) = run_with(Fail::Nothing, script, never(), false).await;
    assert_eq!(exit_code(&o), 3);
    let dry = &o.report.steps[1];
    assert_eq!(dry.step, StepKind::DryRun);
    assert_eq!(dry.checks.len(), 2);
    let stopped = o.report.stopped.as_ref().unwrap();
    assert!(
        stopped
            .reason
            .starts_with("cannot list pods on cluster `prod`"),
        "{}",
        stopped.reason
    );
    assert!(!lines.iter().any(|l| l == "step count"), "{lines:?}");
    assert!(torn_down(&lines));
    // A failed run leaves its diagnostics in a new directory of its own.
    let dir = PathBuf::from(o.report.diagnostics.as_deref().expect("diagnostics"));
    assert!(dir.starts_with(h.diagnostics.path()));
    assert!(dir.join("argocd.log").is_file());
}

#[tokio::test]
async fn a_step_that_stops_the_rest_makes_them_skipped_with_its_reason() {
    let script = |kind| match kind {
        StepKind::DryRun => Script::StopsLater(
            vec![Check::failed("strict", "unknown field")],
            "cannot apply",
        ),
        _ => Script::Checks(vec![Check::passed("unreachable")]),
    };
    let (o, lines, _h) = run_with(Fail::Nothing, script, never(), false).await;
    assert_eq!(exit_code(&o), 1);
    assert!(o.report.stopped.is_none());
    for s in &o.report.steps[2..] {
        assert_eq!(
            s.skipped.as_deref(),
            Some("cannot apply"),
            "{}",
            s.step.title()
        );
        assert!(s.checks.is_empty());
    }
    assert_eq!(lines.iter().filter(|l| l.starts_with("step ")).count(), 1);
    assert!(torn_down(&lines));
}

#[tokio::test]
async fn an_interrupt_mid_step_exits_130_and_tears_down() {
    let script = |kind| match kind {
        StepKind::Sync => Script::Hangs,
        _ => passing(kind),
    };
    let interrupt = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (o, lines, h) = run_with(Fail::Nothing, script, interrupt, true).await;
    assert_eq!(exit_code(&o), 130);
    let left = std::fs::read_dir(h.scratch.path()).unwrap().count();
    assert_eq!(left, 0, "an interrupted run removes its run directory");
    assert_eq!(o.report.stopped.as_ref().unwrap().kind, "interrupted");
    let done: Vec<&str> = o.report.steps[1..]
        .iter()
        .filter(|s| s.skipped.is_none())
        .map(|s| s.step.title())
        .collect();
    assert_eq!(done, ["dry-run", "diff", "count"]);
    // --keep does not keep the clusters of an interrupted run.
    assert!(torn_down(&lines), "{lines:?}");
    assert_eq!(o.report.diagnostics, None);
}

#[tokio::test]
async fn keep_leaves_the_clusters_up() {
    let (o, lines, h) = run_with(Fail::Nothing, passing, never(), true).await;
    assert_eq!(exit_code(&o), 0);
    let kept = std::fs::read_dir(h.scratch.path()).unwrap().count();
    assert_eq!(kept, 1, "the run directory is kept");
    assert!(!lines.iter().any(|l| l == "down"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "argocd stop"));
}

#[tokio::test]
async fn a_scenario_whose_charts_are_read_with_chart_is_served_as_a_helm_repository() {
    let (_o, lines, _h) = run_with(Fail::Nothing, passing, never(), false).await;
    assert!(lines.iter().any(|l| l == "serve chart=true"), "{lines:?}");
}
