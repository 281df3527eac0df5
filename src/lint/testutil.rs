//! Builds `Document` and `Expansion` values by hand for rule tests.

use std::path::Path;

use serde_json::{Value, json};

use super::util::walk;
use super::{AppSetContext, Finding, lint_appset};
use crate::appset::{ClusterInfo, Environment, ExpandError, Expansion, GeneratedApp};
use crate::yaml::{Document, Pos, Recovery, RecoveryKind};

/// A document whose every node has its own line (in walk order), so that a
/// test can tell which pointer a finding points at.
pub fn doc(value: Value) -> Document {
    let mut d = Document {
        value: Value::Null,
        ..Document::default()
    };
    let mut line = 0;
    walk(&value, "", &mut |p, key, _| {
        line += 1;
        let pos = Pos { line, column: 1 };
        d.values.insert(p.to_string(), pos);
        if key.is_some() {
            d.keys.insert(p.to_string(), pos);
        }
    });
    d.value = value;
    d
}

pub fn recovery(d: &mut Document, pointer: &str, text: &str) {
    let pos = d.pos(pointer).unwrap_or(Pos { line: 1, column: 1 });
    d.recoveries.push(Recovery {
        pointer: pointer.to_string(),
        pos,
        text: text.to_string(),
        kind: RecoveryKind::UnquotedTemplate,
    });
}

pub fn app(name: &str, spec: Value, params: Value) -> GeneratedApp {
    GeneratedApp {
        name: name.to_string(),
        manifest: json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": spec,
        }),
        params,
    }
}

pub fn expansion(apps: Vec<GeneratedApp>) -> Expansion {
    Expansion {
        applications: apps,
        ..Expansion::default()
    }
}

pub fn expand_error(rule: &'static str, pointer: &str, message: &str) -> ExpandError {
    ExpandError {
        rule,
        pointer: pointer.to_string(),
        message: message.to_string(),
        application: None,
        reason: "ApplicationGenerationFromParamsError",
    }
}

pub fn cluster(name: &str, server: &str) -> ClusterInfo {
    ClusterInfo {
        name: name.to_string(),
        server: server.to_string(),
        project: None,
        labels: Default::default(),
        annotations: Default::default(),
        local_without_secret: false,
    }
}

pub fn lint(d: &Document, e: &Expansion) -> Vec<Finding> {
    lint_env(d, e, &Environment::default())
}

pub fn lint_env(d: &Document, e: &Expansion, env: &Environment) -> Vec<Finding> {
    lint_appset(&AppSetContext {
        file: Path::new("appset.yaml"),
        doc: d,
        expansion: e,
        env,
    })
}

pub fn of_rule<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

/// A clean, well-formed Application spec: the base for negative tests.
pub fn good_spec(name: &str) -> Value {
    json!({
        "project": "default",
        "source": {
            "repoURL": "https://charts.example-corp.io",
            "chart": "fastapi-agent",
            "targetRevision": "1.4.2",
            "helm": {"valuesObject": {
                "replicaCount": 2,
                "image": {"repository": "docker.io/acme/fastapi-agent", "tag": "v1.2.3"},
                "resources": {
                    "requests": {"memory": "256Mi", "cpu": "250m"},
                    "limits": {"memory": "512Mi", "cpu": "500m"}
                }
            }}
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": format!("{name}-agents")},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}
    })
}

/// The ApplicationSet the lesson's round 1 generates (as the reader would
/// give it: `{{replicas}}` etc. recovered to strings).
pub fn lesson_round1() -> (Document, Expansion) {
    let appset = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "fastapi-agent-multi-env"},
        "spec": {
            "generators": [{"matrix": {"generators": [
                {"list": {"elements": [
                    {"name": "dev", "cluster": "minikube", "replicas": "1", "image_tag": "latest"},
                    {"name": "staging", "cluster": "staging-cluster", "replicas": "3", "image_tag": "v1.2.3"},
                    {"name": "prod", "cluster": "prod-cluster", "replicas": "5", "image_tag": "v1.2.3"}
                ]}},
                {"list": {"elements": [{"registry": "docker.io"}, {"registry": "ghcr.io"}]}}
            ]}}],
            "template": {
                "metadata": {"name": "fastapi-agent-{{name}}-{{registry}}"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://github.com/your-org/helm-charts",
                        "chart": "fastapi-agent",
                        "targetRevision": "HEAD",
                        "helm": {"valuesInline": {
                            "replicaCount": "{{replicas}}",
                            "image": {"repository": "{{registry}}/your-org/fastapi-agent", "tag": "{{image_tag}}"},
                            "ingress": {"enabled": true, "className": "nginx"}
                        }}
                    },
                    "destination": {"server": "https://{{cluster}}.example.com", "namespace": "agents"},
                    "syncPolicy": {
                        "automated": {"prune": true, "selfHeal": true},
                        "syncOptions": ["CreateNamespace=true"]
                    }
                }
            }
        }
    });
    let mut d = doc(appset);
    let t = "/spec/template/spec/source/helm/valuesInline";
    recovery(&mut d, &format!("{t}/replicaCount"), "{{replicas}}");
    recovery(
        &mut d,
        &format!("{t}/image/repository"),
        "{{registry}}/your-org/fastapi-agent",
    );
    recovery(&mut d, &format!("{t}/image/tag"), "{{image_tag}}");
    let envs = [
        ("dev", "minikube", "1", "latest"),
        ("staging", "staging-cluster", "3", "v1.2.3"),
        ("prod", "prod-cluster", "5", "v1.2.3"),
    ];
    let mut apps = Vec::new();
    for (env, cl, replicas, tag) in envs {
        for registry in ["docker.io", "ghcr.io"] {
            let name = format!("fastapi-agent-{env}-{registry}");
            let spec = json!({
                "project": "default",
                "source": {
                    "repoURL": "https://github.com/your-org/helm-charts",
                    "chart": "fastapi-agent",
                    "targetRevision": "HEAD",
                    "helm": {"valuesInline": {
                        "replicaCount": replicas,
                        "image": {"repository": format!("{registry}/your-org/fastapi-agent"), "tag": tag},
                        "ingress": {"enabled": true, "className": "nginx"}
                    }}
                },
                "destination": {"server": format!("https://{cl}.example.com"), "namespace": "agents"},
                "syncPolicy": {
                    "automated": {"prune": true, "selfHeal": true},
                    "syncOptions": ["CreateNamespace=true"]
                }
            });
            let params = json!({"name": env, "cluster": cl, "replicas": replicas,
                "image_tag": tag, "registry": registry});
            apps.push(app(&name, spec, params));
        }
    }
    (d, expansion(apps))
}

/// The lesson's round 3 ("refined") ApplicationSet as the reader gives it:
/// unquoted templates recovered to strings, the `{{#if}}`/`{{/if}}` lines
/// skipped, and the expansion that recovers the non-string list values.
pub fn lesson_round3() -> (Document, Expansion) {
    let ecr = "123456789.dkr.ecr.us-east-1.amazonaws.com";
    let pull = "{{#pullSecret}}- name: {{pullSecret}}{{/pullSecret}}";
    let appset = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "fastapi-agent-multi-env"},
        "spec": {
            "generators": [{"list": {"elements": [
                {"name": "dev", "cluster": "minikube", "server": "https://kubernetes.default.svc",
                 "replicas": 1, "registry": "docker.io", "pullSecret": null, "autoSync": "true"},
                {"name": "staging", "cluster": "staging-eks", "server": "https://staging-eks.example.com",
                 "replicas": 3, "registry": ecr, "pullSecret": "ecr-credentials", "autoSync": "true"},
                {"name": "prod", "cluster": "prod-eks", "server": "https://prod-eks.example.com",
                 "replicas": 5, "registry": ecr, "pullSecret": "ecr-credentials", "autoSync": "false"}
            ]}}],
            "template": {
                "metadata": {"name": "fastapi-agent-{{name}}"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://github.com/your-org/helm-charts",
                        "chart": "fastapi-agent",
                        "targetRevision": "main",
                        "helm": {"valuesInline": {
                            "replicaCount": "{{replicas}}",
                            "image": {"repository": "{{registry}}/your-org/fastapi-agent", "tag": "sha-abc1234"},
                            "imagePullSecrets": pull,
                            "resources": {
                                "requests": {"memory": "256Mi", "cpu": "250m"},
                                "limits": {"memory": "512Mi", "cpu": "500m"}
                            }
                        }}
                    },
                    "destination": {"server": "{{server}}", "namespace": "agents"},
                    "syncPolicy": {
                        "automated": {"prune": true, "selfHeal": true},
                        "syncOptions": ["CreateNamespace=true", "PruneLast=true"]
                    }
                }
            }
        }
    });
    let mut d = doc(appset);
    let v = "/spec/template/spec/source/helm/valuesInline";
    recovery(&mut d, &format!("{v}/replicaCount"), "{{replicas}}");
    recovery(
        &mut d,
        &format!("{v}/image/repository"),
        "{{registry}}/your-org/fastapi-agent",
    );
    recovery(&mut d, &format!("{v}/imagePullSecrets"), pull);
    recovery(
        &mut d,
        "/spec/template/spec/destination/server",
        "{{server}}",
    );
    recovery(
        &mut d,
        "/spec/template/spec/syncPolicy",
        "{{#if autoSync == \"true\"}}",
    );
    recovery(&mut d, "/spec/template/spec/syncPolicy", "{{/if}}");
    let mut apps = Vec::new();
    for (env, server, replicas, registry, secret) in [
        (
            "dev",
            "https://kubernetes.default.svc",
            "1",
            "docker.io",
            "",
        ),
        (
            "staging",
            "https://staging-eks.example.com",
            "3",
            ecr,
            "ecr-credentials",
        ),
        (
            "prod",
            "https://prod-eks.example.com",
            "5",
            ecr,
            "ecr-credentials",
        ),
    ] {
        let spec = json!({
            "project": "default",
            "source": {
                "repoURL": "https://github.com/your-org/helm-charts",
                "chart": "fastapi-agent",
                "targetRevision": "main",
                "helm": {"valuesInline": {
                    "replicaCount": replicas,
                    "image": {"repository": format!("{registry}/your-org/fastapi-agent"), "tag": "sha-abc1234"},
                    "imagePullSecrets": format!("{{{{#pullSecret}}}}- name: {secret}{{{{/pullSecret}}}}"),
                    "resources": {
                        "requests": {"memory": "256Mi", "cpu": "250m"},
                        "limits": {"memory": "512Mi", "cpu": "500m"}
                    }
                }}
            },
            "destination": {"server": server, "namespace": "agents"},
            "syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true", "PruneLast=true"]
            }
        });
        let params = json!({"name": env, "server": server, "replicas": replicas,
            "registry": registry, "pullSecret": secret});
        apps.push(app(&format!("fastapi-agent-{env}"), spec, params));
    }
    let mut e = expansion(apps);
    for (i, what) in [
        (0, "replicas"),
        (1, "replicas"),
        (2, "replicas"),
        (0, "pullSecret"),
    ] {
        e.recovered.push(expand_error(
            "list-value-not-string",
            &format!("/spec/generators/0/list/elements/{i}/{what}"),
            "error parsing value as string",
        ));
    }
    (d, e)
}
