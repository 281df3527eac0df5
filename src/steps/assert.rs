//! Step 5, assert: in each Application's destination, the Deployments are what
//! the scenario expects. One check per expectation, named for the reader
//! (`replicas = 5`, `Secret ecr-prod exists`), and each failure says why in
//! the cluster's own words (the scheduler's message for a Pending pod).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};
use kube::core::{Selector, SelectorExt};

use super::{Step, StepOutput, quote};
use crate::check::{Check, Outcome, StepKind};
use crate::error::Error;
use crate::events::Sink;
use crate::live::{Live, LiveCluster, env_error};
use crate::scenario::{ExpectedApplication, ExpectedDeployment, HttpProbe};

pub struct Assert;

#[async_trait]
impl Step for Assert {
    fn kind(&self) -> StepKind {
        StepKind::Assert
    }

    async fn run(&self, live: &Live, _sink: &dyn Sink) -> Result<StepOutput, Error> {
        let Some(expected) = &live.loaded.scenario.spec.expect.applications else {
            return Ok(StepOutput::skipped("the scenario expects no Applications"));
        };
        let owned = live.owned_applications().await?;
        let mut checks = Vec::new();
        for (app_name, want) in expected {
            let Some(app) = owned
                .iter()
                .find(|a| a.metadata.name.as_deref() == Some(app_name))
            else {
                checks.push(Check::new(
                    Some(app_name),
                    "Application exists",
                    Outcome::skipped("it was not generated (see count)"),
                ));
                continue;
            };
            let dest = app.app_spec().destination.clone().unwrap_or_default();
            let Some(cluster) = live.destination_cluster(&dest) else {
                checks.push(
                    Check::failed(
                        "destination is a scenario cluster",
                        format!(
                            "destination `{}` is none of the scenario's clusters",
                            dest.server
                        ),
                    )
                    .for_app(app_name),
                );
                continue;
            };
            checks.extend(application_checks(cluster, app_name, &dest.namespace, want).await?);
        }
        Ok(StepOutput::checks(checks))
    }
}

/// Reads the destination namespace of one Application and judges it. A read
/// that fails is an environment error naming the call and the cluster, never
/// an empty list (which would blame the manifest for a missing permission).
pub async fn application_checks(
    cluster: &LiveCluster,
    app: &str,
    ns: &str,
    want: &ExpectedApplication,
) -> Result<Vec<Check>, Error> {
    let client = &cluster.client;
    let failed_to = |what: String| {
        let cluster = cluster.name.clone();
        move |e: kube::Error| env_error(format!("cannot {what} on cluster `{cluster}`"), e)
    };
    let namespaces: Vec<String> = crate::provider::namespace_names(client)
        .await
        .map_err(failed_to("list namespaces".into()))?;
    let mut checks = vec![namespace_check(app, ns, &namespaces)];
    if want.deployments.is_empty() {
        return Ok(checks);
    }
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map_err(failed_to(format!("list pods in namespace `{ns}`")))?
        .items;
    let secrets: Vec<String> = Api::<Secret>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map_err(failed_to(format!("list secrets in namespace `{ns}`")))?
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(failed_to("list nodes".into()))?
        .items;
    for (name, want_dep) in &want.deployments {
        let dep = Api::<Deployment>::namespaced(client.clone(), ns)
            .get_opt(name)
            .await
            .map_err(failed_to(format!("read deployment `{ns}/{name}`")))?;
        checks.extend(deployment_checks(
            app,
            ns,
            name,
            want_dep,
            dep.as_ref(),
            &pods,
            &secrets,
            &nodes,
        ));
        if let Some(probe) = &want_dep.http {
            let outcome = match dep.as_ref() {
                None => Outcome::skipped(format!("deployment {ns}/{name} does not exist")),
                Some(_) if !cluster.pods_run || simulated(&nodes) => Outcome::skipped(
                    "pods run no containers on kwok's simulated nodes; the probe needs kind or a \
                     cluster with real nodes",
                ),
                Some(dep) => http_probe(client, ns, dep, probe).await,
            };
            checks.push(Check::new(Some(app), probe_name(name, probe), outcome));
        }
    }
    Ok(checks)
}

/// Whether every node is one KWOK simulates (so no pod runs a container):
/// also on an existing cluster that happens to be a kwok one.
fn simulated(nodes: &[Node]) -> bool {
    !nodes.is_empty()
        && nodes.iter().all(|n| {
            n.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kwok.x-k8s.io/node"))
                .is_some_and(|v| v == "fake")
        })
}

/// `deployment NAME answers GET /healthz with 200`.
fn probe_name(name: &str, probe: &HttpProbe) -> String {
    format!(
        "deployment {name} answers GET {} with {}",
        probe.path, probe.status
    )
}

/// How long the probe retries a pod that does not answer yet.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// GETs `probe.path` from a Ready pod of `dep` through a port-forward.
async fn http_probe(
    client: &kube::Client,
    ns: &str,
    dep: &Deployment,
    probe: &HttpProbe,
) -> Outcome {
    let spec = dep.spec.as_ref();
    let labels = spec
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default();
    if labels.is_empty() {
        return Outcome::failed("the Deployment's selector has no matchLabels to find its pods by");
    }
    let selector = labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let port = probe.port.or_else(|| {
        spec.and_then(|s| s.template.spec.as_ref())
            .and_then(|p| p.containers.first())
            .and_then(|c| c.ports.as_ref())
            .and_then(|ports| ports.first())
            .and_then(|p| u16::try_from(p.container_port).ok())
    });
    let Some(port) = port else {
        return Outcome::failed(
            "no port to probe: the first container declares none and the probe names none",
        );
    };
    let forward = match crate::forward::Forward::to_pods(client.clone(), ns, &selector, port).await
    {
        Ok(f) => f,
        Err(e) => return Outcome::failed(format!("cannot listen for the port-forward: {e}")),
    };
    let Ok(http) = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
    else {
        return Outcome::failed("cannot build an HTTP client");
    };
    let path = if probe.path.starts_with('/') {
        probe.path.clone()
    } else {
        format!("/{}", probe.path)
    };
    let url = format!("{}{path}", forward.url());
    let started = std::time::Instant::now();
    loop {
        let last = match http.get(&url).send().await {
            Ok(r) if r.status().as_u16() == probe.status => return Outcome::Passed,
            Ok(r) => format!("answered {}", r.status()),
            Err(e) => format!(
                "no answer on port {port} ({})",
                crate::steps::error_chain(&e)
            ),
        };
        if started.elapsed() > PROBE_TIMEOUT {
            return Outcome::failed(format!("{last} within {PROBE_TIMEOUT:?}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The checks of one expected Deployment `namespace/name` of Application `app`.
///
/// `deployment` is the live object (None when it does not exist); `pods` the
/// pods of the namespace (those the Deployment's selector matches are used);
/// `secrets` the names of the namespace's Secrets; `nodes` the cluster's nodes.
/// A missing Deployment fails the first check and skips the others.
#[allow(clippy::too_many_arguments)]
pub fn deployment_checks(
    app: &str,
    namespace: &str,
    name: &str,
    want: &ExpectedDeployment,
    deployment: Option<&Deployment>,
    pods: &[Pod],
    secrets: &[String],
    nodes: &[Node],
) -> Vec<Check> {
    let exists = format!("deployment {namespace}/{name} exists");
    let expectations = expectations(want);
    let Some(dep) = deployment else {
        let mut checks = vec![Check::new(
            Some(app),
            exists,
            Outcome::failed(format!("no Deployment {name} in namespace {namespace}")),
        )];
        let why = format!("deployment {namespace}/{name} does not exist");
        checks.extend(
            expectations
                .iter()
                .map(|e| Check::new(Some(app), e.name(), Outcome::skipped(why.clone()))),
        );
        return checks;
    };
    let ctx = Context::new(namespace, dep, pods, secrets, nodes);
    let mut checks = vec![Check::new(Some(app), exists, Outcome::Passed)];
    checks.extend(
        expectations
            .iter()
            .map(|e| Check::new(Some(app), e.name(), e.evaluate(&ctx))),
    );
    checks
}

/// Whether the destination namespace exists; `namespaces` are the cluster's.
pub fn namespace_check(app: &str, namespace: &str, namespaces: &[String]) -> Check {
    let outcome = if namespaces.iter().any(|n| n == namespace) {
        Outcome::Passed
    } else {
        Outcome::failed(format!(
            "namespace {namespace} not found: nothing was deployed there (syncOptions CreateNamespace=true creates it)"
        ))
    };
    Check::new(Some(app), format!("namespace {namespace} exists"), outcome)
}

/// One expectation of an `ExpectedDeployment`, in report order.
enum Expectation {
    Replicas(u32),
    /// `None`: as many as `spec.replicas`.
    Ready(Option<u32>),
    Running(Option<u32>),
    Image(String),
    PullSecrets(BTreeSet<String>),
    SecretExists(String),
    Placement(BTreeMap<String, String>),
    Resource {
        kind: ResourceKind,
        key: String,
        value: String,
    },
}

#[derive(Clone, Copy)]
enum ResourceKind {
    Limits,
    Requests,
}

fn expectations(want: &ExpectedDeployment) -> Vec<Expectation> {
    let mut out = Vec::new();
    if let Some(n) = want.replicas {
        out.push(Expectation::Replicas(n));
    }
    out.push(Expectation::Ready(want.replicas));
    out.push(Expectation::Running(want.replicas));
    if let Some(image) = &want.image {
        out.push(Expectation::Image(image.clone()));
    }
    if let Some(secrets) = &want.image_pull_secrets {
        out.push(Expectation::PullSecrets(secrets.iter().cloned().collect()));
        let unique: BTreeSet<&String> = secrets.iter().collect();
        out.extend(
            unique
                .into_iter()
                .map(|s| Expectation::SecretExists(s.clone())),
        );
    }
    if let Some(labels) = want.node_selector.as_ref().filter(|l| !l.is_empty()) {
        out.push(Expectation::Placement(labels.clone()));
    }
    if let Some(resources) = &want.resources {
        for (kind, map) in [
            (ResourceKind::Limits, &resources.limits),
            (ResourceKind::Requests, &resources.requests),
        ] {
            out.extend(map.iter().map(|(k, v)| Expectation::Resource {
                kind,
                key: k.clone(),
                value: v.clone(),
            }));
        }
    }
    out
}

/// What the expectations are evaluated against.
struct Context<'a> {
    namespace: &'a str,
    dep: &'a Deployment,
    template: Option<&'a PodSpec>,
    /// The Deployment's pods, not being deleted.
    pods: Vec<&'a Pod>,
    secrets: &'a [String],
    nodes: &'a [Node],
}

impl<'a> Context<'a> {
    fn new(
        namespace: &'a str,
        dep: &'a Deployment,
        pods: &'a [Pod],
        secrets: &'a [String],
        nodes: &'a [Node],
    ) -> Self {
        let selector = dep.spec.as_ref().map(|s| &s.selector);
        let pods = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| {
                p.metadata
                    .namespace
                    .as_deref()
                    .is_none_or(|ns| ns == namespace)
            })
            .filter(|p| selector.is_some_and(|s| selector_matches(s, p.metadata.labels.as_ref())))
            .collect();
        Context {
            namespace,
            dep,
            template: dep.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
            pods,
            secrets,
            nodes,
        }
    }

    fn spec_replicas(&self) -> u32 {
        let n = self.dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        u32::try_from(n).unwrap_or(0)
    }

    fn running(&self) -> Vec<&'a Pod> {
        self.pods
            .iter()
            .copied()
            .filter(|p| phase(p) == "Running")
            .collect()
    }

    /// `2 Pending: "0/2 nodes are available: …"`, for the pods not Running.
    fn not_running(&self) -> Option<String> {
        let mut by_phase: BTreeMap<&str, usize> = BTreeMap::new();
        let mut causes: Vec<String> = Vec::new();
        for p in self.pods.iter().filter(|p| phase(p) != "Running") {
            *by_phase.entry(phase(p)).or_default() += 1;
            if let Some(c) = pod_cause(p).filter(|c| !causes.contains(c)) {
                causes.push(c);
            }
        }
        if by_phase.is_empty() {
            return None;
        }
        let phases: Vec<String> = by_phase.iter().map(|(ph, n)| format!("{n} {ph}")).collect();
        let mut s = phases.join(", ");
        if !causes.is_empty() {
            s.push_str(": ");
            s.push_str(&causes.join("; "));
        }
        Some(s)
    }

    fn containers(&self) -> &'a [k8s_openapi::api::core::v1::Container] {
        self.template.map_or(&[], |t| t.containers.as_slice())
    }
}

impl Expectation {
    fn name(&self) -> String {
        match self {
            Expectation::Replicas(n) => format!("replicas = {n}"),
            Expectation::Ready(Some(n)) => format!("ready replicas = {n}"),
            Expectation::Ready(None) => "all replicas ready".to_string(),
            Expectation::Running(Some(1)) => "1 pod Running".to_string(),
            Expectation::Running(Some(n)) => format!("{n} pods Running"),
            Expectation::Running(None) => "all pods Running".to_string(),
            Expectation::Image(image) => format!("image = {image}"),
            Expectation::PullSecrets(s) => format!("imagePullSecrets = [{}]", join(s)),
            Expectation::SecretExists(s) => format!("Secret {s} exists"),
            Expectation::Placement(labels) => {
                format!("pods placed on nodes with {}", labels_text(labels))
            }
            Expectation::Resource { kind, key, value } => {
                format!("resources.{}.{key} = {value}", kind.field())
            }
        }
    }

    fn evaluate(&self, ctx: &Context) -> Outcome {
        match self {
            Expectation::Replicas(n) => {
                let actual = ctx.spec_replicas();
                if actual == *n {
                    Outcome::Passed
                } else {
                    Outcome::failed(format!("spec.replicas is {actual}"))
                }
            }
            Expectation::Ready(n) => {
                let n = n.unwrap_or_else(|| ctx.spec_replicas());
                let ready = ctx
                    .dep
                    .status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0);
                let ready = u32::try_from(ready).unwrap_or(0);
                if ready == n {
                    Outcome::Passed
                } else {
                    let mut reason = format!("{ready} of {n} ready");
                    if let Some(rest) = ctx.not_running() {
                        reason.push_str(&format!("; {rest}"));
                    }
                    Outcome::failed(reason)
                }
            }
            Expectation::Running(n) => {
                let n = n.unwrap_or_else(|| ctx.spec_replicas());
                let running = ctx.running().len();
                if usize::try_from(n).is_ok_and(|n| n == running) {
                    Outcome::Passed
                } else {
                    let mut reason = format!("{running} of {n} pods Running");
                    if let Some(rest) = ctx.not_running() {
                        reason.push_str(&format!("; {rest}"));
                    }
                    Outcome::failed(reason)
                }
            }
            Expectation::Image(image) => {
                let containers = ctx.containers();
                if containers.is_empty() {
                    return Outcome::failed("the pod template has no containers");
                }
                let wrong: Vec<String> = containers
                    .iter()
                    .filter(|c| c.image.as_deref() != Some(image.as_str()))
                    .map(|c| match c.image.as_deref() {
                        Some(i) => format!("container {} has image {i}", c.name),
                        None => format!("container {} has no image", c.name),
                    })
                    .collect();
                if wrong.is_empty() {
                    Outcome::Passed
                } else {
                    Outcome::failed(wrong.join("; "))
                }
            }
            Expectation::PullSecrets(want) => {
                let actual: BTreeSet<String> = ctx
                    .template
                    .and_then(|t| t.image_pull_secrets.as_ref())
                    .into_iter()
                    .flatten()
                    .map(|r| r.name.clone())
                    .collect();
                if &actual == want {
                    Outcome::Passed
                } else if actual.is_empty() {
                    Outcome::failed("the pod template has no imagePullSecrets")
                } else {
                    Outcome::failed(format!(
                        "the pod template has imagePullSecrets [{}]",
                        join(&actual)
                    ))
                }
            }
            Expectation::SecretExists(s) => {
                if ctx.secrets.iter().any(|n| n == s) {
                    Outcome::Passed
                } else {
                    Outcome::failed(format!(
                        "no Secret {s} in namespace {}: pods would fail with ImagePullBackOff",
                        ctx.namespace
                    ))
                }
            }
            Expectation::Placement(labels) => placement(ctx, labels),
            Expectation::Resource { kind, key, value } => {
                let containers = ctx.containers();
                if containers.is_empty() {
                    return Outcome::failed("the pod template has no containers");
                }
                let wrong: Vec<String> = containers
                    .iter()
                    .filter_map(|c| {
                        let r = c.resources.as_ref();
                        let map = match kind {
                            ResourceKind::Limits => r.and_then(|r| r.limits.as_ref()),
                            ResourceKind::Requests => r.and_then(|r| r.requests.as_ref()),
                        };
                        match map.and_then(|m| m.get(key)) {
                            Some(q) if quantities_equal(&q.0, value) => None,
                            Some(q) => Some(format!(
                                "container {} has {key} {} {}",
                                c.name,
                                kind.singular(),
                                q.0
                            )),
                            None => Some(format!(
                                "container {} has no {key} {}",
                                c.name,
                                kind.singular()
                            )),
                        }
                    })
                    .collect();
                if wrong.is_empty() {
                    Outcome::Passed
                } else {
                    Outcome::failed(wrong.join("; "))
                }
            }
        }
    }
}

impl ResourceKind {
    fn field(self) -> &'static str {
        match self {
            ResourceKind::Limits => "limits",
            ResourceKind::Requests => "requests",
        }
    }
    fn singular(self) -> &'static str {
        match self {
            ResourceKind::Limits => "limit",
            ResourceKind::Requests => "request",
        }
    }
}

/// The pod template requires the labels, the Running pods' nodes carry them,
/// and some node has them at all.
fn placement(ctx: &Context, labels: &BTreeMap<String, String>) -> Outcome {
    let mut problems = Vec::new();

    let not_required: BTreeMap<String, String> = labels
        .iter()
        .filter(|(k, v)| !ctx.template.is_some_and(|t| template_requires(t, k, v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !not_required.is_empty() {
        problems.push(format!(
            "the pod template does not require {} (no nodeSelector or required node affinity for it)",
            labels_text(&not_required)
        ));
    }

    // Every scheduled pod, not only Running ones: a pod stuck pulling its
    // image is still placed.
    for pod in &ctx.pods {
        let pod_name = pod.metadata.name.as_deref().unwrap_or("?");
        let Some(node_name) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
            continue;
        };
        match ctx
            .nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(node_name))
        {
            Some(node) => {
                let lacking: BTreeMap<String, String> = labels
                    .iter()
                    .filter(|(k, v)| !node_has(node, k, v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !lacking.is_empty() {
                    problems.push(format!(
                        "pod {pod_name} runs on node {node_name}, which lacks {}",
                        labels_text(&lacking)
                    ));
                }
            }
            None => problems.push(format!(
                "pod {pod_name} runs on node {node_name}, which is not in the node list"
            )),
        }
    }

    let unschedulable: Vec<&Pod> = ctx
        .pods
        .iter()
        .copied()
        .filter(|p| unschedulable_message(p).is_some())
        .collect();
    if !unschedulable.is_empty() {
        let mut messages: Vec<String> = Vec::new();
        for m in unschedulable
            .iter()
            .filter_map(|p| unschedulable_message(p))
        {
            let m = quote(m);
            if !messages.contains(&m) {
                messages.push(m);
            }
        }
        problems.push(format!(
            "{} pod{} Pending: {}",
            unschedulable.len(),
            if unschedulable.len() == 1 { "" } else { "s" },
            messages.join("; ")
        ));
    }

    let on_no_node: BTreeMap<String, String> = labels
        .iter()
        .filter(|(k, v)| !ctx.nodes.iter().any(|n| node_has(n, k, v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !on_no_node.is_empty() {
        problems.push(format!(
            "no node has {} (nodes: {})",
            labels_text(&on_no_node),
            node_names(ctx.nodes)
        ));
    }

    if problems.is_empty() {
        Outcome::Passed
    } else {
        Outcome::failed(problems.join("; "))
    }
}

/// Whether every pod of the template must land on a node with `key=value`:
/// through `nodeSelector`, or through required node affinity where every term
/// has an `In [value]` (or `Exists`) expression on `key`.
fn template_requires(spec: &PodSpec, key: &str, value: &str) -> bool {
    if spec
        .node_selector
        .as_ref()
        .and_then(|s| s.get(key))
        .is_some_and(|v| v == value)
    {
        return true;
    }
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|s| s.node_selector_terms.as_slice())
        .unwrap_or_default();
    // Terms are ORed: the requirement holds only if each of them carries it.
    !terms.is_empty()
        && terms.iter().all(|term| {
            term.match_expressions.iter().flatten().any(|e| {
                e.key == key
                    && match e.operator.as_str() {
                        "In" => {
                            let values = e.values.as_deref().unwrap_or_default();
                            !values.is_empty() && values.iter().all(|v| v == value)
                        }
                        "Exists" => true,
                        _ => false,
                    }
            })
        })
}

fn node_has(node: &Node, key: &str, value: &str) -> bool {
    node.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .is_some_and(|v| v == value)
}

fn node_names(nodes: &[Node]) -> String {
    if nodes.is_empty() {
        return "none".to_string();
    }
    nodes
        .iter()
        .map(|n| n.metadata.name.as_deref().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

/// The scheduler's message when the pod could not be scheduled.
fn unschedulable_message(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .map(|c| {
            c.message
                .as_deref()
                .or(c.reason.as_deref())
                .unwrap_or("not scheduled")
        })
}

/// Why a pod is not Running: the scheduler's message, or a container's
/// waiting reason (ImagePullBackOff, CrashLoopBackOff, …) with its message.
fn pod_cause(pod: &Pod) -> Option<String> {
    if let Some(m) = unschedulable_message(pod) {
        return Some(quote(m));
    }
    let status = pod.status.as_ref()?;
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in statuses {
        let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = w.reason.as_deref().unwrap_or_default();
        if reason.is_empty() || reason == "ContainerCreating" || reason == "PodInitializing" {
            continue;
        }
        let mut s = format!("container {} {reason}", cs.name);
        if let Some(m) = w.message.as_deref().filter(|m| !m.is_empty()) {
            s.push_str(&format!(": {}", quote(m)));
        }
        return Some(s);
    }
    // Evicted and other failed pods say why on the pod itself.
    status.reason.as_deref().filter(|r| !r.is_empty()).map(|r| {
        match status.message.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => format!("{r}: {}", quote(m)),
            None => r.to_string(),
        }
    })
}

/// Whether a Deployment's selector matches a pod's labels, by kube's
/// `Selector` (an empty selector matches everything). A selector kube cannot
/// read (an unknown operator, `In`/`NotIn` without values) matches no pod;
/// the API server does not admit a Deployment with one anyway.
fn selector_matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    Selector::try_from(selector.clone())
        .is_ok_and(|s| s.matches(labels.unwrap_or(&BTreeMap::new())))
}

/// Whether two Kubernetes quantities are equal: by value when both parse
/// (`1Gi` == `1024Mi`, `500m` == `0.5`), else as written.
pub fn quantities_equal(a: &str, b: &str) -> bool {
    match (parse_quantity(a), parse_quantity(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a.trim() == b.trim(),
    }
}

/// A quantity's value: a decimal number with an optional binary (`Ki`…`Ei`),
/// decimal (`n`, `u`, `m`, `k`, `M`…`E`) or exponent (`e3`) suffix.
fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let n: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            10f64.powi(e.clamp(-300, 300))
        }
        _ => return None,
    };
    let v = n * multiplier;
    v.is_finite().then_some(v)
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Resources;
    use serde_json::{Value, json};

    const SCHEDULER: &str = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.";

    fn deployment(replicas: i32, ready: i32, pod_spec: Value) -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "fastapi-agent", "namespace": "agents"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "fastapi-agent"}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "fastapi-agent"}},
                    "spec": pod_spec
                }
            },
            "status": {"replicas": replicas, "readyReplicas": ready}
        }))
        .expect("valid Deployment")
    }

    fn prod_pod_spec() -> Value {
        json!({
            "containers": [{
                "name": "api", "image": "ghcr.io/your-org/fastapi-agent:1.2.0",
                "resources": {"limits": {"memory": "1024Mi", "cpu": "500m"},
                              "requests": {"memory": "512Mi"}}
            }],
            "imagePullSecrets": [{"name": "ecr-prod"}],
            "nodeSelector": {"workload": "agents"}
        })
    }

    fn running_pod(i: usize, node: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("fastapi-agent-7d9f-{i}"), "namespace": "agents",
                         "labels": {"app.kubernetes.io/name": "fastapi-agent", "pod-template-hash": "7d9f"}},
            "spec": {"nodeName": node, "containers": [{"name": "api"}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}
        }))
        .expect("valid Pod")
    }

    fn pending_pod(i: usize) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("fastapi-agent-7d9f-p{i}"), "namespace": "agents",
                         "labels": {"app.kubernetes.io/name": "fastapi-agent"}},
            "spec": {"containers": [{"name": "api"}]},
            "status": {"phase": "Pending",
                       "conditions": [{"type": "PodScheduled", "status": "False",
                                       "reason": "Unschedulable", "message": SCHEDULER}]}
        }))
        .expect("valid Pod")
    }

    fn pull_failing_pod(i: usize, node: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("fastapi-agent-7d9f-b{i}"), "namespace": "agents",
                         "labels": {"app.kubernetes.io/name": "fastapi-agent"}},
            "spec": {"nodeName": node, "containers": [{"name": "api"}]},
            "status": {"phase": "Pending",
                       "conditions": [{"type": "PodScheduled", "status": "True"}],
                       "containerStatuses": [{"name": "api", "ready": false, "restartCount": 0,
                           "image": "ghcr.io/your-org/fastapi-agent:1.2.0", "imageID": "",
                           "state": {"waiting": {"reason": "ImagePullBackOff",
                               "message": "Back-off pulling image \"ghcr.io/your-org/fastapi-agent:1.2.0\""}}}]}
        }))
        .expect("valid Pod")
    }

    fn other_pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "redis-0", "namespace": "agents", "labels": {"app.kubernetes.io/name": "redis"}},
            "status": {"phase": "Pending"}
        }))
        .expect("valid Pod")
    }

    fn node(name: &str, labels: Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))
            .expect("valid Node")
    }

    fn agents_nodes() -> Vec<Node> {
        vec![
            node(
                "prod-control-plane",
                json!({"kubernetes.io/hostname": "prod-control-plane"}),
            ),
            node("prod-worker", json!({"workload": "agents"})),
        ]
    }

    fn plain_nodes() -> Vec<Node> {
        vec![
            node("staging-control-plane", json!({})),
            node("staging-worker", json!({"workload": "general"})),
        ]
    }

    fn want_prod() -> ExpectedDeployment {
        ExpectedDeployment {
            replicas: Some(5),
            image: Some("ghcr.io/your-org/fastapi-agent:1.2.0".into()),
            image_pull_secrets: Some(vec!["ecr-prod".into()]),
            node_selector: Some([("workload".to_string(), "agents".to_string())].into()),
            resources: Some(Resources {
                limits: [
                    ("memory".to_string(), "1Gi".to_string()),
                    ("cpu".to_string(), "0.5".to_string()),
                ]
                .into(),
                requests: [("memory".to_string(), "512Mi".to_string())].into(),
            }),
            http: None,
        }
    }

    fn secrets() -> Vec<String> {
        vec!["ecr-prod".into(), "default-token".into()]
    }

    fn run(
        want: &ExpectedDeployment,
        dep: Option<&Deployment>,
        pods: &[Pod],
        secrets: &[String],
        nodes: &[Node],
    ) -> Vec<Check> {
        deployment_checks(
            "fastapi-agent-prod",
            "agents",
            "fastapi-agent",
            want,
            dep,
            pods,
            secrets,
            nodes,
        )
    }

    fn outcomes(checks: &[Check]) -> Vec<(String, Outcome)> {
        checks
            .iter()
            .map(|c| (c.name.clone(), c.outcome.clone()))
            .collect()
    }

    fn fail(reason: &str) -> Outcome {
        Outcome::Failed {
            reason: reason.into(),
        }
    }

    #[test]
    fn everything_as_expected_passes() {
        let dep = deployment(5, 5, prod_pod_spec());
        let mut pods: Vec<Pod> = (0..5).map(|i| running_pod(i, "prod-worker")).collect();
        pods.push(other_pod());
        let checks = run(&want_prod(), Some(&dep), &pods, &secrets(), &agents_nodes());
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "deployment agents/fastapi-agent exists",
                "replicas = 5",
                "ready replicas = 5",
                "5 pods Running",
                "image = ghcr.io/your-org/fastapi-agent:1.2.0",
                "imagePullSecrets = [ecr-prod]",
                "Secret ecr-prod exists",
                "pods placed on nodes with workload=agents",
                "resources.limits.cpu = 0.5",
                "resources.limits.memory = 1Gi",
                "resources.requests.memory = 512Mi",
            ]
        );
        for c in &checks {
            assert_eq!(c.outcome, Outcome::Passed, "{}", c.name);
            assert_eq!(c.application.as_deref(), Some("fastapi-agent-prod"));
        }
    }

    #[test]
    fn pending_pods_with_unsatisfiable_selector_name_the_scheduler_message() {
        let dep = deployment(2, 0, prod_pod_spec());
        let pods = [pending_pod(0), pending_pod(1)];
        let want = ExpectedDeployment {
            replicas: Some(2),
            ..want_prod()
        };
        let checks = run(&want, Some(&dep), &pods, &secrets(), &plain_nodes());
        let o = outcomes(&checks);
        let quoted = format!("\"{SCHEDULER}\"");
        assert_eq!(o[1], ("replicas = 2".into(), Outcome::Passed));
        assert_eq!(
            o[2],
            (
                "ready replicas = 2".into(),
                fail(&format!("0 of 2 ready; 2 Pending: {quoted}"))
            )
        );
        assert_eq!(
            o[3],
            (
                "2 pods Running".into(),
                fail(&format!("0 of 2 pods Running; 2 Pending: {quoted}"))
            )
        );
        assert_eq!(
            o[7],
            (
                "pods placed on nodes with workload=agents".into(),
                fail(&format!(
                    "2 pods Pending: {quoted}; no node has workload=agents (nodes: staging-control-plane, staging-worker)"
                ))
            )
        );
    }

    #[test]
    fn required_affinity_counts_as_placement() {
        let mut spec = prod_pod_spec();
        spec.as_object_mut().map(|s| s.remove("nodeSelector"));
        spec["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "workload", "operator": "In", "values": ["agents"]}]}]}}});
        let dep = deployment(5, 5, spec.clone());
        let pods: Vec<Pod> = (0..5).map(|i| running_pod(i, "prod-worker")).collect();
        let c = &run(&want_prod(), Some(&dep), &pods, &secrets(), &agents_nodes())[7];
        assert_eq!(c.outcome, Outcome::Passed);

        // A second term without the label makes it optional.
        if let Some(terms) = spec.pointer_mut(
            "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms",
        ).and_then(Value::as_array_mut)
        {
            terms.push(json!({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}));
        }
        let dep = deployment(5, 5, spec);
        let c = &run(&want_prod(), Some(&dep), &pods, &secrets(), &agents_nodes())[7];
        assert_eq!(
            c.outcome,
            fail(
                "the pod template does not require workload=agents (no nodeSelector or required node affinity for it)"
            )
        );
    }

    #[test]
    fn pods_on_nodes_lacking_the_labels_fail_placement() {
        let mut spec = prod_pod_spec();
        spec.as_object_mut().map(|s| s.remove("nodeSelector"));
        let dep = deployment(1, 1, spec);
        let want = ExpectedDeployment {
            replicas: Some(1),
            ..want_prod()
        };
        let c = &run(
            &want,
            Some(&dep),
            &[running_pod(0, "prod-control-plane")],
            &secrets(),
            &agents_nodes(),
        )[7];
        assert_eq!(
            c.outcome,
            fail(
                "the pod template does not require workload=agents (no nodeSelector or required node affinity for it); \
                 pod fastapi-agent-7d9f-0 runs on node prod-control-plane, which lacks workload=agents"
            )
        );
    }

    #[test]
    fn missing_pull_secret_fails_and_pods_show_image_pull_backoff() {
        let dep = deployment(1, 0, prod_pod_spec());
        let want = ExpectedDeployment {
            replicas: Some(1),
            ..want_prod()
        };
        let checks = run(
            &want,
            Some(&dep),
            &[pull_failing_pod(0, "prod-worker")],
            &["default-token".into()],
            &agents_nodes(),
        );
        let o = outcomes(&checks);
        assert_eq!(
            o[5],
            ("imagePullSecrets = [ecr-prod]".into(), Outcome::Passed)
        );
        assert_eq!(
            o[6],
            (
                "Secret ecr-prod exists".into(),
                fail(
                    "no Secret ecr-prod in namespace agents: pods would fail with ImagePullBackOff"
                )
            )
        );
        assert_eq!(
            o[3].1,
            fail(
                "0 of 1 pods Running; 1 Pending: container api ImagePullBackOff: \"Back-off pulling image \"ghcr.io/your-org/fastapi-agent:1.2.0\"\""
            )
        );
    }

    #[test]
    fn evicted_pod_reason_is_named() {
        let dep = deployment(1, 0, prod_pod_spec());
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "fastapi-agent-7d9f-e", "namespace": "agents",
                         "labels": {"app.kubernetes.io/name": "fastapi-agent"}},
            "spec": {"nodeName": "prod-control-plane", "containers": [{"name": "api"}]},
            "status": {"phase": "Failed", "reason": "Evicted",
                       "message": "The node was low on resource: memory."}
        }))
        .expect("valid Pod");
        let want = ExpectedDeployment {
            replicas: Some(1),
            ..want_prod()
        };
        let checks = run(&want, Some(&dep), &[pod], &secrets(), &agents_nodes());
        assert_eq!(
            checks[3].outcome,
            fail(
                "0 of 1 pods Running; 1 Failed: Evicted: \"The node was low on resource: memory.\""
            )
        );
        assert_eq!(
            checks[7].outcome,
            fail(
                "pod fastapi-agent-7d9f-e runs on node prod-control-plane, which lacks workload=agents"
            )
        );
    }

    #[test]
    fn wrong_pull_secrets_on_template() {
        let mut spec = prod_pod_spec();
        spec["imagePullSecrets"] = json!([{"name": "ecr-staging"}]);
        let dep = deployment(5, 5, spec.clone());
        let pods: Vec<Pod> = (0..5).map(|i| running_pod(i, "prod-worker")).collect();
        let c = &run(&want_prod(), Some(&dep), &pods, &secrets(), &agents_nodes())[5];
        assert_eq!(
            c.outcome,
            fail("the pod template has imagePullSecrets [ecr-staging]")
        );
        spec.as_object_mut().map(|s| s.remove("imagePullSecrets"));
        let dep = deployment(5, 5, spec);
        let c = &run(&want_prod(), Some(&dep), &pods, &secrets(), &agents_nodes())[5];
        assert_eq!(c.outcome, fail("the pod template has no imagePullSecrets"));
    }

    #[test]
    fn wrong_replicas_fail() {
        let dep = deployment(3, 3, prod_pod_spec());
        let pods: Vec<Pod> = (0..3).map(|i| running_pod(i, "prod-worker")).collect();
        let o = outcomes(&run(
            &want_prod(),
            Some(&dep),
            &pods,
            &secrets(),
            &agents_nodes(),
        ));
        assert_eq!(o[1], ("replicas = 5".into(), fail("spec.replicas is 3")));
        assert_eq!(o[2], ("ready replicas = 5".into(), fail("3 of 5 ready")));
        assert_eq!(o[3], ("5 pods Running".into(), fail("3 of 5 pods Running")));
    }

    #[test]
    fn wrong_image_fails_naming_the_container() {
        let mut spec = prod_pod_spec();
        spec["containers"][0]["image"] = json!("ghcr.io/your-org/fastapi-agent:1.1.0");
        if let Some(containers) = spec["containers"].as_array_mut() {
            containers
                .push(json!({"name": "sidecar", "image": "ghcr.io/your-org/fastapi-agent:1.2.0"}));
        }
        let dep = deployment(5, 5, spec);
        let pods: Vec<Pod> = (0..5).map(|i| running_pod(i, "prod-worker")).collect();
        let checks = run(&want_prod(), Some(&dep), &pods, &secrets(), &agents_nodes());
        assert_eq!(
            checks[4].name,
            "image = ghcr.io/your-org/fastapi-agent:1.2.0"
        );
        assert_eq!(
            checks[4].outcome,
            fail("container api has image ghcr.io/your-org/fastapi-agent:1.1.0")
        );
        // The sidecar has no memory limit.
        assert_eq!(checks[9].name, "resources.limits.memory = 1Gi");
        assert_eq!(
            checks[9].outcome,
            fail("container sidecar has no memory limit")
        );
    }

    #[test]
    fn wrong_resource_value_is_quoted_as_written() {
        let mut spec = prod_pod_spec();
        spec["containers"][0]["resources"]["limits"]["memory"] = json!("512Mi");
        let dep = deployment(5, 5, spec);
        let pods: Vec<Pod> = (0..5).map(|i| running_pod(i, "prod-worker")).collect();
        let c = &run(&want_prod(), Some(&dep), &pods, &secrets(), &agents_nodes())[9];
        assert_eq!(c.outcome, fail("container api has memory limit 512Mi"));
    }

    #[test]
    fn missing_deployment_fails_first_and_skips_the_rest() {
        let checks = run(&want_prod(), None, &[], &secrets(), &agents_nodes());
        assert_eq!(checks.len(), 11);
        assert_eq!(
            checks[0].outcome,
            fail("no Deployment fastapi-agent in namespace agents")
        );
        for c in &checks[1..] {
            assert_eq!(
                c.outcome,
                Outcome::Skipped {
                    reason: "deployment agents/fastapi-agent does not exist".into()
                },
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn no_expectations_still_checks_readiness() {
        let dep = deployment(2, 1, json!({"containers": [{"name": "api", "image": "x"}]}));
        let pods = [running_pod(0, "n"), pending_pod(1)];
        let o = outcomes(&run(
            &ExpectedDeployment::default(),
            Some(&dep),
            &pods,
            &[],
            &[],
        ));
        assert_eq!(o.len(), 3);
        assert_eq!(o[1].0, "all replicas ready");
        assert_eq!(
            o[2],
            (
                "all pods Running".into(),
                fail(&format!("1 of 2 pods Running; 1 Pending: \"{SCHEDULER}\""))
            )
        );
    }

    #[test]
    fn terminating_and_foreign_pods_are_ignored() {
        let dep = deployment(1, 1, prod_pod_spec());
        let mut old = running_pod(9, "prod-worker");
        old.metadata.deletion_timestamp =
            serde_json::from_value(json!("2026-11-26T20:00:00Z")).ok();
        let mut elsewhere = running_pod(8, "prod-worker");
        elsewhere.metadata.namespace = Some("other".into());
        let pods = [running_pod(0, "prod-worker"), old, elsewhere, other_pod()];
        let want = ExpectedDeployment {
            replicas: Some(1),
            ..want_prod()
        };
        let checks = run(&want, Some(&dep), &pods, &secrets(), &agents_nodes());
        assert_eq!(checks[3].name, "1 pod Running");
        assert_eq!(checks[3].outcome, Outcome::Passed);
    }

    #[test]
    fn selector_expressions() {
        let sel: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "a"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["web", "api"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["dev"]}
            ]
        }))
        .expect("valid");
        let labels =
            |v: Value| -> BTreeMap<String, String> { serde_json::from_value(v).expect("map") };
        assert!(selector_matches(
            &sel,
            Some(&labels(json!({"app": "a", "tier": "api"})))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&labels(json!({"app": "a", "tier": "db"})))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&labels(json!({"app": "a", "tier": "web", "canary": "1"})))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&labels(json!({"app": "a", "tier": "web", "env": "dev"})))
        ));
        assert!(!selector_matches(&sel, None));
        assert!(selector_matches(&LabelSelector::default(), None));
        let unknown_operator: LabelSelector = serde_json::from_value(json!({
            "matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]
        }))
        .expect("valid");
        assert!(!selector_matches(
            &unknown_operator,
            Some(&labels(json!({"app": "2"})))
        ));
    }

    #[test]
    fn quantities() {
        assert!(quantities_equal("1Gi", "1024Mi"));
        assert!(quantities_equal("500m", "0.5"));
        assert!(quantities_equal("1k", "1e3"));
        assert!(quantities_equal("1G", "1000M"));
        assert!(!quantities_equal("1G", "1Gi"));
        assert!(!quantities_equal("512Mi", "1Gi"));
        assert!(quantities_equal("weird", "weird"));
        assert!(!quantities_equal("weird", "1"));
        assert_eq!(parse_quantity(""), None);
        assert!(parse_quantity("1e99999").is_some_and(|v| v > 1e299));
        assert_eq!(parse_quantity("Gi"), None);
        assert_eq!(parse_quantity("1é"), None);
    }

    #[test]
    fn namespace_exists() {
        let c = namespace_check("a", "agents", &["default".into(), "agents".into()]);
        assert_eq!(c.name, "namespace agents exists");
        assert_eq!(c.outcome, Outcome::Passed);
        let c = namespace_check("a", "agents", &["default".into()]);
        assert!(c.outcome.is_failed());
    }

    /// A kube client whose API server answers 403 Forbidden on the path
    /// `forbid`, 404 for any one Deployment, and an empty list otherwise.
    fn client_forbidding(forbid: Option<&'static str>) -> kube::Client {
        let svc = tower::service_fn(move |req: http::Request<kube::client::Body>| async move {
            let path = req.uri().path().to_string();
            let (status, body) = if forbid == Some(path.as_str()) {
                (
                    403,
                    json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "reason": "Forbidden", "code": 403,
                        "message": format!("forbidden: User \"ci\" cannot list {path}"),
                    }),
                )
            } else if path.contains("/deployments/") {
                (
                    404,
                    json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "reason": "NotFound", "code": 404,
                        "message": "not found",
                    }),
                )
            } else {
                (
                    200,
                    json!({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}),
                )
            };
            let body = kube::client::Body::from(serde_json::to_vec(&body).unwrap());
            Ok::<_, std::convert::Infallible>(
                http::Response::builder().status(status).body(body).unwrap(),
            )
        });
        kube::Client::new(svc, "default")
    }

    fn live_cluster(client: kube::Client) -> LiveCluster {
        LiveCluster {
            name: "prod".into(),
            provisioned: crate::provider::Provisioned {
                name: "prod".into(),
                kubeconfig: "/nonexistent".into(),
                context: "prod".into(),
                server: "https://127.0.0.1:1".into(),
                ca_data: None,
                cert_data: None,
                key_data: None,
                token: None,
                host_address: None,
            },
            client,
            pods_run: false,
        }
    }

    fn wanting_a_deployment() -> ExpectedApplication {
        let mut want = ExpectedApplication::default();
        want.deployments
            .insert("fastapi-agent".into(), Default::default());
        want
    }

    #[tokio::test]
    async fn a_forbidden_list_is_an_environment_error_naming_the_call_and_cluster() {
        for (path, call) in [
            ("/api/v1/namespaces", "list namespaces on cluster `prod`"),
            (
                "/api/v1/namespaces/agents/secrets",
                "list secrets in namespace `agents` on cluster `prod`",
            ),
            ("/api/v1/nodes", "list nodes on cluster `prod`"),
        ] {
            let cluster = live_cluster(client_forbidding(Some(path)));
            let err = application_checks(&cluster, "prod-agent", "agents", &wanting_a_deployment())
                .await
                .expect_err("a 403 is not an empty list");
            assert_eq!(err.exit_code(), crate::error::exit::ENVIRONMENT, "{path}");
            let text = format!("{err:#}");
            assert!(text.contains(call), "{path}: {text}");
            let chain = crate::steps::error_chain(&err);
            assert!(chain.contains("forbidden"), "{path}: {chain}");
        }
    }

    #[tokio::test]
    async fn allowed_but_empty_lists_are_judged_as_missing_objects() {
        let cluster = live_cluster(client_forbidding(None));
        let checks = application_checks(&cluster, "prod-agent", "agents", &wanting_a_deployment())
            .await
            .expect("empty lists are answers");
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| c.outcome.is_failed())
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed.len(), 2, "{checks:?}");
        assert!(failed[0].contains("namespace"), "{failed:?}");
    }

    #[tokio::test]
    async fn an_http_probe_is_one_check_skipped_where_it_cannot_run() {
        let cluster = live_cluster(client_forbidding(None));
        let mut want = wanting_a_deployment();
        for dep in want.deployments.values_mut() {
            dep.http = Some(HttpProbe {
                path: "/healthz".into(),
                status: 200,
                port: None,
            });
        }
        let checks = application_checks(&cluster, "prod-agent", "agents", &want)
            .await
            .unwrap();
        let probe = checks
            .iter()
            .find(|c| c.name == "deployment fastapi-agent answers GET /healthz with 200")
            .unwrap_or_else(|| panic!("no probe check in {checks:?}"));
        assert!(
            matches!(&probe.outcome, Outcome::Skipped { reason } if reason.contains("does not exist")),
            "{probe:?}"
        );
    }

    #[test]
    fn only_clusters_whose_every_node_is_simulated_count_as_simulated() {
        let fake = |name: &str| {
            serde_json::from_value::<Node>(json!({"metadata": {"name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake"}}}))
            .unwrap()
        };
        let real = serde_json::from_value::<Node>(json!({"metadata": {"name": "w"}})).unwrap();
        assert!(simulated(&[fake("a"), fake("b")]));
        assert!(!simulated(&[fake("a"), real]));
        assert!(!simulated(&[]));
    }
}
