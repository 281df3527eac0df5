//! Whole-lesson tests: what a user reproducing the lesson sees.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::json;

use super::testutil::*;
use super::{RULES, lint_application};

fn counts(f: &[super::Finding]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for x in f {
        *m.entry(x.rule.as_str()).or_default() += 1;
    }
    m
}

#[test]
fn rule_names_are_unique_kebab_case() {
    let mut seen = BTreeSet::new();
    for r in RULES {
        let (name, desc) = (r.name, r.summary);
        assert!(seen.insert(name), "duplicate rule {name}");
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{name}"
        );
        assert!(!desc.is_empty());
    }
}

#[test]
fn every_finding_is_a_known_rule_with_advice_and_place() {
    for (d, e) in [lesson_round1(), lesson_round3()] {
        for f in lint(&d, &e) {
            let rule = super::rule(&f.rule).unwrap_or_else(|| panic!("{}", f.rule));
            assert_eq!(rule.severity, f.severity, "{}", f.rule);
            assert!(!f.advice.is_empty() && !f.message.is_empty());
            assert!(f.location.as_ref().and_then(|l| l.pos).is_some(), "{f:?}");
        }
    }
}

#[test]
fn lesson_round1_findings() {
    let (d, e) = lesson_round1();
    let f = lint(&d, &e);
    let want: BTreeMap<&str, usize> = [
        ("chart-from-git-repo", 6),
        ("matrix-cross-product", 1),
        ("missing-pull-secret", 3),
        ("missing-resources", 6),
        ("mutable-image-tag", 2),
        ("mutable-target-revision", 6),
        ("placeholder-server", 6),
        ("prod-auto-prune", 2),
        ("unknown-field", 1),
        ("unquoted-template", 3),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts(&f), want);
    // Sorted by line, then rule.
    let lines: Vec<usize> = f
        .iter()
        .map(|x| x.location.as_ref().unwrap().pos.unwrap().line)
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn lesson_round3_findings() {
    let (d, e) = lesson_round3();
    let f = lint(&d, &e);
    let want: BTreeMap<&str, usize> = [
        ("chart-from-git-repo", 3),
        ("foreign-template-syntax", 2),
        ("list-value-not-string", 4),
        ("missing-pull-secret", 2),
        ("mutable-target-revision", 3),
        ("placeholder-server", 2),
        ("prod-auto-prune", 1),
        ("unknown-field", 1),
        ("unquoted-template", 4),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts(&f), want, "{f:#?}");
    let prune = of_rule(&f, "prod-auto-prune");
    assert_eq!(prune[0].application.as_deref(), Some("fastapi-agent-prod"));
    let foreign = of_rule(&f, "foreign-template-syntax");
    assert!(foreign.iter().any(|x| x.message.contains("{{#if autoSync")
        && x.message.contains("{{/if}}")
        && x.message.contains("dropped")));
}

#[test]
fn lesson_checklist_application() {
    // Checklist item 7: a placeholder nobody renders, in a plain Application.
    let d = doc(
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "agent-prod"},
        "spec": {"project": "default",
            "source": {"repoURL": "https://charts.corp.io", "chart": "agent", "targetRevision": "1.0.0",
                "helm": {"valuesObject": {"image": "ghcr.io/organization/agent:{{ version }}",
                    "imagePullSecrets": [{"name": "ghcr-credentials"}],
                    "resources": {"requests": {"memory": "256Mi"}}}}},
            "destination": {"server": "https://prod-eks-cluster.example.com", "namespace": "production-agents"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}}),
    );
    let f = lint_application(Path::new("app.yaml"), &d);
    let want: BTreeMap<&str, usize> = [
        ("placeholder-server", 1),
        ("prod-auto-prune", 1),
        ("unrendered-placeholder", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts(&f), want, "{f:#?}");
    assert!(f.iter().all(|x| x.application.is_none()));
    let u = of_rule(&f, "unrendered-placeholder");
    assert!(u[0].message.contains("{{ version }}"));
    assert_eq!(
        u[0].location.as_ref().unwrap().pos,
        d.pos("/spec/source/helm/valuesObject/image")
    );
}

#[test]
fn hostile_shapes_do_not_panic() {
    let mut deep = json!("x");
    for _ in 0..500 {
        deep = json!({"a": [deep]});
    }
    for v in [
        json!(null),
        json!([1, 2]),
        json!({"spec": "text"}),
        json!({"spec": {"generators": {"matrix": 1}, "template": []}}),
        json!({"spec": {"generators": [{"matrix": {"generators": [{"list": {"elements": 3}}, {}]}}]}}),
        json!({"spec": {"template": {"spec": {"source": {"helm": {"values": "{{ : :", "parameters": [1, {"name": "a..b"}]}}}}}}),
        json!({"spec": {"deep": deep}}),
    ] {
        let d = doc(v.clone());
        let mut weird = good_spec("w");
        weird["source"]["helm"]["valuesObject"]["resources"] =
            json!({"requests": "x", "limits": {"memory": "ä"}});
        weird["destination"]["server"] = json!("https://[::1");
        let e = expansion(vec![
            app("a", v.clone(), json!(null)),
            app("w", weird, json!([])),
        ]);
        let _ = lint(&d, &e);
        let _ = lint_application(Path::new("x"), &d);
    }
}

#[test]
fn bare_application_with_mustache_sections() {
    let mut d = doc(
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "agent-dev"},
        "spec": {"project": "default",
            "source": {"repoURL": "https://github.com/x/y", "path": "k8s", "targetRevision": "v1"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "agents"},
            "syncPolicy": {"syncOptions": []}}}),
    );
    recovery(&mut d, "/spec/syncPolicy", "{{#if autoSync}}");
    let f = lint_application(Path::new("app.yaml"), &d);
    assert_eq!(
        counts(&f),
        [("foreign-template-syntax", 1)].into_iter().collect()
    );
}

#[test]
fn lesson_round1_reads_as_one_entry_per_mistake() {
    let (d, e) = lesson_round1();
    let f = lint(&d, &e);
    let groups = super::group(&f);
    assert_eq!(
        groups.iter().map(|g| g.members.len()).sum::<usize>(),
        f.len()
    );
    // One template line, six Applications: one mistake.
    let chart: Vec<_> = groups
        .iter()
        .filter(|g| g.rule() == "chart-from-git-repo")
        .collect();
    assert_eq!(chart.len(), 1);
    assert_eq!(chart[0].applications().len(), 6);
    // Three unquoted templates on three lines stay three mistakes.
    let unquoted = groups
        .iter()
        .filter(|g| g.rule() == "unquoted-template")
        .count();
    assert_eq!(unquoted, 3);
    assert!(groups.len() < f.len());
}
