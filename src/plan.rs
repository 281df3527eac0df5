//! The offline plan: expansion + lint + the scenario's expectations → Report.
//!
//! `plan_file` takes a scenario or a bare ApplicationSet; `lint_files` takes
//! manifests. Both return a `Report` (a failed check is data) or an `Error`
//! (the input could not be used).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use crate::appset::{self, ClusterInfo, Environment, Expansion, RepoMount};
use crate::argocd::resources::Automated;
use crate::error::Error;
use crate::lint::{self, AppSetContext, Location};
use crate::report::{ApplicationSummary, Check, Outcome, Report, StepKind, StepResult};
use crate::scenario::{self, ExpectedApplication, Loaded};
use crate::yaml::{self, Document};

/// Everything the offline plan found, kept for the live steps that follow it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub report: Report,
    pub expansion: Expansion,
    pub env: Environment,
    /// The ApplicationSet manifest as read.
    pub appset: Document,
    pub appset_file: PathBuf,
    /// Set when the plan came from a scenario.
    pub scenario: Option<Loaded>,
}

/// Plans a scenario file or a bare ApplicationSet manifest.
pub fn plan_file(file: &Path) -> Result<Plan, Error> {
    let started = Instant::now();
    let docs = read_documents(file)?;
    let kind = docs
        .first()
        .and_then(|d| d.value.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (scenario, appset_file, env) = match kind.as_str() {
        "Scenario" => {
            let loaded = scenario::load(file)?;
            let env = environment(&loaded);
            let appset_file = loaded.application_set.clone();
            (Some(loaded), appset_file, env)
        }
        "ApplicationSet" => (None, file.to_path_buf(), standalone_environment()),
        other => {
            return Err(Error::Input {
                message: format!(
                    "`{}` is neither a Scenario nor an ApplicationSet (kind `{other}`)",
                    file.display()
                ),
                help: Some(
                    "plan takes a scenario file (kind: Scenario) or an ApplicationSet manifest; \
                     lint takes Applications"
                        .to_string(),
                ),
            });
        }
    };
    let appset_docs = if scenario.is_some() {
        read_documents(&appset_file)?
    } else {
        docs
    };
    let appset = single_appset(&appset_file, appset_docs)?;
    let expansion = appset::expand(&appset.value, &env);
    check_limit(&appset_file, &appset, &expansion)?;
    let findings = lint::lint_appset(&AppSetContext {
        file: &appset_file,
        doc: &appset,
        expansion: &expansion,
        env: &env,
    });

    let applications = summaries(&expansion, &env);
    let mut checks = Vec::new();
    if let Some(loaded) = &scenario {
        checks.extend(expectation_checks(loaded, &expansion, &env, &findings));
    }
    let name = match &scenario {
        Some(l) => l.scenario.metadata.name.clone(),
        None => appset
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>")
            .to_string(),
    };
    let report = Report {
        command: "plan".to_string(),
        name,
        file: file.display().to_string(),
        applications,
        findings,
        steps: vec![StepResult {
            step: StepKind::Plan,
            checks,
            skipped: None,
            duration: started.elapsed(),
            start: None,
        }],
        ..Report::default()
    };
    Ok(Plan {
        report,
        expansion,
        env,
        appset,
        appset_file,
        scenario,
    })
}

/// An upgrade's previous ApplicationSet: read, and expanded for the
/// scenario's clusters as the one under test is. Its findings are not the
/// run's subject, so it is not linted.
pub fn previous_appset(file: &Path, env: &Environment) -> Result<(Document, Expansion), Error> {
    let appset = single_appset(file, read_documents(file)?)?;
    let expansion = appset::expand(&appset.value, env);
    check_limit(file, &appset, &expansion)?;
    Ok((appset, expansion))
}

/// Lints manifests: every ApplicationSet is expanded (with only the local
/// cluster known) and linted with what it generates; every Application is
/// linted as it is.
pub fn lint_files(files: &[PathBuf]) -> Result<Report, Error> {
    let started = Instant::now();
    let env = standalone_environment();
    let mut findings = Vec::new();
    let mut applications = Vec::new();
    for file in files {
        for doc in read_documents(file)? {
            match doc.value.get("kind").and_then(Value::as_str) {
                Some("ApplicationSet") => {
                    let expansion = appset::expand(&doc.value, &env);
                    check_limit(file, &doc, &expansion)?;
                    findings.extend(lint::lint_appset(&AppSetContext {
                        file,
                        doc: &doc,
                        expansion: &expansion,
                        env: &env,
                    }));
                    applications.extend(summaries(&expansion, &env));
                }
                Some("Application") => findings.extend(lint::lint_application(file, &doc)),
                other => {
                    return Err(Error::Input {
                        message: format!(
                            "{}: cannot lint kind `{}`",
                            Location::new(file, doc.pos("/kind").or(doc.pos(""))),
                            other.unwrap_or("<none>")
                        ),
                        help: Some("lint takes ApplicationSet and Application manifests".into()),
                    });
                }
            }
        }
    }
    Ok(Report {
        command: "lint".to_string(),
        name: files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        file: files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_default(),
        applications,
        findings,
        steps: vec![StepResult {
            step: StepKind::Plan,
            checks: Vec::new(),
            skipped: None,
            duration: started.elapsed(),
            start: None,
        }],
        ..Report::default()
    })
}

/// An expansion that stopped at the Application limit or a template's render
/// budget is not a verdict on the ApplicationSet: it is refused as input,
/// naming the limit (and the flag that raises it).
fn check_limit(file: &Path, doc: &Document, expansion: &appset::Expansion) -> Result<(), Error> {
    let Some(limit) = &expansion.limit_exceeded else {
        return Ok(());
    };
    Err(Error::Input {
        message: format!(
            "{}: {}",
            Location::new(file, doc.pos(&limit.pointer)),
            limit.message
        ),
        help: Some(match limit.rule {
            appset::RENDER_TIME_RULE => format!(
                "gitops-e2e renders one Application for at most {}; \
                 raise the limit with --max-render-time DURATION if the template is meant to take this long",
                humantime::format_duration(appset::max_render_time())
            ),
            appset::APPLICATION_SIZE_RULE => format!(
                "gitops-e2e accepts rendered Applications of at most {} bytes \
                 (etcd's default request limit is 1.5 MiB); raise the limit with --max-application-size BYTES",
                appset::max_application_bytes()
            ),
            appset::RENDER_LIMIT_RULE => {
                let limits = appset::template::gotext::render_limits();
                format!(
                    "gitops-e2e runs each template string within {} steps and {} bytes of output; \
                     a template that needs more most likely loops over more than it should \
                     (raise them with --max-render-steps N and --max-render-output BYTES)",
                    limits.max_steps, limits.max_output
                )
            }
            _ => format!(
                "gitops-e2e expands at most {} Applications per ApplicationSet; \
                 raise the limit with --max-applications N if this many are meant",
                appset::max_applications()
            ),
        }),
    })
}

fn read_documents(file: &Path) -> Result<Vec<Document>, Error> {
    let text = crate::input::read_text(file).map_err(|source| Error::File {
        action: "read",
        path: file.to_path_buf(),
        source,
    })?;
    let docs = yaml::parse(&text).map_err(|e| Error::Input {
        message: format!("{}: {e}", Location::new(file, Some(e.pos))),
        help: Some("the file is not valid YAML".into()),
    })?;
    if docs.is_empty() {
        return Err(Error::Input {
            message: format!("`{}` holds no YAML document", file.display()),
            help: None,
        });
    }
    Ok(docs)
}

fn single_appset(file: &Path, docs: Vec<Document>) -> Result<Document, Error> {
    let mut appsets: Vec<Document> = docs
        .into_iter()
        .filter(|d| d.value.get("kind").and_then(Value::as_str) == Some("ApplicationSet"))
        .collect();
    match appsets.len() {
        1 => Ok(appsets.remove(0)),
        0 => Err(Error::Input {
            message: format!("`{}` holds no ApplicationSet", file.display()),
            help: Some("the file must contain one document with `kind: ApplicationSet`".into()),
        }),
        n => Err(Error::Input {
            message: format!(
                "`{}` holds {n} ApplicationSets; a scenario tests one",
                file.display()
            ),
            help: Some("split them into one file, and one scenario, each".into()),
        }),
    }
}

/// The clusters and repositories Argo CD will know in a scenario: every
/// cluster is registered under its scenario name (the hub too, at the
/// in-cluster address), so the clusters generator lists exactly them.
pub fn environment(loaded: &Loaded) -> Environment {
    let clusters = loaded
        .scenario
        .spec
        .clusters
        .iter()
        .map(|c| ClusterInfo {
            name: c.name.clone(),
            server: loaded.server_of(&c.name),
            project: None,
            labels: c.labels.clone(),
            annotations: c.annotations.clone(),
            local_without_secret: false,
        })
        .collect();
    let repos = loaded
        .scenario
        .spec
        .repos
        .iter()
        .zip(&loaded.repo_paths)
        .map(|(r, path)| RepoMount {
            url: r.url.clone(),
            path: path.clone(),
        })
        .collect();
    Environment { clusters, repos }
}

/// Without a scenario only Argo CD's own cluster is known.
fn standalone_environment() -> Environment {
    Environment {
        clusters: vec![ClusterInfo {
            name: "in-cluster".into(),
            server: appset::IN_CLUSTER_SERVER.into(),
            project: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            local_without_secret: true,
        }],
        repos: Vec::new(),
    }
}

fn cluster_of(env: &Environment, server: &str) -> Option<String> {
    env.clusters
        .iter()
        .find(|c| c.server == server || c.name == server)
        .map(|c| c.name.clone())
}

fn summaries(expansion: &Expansion, env: &Environment) -> Vec<ApplicationSummary> {
    expansion
        .applications
        .iter()
        .map(|a| ApplicationSummary {
            name: a.name.clone(),
            project: a.project(),
            server: a.server(),
            namespace: a.namespace(),
            cluster: cluster_of(env, &a.server()),
            spec: a.spec(),
        })
        .collect()
}

fn check(name: String, application: Option<&str>, result: Result<(), String>) -> Check {
    Check::new(application, name, Outcome::from(result))
}

/// The scenario's `expect`, checked against the offline expansion.
fn expectation_checks(
    loaded: &Loaded,
    expansion: &Expansion,
    env: &Environment,
    findings: &[lint::Finding],
) -> Vec<Check> {
    let expect = &loaded.scenario.spec.expect;
    let mut checks = Vec::new();
    let reported: BTreeSet<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    for rule in &expect.findings {
        checks.push(check(
            format!("reports `{rule}`"),
            None,
            if reported.contains(rule.as_str()) {
                Ok(())
            } else {
                Err(format!("no `{rule}` finding was reported"))
            },
        ));
    }
    let Some(expected) = &expect.applications else {
        return checks;
    };
    checks.push(application_set_check(expected, expansion));
    for (name, want) in expected {
        let Some(app) = expansion.applications.iter().find(|a| &a.name == name) else {
            continue;
        };
        checks.extend(application_checks(name, want, app, env));
    }
    checks
}

/// The exact set: a missing or an extra Application fails, naming them.
fn application_set_check(
    expected: &BTreeMap<String, ExpectedApplication>,
    expansion: &Expansion,
) -> Check {
    let got: BTreeSet<&str> = expansion
        .applications
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let want: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
    let missing: Vec<&str> = want.difference(&got).copied().collect();
    let extra: Vec<&str> = got.difference(&want).copied().collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing: {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        problems.push(format!("unexpected: {}", extra.join(", ")));
    }
    let result = if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} generated, {} expected; {}",
            expansion.applications.len(),
            expected.len(),
            problems.join("; ")
        ))
    };
    check(
        format!("generates exactly {} Applications", expected.len()),
        None,
        result,
    )
}

fn application_checks(
    name: &str,
    want: &ExpectedApplication,
    app: &appset::GeneratedApp,
    env: &Environment,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let app_name = Some(name);
    if let Some(cluster) = &want.cluster {
        let server = app.server();
        let got = cluster_of(env, &server);
        checks.push(check(
            format!("destination cluster = {cluster}"),
            app_name,
            match got {
                Some(c) if &c == cluster => Ok(()),
                Some(c) => Err(format!("destination `{server}` is cluster `{c}`")),
                None => Err(format!(
                    "destination `{server}` is none of the scenario's clusters ({})",
                    env.clusters
                        .iter()
                        .map(|c| format!("{} = {}", c.name, c.server))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
        ));
    }
    if let Some(ns) = &want.namespace {
        checks.push(check(
            format!("destination namespace = {ns}"),
            app_name,
            equal("namespace", &app.namespace(), ns),
        ));
    }
    if let Some(project) = &want.project {
        checks.push(check(
            format!("project = {project}"),
            app_name,
            equal("project", &app.project(), project),
        ));
    }
    // Read as the live sync step reads it, through the typed `Automated`.
    // One that is not an object, or has a field of the wrong type, is not
    // automated sync: Argo CD's API rejects such an Application.
    let automated = app
        .manifest
        .pointer("/spec/syncPolicy/automated")
        .and_then(|a| Automated::deserialize(a).ok());
    let auto_sync = automated.as_ref().is_some_and(Automated::is_on);
    if let Some(want_auto) = want.auto_sync {
        checks.push(check(
            format!("automated sync = {want_auto}"),
            app_name,
            if auto_sync == want_auto {
                Ok(())
            } else if want_auto {
                Err("no `syncPolicy.automated`: the Application only syncs by hand".into())
            } else {
                Err("`syncPolicy.automated` is set: Argo CD syncs it without review".into())
            },
        ));
    }
    if let Some(want_prune) = want.prune {
        let prune = automated.as_ref().is_some_and(Automated::prunes);
        checks.push(check(
            format!("automated prune = {want_prune}"),
            app_name,
            if prune == want_prune {
                Ok(())
            } else {
                Err(format!("automated prune is {prune}"))
            },
        ));
    }
    checks
}

fn equal(what: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else if got.is_empty() {
        Err(format!("no {what} is set"))
    } else {
        Err(format!("{what} is `{got}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sync_checks(automated: Value) -> Vec<(String, bool)> {
        let want = ExpectedApplication {
            auto_sync: Some(true),
            prune: Some(true),
            ..Default::default()
        };
        let app = appset::GeneratedApp {
            name: "a".into(),
            manifest: json!({"spec": {"syncPolicy": {"automated": automated}}}),
            params: Value::Null,
        };
        application_checks("a", &want, &app, &Environment::default())
            .into_iter()
            .map(|c| (c.name, c.outcome == Outcome::Passed))
            .collect()
    }

    #[test]
    fn automated_sync_and_prune_as_argo_cd_reads_them() {
        let on = |c: &[(String, bool)]| (c[0].1, c[1].1);
        assert_eq!(on(&sync_checks(json!({"prune": true}))), (true, true));
        assert_eq!(on(&sync_checks(json!({}))), (true, false));
        assert_eq!(
            on(&sync_checks(json!({"prune": true, "enabled": false}))),
            (false, false)
        );
        assert_eq!(
            on(&sync_checks(json!({"prune": true, "enabled": true}))),
            (true, true)
        );
        assert_eq!(on(&sync_checks(Value::Null)), (false, false));
        assert_eq!(on(&sync_checks(json!("yes"))), (false, false));
    }
}
