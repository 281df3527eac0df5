//! How Applications sync: automated pruning and moving revisions.

use serde_json::Value;

use super::util::{PROD_WORDS, dotted, scalar_text, words};
use super::{Draft, Emitter, Severity, Target};

/// Why an Application looks like production, if it does.
fn production_evidence(t: &Target<'_>) -> Option<String> {
    let checks = [
        ("name", Some(t.name.as_str())),
        (
            "destination namespace",
            t.str_at("/spec/destination/namespace"),
        ),
        ("destination server", t.str_at("/spec/destination/server")),
        ("destination name", t.str_at("/spec/destination/name")),
    ];
    // The word, not the whole value: a finding grouped over several
    // Applications reads true for each of them.
    let word = |s: &str| words(s).find(|w| PROD_WORDS.contains(&w.as_str()));
    for (what, text) in checks {
        if let Some(w) = text.and_then(word) {
            return Some(format!("its {what} has the word `{w}`"));
        }
    }
    let params = t.params.and_then(Value::as_object)?;
    params.iter().find_map(|(k, v)| {
        v.as_str()
            .and_then(word)
            .map(|w| format!("its parameter `{k}` has the word `{w}`"))
    })
}

fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
        _ => None,
    }
}

/// `prod-auto-prune`: automated sync with pruning on production.
pub fn prod_auto_prune(out: &mut Emitter<'_>, t: &Target<'_>) {
    let Some(auto) = t
        .manifest
        .pointer("/spec/syncPolicy/automated")
        .filter(|a| a.is_object())
    else {
        return;
    };
    if truthy(auto.get("enabled")) == Some(false) || truthy(auto.get("prune")) != Some(true) {
        return;
    }
    let Some(evidence) = production_evidence(t) else {
        return;
    };
    out.emit(
        Draft {
            rule: "prod-auto-prune",
            severity: Severity::Error,
            application: t.application(),
            message: format!(
                "Application `{}`: looks like production ({evidence}) and syncs automatically with \
                 `prune: true`: a commit that drops a resource deletes it from production with \
                 nobody reviewing the diff",
                t.name
            ),
            advice: "sync production manually (no `automated` for it: with an ApplicationSet use \
                     `goTemplate: true` and a `templatePatch` that adds `automated` only outside \
                     production), or set `prune: false` and add the sync option `PruneLast=true`"
                .to_string(),
        },
        &t.origin("/spec/syncPolicy/automated/prune"),
    );
}

const BRANCHES: &[&str] = &[
    "head",
    "main",
    "master",
    "develop",
    "development",
    "dev",
    "trunk",
];

/// Whether a Helm chart version constraint can resolve to different versions.
fn chart_range(rev: &str) -> bool {
    let r = rev.trim();
    r == "*"
        || r.eq_ignore_ascii_case("latest")
        || r.starts_with(['^', '~', '>', '<', '='])
        || r.contains("||")
        || r.contains(" - ")
        || r.split('.').any(|p| p == "x" || p == "X" || p == "*")
}

/// `mutable-target-revision`: a revision that moves under the Application.
pub fn mutable_target_revision(out: &mut Emitter<'_>, t: &Target<'_>) {
    for (sp, source) in t.sources() {
        let rev = source
            .get("targetRevision")
            .and_then(scalar_text)
            .unwrap_or_default();
        if rev.contains("{{") {
            continue;
        }
        let chart = source
            .get("chart")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty());
        let field = dotted(&format!("{sp}/targetRevision"));
        let branch = BRANCHES.contains(&rev.to_ascii_lowercase().as_str());
        let problem = match chart {
            Some(chart) if rev.is_empty() => Some(format!(
                "Helm chart `{chart}` has no `targetRevision`, so whichever version is newest \
                 gets deployed"
            )),
            Some(chart) if branch => Some(format!(
                "`{field}` is `{rev}`, a git branch, but the source is the Helm chart `{chart}`: \
                 a chart source needs a chart version"
            )),
            Some(chart) if chart_range(&rev) => Some(format!(
                "`{field}` of Helm chart `{chart}` is the range `{rev}`: each refresh may \
                 deploy a different chart version"
            )),
            Some(_) => None,
            None if rev.is_empty() => Some(format!(
                "`{field}` is not set, so the source follows the repository's default branch \
                 (`HEAD`)"
            )),
            None if branch => Some(format!(
                "`{field}` is the branch `{rev}`: every push deploys, and the same manifest \
                 means different things over time"
            )),
            None => None,
        };
        let Some(problem) = problem else { continue };
        out.emit(
            Draft {
                rule: "mutable-target-revision",
                severity: Severity::Warning,
                application: t.application(),
                message: format!("Application `{}`: {problem}", t.name),
                advice: if chart.is_some() {
                    "pin an exact chart version, e.g. `targetRevision: 1.4.2`".to_string()
                } else {
                    "pin a tag or commit SHA (e.g. `v1.2.3`), at least for production; \
                     promote by changing it in Git"
                        .to_string()
                },
            },
            &t.origin(&format!("{sp}/targetRevision")),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testutil::*;
    use super::chart_range;

    #[test]
    fn lesson_prunes_production_automatically() {
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let p = of_rule(&f, "prod-auto-prune");
        let apps: Vec<_> = p.iter().map(|f| f.application.clone().unwrap()).collect();
        assert_eq!(
            apps,
            ["fastapi-agent-prod-docker.io", "fastapi-agent-prod-ghcr.io"],
            "{p:#?}"
        );
        assert_eq!(
            p[0].location.as_ref().unwrap().pos,
            d.pos("/spec/template/spec/syncPolicy/automated/prune")
        );
        assert!(p[0].advice.contains("PruneLast"));
    }

    #[test]
    fn patched_in_fields_point_at_the_template_patch() {
        let d = doc(json!({"spec": {
            "goTemplate": true,
            "template": {"spec": {"syncPolicy": {"syncOptions": []}}},
            "templatePatch": "spec:\n  syncPolicy:\n    automated:\n      prune: true\n"
        }}));
        let mut s = good_spec("prod");
        s["syncPolicy"]["automated"] = json!({"prune": true});
        let e = expansion(vec![app("agent-prod", s, json!({}))]);
        let f = lint(&d, &e);
        let p = of_rule(&f, "prod-auto-prune");
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].location.as_ref().unwrap().pos,
            d.pos("/spec/templatePatch")
        );
    }

    #[test]
    fn non_production_or_no_prune_is_fine() {
        let d = doc(json!({"spec": {}}));
        let mut a = good_spec("product-catalog");
        a["syncPolicy"]["automated"] = json!({"prune": true, "selfHeal": true});
        let mut b = good_spec("prod");
        b["syncPolicy"]["automated"] = json!({"prune": false, "selfHeal": true});
        let mut c = good_spec("prod");
        c["syncPolicy"]["automated"] = json!({"prune": true, "enabled": false});
        let e = expansion(vec![
            app("product-catalog", a, json!({"env": "dev"})),
            app("agent-prod", b, json!({})),
            app("agent-prd", c, json!({})),
        ]);
        assert!(of_rule(&lint(&d, &e), "prod-auto-prune").is_empty());
    }

    #[test]
    fn production_from_params() {
        let d = doc(json!({"spec": {}}));
        let mut a = good_spec("x");
        a["syncPolicy"]["automated"] = json!({"prune": true});
        let e = expansion(vec![app("agent-eu", a, json!({"stage": "production"}))]);
        let p = lint(&d, &e);
        let p = of_rule(&p, "prod-auto-prune");
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("`stage`"));
    }

    #[test]
    fn revisions() {
        assert!(chart_range("^1.2"));
        assert!(chart_range("1.x"));
        assert!(chart_range(">=1.0.0 <2.0.0"));
        assert!(!chart_range("1.4.2"));
        let (d, e) = lesson_round1();
        let f = lint(&d, &e);
        let r = of_rule(&f, "mutable-target-revision");
        assert_eq!(r.len(), 6);
        assert!(r[0].message.contains("git branch"));
        let d = doc(json!({"spec": {}}));
        let mut git = good_spec("g");
        git["source"] =
            json!({"repoURL": "https://github.com/x/y", "path": "k8s", "targetRevision": "main"});
        let mut pinned = good_spec("p");
        pinned["source"] =
            json!({"repoURL": "https://github.com/x/y", "path": "k8s", "targetRevision": "v1.2.3"});
        let mut range = good_spec("r");
        range["source"]["targetRevision"] = json!("~1.4");
        let e = expansion(vec![
            app("g", git, json!({})),
            app("p", pinned, json!({})),
            app("r", range, json!({})),
            app("ok", good_spec("ok"), json!({})),
        ]);
        let f = lint(&d, &e);
        let apps: Vec<_> = of_rule(&f, "mutable-target-revision")
            .iter()
            .map(|f| f.application.clone().unwrap())
            .collect();
        assert_eq!(apps, ["g", "r"]);
    }
}
