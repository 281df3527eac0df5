//! Step 4, sync and wait: Applications with a manual sync policy get a sync
//! operation (what `argocd app sync` sends: a merge patch of `.operation`);
//! then every Application is awaited on a watch until its operation finished
//! Synced and Healthy, it failed, or `timeouts.sync` ran out. A failure
//! carries Argo CD's operation message and conditions.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};

use super::conditions;
use super::{Step, StepOutput};
use crate::argocd::resources::Application;
use crate::check::{Check, Outcome, StepKind};
use crate::error::Error;
use crate::events::{Event, Sink};
use crate::live::{Live, env_error};

pub struct Sync;

const NAME: &str = "Synced and Healthy";

#[async_trait]
impl Step for Sync {
    fn kind(&self) -> StepKind {
        StepKind::Sync
    }

    async fn run(&self, live: &Live, sink: &dyn Sink) -> Result<StepOutput, Error> {
        let owned = live.owned_applications().await?;
        if owned.is_empty() {
            return Ok(StepOutput::skipped("no Application was generated"));
        }
        let api = live.applications();
        for name in start_manual_syncs(&api, &owned).await? {
            sink.emit(Event::Note(format!(
                "{name}: manual sync policy, sync started by gitops-e2e"
            )));
        }
        let waits = owned.iter().map(|app| {
            let name = app.metadata.name.clone().unwrap_or_default();
            wait(api.clone(), name, live.sync_timeout, sink)
        });
        let checks = futures::future::try_join_all(waits).await?;
        Ok(StepOutput::checks(checks))
    }
}

/// Starts a sync of each of `apps` whose policy is manual (automated ones
/// sync by themselves); returns their names.
pub(crate) async fn start_manual_syncs(
    api: &Api<Application>,
    apps: &[Application],
) -> Result<Vec<String>, Error> {
    let mut started = Vec::new();
    for app in apps.iter().filter(|a| !a.app_spec().auto_sync()) {
        let name = app.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&sync_operation(app)),
        )
        .await
        .map_err(|e| env_error(format!("cannot start a sync of `{name}`"), e))?;
        started.push(name);
    }
    Ok(started)
}

/// How waiting for an Application to be done (or failed) ended.
pub(crate) enum Settled {
    /// Done or failed, as the watch saw it.
    Reached(Application),
    Deleted,
    /// Neither within the time: the Application as it is then.
    TimedOut(Application),
}

/// Waits until the Application is done or failed, at most `timeout`.
pub(crate) async fn settle(
    api: &Api<Application>,
    name: &str,
    timeout: Duration,
) -> Result<Settled, Error> {
    let done = await_condition(api.clone(), name, conditions::done_or_failed());
    match tokio::time::timeout(timeout, done).await {
        Ok(Ok(Some(a))) => Ok(Settled::Reached(a)),
        Ok(Ok(None)) => Ok(Settled::Deleted),
        Ok(Err(e)) => Err(env_error(format!("cannot watch Application `{name}`"), e)),
        Err(_) => api
            .get(name)
            .await
            .map(Settled::TimedOut)
            .map_err(|e| env_error(format!("cannot read Application `{name}`"), e)),
    }
}

/// The operation `argocd app sync` starts: the Application's own sync options
/// (`CreateNamespace=true`, …) apply to an operation only when copied into
/// it. No pruning: the harness deletes nothing it did not create.
pub fn sync_operation(app: &Application) -> Value {
    let sync_options = app
        .app_spec()
        .sync_policy
        .as_ref()
        .and_then(|p| p.other.get("syncOptions").cloned())
        .unwrap_or(Value::Null);
    json!({"operation": {
        "initiatedBy": {"username": "gitops-e2e"},
        "sync": {"syncStrategy": {"hook": {}}, "prune": false, "syncOptions": sync_options},
    }})
}

/// Waits for one Application, with a spinner while it is awaited.
async fn wait(
    api: Api<Application>,
    name: String,
    timeout: Duration,
    sink: &dyn Sink,
) -> Result<Check, Error> {
    let phase = format!("waiting for {name} to be Synced and Healthy");
    sink.emit(Event::PhaseStarted {
        name: phase.clone(),
    });
    let started = Instant::now();
    let outcome = match settle(&api, &name, timeout).await? {
        Settled::Reached(a) => verdict(&a),
        Settled::Deleted => Outcome::failed("the Application was deleted"),
        Settled::TimedOut(state) => Outcome::failed(format!(
            "not Synced and Healthy after {}: {}",
            humantime::format_duration(timeout),
            state_text(&state)
        )),
    };
    let duration = started.elapsed();
    sink.emit(Event::PhaseFinished {
        name: phase,
        duration,
    });
    sink.emit(Event::Awaited {
        application: name.clone(),
        duration,
        synced: outcome == Outcome::Passed,
    });
    Ok(Check::new(Some(&name), NAME, outcome))
}

/// An Application that is done or failed, judged.
pub fn verdict(app: &Application) -> Outcome {
    if conditions::is_done(app) {
        Outcome::Passed
    } else {
        Outcome::failed(conditions::failure_message(app))
    }
}

/// Where an Application stands, for a timeout's message.
pub fn state_text(app: &Application) -> String {
    let or_unknown = |s: &str| {
        if s.is_empty() {
            "Unknown".to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "sync {} health {}; {}",
        or_unknown(app.sync_status()),
        or_unknown(app.health_status()),
        conditions::failure_message(app)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::argocd::resources::fixtures::synced_app;

    fn app(v: Value) -> Application {
        serde_json::from_value(v).expect("application")
    }

    #[test]
    fn the_operation_copies_sync_options_and_never_prunes() {
        let mut v = synced_app();
        v["spec"]["syncPolicy"] = json!({"syncOptions": ["CreateNamespace=true"]});
        let op = sync_operation(&app(v));
        assert_eq!(
            op["operation"]["sync"]["syncOptions"],
            json!(["CreateNamespace=true"])
        );
        assert_eq!(op["operation"]["sync"]["prune"], json!(false));
        assert_eq!(op["operation"]["initiatedBy"]["username"], "gitops-e2e");
    }

    #[test]
    fn a_synced_healthy_application_passes_and_a_stuck_one_says_where_it_stands() {
        assert_eq!(verdict(&app(synced_app())), Outcome::Passed);
        let mut v = synced_app();
        v["status"]["health"]["status"] = json!("Progressing");
        v["status"]["sync"]["status"] = json!("");
        let text = state_text(&app(v));
        assert!(
            text.starts_with("sync Unknown health Progressing; "),
            "{text}"
        );
    }
}
