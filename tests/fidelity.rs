//! Fidelity: the offline plan against Argo CD's own generation.
//!
//! Every ApplicationSet in `tests/fidelity/cases/` is expanded by the plan
//! (`gitops_e2e::appset::expand`, in the environment `tests/fidelity/scenario.yaml`
//! gives) and compared with what Argo CD's `POST /api/v1/applicationsets/generate`
//! returns for it: the Application names as a set (cluster Secrets come in
//! Argo CD's map order), each spec, and the labels, annotations and
//! finalizers, all through `steps::dry_run::generation_check` (Go `omitempty`
//! normalised). An error case agrees when both sides report an error and the
//! plan's wording is found in Argo CD's message.
//!
//! Tiers:
//! - `recorded_generation_agrees` (always): against `tests/fidelity/recorded/`,
//!   what Argo CD returned when recorded, so no toolchain is needed;
//! - `live_generation_agrees` (when the toolchain is built, ~30 s): against a
//!   fresh generation by argocd-server on a kwok hub, and the recordings
//!   against it (a stale recording fails: re-record);
//! - `record` (ignored; `tests/fidelity/record.sh`): rewrites the recordings,
//!   to be run when the pinned Argo CD version changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gitops_e2e::appset::{Expansion, GeneratedApp};
use gitops_e2e::plan::Plan;
use gitops_e2e::report::Outcome;
use gitops_e2e::steps::dry_run::generation_check;
use serde_json::{Value, json};

/// Cases where the plan knowingly differs from Argo CD, with the reason.
/// Anything else that disagrees fails the test: fix the plan instead.
/// A listed case may still agree by chance (hash order); that is not a failure.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity")
}

struct Case {
    name: String,
    appset: Value,
}

fn cases() -> Vec<Case> {
    let dir = root().join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let docs = gitops_e2e::yaml::parse(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let appset = docs
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("{}: empty", file.display()))
                .value;
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Case { name, appset }
        })
        .collect()
}

fn plan() -> Plan {
    let scenario = root().join("scenario.yaml");
    gitops_e2e::plan::plan_file(&scenario).unwrap_or_else(|e| panic!("{e}"))
}

/// What Argo CD answered for one case.
#[derive(Debug, Clone, PartialEq)]
enum Generated {
    Applications(Vec<Value>),
    Error(String),
}

impl Generated {
    fn to_json(&self) -> Value {
        match self {
            Generated::Applications(apps) => json!({ "applications": apps }),
            Generated::Error(message) => json!({ "error": message }),
        }
    }

    fn from_json(v: &Value) -> Option<Self> {
        if let Some(message) = v.get("error").and_then(Value::as_str) {
            return Some(Generated::Error(message.to_string()));
        }
        v.get("applications")
            .and_then(Value::as_array)
            .map(|a| Generated::Applications(a.clone()))
    }
}

fn recording_path(case: &str) -> PathBuf {
    root().join("recorded").join(format!("{case}.json"))
}

fn recorded(case: &str) -> Result<Generated, String> {
    let path = recording_path(case);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("no recording ({e}): run tests/fidelity/record.sh"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("bad recording: {e}"))?;
    Generated::from_json(&v).ok_or_else(|| "bad recording: no `applications` or `error`".into())
}

/// The first line of an error: argocd-server appends the generator's log
/// lines (with timestamps) after it.
fn headline(message: &str) -> &str {
    message.lines().next().unwrap_or_default()
}

/// The parts of a generated Application compared besides its spec.
fn metadata_of(v: &Value) -> Value {
    let meta = v.get("metadata");
    let mut out = serde_json::Map::new();
    for key in ["labels", "annotations", "finalizers"] {
        if let Some(x) = meta.and_then(|m| m.get(key)) {
            out.insert(key.into(), x.clone());
        }
    }
    Value::Object(out)
}

/// The plan's Applications and Argo CD's agree: names, specs, metadata.
fn compare_apps(plan: &[GeneratedApp], argocd: &[Value]) -> Result<(), String> {
    let spec = generation_check(plan, argocd);
    let as_meta = |name: &str, meta: Value| json!({"metadata": {"name": name}, "spec": meta});
    let plan_meta: Vec<GeneratedApp> = plan
        .iter()
        .map(|a| GeneratedApp {
            name: a.name.clone(),
            manifest: as_meta(&a.name, metadata_of(&a.manifest)),
            params: Value::Null,
        })
        .collect();
    let argocd_meta: Vec<Value> = argocd
        .iter()
        .map(|a| {
            let name = a
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)");
            as_meta(name, metadata_of(a))
        })
        .collect();
    let meta = generation_check(&plan_meta, &argocd_meta);
    let mut problems = Vec::new();
    if let Outcome::Failed { .. } = spec.outcome {
        problems.push(spec.detail.unwrap_or_default());
    }
    if let Outcome::Failed { .. } = meta.outcome {
        let detail = meta
            .detail
            .unwrap_or_default()
            .replace("spec of ", "metadata of ")
            .replace("spec differs", "metadata differs");
        problems.push(detail);
    }
    if plan.len() != argocd.len() {
        problems.push(format!(
            "{} Applications planned, {} generated by Argo CD",
            plan.len(),
            argocd.len()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The plan's wording found in Argo CD's error message: the whole message or
/// one of its `: `-separated parts (the plan adds context).
fn matched_wording<'a>(plan_message: &'a str, argocd_message: &str) -> Option<&'a str> {
    if argocd_message.contains(plan_message) {
        return Some(plan_message);
    }
    plan_message
        .split(": ")
        .filter(|part| part.len() >= 12)
        .find(|part| argocd_message.contains(part))
}

/// One case: the plan's expansion against what Argo CD generated; `Ok` holds
/// the shared wording of an error case.
fn compare(x: &Expansion, argocd: &Generated) -> Result<Option<String>, String> {
    let plan_problems: Vec<&str> = x
        .errors
        .iter()
        .chain(&x.recovered)
        .map(|e| e.message.as_str())
        .collect();
    match argocd {
        Generated::Applications(apps) => {
            if !plan_problems.is_empty() {
                return Err(format!(
                    "Argo CD generates {} Applications; the plan reports: {}",
                    apps.len(),
                    plan_problems.join(" | ")
                ));
            }
            compare_apps(&x.applications, apps).map(|()| None)
        }
        Generated::Error(message) => {
            let head = headline(message);
            if plan_problems.is_empty() {
                return Err(format!("Argo CD errors ({head}); the plan reports none"));
            }
            if let Some(phrase) = plan_problems.iter().find_map(|p| matched_wording(p, head)) {
                Ok(Some(phrase.to_string()))
            } else {
                Err(format!(
                    "both error, worded differently: plan `{}`, Argo CD `{head}`",
                    plan_problems.join(" | ")
                ))
            }
        }
    }
}

/// Compares every case with `generated(case)`, prints the table and the
/// totals, and fails on disagreements not in `KNOWN_DIFFERENCES`.
fn judge(tier: &str, plan: &Plan, generated: &BTreeMap<String, Result<Generated, String>>) {
    let mut agree = 0;
    let mut unexpected = Vec::new();
    let cases = cases();
    println!("fidelity ({tier}):");
    for case in &cases {
        let x = gitops_e2e::appset::expand(&case.appset, &plan.env);
        let result = match generated.get(&case.name) {
            Some(Ok(g)) => compare(&x, g),
            Some(Err(e)) => Err(e.clone()),
            None => Err("not generated".into()),
        };
        let known = KNOWN_DIFFERENCES.iter().find(|(n, _)| *n == case.name);
        match (&result, known) {
            (Ok(phrase), None) => {
                agree += 1;
                match phrase {
                    Some(p) => println!("  {}: agree (both error: \"{p}\")", case.name),
                    None => println!("  {}: agree", case.name),
                }
            }
            (Ok(_), Some((_, reason))) => {
                agree += 1;
                println!("  {}: agree (this time; known: {reason})", case.name);
            }
            (Err(why), Some((_, reason))) => {
                println!(
                    "  {}: DISAGREE, known ({reason})\n    {}",
                    case.name,
                    indent(why)
                );
            }
            (Err(why), None) => {
                println!("  {}: DISAGREE ({})", case.name, indent(why));
                unexpected.push(format!("{}: {why}", case.name));
            }
        }
    }
    println!("{} cases, {agree} agree", cases.len());
    assert!(
        cases.len() >= 100,
        "the corpus has {} cases, at least 100 expected",
        cases.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected disagreements:\n{}",
        unexpected.len(),
        unexpected.join("\n\n")
    );
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n    ")
}

/// Unit tier: the plan against the recordings; no toolchain needed.
#[test]
fn recorded_generation_agrees() {
    let plan = plan();
    let generated = cases()
        .into_iter()
        .map(|c| {
            let r = recorded(&c.name);
            (c.name, r)
        })
        .collect();
    judge("recorded", &plan, &generated);
}

fn missing_prerequisite() -> Option<String> {
    gitops_e2e::toolchain::missing_for_live_runs()
}

/// Asks argocd-server on a kwok hub to generate every case, in one Session
/// that is always stopped.
fn generate_live(plan: &Plan) -> BTreeMap<String, Result<Generated, String>> {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let sink = gitops_e2e::events::Silent;
        let session = gitops_e2e::runner::Session::start(plan.clone(), &sink)
            .await
            .unwrap_or_else(|e| panic!("cannot start the Argo CD session: {e}"));
        let mut out = BTreeMap::new();
        for case in cases() {
            let result = match session.generate(&case.appset).await {
                Ok(apps) => Ok(Generated::Applications(apps)),
                Err(gitops_e2e::argocd::api::ApiError::Status { message, .. }) => {
                    Ok(Generated::Error(message))
                }
                Err(e) => Err(format!("argocd-server did not answer: {e}")),
            };
            out.insert(case.name, result);
        }
        session.stop().await;
        out
    })
}

/// Live tier: the plan against a fresh generation, and the recordings
/// against it. Runs when the toolchain is built.
#[test]
#[ignore = "live: needs the toolchain (make toolchain); make test runs it when ready"]
fn live_generation_agrees() {
    if let Some(reason) = missing_prerequisite() {
        panic!("the live tier cannot run here: {reason}");
    }
    let plan = plan();
    let live = generate_live(&plan);
    let mut stale = Vec::new();
    for (name, fresh) in &live {
        let Ok(fresh) = fresh else { continue };
        let same = match (recorded(name), fresh) {
            (Ok(Generated::Applications(old)), Generated::Applications(new)) => {
                let as_plan: Vec<GeneratedApp> = old
                    .iter()
                    .map(|a| GeneratedApp {
                        name: a
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        manifest: a.clone(),
                        params: Value::Null,
                    })
                    .collect();
                compare_apps(&as_plan, new).is_ok()
            }
            (Ok(Generated::Error(old)), Generated::Error(new)) => headline(&old) == headline(new),
            _ => false,
        };
        if !same {
            stale.push(name.clone());
        }
    }
    judge("live", &plan, &live);
    assert!(
        stale.is_empty(),
        "recordings differ from Argo CD's generation (re-record with tests/fidelity/record.sh): {}",
        stale.join(", ")
    );
}

/// Rewrites `tests/fidelity/recorded/` from a live generation. Ignored; run by
/// `tests/fidelity/record.sh` (which sets `GITOPS_E2E_RECORD=1`).
#[test]
#[ignore = "re-records Argo CD's answers: tests/fidelity/record.sh"]
fn rerecord_from_argo_cd() {
    if std::env::var_os("GITOPS_E2E_RECORD").is_none() {
        println!("skipped: set GITOPS_E2E_RECORD=1 (tests/fidelity/record.sh) to re-record");
        return;
    }
    if let Some(reason) = missing_prerequisite() {
        panic!("cannot record: {reason}");
    }
    let plan = plan();
    let live = generate_live(&plan);
    let dir = root().join("recorded");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut failed = Vec::new();
    for (name, result) in live {
        match result {
            Ok(generated) => {
                write_json(&recording_path(&name), &stable(generated).to_json());
            }
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    assert!(failed.is_empty(), "not recorded:\n{}", failed.join("\n"));
    println!("recorded into {}", dir.display());
}

/// What is recorded: Applications sorted by name (Argo CD emits cluster and
/// merge results in Go map order), an error without the log lines (with
/// timestamps) argocd-server appends; so that re-recording shows only changes.
fn stable(generated: Generated) -> Generated {
    match generated {
        Generated::Applications(mut apps) => {
            apps.sort_by_key(|a| a.pointer("/metadata/name").map(Value::to_string));
            Generated::Applications(apps)
        }
        Generated::Error(message) => Generated::Error(headline(&message).to_string()),
    }
}

fn write_json(path: &Path, v: &Value) {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|e| panic!("{e}")) + "\n";
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
