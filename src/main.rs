//! The `gitops-e2e` binary: parse the command line, run the command, print
//! its report, and turn the outcome into an exit code.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use gitops_e2e::cli::{
    Cli, Command, Format, MergeArgs, OutputArgs, ProviderArg, ReportCommand, RunArgs,
};
use gitops_e2e::error::{Error, exit};
use gitops_e2e::report::progress::Progress;
use gitops_e2e::report::{self, Report, SuiteReport};
use gitops_e2e::runner::{self, RunOptions};
use gitops_e2e::scenario::ProviderKind;
use gitops_e2e::{lint, plan, scenario, suite};

/// The plan allocates per node of every generated Application; mimalloc
/// took a fifth off the instructions of `plan` on 1,000 Applications
/// (bench/plan.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::INVALID_INPUT
            } else {
                exit::PASSED
            });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprint!("{}", report::terminal_safe(&render_error(&e)));
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    gitops_e2e::appset::set_max_applications(cli.max_applications);
    gitops_e2e::appset::set_max_render_time(cli.max_render_time);
    gitops_e2e::appset::set_max_application_bytes(cli.max_application_size);
    gitops_e2e::appset::template::set_render_limits(cli.max_render_steps, cli.max_render_output);
    match cli.command {
        Command::Plan(args) => {
            let plan = plan::plan_file(&args.file)?;
            let code = emit(&plan.report, &args.output);
            // The process ends here: freeing a thousand rendered manifests
            // one by one costs a tenth of a large plan's time.
            std::mem::forget(plan);
            code
        }
        Command::Init(args) => init(&args.appset, args.output.as_deref()),
        Command::Lint(args) if args.rules => {
            for r in lint::RULES {
                println!("{:28} {}", r.name, r.summary);
            }
            Ok(exit::PASSED)
        }
        Command::Lint(args) => {
            let report = plan::lint_files(&args.files)?;
            emit(&report, &args.output)
        }
        Command::Run(args) => {
            let single = matches!(args.paths.as_slice(), [one] if !one.is_dir());
            if single && args.shard.is_none() {
                run_scenario(args)
            } else {
                run_suite(args)
            }
        }
        Command::Report(ReportCommand::Merge(args)) => merge(args),
        Command::Doctor => {
            let verdict = match gitops_e2e::toolchain::missing_for_live_runs() {
                None => {
                    let bin = gitops_e2e::toolchain::Toolchain::locate()
                        .map(|t| t.bin_dir().display().to_string())
                        .unwrap_or_default();
                    println!("ready: live runs on kwok can start (toolchain in {bin})");
                    Ok(exit::PASSED)
                }
                Some(reason) => {
                    println!("not ready: {reason}");
                    Ok(exit::ENVIRONMENT)
                }
            };
            // kind is said, not judged: the exit code is about kwok.
            println!("kind: {}", kind_readiness());
            verdict
        }
        Command::Clean(args) => clean(args.dry_run),
        Command::Explain(args) => explain(args.rule.as_deref()),
        Command::Schema => {
            let schema = scenario::schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            Ok(exit::PASSED)
        }
    }
}

fn run_options(args: &RunArgs) -> RunOptions {
    RunOptions {
        provider: args.provider.map(|p| match p {
            ProviderArg::Kind => ProviderKind::Kind,
            ProviderArg::Kwok => ProviderKind::Kwok,
            ProviderArg::Existing => ProviderKind::Existing,
        }),
        keep: args.keep,
        reuse: args.reuse,
        sync_timeout: args.timeout,
        diagnostics: args.diagnostics.clone(),
        contexts: args.contexts.iter().cloned().collect(),
        context_guard: gitops_e2e::provider::existing::ContextGuard {
            production: args.production_pattern.clone(),
            allowed: args.allow_contexts.clone(),
        },
        kind: gitops_e2e::provider::kind::KindSettings {
            node_image: args.node_image.clone(),
            patches: args.kind_patches.clone(),
        },
        load_images: args.load_images.clone(),
        upgrade_from: args.upgrade_from.clone(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Runtime::new().map_err(|e| Error::Environment {
        context: "cannot start the async runtime".into(),
        source: e.into(),
    })
}

/// One scenario file: its own report, as `run` always wrote it.
fn run_scenario(args: Box<RunArgs>) -> Result<u8, Error> {
    let plan = plan::plan_file(&args.paths[0])?;
    let opts = run_options(&args);
    let runtime = runtime()?;
    let progress = Progress::new();
    let outcome = runtime.block_on(runner::run(plan, opts, &progress));
    // Every verdict writes its reports: a run that stopped still says which
    // checks completed and why it stopped.
    let code = emit(&outcome.report, &args.output)?;
    match outcome.error {
        Some(e) => Err(e),
        None => Ok(code),
    }
}

/// Several scenarios (or a directory, or a shard): one combined report.
fn run_suite(args: Box<RunArgs>) -> Result<u8, Error> {
    let started = std::time::Instant::now();
    let cwd = std::env::current_dir().map_err(|source| Error::File {
        action: "read",
        path: ".".into(),
        source,
    })?;
    let found = suite::discover::discover(&args.paths, &cwd)?;
    if found.is_empty() {
        return Err(Error::Input {
            message: "no scenarios (YAML files with `kind: Scenario`) in the paths given".into(),
            help: None,
        });
    }
    let keys: Vec<String> = found
        .iter()
        .map(|f| suite::discover::key(f, &cwd))
        .collect();
    let chosen: Vec<String> = match args.shard {
        Some(shard) => {
            let durations = match &args.shard_durations {
                Some(path) => Some(recorded_durations(path)?),
                None => None,
            };
            suite::shard::select(&keys, shard, durations.as_ref())
                .into_iter()
                .map(|i| keys[i].clone())
                .collect()
        }
        None => keys,
    };
    let jobs = args.jobs.unwrap_or_else(suite::default_jobs);
    let opts = run_options(&args);
    let progress = Arc::new(Progress::new());
    let files = chosen.iter().map(PathBuf::from).collect();
    let scenarios = runtime()?.block_on(suite::run(files, opts, jobs, progress));
    let suite = SuiteReport {
        command: "run".into(),
        shard: args.shard.map(|s| s.to_string()),
        duration: started.elapsed(),
        scenarios,
    };
    emit_suite(&suite, &args.output)
}

/// Each scenario's recorded time (its `total`) in a JSON report, by file.
fn recorded_durations(path: &Path) -> Result<BTreeMap<String, Duration>, Error> {
    let cwd = std::env::current_dir().unwrap_or_default();
    Ok(report::read::read_file(path)?
        .scenarios
        .iter()
        .filter_map(|r| {
            let key = suite::discover::key(Path::new(&r.file), &cwd);
            r.total().map(|t| (key, t))
        })
        .collect())
}

fn merge(args: MergeArgs) -> Result<u8, Error> {
    let inputs = args
        .files
        .iter()
        .map(|f| Ok((f.clone(), report::read::read_file(f)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let merged = report::merge::merge(inputs)?;
    for warning in &merged.warnings {
        eprintln!("warning: {}", report::terminal_safe(warning));
    }
    emit_suite(&merged.report, &args.output)
}

/// The combined report on stdout and in the requested files; the suite's
/// exit code.
fn emit_suite(suite: &SuiteReport, output: &OutputArgs) -> Result<u8, Error> {
    match output.format {
        Format::Text => print!("{}", report::terminal::render_suite(suite)),
        Format::Json => print!("{}", report::json::render_suite(suite)),
    }
    let findings: Vec<_> = suite
        .scenarios
        .iter()
        .flat_map(|r| r.findings.iter().cloned())
        .collect();
    github_annotations(&findings, output.format);
    let files = [
        (
            &output.json,
            report::json::render_suite as fn(&SuiteReport) -> String,
        ),
        (&output.junit, report::junit::render_suite),
        (&output.markdown, report::markdown::render_suite),
        (&output.sarif, report::sarif::render_suite),
    ];
    for (path, render) in files {
        if let Some(path) = path {
            write_file(path, &render(suite))?;
        }
    }
    Ok(suite.exit_code())
}

/// Whether `--provider kind` can start here: Docker answers and kind is found.
fn kind_readiness() -> String {
    let docker = tokio::runtime::Runtime::new()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(gitops_e2e::provider::kind::docker_answers()));
    let kind = gitops_e2e::toolchain::Toolchain::locate()
        .map(|t| t.bin("kind"))
        .ok()
        .filter(|k| k.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("kind"))
                    .find(|k| k.is_file())
            })
        });
    match (docker, kind) {
        (Ok(version), Some(kind)) => format!(
            "Docker {version} answers and kind is at {} (images are pulled, or built here \
             with `make kind-images`)",
            kind.display()
        ),
        (Err(why), _) => format!("not available: Docker does not answer ({why})"),
        (Ok(_), None) => "not available: no `kind` in the toolchain or on PATH".into(),
    }
}

/// One rule's explanation, or the list of rules.
/// Writes the scenario `init` made: to a new file only, never over one.
fn init(appset: &Path, output: Option<&Path>) -> Result<u8, Error> {
    let Some(path) = output else {
        print!(
            "{}",
            gitops_e2e::init::scenario_for(appset, Path::new("."))?
        );
        return Ok(exit::PASSED);
    };
    if path.exists() {
        return Err(Error::Input {
            message: format!(
                "`{}` already exists; init does not overwrite it",
                path.display()
            ),
            help: Some("give another -o path, or remove the file first".into()),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let text = gitops_e2e::init::scenario_for(appset, dir)?;
    use std::io::Write as _;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    written.map_err(|source| Error::File {
        action: "write",
        path: path.to_path_buf(),
        source,
    })?;
    eprintln!(
        "wrote {}; check it, then: gitops-e2e plan {}",
        path.display(),
        path.display()
    );
    Ok(exit::PASSED)
}

fn explain(name: Option<&str>) -> Result<u8, Error> {
    let Some(name) = name else {
        print!("{}", lint::rules::list());
        return Ok(exit::PASSED);
    };
    match lint::rule(name) {
        Some(rule) => {
            print!("{}", rule.explanation());
            Ok(exit::PASSED)
        }
        None => {
            let known: Vec<String> = lint::RULES.iter().map(|r| r.name.to_string()).collect();
            let help = match gitops_e2e::yaml::closest(name, &known) {
                Some(near) => {
                    format!("did you mean `{near}`? (`gitops-e2e explain` lists the rules)")
                }
                None => "`gitops-e2e explain` lists the rules".to_string(),
            };
            Err(Error::Input {
                message: format!("`{name}` is not a lint rule"),
                help: Some(help),
            })
        }
    }
}

fn clean(dry_run: bool) -> Result<u8, Error> {
    let tmp = std::env::temp_dir();
    let leftovers = gitops_e2e::clean::find(&tmp);
    let orphans = gitops_e2e::clean::orphan_kind_clusters(&tmp);
    for c in &orphans {
        let c = report::terminal_safe(c);
        println!(
            "kind cluster {c}: no run directory in {} (its run used another TMPDIR, or its \
             teardown failed); not removed: `kind delete cluster --name {c}` removes it",
            tmp.display()
        );
    }
    if leftovers.is_empty() {
        println!("nothing left by earlier runs in {}", tmp.display());
        return Ok(exit::PASSED);
    }
    for left in &leftovers {
        let what = if left.dir_exists {
            "run directory"
        } else {
            "run (directory gone)"
        };
        println!("{what} {}", left.run_dir.display());
        for p in &left.processes {
            let command: String = p.command.chars().take(120).collect();
            println!("  process {} {}", p.pid, report::terminal_safe(&command));
        }
        for c in &left.kind_clusters {
            println!("  kind cluster {}", report::terminal_safe(c));
        }
        for c in &left.containers {
            println!("  container {}", report::terminal_safe(c));
        }
        if dry_run {
            continue;
        }
        gitops_e2e::clean::remove(left, std::time::Duration::from_secs(5)).map_err(|source| {
            Error::File {
                action: "remove",
                path: left.run_dir.clone(),
                source,
            }
        })?;
        println!("  removed");
    }
    if dry_run {
        println!("(dry run: nothing removed; run `gitops-e2e clean` to remove these)");
    }
    Ok(exit::PASSED)
}

/// Prints the report on stdout, writes the requested files, returns the exit code.
fn emit(report: &Report, output: &OutputArgs) -> Result<u8, Error> {
    match output.format {
        Format::Text => print!("{}", report::terminal::render(report)),
        Format::Json => print!("{}", report::json::render(report)),
    }
    github_annotations(&report.findings, output.format);
    let files = [
        (&output.json, report::json::render as fn(&Report) -> String),
        (&output.junit, report::junit::render),
        (&output.markdown, report::markdown::render),
        (&output.sarif, report::sarif::render),
    ];
    for (path, render) in files {
        if let Some(path) = path {
            write_file(path, &render(report))?;
        }
    }
    Ok(if report.passed() {
        exit::PASSED
    } else {
        exit::CHECK_FAILED
    })
}

/// In a GitHub Actions job, one annotation per mistake: on standard output
/// after the text report, on standard error when standard output is JSON
/// (the runner reads workflow commands from both).
fn github_annotations(findings: &[gitops_e2e::lint::Finding], format: Format) {
    if std::env::var("GITHUB_ACTIONS").as_deref() != Ok("true") {
        return;
    }
    let annotations = report::github::annotations(findings);
    let text = report::terminal_safe(&annotations);
    match format {
        Format::Text => print!("{text}"),
        Format::Json => eprint!("{text}"),
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::File {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// `error: …` once, then each cause once under "caused by:", then help.
fn render_error(e: &Error) -> String {
    match e {
        Error::Scenario(load) => load.render(),
        _ => {
            let mut text = format!("error: {e}\n");
            let mut source = e.source();
            while let Some(cause) = source {
                text.push_str(&format!("  caused by: {cause}\n"));
                source = cause.source();
            }
            if let Error::Input {
                help: Some(help), ..
            } = e
            {
                text.push_str(&format!("  = help: {help}\n"));
            }
            text
        }
    }
}
