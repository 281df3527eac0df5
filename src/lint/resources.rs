//! Resource requests and limits in Helm values.

use serde_json::Value;

use super::util::{ValuesSource, helm_values, scalar_text, walk};
use super::{Draft, Emitter, Severity, Target};

/// A Kubernetes quantity (`512Mi`, `250m`, `0.5`) in base units.
fn quantity(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(n * factor)
}

/// A chart whose values name an image or replicas runs pods of its own.
fn deployment_like(sources: &[ValuesSource]) -> bool {
    sources.iter().any(|vs| {
        let mut found = false;
        walk(&vs.value, "", &mut |_, key, _| {
            if let Some(k) = key {
                let k = k.to_ascii_lowercase();
                found |= k.ends_with("image") || k == "replicacount" || k == "replicas";
            }
        });
        found
    })
}

/// `missing-resources`: no requests/limits, or inconsistent ones.
pub fn missing_resources(out: &mut Emitter<'_>, t: &Target<'_>) {
    for (sp, source) in t.sources() {
        let sources = helm_values(source, &sp);
        if sources.is_empty() || !deployment_like(&sources) {
            continue;
        }
        let mut blocks = Vec::new();
        for vs in &sources {
            walk(&vs.value, "", &mut |p, key, v| {
                if key == Some("resources") && v.is_object() {
                    blocks.push((vs.at(p), v.clone()));
                }
            });
        }
        let emit = |out: &mut Emitter<'_>, pointer: &str, message: String, advice: &str| {
            out.emit(
                Draft {
                    rule: "missing-resources",
                    severity: Severity::Warning,
                    application: t.application(),
                    message: format!("Application `{}`: {message}", t.name),
                    advice: advice.to_string(),
                },
                &t.origin(pointer),
            );
        };
        if blocks
            .iter()
            .all(|(_, b)| b.as_object().is_none_or(|m| m.is_empty()))
        {
            let pointer = blocks
                .first()
                .map_or_else(|| sources[0].pointer.clone(), |(p, _)| p.clone());
            emit(
                out,
                &pointer,
                "the Helm values set no resource requests or limits; pods get whatever the \
                 namespace defaults give them and can starve their neighbours"
                    .to_string(),
                "set `resources.requests` (cpu, memory) and at least a memory limit, sized per \
                 environment",
            );
            continue;
        }
        for (pointer, block) in &blocks {
            let requests = block.get("requests").filter(|r| !r.is_null());
            let limits = block.get("limits").filter(|l| !l.is_null());
            if limits.is_some() && requests.is_none() {
                emit(
                    out,
                    pointer,
                    "`resources` sets limits without requests: Kubernetes then requests the \
                     limits, so the scheduler reserves the maximum"
                        .to_string(),
                    "set `resources.requests` to what the workload normally needs",
                );
                continue;
            }
            let (Some(requests), Some(limits)) = (requests, limits) else {
                continue;
            };
            for res in ["memory", "cpu"] {
                let get = |v: &Value| v.get(res).and_then(scalar_text);
                let (Some(req), Some(lim)) = (get(requests), get(limits)) else {
                    continue;
                };
                if let (Some(r), Some(l)) = (quantity(&req), quantity(&lim)) {
                    if l < r {
                        emit(
                            out,
                            &format!("{pointer}/limits/{res}"),
                            format!(
                                "the {res} limit `{lim}` is below the {res} request `{req}`; \
                                 the API server rejects such a pod"
                            ),
                            "make the limit at least the request",
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;
    use super::quantity;

    #[test]
    fn quantities() {
        assert_eq!(quantity("250m"), Some(0.25));
        assert_eq!(quantity("1Gi"), Some(1073741824.0));
        assert!(quantity("512Mi") < quantity("1G"));
        assert_eq!(quantity("lots"), None);
    }

    #[test]
    fn lesson_values_have_no_resources() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let r = of_rule(&f, "missing-resources");
        assert_eq!(r.len(), 6);
        assert_eq!(
            r[0].location.as_ref().unwrap().pos,
            d.pos("/spec/template/spec/source/helm/valuesInline")
        );
    }

    #[test]
    fn inconsistent_and_good_resources() {
        let d = doc(json!({"spec": {}}));
        let mut a = good_spec("a");
        a["source"]["helm"]["valuesObject"]["resources"] = json!({"limits": {"memory": "512Mi"}});
        let mut b = good_spec("b");
        b["source"]["helm"]["valuesObject"]["resources"] =
            json!({"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}});
        let mut plain = good_spec("plain");
        plain["source"] =
            json!({"repoURL": "https://github.com/x/y", "path": "k", "targetRevision": "v1"});
        let e = expansion(vec![
            app("a", a, json!({})),
            app("b", b, json!({})),
            app("ok", good_spec("ok"), json!({})),
            app("plain", plain, json!({})),
        ]);
        let f = lint(&d, &e);
        let r = of_rule(&f, "missing-resources");
        let apps: Vec<_> = r.iter().map(|f| f.application.clone().unwrap()).collect();
        assert_eq!(apps, ["a", "b"], "{r:#?}");
        assert!(r[1].message.contains("below"));
    }
}
