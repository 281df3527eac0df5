//! Command-line types only; `main.rs` dispatches them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Validates Argo CD ApplicationSets before they reach production.
///
/// Start with `gitops-e2e plan SCENARIO`: it expands the ApplicationSet
/// offline, exactly as Argo CD would, lints it, and checks the scenario's
/// expectations, in milliseconds and without a cluster.
///
/// Exit codes: 0 passed, 1 a check failed, 2 invalid input or usage,
/// 3 the environment failed (a cluster, a tool, Argo CD itself).
#[derive(Debug, Parser)]
#[command(name = "gitops-e2e", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The most Applications one ApplicationSet may expand to before the
    /// plan stops (a runaway matrix would otherwise take the machine's memory).
    #[arg(long, global = true, value_name = "N", default_value_t = crate::appset::DEFAULT_MAX_APPLICATIONS)]
    pub max_applications: usize,
    /// The longest one Application may take to render (template and
    /// templatePatch) before the plan stops, e.g. `10s`, `500ms`.
    #[arg(long, global = true, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub max_render_time: std::time::Duration,
    /// The largest one rendered Application may be, in bytes, before the plan
    /// stops (default: etcd's request limit, 1.5 MiB).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = crate::appset::DEFAULT_MAX_APPLICATION_BYTES)]
    pub max_application_size: usize,
    /// The most steps (nodes, function calls, `range` iterations) one Go
    /// template string may take to render.
    #[arg(long, global = true, value_name = "N", default_value_t = crate::appset::template::gotext::DEFAULT_MAX_STEPS)]
    pub max_render_steps: u64,
    /// The most bytes one Go template string may render to.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = crate::appset::template::gotext::DEFAULT_MAX_OUTPUT)]
    pub max_render_output: usize,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a first scenario for an existing ApplicationSet: one cluster per
    /// destination, the repositories to fill in, and the Applications the
    /// plan generates as expectations.
    ///
    /// Without -o the scenario goes to standard output; an existing -o file is
    /// never overwritten.
    Init(InitArgs),
    /// Expand an ApplicationSet offline, lint it, and check a scenario's expectations.
    ///
    /// FILE is a scenario (kind: Scenario) or a bare ApplicationSet manifest.
    Plan(PlanArgs),
    /// Lint ApplicationSet and Application manifests, without a scenario.
    Lint(LintArgs),
    /// Run scenarios live: clusters, Argo CD, then dry-run, diff, count, sync, assert.
    ///
    /// Clusters and Argo CD are torn down at the end, also on failure or
    /// Ctrl-C, unless --keep is given.
    ///
    /// One scenario file: its report, as always. Several paths, a directory
    /// or --shard: the scenarios run side by side (--jobs) into one combined
    /// report, and the exit code is the worst of theirs (130 interrupted,
    /// then 3, 2, 1, 0).
    Run(Box<RunArgs>),
    /// Work with reports written by earlier runs.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Explain a lint rule: why it matters, a wrong and a right example,
    /// and the fix. Without RULE, list every rule with its summary.
    Explain(ExplainArgs),
    /// Print the JSON Schema of scenario files.
    Schema,
    /// Say whether live runs can start on this machine, and if not, why
    /// (exit 0 ready, 3 not ready).
    Doctor,
    /// Remove what earlier runs left: runs killed before their teardown, or
    /// kept with --keep. Only the harness's own run directories and the
    /// processes it marked are touched; runs still going are left alone.
    Clean(CleanArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The ApplicationSet manifest.
    #[arg(value_name = "APPSET")]
    pub appset: PathBuf,
    /// Write the scenario to this file (it must not exist yet).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule name as findings show it, e.g. `unquoted-template`.
    pub rule: Option<String>,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// List what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Merge the JSON reports of a suite's shards (or of single runs) into
    /// one report: each scenario once, the exit code the worst of theirs.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `run --json` (combined or one scenario's).
    #[arg(required = true, value_name = "REPORT.json")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, or directories whose `*.yaml`/`*.yml` files with
    /// `kind: Scenario` are taken (recursively, sorted; dot-directories and
    /// symbolic links inside are not followed).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How many scenarios run at once (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Run only shard K of N (1-based) of the scenarios found: a CI matrix
    /// runs one shard per machine and `report merge` joins their reports.
    /// The split is by sorted path relative to the current directory.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::suite::shard::Shard>,
    /// A JSON report of an earlier run of the suite: --shard then balances
    /// the shards by its recorded durations (a scenario without one counts
    /// as the mean) instead of round-robin.
    #[arg(long, value_name = "REPORT.json", requires = "shard")]
    pub shard_durations: Option<PathBuf>,
    /// Where the clusters come from (default: the scenario's `provider`).
    #[arg(long, value_enum)]
    pub provider: Option<ProviderArg>,
    /// Leave the clusters up at the end and print how to reach them.
    #[arg(long)]
    pub keep: bool,
    /// Keep the environment (clusters and Argo CD) for the next run of a
    /// scenario with the same clusters and settings, and use one kept
    /// earlier: only what a run changes is reset between runs. kwok only.
    /// `gitops-e2e clean` removes kept environments.
    #[arg(long, conflicts_with = "keep")]
    pub reuse: bool,
    /// Existing provider: use kube context CONTEXT for scenario cluster NAME
    /// (repeatable; default: the cluster's `context`, else its name).
    #[arg(long = "context", value_name = "NAME=CONTEXT", value_parser = parse_context)]
    pub contexts: Vec<(String, String)>,
    /// Existing provider: allow writing to kube context CONTEXT although its
    /// name or server looks like production (repeatable).
    #[arg(long = "allow-context", value_name = "CONTEXT")]
    pub allow_contexts: Vec<String>,
    /// Existing provider: the regular expression that marks a context name or
    /// server as production (such contexts are refused unless allowed).
    #[arg(long, value_name = "REGEX", default_value = crate::provider::existing::DEFAULT_PRODUCTION_PATTERN, value_parser = parse_regex)]
    pub production_pattern: regex::Regex,
    /// How long step 4 waits for Synced and Healthy (overrides `timeouts.sync`), e.g. `90s`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Where to write the diagnostics bundle of a failed run
    /// (default: .gitops-e2e/diagnostics/<scenario>).
    #[arg(long, value_name = "DIR")]
    pub diagnostics: Option<PathBuf>,
    /// kind: the node image for every node whose kind config names none
    /// (default: kind's own).
    #[arg(long, value_name = "IMAGE", env = "GITOPS_E2E_KIND_NODE_IMAGE")]
    pub node_image: Option<String>,
    /// kind: a kind config fragment whose `kubeadmConfigPatches`,
    /// `kubeadmConfigPatchesJSON6902` and `containerdConfigPatches` are
    /// appended to every cluster's config (e.g. what a cgroup v1 host needs);
    /// the scenario's kind configs are not changed.
    #[arg(long, value_name = "FILE", env = "GITOPS_E2E_KIND_PATCHES")]
    pub kind_patches: Option<PathBuf>,
    /// kind: a local image to load into every cluster's nodes before the
    /// ApplicationSet is applied, besides the scenario's `images` (repeatable).
    #[arg(long = "load-image", value_name = "IMAGE")]
    pub load_images: Vec<String>,
    /// Test an upgrade: deploy the ApplicationSet and every `repos` path as
    /// they are at this git ref (branch, tag or commit of the checkout that
    /// holds the scenario), wait until Synced and Healthy, then switch to the
    /// working copy; the diff step shows what the upgrade changes
    /// (overrides `spec.upgrade`).
    #[arg(long, value_name = "REF", value_parser = parse_ref)]
    pub upgrade_from: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_ref(text: &str) -> Result<String, String> {
    if crate::scenario::plausible_ref(text) {
        Ok(text.to_string())
    } else {
        Err("not a git ref: a branch, tag or commit, e.g. `main`, `v1.2.0` or `HEAD~1`".into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Kind,
    Kwok,
    Existing,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A scenario file or an ApplicationSet manifest.
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// ApplicationSet or Application manifests (several documents per file are fine).
    #[arg(required_unless_present = "rules")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// List every lint rule and exit.
    #[arg(long, exclusive = true)]
    pub rules: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the whole result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a Markdown summary to this file (fits a CI step summary).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the findings as SARIF 2.1.0 to this file (code scanning:
    /// one result per mistake, its group id as fingerprint).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

fn parse_context(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, context)) if !name.is_empty() && !context.is_empty() => {
            Ok((name.to_string(), context.to_string()))
        }
        _ => Err(format!("`{text}` is not NAME=CONTEXT")),
    }
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("at least one scenario must be able to run: N must be 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number")),
    }
}

fn parse_regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(s).map_err(|e| e.to_string())
}
