//! A live environment as a scenario describes it (clusters, Argo CD,
//! repositories, registrations) without the steps: for asking Argo CD itself,
//! as the fidelity tests do to record its generation. Always kwok.

use serde_json::{Value, json};

use super::{RunOptions, Runner, seams};
use crate::argocd::api::ApiError;
use crate::error::Error;
use crate::events::Sink;
use crate::plan::Plan;
use crate::scenario::ProviderKind;

pub struct Session<'a> {
    runner: Runner<'a>,
}

impl<'a> Session<'a> {
    pub async fn start(plan: Plan, sink: &'a dyn Sink) -> Result<Session<'a>, Error> {
        let opts = RunOptions {
            provider: Some(ProviderKind::Kwok),
            ..RunOptions::default()
        };
        let mut runner = seams::prepare(plan, opts, sink)?;
        if let Err(e) = runner.setup().await {
            runner.teardown(false).await;
            return Err(e);
        }
        Ok(Session { runner })
    }

    /// Argo CD's own generation of `appset`, with the scenario's repository
    /// URLs served locally and mapped back in the result.
    pub async fn generate(&self, appset: &Value) -> Result<Vec<Value>, ApiError> {
        let Some(live) = &self.runner.live else {
            return Ok(Vec::new());
        };
        let mut appset = appset.clone();
        live.urls.to_local(&mut appset);
        if let Some(meta) = appset.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), json!(live.namespace));
        }
        let mut apps = live.argocd.generate(&appset).await?;
        for app in &mut apps {
            live.urls.to_remote(app);
        }
        Ok(apps)
    }

    /// Stops everything the session started.
    pub async fn stop(mut self) {
        self.runner.teardown(false).await;
    }
}
