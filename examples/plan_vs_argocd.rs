//! The plan against Argo CD itself, side by side in one run (`make bench`):
//! the same ApplicationSets expanded by `gitops-e2e plan` (the whole process,
//! start included), by the library in-process, and by Argo CD's own
//! `POST /api/v1/applicationsets/generate` on argocd-server of the pinned
//! toolchain (a kwok hub, started once for all cases).
//!
//!   cargo run --release --example plan_vs_argocd -- DIR [RUNS]
//!
//! DIR holds the ApplicationSets (bench/gen-appsets.py writes them); the
//! `gitops-e2e` binary timed is $BIN (default target/release/gitops-e2e).
//! Prints, per ApplicationSet, the median and the spread (min–max) of RUNS
//! runs of each, and the ratio of Argo CD's median to the plan's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gitops_e2e::appset::expand;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: plan_vs_argocd DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    if let Some(reason) = gitops_e2e::toolchain::missing_for_live_runs() {
        eprintln!("plan vs Argo CD: skipped: {reason}");
        std::process::exit(0);
    }
    let bin =
        PathBuf::from(std::env::var("BIN").unwrap_or_else(|_| "target/release/gitops-e2e".into()));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();

    // The environment Argo CD runs in: the fidelity corpus's one hub.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity/scenario.yaml");
    let plan = gitops_e2e::plan::plan_file(&scenario)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", scenario.display())));
    let env = plan.env.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(&e.to_string()));
    let sink = gitops_e2e::events::Silent;
    let started = Instant::now();
    let session = runtime
        .block_on(gitops_e2e::runner::Session::start(plan, &sink))
        .unwrap_or_else(|e| fail(&format!("cannot start Argo CD: {e}")));
    println!(
        "Argo CD (argocd-server on a kwok hub) ready in {:.1} s; {runs} runs of each\n",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<26} {:>6}  {:>24}  {:>24}  {:>24}  {:>8}",
        "ApplicationSet",
        "apps",
        "gitops-e2e plan (process)",
        "expand (in-process)",
        "Argo CD generate",
        "ratio"
    );
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", file.display())));
        let appset = gitops_e2e::yaml::parse(&text)
            .ok()
            .and_then(|docs| docs.into_iter().next())
            .map(|d| d.value)
            .unwrap_or_else(|| fail(&format!("{}: not a YAML document", file.display())));
        let mut apps = 0;
        let in_process = time(runs, || {
            apps = expand(&appset, &env).applications.len();
        });
        let process = time(runs, || {
            let status = Command::new(&bin)
                .arg("plan")
                .arg(file)
                .args(["--format", "json"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap_or_else(|e| fail(&format!("{}: {e}", bin.display())));
            // Findings give exit 1; anything else is not a timing.
            if !matches!(status.code(), Some(0 | 1)) {
                fail(&format!(
                    "{} plan {}: {status}",
                    bin.display(),
                    file.display()
                ));
            }
        });
        let mut argocd_apps = 0;
        let argocd = time(runs, || match runtime.block_on(session.generate(&appset)) {
            Ok(generated) => argocd_apps = generated.len(),
            Err(e) => fail(&format!("Argo CD on {}: {e}", file.display())),
        });
        let name = file.file_stem().unwrap_or_default().to_string_lossy();
        let same = if apps == argocd_apps {
            ""
        } else {
            " (counts differ!)"
        };
        println!(
            "{name:<26} {apps:>6}  {:>24}  {:>24}  {:>24}  {:>7.0}×{same}",
            spread(&process),
            spread(&in_process),
            spread(&argocd),
            median(&argocd).as_secs_f64() / median(&process).as_secs_f64()
        );
    }
    runtime.block_on(session.stop());
}

fn time(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut out: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

fn spread(sorted: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:.1} ms ({:.1}–{:.1})",
        ms(median(sorted)),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    )
}

fn fail(message: &str) -> ! {
    eprintln!("plan vs Argo CD: {message}");
    std::process::exit(3);
}
