//! Step 3, count: the ApplicationSet owns exactly the expected Applications and
//! reports no error.

use std::collections::BTreeSet;

use async_trait::async_trait;
use kube::api::ListParams;

use super::conditions::appset_error;
use super::{Step, StepOutput};
use crate::argocd::resources::{Application, ApplicationSet};
use crate::check::{Check, Outcome, StepKind};
use crate::error::Error;
use crate::events::Sink;
use crate::live::{Live, env_error};

pub struct Count;

#[async_trait]
impl Step for Count {
    fn kind(&self) -> StepKind {
        StepKind::Count
    }

    async fn run(&self, live: &Live, _sink: &dyn Sink) -> Result<StepOutput, Error> {
        // The latest status, for the ErrorOccurred condition.
        let appset = live.application_set().await?;
        let apps = live
            .applications()
            .list(&ListParams::default())
            .await
            .map_err(|e| {
                env_error(
                    format!("cannot list Applications in namespace `{}`", live.namespace),
                    e,
                )
            })?;
        let expected: Option<BTreeSet<String>> = live
            .loaded
            .scenario
            .spec
            .expect
            .applications
            .as_ref()
            .map(|a| a.keys().cloned().collect());
        Ok(StepOutput::checks(count_checks(
            &appset,
            &apps.items,
            expected.as_ref(),
        )))
    }
}

/// Whether `app` carries an ownerReference to `appset` (by uid, as the
/// applicationset-controller sets it).
pub fn owned_by(app: &Application, appset: &ApplicationSet) -> bool {
    let Some(uid) = appset.metadata.uid.as_deref() else {
        return false;
    };
    app.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.uid == uid)
}

/// The count checks. `apps` may be every Application in the ApplicationSet's
/// namespace: only those it owns count. With `expected` set, the owned names
/// must equal it exactly; without, at least one must exist.
pub fn count_checks(
    appset: &ApplicationSet,
    apps: &[Application],
    expected: Option<&BTreeSet<String>>,
) -> Vec<Check> {
    let owned: BTreeSet<String> = apps
        .iter()
        .filter(|a| owned_by(a, appset))
        .map(|a| a.metadata.name.clone().unwrap_or_default())
        .collect();
    let count = match expected {
        Some(expected) => {
            let n = expected.len();
            let name = format!("owns exactly {n} Application{}", plural(n));
            let missing: Vec<&str> = expected.difference(&owned).map(String::as_str).collect();
            let unexpected: Vec<&str> = owned.difference(expected).map(String::as_str).collect();
            let outcome = if missing.is_empty() && unexpected.is_empty() {
                Outcome::Passed
            } else {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("missing: {}", missing.join(", ")));
                }
                if !unexpected.is_empty() {
                    parts.push(format!("unexpected: {}", unexpected.join(", ")));
                }
                Outcome::failed(parts.join("; "))
            };
            Check::new(None, name, outcome)
        }
        None => {
            let outcome = if owned.is_empty() {
                Outcome::failed("owns no Application")
            } else {
                Outcome::Passed
            };
            Check::new(None, "owns at least 1 Application", outcome)
        }
    };
    let mut count = count;
    if !owned.is_empty() {
        count.detail = Some(format!(
            "owned: {}",
            owned
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let error = Check::new(
        None,
        "no ErrorOccurred condition",
        appset_error(appset).map_or(Outcome::Passed, Outcome::failed),
    );
    vec![count, error]
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argocd::resources::fixtures::{failed_appset, synced_app};
    use serde_json::{Value, json};

    fn appset(ok: bool) -> ApplicationSet {
        let mut v = failed_appset();
        if ok {
            v["status"]["conditions"][0]["status"] = json!("False");
        }
        serde_json::from_value(v).expect("valid")
    }

    fn app(name: &str, owner_uid: Option<&str>) -> Application {
        let mut v: Value = synced_app();
        v["metadata"]["name"] = json!(name);
        match owner_uid {
            Some(uid) => v["metadata"]["ownerReferences"][0]["uid"] = json!(uid),
            None => {
                v["metadata"]
                    .as_object_mut()
                    .map(|m| m.remove("ownerReferences"));
            }
        }
        serde_json::from_value(v).expect("valid")
    }

    fn names(n: &[&str]) -> BTreeSet<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn owned_by_matches_uid() {
        let s = appset(true);
        assert!(owned_by(&app("a", Some("5d1e-appset-uid")), &s));
        assert!(!owned_by(&app("a", Some("other")), &s));
        assert!(!owned_by(&app("a", None), &s));
        let mut anonymous = s.clone();
        anonymous.metadata.uid = None;
        assert!(!owned_by(&app("a", Some("5d1e-appset-uid")), &anonymous));
    }

    #[test]
    fn exact_set_passes() {
        let uid = Some("5d1e-appset-uid");
        let apps = [
            app("fastapi-agent-dev", uid),
            app("fastapi-agent-prod", uid),
            app("stranger", None),
        ];
        let want = names(&["fastapi-agent-dev", "fastapi-agent-prod"]);
        let checks = count_checks(&appset(true), &apps, Some(&want));
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].name, "owns exactly 2 Applications");
        assert_eq!(checks[0].outcome, Outcome::Passed);
        assert_eq!(
            checks[0].detail.as_deref(),
            Some("owned: fastapi-agent-dev, fastapi-agent-prod")
        );
        assert_eq!(checks[1].name, "no ErrorOccurred condition");
        assert_eq!(checks[1].outcome, Outcome::Passed);
    }

    #[test]
    fn missing_and_unexpected_are_named() {
        let uid = Some("5d1e-appset-uid");
        let apps = [app("fastapi-agent-dev", uid), app("fastapi-agent-qa", uid)];
        let want = names(&[
            "fastapi-agent-dev",
            "fastapi-agent-prod",
            "fastapi-agent-staging",
        ]);
        let checks = count_checks(&appset(true), &apps, Some(&want));
        assert_eq!(checks[0].name, "owns exactly 3 Applications");
        assert_eq!(
            checks[0].outcome,
            Outcome::Failed {
                reason: "missing: fastapi-agent-prod, fastapi-agent-staging; unexpected: fastapi-agent-qa".into()
            }
        );
    }

    #[test]
    fn only_missing() {
        let want = names(&["fastapi-agent-prod"]);
        let checks = count_checks(&appset(true), &[], Some(&want));
        assert_eq!(checks[0].name, "owns exactly 1 Application");
        assert_eq!(
            checks[0].outcome,
            Outcome::Failed {
                reason: "missing: fastapi-agent-prod".into()
            }
        );
        assert_eq!(checks[0].detail, None);
    }

    #[test]
    fn without_expectation_at_least_one() {
        let checks = count_checks(&appset(true), &[app("x", None)], None);
        assert_eq!(checks[0].name, "owns at least 1 Application");
        assert_eq!(
            checks[0].outcome,
            Outcome::Failed {
                reason: "owns no Application".into()
            }
        );
        let checks = count_checks(&appset(true), &[app("x", Some("5d1e-appset-uid"))], None);
        assert_eq!(checks[0].outcome, Outcome::Passed);
    }

    #[test]
    fn error_occurred_fails_with_message() {
        let checks = count_checks(&appset(false), &[], None);
        assert_eq!(
            checks[1].outcome,
            Outcome::Failed {
                reason: "RenderTemplateParamsError: \"failed to execute go template fastapi-agent-{{.server}}: map has no entry for key \"server\"\"".into()
            }
        );
    }
}
