//! Step 1, dry-run: everything that can be checked before the ApplicationSet
//! is applied. The text as written (kubectl would reject unquoted templates),
//! the fixtures and the ApplicationSet through the API server's strict field
//! validation (unknown fields such as `helm.valuesInline` are errors there,
//! silently dropped otherwise), and Argo CD's own generation against the
//! offline plan. When the ApplicationSet cannot be applied, the later steps
//! do not run.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{Step, StepOutput, error_chain, unified};
use crate::appset::GeneratedApp;
use crate::argocd::api::ApiError;
use crate::argocd::install::{self, Mode};
use crate::check::{Check, Outcome, StepKind};
use crate::error::Error;
use crate::events::Sink;
use crate::live::{Live, env_error};
use crate::yaml::Recovery;

pub struct DryRun;

const AS_WRITTEN: &str = "the ApplicationSet is valid YAML as written";
const STRICT: &str = "the ApplicationSet passes strict server-side validation";
const GENERATION: &str = "Argo CD generates what the plan generates";

#[async_trait]
impl Step for DryRun {
    fn kind(&self) -> StepKind {
        StepKind::DryRun
    }

    async fn run(&self, live: &Live, _sink: &dyn Sink) -> Result<StepOutput, Error> {
        let file = live.plan.appset_file.display().to_string();
        let mut checks = vec![as_written(&file, &live.plan.appset.recoveries)];
        let mut applicable = !checks[0].outcome.is_failed();
        for (cluster, docs) in &live.loaded.fixture_docs {
            checks.push(fixtures(live, cluster, docs).await?);
        }
        if applicable {
            let strict = strict_mode();
            let hub = &live.hub().client;
            let appset = live.appset_to_apply();
            let check = match install::apply(
                hub,
                "the ApplicationSet",
                &[appset],
                &live.namespace,
                strict,
            )
            .await
            {
                Ok(_) => Check::passed(STRICT),
                Err(e) if e.is_rejection() => Check::failed(STRICT, error_chain(&e)),
                Err(e) => {
                    return Err(env_error(
                        format!(
                            "cannot dry-run the ApplicationSet on cluster `{}`",
                            live.hub().name
                        ),
                        e,
                    ));
                }
            };
            applicable = !check.outcome.is_failed();
            checks.push(check);
        }
        if applicable {
            checks.push(generation(live).await?);
        }
        let mut out = StepOutput::checks(checks);
        if !applicable {
            out.stops_later = Some("the ApplicationSet cannot be applied: dry-run failed".into());
        }
        Ok(out)
    }
}

fn strict_mode() -> Mode {
    Mode {
        dry_run: true,
        strict: true,
    }
}

/// Recoveries are places where the YAML reader had to read an unquoted
/// template: kubectl and the API server cannot accept such a file.
pub fn as_written(file: &str, recoveries: &[Recovery]) -> Check {
    if recoveries.is_empty() {
        return Check::passed(AS_WRITTEN);
    }
    let places: Vec<String> = recoveries
        .iter()
        .map(|r| format!("{file}:{}: `{}`", r.pos.line, r.text))
        .collect();
    Check::failed(
        AS_WRITTEN,
        format!(
            "{} unquoted template(s) make the file invalid YAML or change its shape; the API \
             server cannot accept it: {}",
            recoveries.len(),
            places.join("; ")
        ),
    )
}

/// A cluster's fixtures: strictly validated, then applied. A dry run persists
/// nothing, so objects in a namespace the same fixtures create would fail it:
/// the Namespaces go in first.
async fn fixtures(live: &Live, cluster: &str, docs: &[Value]) -> Result<Check, Error> {
    let name = format!("fixtures of `{cluster}` pass strict server-side validation");
    let target = live.cluster(cluster).ok_or_else(|| {
        env_error(
            format!("cluster `{cluster}` is not running"),
            anyhow::anyhow!("no such cluster"),
        )
    })?;
    let what = format!("fixtures of `{cluster}`");
    let (namespaces, objects): (Vec<Value>, Vec<Value>) = docs
        .iter()
        .cloned()
        .partition(|d| d.get("kind").and_then(Value::as_str) == Some("Namespace"));
    install::apply(
        &target.client,
        &what,
        &namespaces,
        "default",
        Mode::default(),
    )
    .await
    .map_err(|e| {
        env_error(
            format!("cannot create the namespaces of `{cluster}`'s fixtures"),
            e,
        )
    })?;
    match install::apply(&target.client, &what, &objects, "default", strict_mode()).await {
        Ok(_) => {}
        Err(e) if e.is_rejection() => return Ok(Check::failed(name, error_chain(&e))),
        Err(e) => {
            return Err(env_error(
                format!("cannot dry-run the fixtures of `{cluster}`"),
                e,
            ));
        }
    }
    install::apply(&target.client, &what, docs, "default", Mode::default())
        .await
        .map_err(|e| env_error(format!("cannot apply the fixtures of `{cluster}`"), e))?;
    Ok(Check::passed(name))
}

/// Argo CD's own generation against the plan. Argo CD refusing the
/// ApplicationSet is a finding; not answering is an environment error.
async fn generation(live: &Live) -> Result<Check, Error> {
    match live.argocd.generate(&live.appset_to_apply()).await {
        Ok(mut generated) => {
            for app in &mut generated {
                live.urls.to_remote(app);
            }
            Ok(generation_check(
                &live.plan.expansion.applications,
                &generated,
            ))
        }
        Err(e @ ApiError::Status { .. }) => Ok(Check::failed(
            GENERATION,
            format!(
                "Argo CD cannot generate the Applications: {}",
                error_chain(&e)
            ),
        )),
        Err(e) => Err(env_error(
            "cannot ask Argo CD to generate the Applications",
            e,
        )),
    }
}

/// Step 1: the plan's Applications against Argo CD's own generation (the
/// `applications` of `POST /api/v1/applicationsets/generate`). Passes when the
/// names are the same and each spec is equal once zero values are dropped
/// (Go's `omitempty` drops them on Argo CD's side: nulls, empty strings,
/// `false`, empty maps and lists). Fails listing the names on one side only
/// and, in `detail`, a unified diff of each spec that differs.
pub fn generation_check(plan: &[GeneratedApp], argocd: &[Value]) -> Check {
    let name = GENERATION;
    let ours: BTreeMap<String, Value> = plan
        .iter()
        .map(|a| (a.name.clone(), normalize(a.spec())))
        .collect();
    let theirs: BTreeMap<String, Value> = argocd
        .iter()
        .map(|a| {
            let name = a
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)")
                .to_string();
            let spec = a.get("spec").cloned().unwrap_or(Value::Null);
            (name, normalize(spec))
        })
        .collect();

    let only_plan: Vec<&str> = ours
        .keys()
        .filter(|k| !theirs.contains_key(*k))
        .map(String::as_str)
        .collect();
    let only_argocd: Vec<&str> = theirs
        .keys()
        .filter(|k| !ours.contains_key(*k))
        .map(String::as_str)
        .collect();
    let mut differ = Vec::new();
    let mut diffs = Vec::new();
    for (app, spec) in &ours {
        let Some(other) = theirs.get(app) else {
            continue;
        };
        if spec != other {
            differ.push(app.as_str());
            let plan_yaml = crate::yaml::to_string(spec);
            let argocd_yaml = crate::yaml::to_string(other);
            diffs.push(format!(
                "spec of {app}:\n{}",
                unified(&plan_yaml, &argocd_yaml, "plan", "argocd")
            ));
        }
    }
    if only_plan.is_empty() && only_argocd.is_empty() && differ.is_empty() {
        return Check::new(None, name, Outcome::Passed);
    }
    let mut parts = Vec::new();
    if !only_plan.is_empty() {
        parts.push(format!("only in the plan: {}", only_plan.join(", ")));
    }
    if !only_argocd.is_empty() {
        parts.push(format!("only in Argo CD: {}", only_argocd.join(", ")));
    }
    if !differ.is_empty() {
        parts.push(format!("spec differs: {}", differ.join(", ")));
    }
    let reason = parts.join("; ");
    let mut detail = parts.join("\n");
    for d in diffs {
        detail.push_str("\n\n");
        detail.push_str(&d);
    }
    let mut c = Check::new(None, name, Outcome::failed(reason));
    c.detail = Some(detail);
    c
}

/// Drops zero values recursively, as Go's `omitempty` would on Argo CD's side.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let map: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (k, normalize(v)))
                .filter(|(_, v)| !is_zero(v))
                .collect();
            Value::Object(map)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Pos;
    use serde_json::json;

    #[test]
    fn unquoted_templates_fail_as_written_naming_each_place() {
        assert_eq!(as_written("a.yaml", &[]).outcome, Outcome::Passed);
        let r = Recovery {
            pointer: "/spec/x".into(),
            pos: Pos {
                line: 12,
                column: 5,
            },
            text: "{{replicas}}".into(),
            kind: crate::yaml::RecoveryKind::UnquotedTemplate,
        };
        let c = as_written("a.yaml", &[r]);
        let Outcome::Failed { reason } = c.outcome else {
            panic!("passed");
        };
        assert!(reason.contains("a.yaml:12: `{{replicas}}`"), "{reason}");
    }

    fn planned(name: &str, spec: Value) -> GeneratedApp {
        GeneratedApp {
            name: name.into(),
            manifest: json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                             "metadata": {"name": name}, "spec": spec}),
            params: json!({}),
        }
    }

    fn generated(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "argocd", "creationTimestamp": null},
               "spec": spec, "status": {"sync": {"status": ""}, "health": {}}})
    }

    fn spec(ns: &str) -> Value {
        json!({"project": "default",
               "source": {"repoURL": "https://github.com/your-org/helm-charts", "chart": "fastapi-agent",
                          "targetRevision": "1.2.0", "helm": {"valuesObject": {"replicaCount": 5}}},
               "destination": {"server": "https://kubernetes.default.svc", "namespace": ns}})
    }

    #[test]
    fn generation_matches_after_normalising() {
        let mut ours = spec("agents");
        ours["syncPolicy"] = json!({"syncOptions": [], "automated": null});
        ours["destination"]["name"] = json!("");
        let mut theirs = spec("agents");
        theirs["source"]["helm"]["skipCrds"] = json!(false);
        let c = generation_check(&[planned("a-dev", ours)], &[generated("a-dev", theirs)]);
        assert_eq!(c.name, GENERATION);
        assert_eq!(c.outcome, Outcome::Passed);
        assert_eq!(c.detail, None);
    }

    #[test]
    fn generation_lists_both_sides_and_diffs_specs() {
        let mut ours = spec("agents");
        ours["source"]["helm"] = json!({"valuesInline": {"replicaCount": 5}});
        let theirs = spec("agents");
        let mut theirs_prod = theirs.clone();
        theirs_prod["source"]
            .as_object_mut()
            .map(|s| s.remove("helm"));
        let c = generation_check(
            &[
                planned("a-dev", spec("agents")),
                planned("a-prod", ours),
                planned("a-qa", spec("qa")),
            ],
            &[
                generated("a-dev", theirs),
                generated("a-prod", theirs_prod),
                generated("a-staging", spec("s")),
            ],
        );
        assert_eq!(
            c.outcome,
            Outcome::Failed {
                reason: "only in the plan: a-qa; only in Argo CD: a-staging; spec differs: a-prod"
                    .into()
            }
        );
        let d = c.detail.as_deref().expect("detail");
        assert!(
            d.starts_with("only in the plan: a-qa\nonly in Argo CD: a-staging\nspec differs: a-prod\n\nspec of a-prod:\n--- plan\n+++ argocd\n"),
            "{d}"
        );
        assert!(d.contains("\n-    valuesInline:\n"), "{d}");
        assert!(!d.contains("spec of a-dev"), "{d}");
    }

    #[test]
    fn generation_tolerates_nameless_items() {
        let c = generation_check(&[], &[json!("garbage")]);
        assert_eq!(
            c.outcome,
            Outcome::Failed {
                reason: "only in Argo CD: (unnamed)".into()
            }
        );
    }
}
