//! The command line as users meet it: exit codes, JSON shape, the lesson's
//! findings, reports written to files, and what they read in the terminal.

use std::collections::BTreeSet;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn cmd() -> Command {
    let mut c = Command::cargo_bin("gitops-e2e").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    // Reports as read outside GitHub Actions, wherever the tests run.
    c.env_remove("GITHUB_ACTIONS");
    c
}

fn plan_json(file: &str) -> (i32, Value) {
    let out = cmd()
        .args(["plan", file, "--format", "json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "plan {file} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), json)
}

fn names(report: &Value) -> Vec<String> {
    report["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

fn rules(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn first_draft_plans_the_six_matrix_combinations_and_every_lesson_mistake() {
    let (code, report) = plan_json("scenarios/lesson/01-first-draft.yaml");
    assert_eq!(code, 1);
    let mut got = names(&report);
    got.sort();
    let mut want: Vec<String> = ["dev", "staging", "prod"]
        .iter()
        .flat_map(|e| ["docker.io", "ghcr.io"].map(|r| format!("fastapi-agent-{e}-{r}")))
        .collect();
    want.sort();
    assert_eq!(got, want);
    let rules = rules(&report);
    for rule in [
        "matrix-cross-product",
        "unquoted-template",
        "list-value-not-string",
        "unknown-field",
        "placeholder-server",
        "prod-auto-prune",
        "missing-pull-secret",
    ] {
        assert!(rules.contains(rule), "no `{rule}` in {rules:?}");
    }
    let unknown = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "unknown-field")
        .unwrap();
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("valuesInline")
    );
    assert!(unknown["advice"].as_str().unwrap().contains("valuesObject"));
    let location = unknown["location"].as_str().unwrap();
    assert!(
        location.starts_with("scenarios/lesson/appsets/01-first-draft.yaml:"),
        "{location}"
    );
    for f in report["findings"].as_array().unwrap() {
        let severity = f["severity"].as_str().unwrap();
        assert!(severity == "error" || severity == "warning", "{f}");
    }
}

#[test]
fn part_three_plans_three_applications_on_the_right_servers_and_passes() {
    let (code, report) = plan_json("scenarios/lesson/03-constraints.yaml");
    assert_eq!(code, 0, "{report:#}");
    let servers: Vec<(String, String)> = report["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["server"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        servers,
        [
            ("fastapi-agent-dev", "https://kubernetes.default.svc"),
            (
                "fastapi-agent-staging",
                "https://staging-eks-cluster-xyz.eks.amazonaws.com"
            ),
            (
                "fastapi-agent-prod",
                "https://prod-eks-cluster-abc.eks.amazonaws.com"
            ),
        ]
        .map(|(n, s)| (n.to_string(), s.to_string()))
    );
    for app in report["applications"].as_array().unwrap() {
        assert_eq!(app["project"], "default");
        assert_eq!(app["namespace"], "agents");
        assert!(app["spec"]["source"]["helm"]["values"].is_string());
    }
    let prod = &report["applications"][2]["spec"];
    assert!(
        prod["syncPolicy"]["automated"].is_null(),
        "prod must sync by hand: {prod}"
    );
    let checks = report["steps"][0]["checks"].as_array().unwrap();
    assert!(checks.len() >= 10);
    assert!(checks.iter().all(|c| c["outcome"]["status"] == "passed"));
    assert!(report["findings"].as_array().unwrap().is_empty());
}

#[test]
fn refined_draft_reports_foreign_template_syntax() {
    let (code, report) = plan_json("scenarios/lesson/02-refined.yaml");
    assert_eq!(code, 1);
    let rules = rules(&report);
    assert!(rules.contains("foreign-template-syntax"), "{rules:?}");
    assert!(rules.contains("unquoted-template"), "{rules:?}");
}

#[test]
fn a_bare_application_set_can_be_planned() {
    let (code, report) = plan_json("scenarios/lesson/appsets/03-constraints.yaml");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(names(&report).len(), 3);
}

#[test]
fn reports_are_written_as_junit_json_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    cmd()
        .args(["plan", "scenarios/lesson/01-first-draft.yaml"])
        .arg("--junit")
        .arg(p("r.xml"))
        .arg("--json")
        .arg(p("r.json"))
        .arg("--markdown")
        .arg(p("r.md"))
        .assert()
        .code(1);
    let xml = std::fs::read_to_string(p("r.xml")).unwrap();
    assert!(xml.contains("<testsuite name=\"lint\""), "{xml}");
    assert!(xml.contains("matrix-cross-product"));
    assert!(xml.contains("<failure"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(p("r.json")).unwrap()).unwrap();
    assert_eq!(json["command"], "plan");
    let md = std::fs::read_to_string(p("r.md")).unwrap();
    assert!(
        md.starts_with("## ❌ gitops-e2e plan `lesson-01-first-draft`"),
        "{md}"
    );
    assert!(md.contains("| 🔴 error | `unknown-field` |"));
    // One row per mistake, with the Applications it shows in.
    assert!(md.contains("15 mistakes, reported as 39 findings"), "{md}");
    assert_eq!(md.matches("`chart-from-git-repo`").count(), 1, "{md}");
}

#[test]
fn lint_takes_manifests_and_lists_its_rules() {
    cmd()
        .args(["lint", "scenarios/lesson/appsets/01-first-draft.yaml"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("unquoted-template"));
    cmd()
        .args(["lint", "scenarios/lesson/appsets/03-constraints.yaml"])
        .assert()
        .code(0);
    let out = cmd().args(["lint", "--rules"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for rule in [
        "unquoted-template",
        "duplicate-application-name",
        "namespace-mismatch",
    ] {
        assert!(text.contains(rule), "{text}");
    }
}

#[test]
fn explain_tells_every_rule_and_suggests_the_closest_name() {
    let out = cmd().arg("explain").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let list = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = list
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(names.len() >= 30, "{list}");
    for name in names {
        let out = cmd().args(["explain", name]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        let text = String::from_utf8(out.stdout).unwrap();
        for part in ["Why:", "Wrong:", "Right:", "Fix:"] {
            assert!(text.contains(part), "{name}: {text}");
        }
    }
    cmd()
        .args(["explain", "unquoted-templat"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "did you mean `unquoted-template`?",
        ));
}

#[test]
fn in_github_actions_each_mistake_is_one_annotation() {
    let out = cmd()
        .env("GITHUB_ACTIONS", "true")
        .args(["plan", "scenarios/lesson/01-first-draft.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let commands: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("::error ") || l.starts_with("::warning "))
        .collect();
    assert_eq!(commands.len(), 15, "{text}");
    let chart = commands
        .iter()
        .find(|l| l.contains("title=chart-from-git-repo"))
        .unwrap();
    assert!(
        chart.starts_with(
            "::error file=scenarios/lesson/appsets/01-first-draft.yaml,line=41,col=9,\
             title=chart-from-git-repo::[fastapi-agent-dev-docker.io, "
        ),
        "{chart}"
    );
    assert!(chart.contains("… 6 Applications]"), "{chart}");
    assert!(chart.contains("%0Ahelp: "), "{chart}");
    assert!(commands.iter().any(|l| l.starts_with("::warning ")));

    // JSON on standard output stays JSON; the annotations go to stderr.
    let out = cmd()
        .env("GITHUB_ACTIONS", "true")
        .args(["lint", "scenarios/lesson/appsets/01-first-draft.yaml"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice::<Value>(&out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("::error file="), "{stderr}");

    // Outside GitHub Actions: none.
    let out = cmd()
        .args(["plan", "scenarios/lesson/01-first-draft.yaml"])
        .output()
        .unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains("::error"));
}

#[test]
fn lint_rejects_kinds_it_does_not_lint() {
    cmd()
        .args(["lint", "scenarios/lesson/fixtures/ecr-prod-secret.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot lint kind `Namespace`"));
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_file() {
    cmd()
        .args(["plan", "no/such/file.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot read `no/such/file.yaml`"));
    cmd()
        .args(["plan", "kind-configs/single-node.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "neither a Scenario nor an ApplicationSet",
        ));
    cmd().args(["frobnicate"]).assert().code(2);
    cmd()
        .args(["run", "scenarios/lesson/appsets/03-constraints.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a scenario"));
}

#[test]
fn help_explains_the_commands_and_exit_codes() {
    let out = cmd().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["plan", "lint", "run", "schema", "Exit codes"] {
        assert!(text.contains(word), "{text}");
    }
}

#[test]
fn schema_matches_the_checked_in_copy() {
    let out = cmd().arg("schema").output().unwrap();
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/scenario.schema.json");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(printed, stored, "refresh with `make schema`");
}

#[test]
fn terminal_report_of_the_part_three_plan() {
    let out = cmd()
        .args(["plan", "scenarios/lesson/03-constraints.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    insta::with_settings!({filters => vec![(r"\(\d+ ms\)", "(N ms)")]}, {
        insta::assert_snapshot!(text);
    });
}

/// The first draft reads as its mistakes: one entry per rule and place,
/// with the Applications it shows in, not one per Application.
#[test]
fn terminal_report_of_the_first_draft_groups_findings_by_mistake() {
    let out = cmd()
        .args(["plan", "scenarios/lesson/01-first-draft.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    insta::with_settings!({filters => vec![(r"\(\d+ ms\)", "(N ms)")]}, {
        insta::assert_snapshot!(text);
    });
}

#[test]
fn json_keeps_one_finding_per_application_each_with_its_group() {
    let (_, report) = plan_json("scenarios/lesson/01-first-draft.yaml");
    let findings = report["findings"].as_array().unwrap();
    let mut groups: std::collections::BTreeMap<&str, Vec<&Value>> = Default::default();
    for f in findings {
        let id = f["group"].as_str().unwrap();
        assert_eq!(id.len(), 16, "{f}");
        groups.entry(id).or_default().push(f);
    }
    assert!(groups.len() < findings.len());
    for members in groups.values() {
        // A group is one rule at one place.
        let first = members[0];
        for m in members {
            assert_eq!(m["rule"], first["rule"]);
            assert_eq!(m["location"], first["location"]);
        }
    }
    let chart: Vec<_> = findings
        .iter()
        .filter(|f| f["rule"] == "chart-from-git-repo")
        .collect();
    assert_eq!(chart.len(), 6);
    assert!(chart.iter().all(|f| f["group"] == chart[0]["group"]));
    // Deterministic: a second run gives the same ids.
    let (_, again) = plan_json("scenarios/lesson/01-first-draft.yaml");
    assert_eq!(again["findings"], report["findings"]);
}

#[test]
fn run_without_the_toolchain_is_an_environment_error_before_anything_starts() {
    cmd()
        .args([
            "run",
            "scenarios/lesson/03-constraints.yaml",
            "--provider",
            "kwok",
        ])
        .env("GITOPS_E2E_CACHE", "/nonexistent")
        .env_remove("GITOPS_E2E_TOOLCHAIN")
        .assert()
        .code(3)
        .stderr(predicates::str::contains(
            "error: a live run needs the upstream toolchain, git and redis-server",
        ))
        .stderr(predicates::str::contains("run `make toolchain`"));
}

/// A run that stops (exit 3) still writes every report it was asked for,
/// saying it stopped and why, with the offline checks that completed.
#[test]
fn a_stopped_run_writes_its_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit, md) = (
        dir.path().join("r.json"),
        dir.path().join("r.xml"),
        dir.path().join("r.md"),
    );
    cmd()
        .args([
            "run",
            "scenarios/lesson/03-constraints.yaml",
            "--provider",
            "kwok",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md)
        .env("GITOPS_E2E_CACHE", "/nonexistent")
        .env_remove("GITOPS_E2E_TOOLCHAIN")
        .assert()
        .code(3);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["stopped"]["kind"], "environment", "{report:#}");
    assert_eq!(report["stopped"]["exit_code"], 3, "{report:#}");
    assert!(
        report["stopped"]["reason"]
            .as_str()
            .unwrap()
            .contains("toolchain"),
        "{report:#}"
    );
    let steps = report["steps"].as_array().unwrap();
    let skipped: Vec<&str> = steps
        .iter()
        .filter(|s| {
            s["skipped"]
                .as_str()
                .is_some_and(|r| r.starts_with("not reached"))
        })
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        ["dry-run", "diff", "count", "sync", "assert"],
        "{report:#}"
    );
    assert_eq!(steps[0]["step"], "plan");
    assert!(!steps[0]["checks"].as_array().unwrap().is_empty());
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(junit.contains("<error"), "{junit}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("STOPPED") || md.contains("stopped"), "{md}");
}

#[test]
fn init_writes_a_scenario_that_plans_right_away() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    let out = cmd()
        .args(["init", "scenarios/lesson/appsets/03-constraints.yaml", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("- name: in-cluster"), "{text}");
    assert!(
        text.contains("#    - url: https://your-org.github.io/helm-charts"),
        "{text}"
    );

    let (code, report) = plan_json(file.to_str().unwrap());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        names(&report),
        [
            "fastapi-agent-dev",
            "fastapi-agent-staging",
            "fastapi-agent-prod"
        ]
    );
    let checks = report["steps"][0]["checks"].as_array().unwrap();
    // The Application set, then a cluster and a namespace per Application.
    assert_eq!(checks.len(), 1 + 3 * 2, "{checks:#?}");

    // Without -o the same scenario goes to standard output, with paths
    // relative to the current directory.
    let out = cmd()
        .args(["init", "scenarios/lesson/appsets/03-constraints.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("applicationSet: scenarios/lesson/appsets/03-constraints.yaml"),
        "{stdout}"
    );
}

#[test]
fn init_never_overwrites_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, "mine\n").unwrap();
    let out = cmd()
        .args(["init", "scenarios/lesson/appsets/03-constraints.yaml", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already exists; init does not overwrite it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n");
}
