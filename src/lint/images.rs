//! Container images named in Helm values and kustomize overrides.

use serde_json::Value;

use super::util::{ImageRef, helm_values, parse_image, private_registry, scalar_text, walk};
use super::{Draft, Emitter, Severity, Target};

/// An image found in an Application's sources.
struct Image {
    /// As written (repository and tag joined).
    text: String,
    image: ImageRef,
    /// Application pointers of the repository and the tag (same for a string).
    repo_pointer: String,
    tag_pointer: String,
    /// Index into `Target::sources`.
    source: usize,
    /// Kustomize `images` keep the manifest's tag when they set none.
    kustomize: bool,
}

fn non_empty_text(v: Option<&Value>) -> Option<String> {
    v.and_then(scalar_text).filter(|s| !s.trim().is_empty())
}

fn images(t: &Target<'_>) -> Vec<Image> {
    let mut out = Vec::new();
    for (i, (sp, source)) in t.sources().into_iter().enumerate() {
        let all = helm_values(source, &sp);
        for vs in &all {
            walk(&vs.value, "", &mut |p, key, v| {
                let Some(key) = key else { return };
                if !key.to_ascii_lowercase().ends_with("image") {
                    return;
                }
                match v {
                    Value::Object(m) => {
                        let Some(repo) = non_empty_text(m.get("repository")) else {
                            return;
                        };
                        let full = match non_empty_text(m.get("registry")) {
                            Some(reg) => format!("{}/{repo}", reg.trim_end_matches('/')),
                            None => repo.clone(),
                        };
                        let mut image = parse_image(&full);
                        // Helm merges values, valuesObject and parameters: the tag
                        // may be set in another of them.
                        let tag = non_empty_text(m.get("tag")).or_else(|| {
                            all.iter()
                                .find_map(|o| non_empty_text(o.value.pointer(&format!("{p}/tag"))))
                        });
                        if tag.is_some() {
                            image.tag = tag.clone();
                        }
                        if non_empty_text(m.get("digest")).is_some() {
                            image.digest = true;
                        }
                        let tag_key = if m.contains_key("tag") { "/tag" } else { "" };
                        out.push(Image {
                            text: match &tag {
                                Some(tag) => format!("{full}:{tag}"),
                                None => full,
                            },
                            image,
                            repo_pointer: vs.at(&format!("{p}/repository")),
                            tag_pointer: vs.at(&format!("{p}{tag_key}")),
                            source: i,
                            kustomize: false,
                        });
                    }
                    Value::String(s) if !s.trim().is_empty() => out.push(Image {
                        text: s.clone(),
                        image: parse_image(s),
                        repo_pointer: vs.at(p),
                        tag_pointer: vs.at(p),
                        source: i,
                        kustomize: false,
                    }),
                    _ => {}
                }
            });
        }
        if let Some(Value::Array(list)) = source.pointer("/kustomize/images") {
            for (j, item) in list.iter().enumerate() {
                let Some(s) = item.as_str() else { continue };
                let reference = s.split_once('=').map_or(s, |(_, r)| r);
                let p = format!("{sp}/kustomize/images/{j}");
                out.push(Image {
                    text: s.to_string(),
                    image: parse_image(reference),
                    repo_pointer: p.clone(),
                    tag_pointer: p,
                    source: i,
                    kustomize: true,
                });
            }
        }
    }
    out.retain(|img| !img.text.contains("{{"));
    out
}

/// `mutable-image-tag`: `latest` or no tag.
pub fn mutable_image_tag(out: &mut Emitter<'_>, t: &Target<'_>) {
    for img in images(t) {
        if img.image.digest {
            continue;
        }
        let problem = match img.image.tag.as_deref() {
            Some(tag) if tag.eq_ignore_ascii_case("latest") => "has the tag `latest`",
            None if !img.kustomize => {
                "has no tag, so what runs depends on the chart's default (often `latest` or the \
                 chart's appVersion)"
            }
            _ => continue,
        };
        out.emit(
            Draft {
                rule: "mutable-image-tag",
                severity: Severity::Warning,
                application: t.application(),
                message: format!(
                    "Application `{}`: image `{}` {problem}; the same manifest can run different \
                     code, and a rollback does not roll the image back",
                    t.name, img.text
                ),
                advice: "pin an immutable tag such as a version or commit (`v1.2.3`, \
                         `sha-abc1234`) or a digest (`@sha256:…`)"
                    .to_string(),
            },
            &t.origin(&img.tag_pointer),
        );
    }
}

/// What the values of one source say about pull secrets.
enum PullSecrets {
    Set,
    /// Present but not a non-empty list: the text of what is there.
    Invalid(String),
    Absent,
}

fn pull_secrets(source: &Value, sp: &str) -> PullSecrets {
    let mut state = PullSecrets::Absent;
    for vs in helm_values(source, sp) {
        walk(&vs.value, "", &mut |_, key, v| {
            if !matches!(key, Some("imagePullSecrets" | "pullSecrets")) {
                return;
            }
            match v {
                Value::Array(items) if !items.is_empty() => state = PullSecrets::Set,
                // An array item is visited with its parent's key too.
                Value::Object(_) | Value::String(_) if matches!(state, PullSecrets::Set) => {}
                other => {
                    if !matches!(state, PullSecrets::Set) {
                        let text = match other {
                            Value::String(s) => format!("the string `{s}`"),
                            Value::Array(_) => "an empty list".to_string(),
                            Value::Null => "empty".to_string(),
                            _ => "not a list".to_string(),
                        };
                        state = PullSecrets::Invalid(text);
                    }
                }
            }
        });
        if matches!(state, PullSecrets::Set) {
            break;
        }
    }
    state
}

/// `missing-pull-secret`: a private registry without credentials.
pub fn missing_pull_secret(out: &mut Emitter<'_>, t: &Target<'_>) {
    let sources = t.sources();
    for img in images(t) {
        if img.kustomize {
            // The pull secrets are in the manifests kustomize renders, not here.
            continue;
        }
        let Some(kind) = private_registry(&img.image.registry) else {
            continue;
        };
        let Some((sp, source)) = sources.get(img.source) else {
            continue;
        };
        let why = match pull_secrets(source, sp) {
            PullSecrets::Set => continue,
            PullSecrets::Absent => "the Helm values set no `imagePullSecrets`".to_string(),
            PullSecrets::Invalid(what) => {
                format!("`imagePullSecrets` in the Helm values is {what}, not a list of secrets")
            }
        };
        out.emit(
            Draft {
                rule: "missing-pull-secret",
                severity: Severity::Error,
                application: t.application(),
                message: format!(
                    "Application `{}`: image `{}` comes from {kind} (`{}`), a private registry, \
                     but {why}; its pods would stay in ImagePullBackOff",
                    t.name, img.text, img.image.registry
                ),
                advice: "add `imagePullSecrets: [{name: <secret>}]` to the same values (the chart \
                         must pass it to the pod spec) and make sure that Secret (type \
                         kubernetes.io/dockerconfigjson) exists in the destination namespace"
                    .to_string(),
            },
            &t.origin(&img.repo_pointer),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;

    #[test]
    fn lesson_latest_and_ghcr_without_secret() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let t = of_rule(&f, "mutable-image-tag");
        let apps: Vec<_> = t.iter().map(|f| f.application.clone().unwrap()).collect();
        assert_eq!(
            apps,
            ["fastapi-agent-dev-docker.io", "fastapi-agent-dev-ghcr.io"]
        );
        assert_eq!(
            t[0].location.as_ref().unwrap().pos,
            d.pos("/spec/template/spec/source/helm/valuesInline/image/tag")
        );
        let s = of_rule(&f, "missing-pull-secret");
        let apps: Vec<_> = s.iter().map(|f| f.application.clone().unwrap()).collect();
        assert_eq!(
            apps,
            [
                "fastapi-agent-dev-ghcr.io",
                "fastapi-agent-prod-ghcr.io",
                "fastapi-agent-staging-ghcr.io"
            ]
        );
        assert!(s[0].message.contains("GitHub Container Registry"));
    }

    #[test]
    fn image_forms() {
        let d = doc(json!({"spec": {}}));
        let mut a = good_spec("a");
        a["source"]["helm"]["valuesObject"] = json!({
            "sidecar": {"image": "busybox"},
            "worker": {"image": {"registry": "123456789.dkr.ecr.us-east-1.amazonaws.com", "repository": "w", "tag": "1.0"}},
            "resources": {"requests": {"memory": "1Mi"}}
        });
        let mut k = good_spec("k");
        k["source"] = json!({"repoURL": "https://github.com/x/y", "path": "k", "targetRevision": "v1",
            "kustomize": {"images": ["app=ghcr.io/x/app:latest", "other=ghcr.io/x/other"]}});
        let mut p = good_spec("p");
        p["source"]["helm"] = json!({"parameters": [
            {"name": "image.repository", "value": "eu.gcr.io/x/app"},
            {"name": "image.tag", "value": "latest"}]});
        let e = expansion(vec![
            app("a", a, json!({})),
            app("k", k, json!({})),
            app("p", p, json!({})),
        ]);
        let f = lint(&d, &e);
        let t: Vec<_> = of_rule(&f, "mutable-image-tag")
            .iter()
            .map(|f| (f.application.clone().unwrap(), f.message.clone()))
            .collect();
        assert_eq!(t.len(), 3, "{t:#?}");
        assert!(t.iter().any(|(a, m)| a == "a" && m.contains("busybox")));
        assert!(t.iter().any(|(a, m)| a == "k" && m.contains("app:latest")));
        assert!(t.iter().any(|(a, _)| a == "p"));
        let s: Vec<_> = of_rule(&f, "missing-pull-secret")
            .iter()
            .map(|f| f.application.clone().unwrap())
            .collect();
        assert_eq!(s, ["a", "p"]);
    }

    #[test]
    fn tag_from_parameters_completes_values() {
        let d = doc(json!({"spec": {}}));
        let mut a = good_spec("a");
        a["source"]["helm"] = json!({
            "values": "image:\n  repository: bitnami/redis\nresources: {requests: {memory: 1Mi}}\n",
            "parameters": [{"name": "image.tag", "value": "7.2.4"}]
        });
        let e = expansion(vec![app("a", a, json!({}))]);
        assert!(of_rule(&lint(&d, &e), "mutable-image-tag").is_empty());
    }

    #[test]
    fn pull_secrets_satisfy_and_strings_do_not() {
        let d = doc(json!({"spec": {}}));
        let mut ok = good_spec("ok");
        ok["source"]["helm"]["valuesObject"]["image"]["repository"] =
            json!("123456789.dkr.ecr.us-east-1.amazonaws.com/agent");
        ok["source"]["helm"]["valuesObject"]["global"] =
            json!({"imagePullSecrets": [{"name": "ecr"}]});
        let mut bad = ok.clone();
        bad["source"]["helm"]["valuesObject"]["global"] = json!({});
        bad["source"]["helm"]["valuesObject"]["imagePullSecrets"] =
            json!("{{#pullSecret}}- name: ecr{{/pullSecret}}");
        let e = expansion(vec![app("ok", ok, json!({})), app("bad", bad, json!({}))]);
        let f = lint(&d, &e);
        let s = of_rule(&f, "missing-pull-secret");
        assert_eq!(s.len(), 1, "{s:#?}");
        assert_eq!(s[0].application.as_deref(), Some("bad"));
        assert!(s[0].message.contains("the string"));
        assert!(of_rule(&f, "mutable-image-tag").is_empty());
    }
}
