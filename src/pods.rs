//! What the harness asks of pods: which are Ready, and why the others are not.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

/// The name of a Running, Ready pod matching `selector`.
pub async fn ready_pod(pods: &Api<Pod>, selector: &str) -> anyhow::Result<String> {
    let list = pods.list(&ListParams::default().labels(selector)).await?;
    list.items
        .iter()
        .find(|p| is_ready(p))
        .and_then(|p| p.metadata.name.clone())
        .ok_or_else(|| anyhow::anyhow!("no Ready pod matches `{selector}`"))
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// What keeps pods from being ready: each pod of `namespace` that is not
/// (except those whose name starts with one of `skip`), with its phase and
/// its containers' waiting or terminated reasons.
pub async fn not_ready(client: &kube::Client, namespace: &str, skip: &[&str]) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let Ok(list) = pods.list(&ListParams::default()).await else {
        return "cannot list the pods".into();
    };
    let mut lines = Vec::new();
    for pod in list.items.iter().filter(|p| !is_ready(p)) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if skip.iter().any(|s| name.starts_with(s)) {
            continue;
        }
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();
        let reasons: Vec<String> = status
            .into_iter()
            .flat_map(|s| {
                s.init_container_statuses
                    .iter()
                    .flatten()
                    .chain(s.container_statuses.iter().flatten())
            })
            .filter_map(|c| {
                let state = c.state.as_ref()?;
                if let Some(w) = &state.waiting {
                    Some(format!(
                        "{}: {} {}",
                        c.name,
                        w.reason.clone().unwrap_or_default(),
                        w.message.clone().unwrap_or_default()
                    ))
                } else {
                    state.terminated.as_ref().map(|t| {
                        format!(
                            "{}: exited {} {}",
                            c.name,
                            t.exit_code,
                            t.reason.clone().unwrap_or_default()
                        )
                    })
                }
            })
            .collect();
        lines.push(format!(
            "pod `{name}` {phase}{}",
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join("; ").trim())
            }
        ));
    }
    if lines.is_empty() {
        "every pod is Ready".into()
    } else {
        lines.join("\n")
    }
}
