//! `--sarif` writes SARIF 2.1.0 that the official schema accepts, with one
//! result per mistake and the mistake's group id as fingerprint.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn cmd() -> Command {
    let mut c = Command::cargo_bin("gitops-e2e").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    // Reports as read outside GitHub Actions, wherever the tests run.
    c.env_remove("GITHUB_ACTIONS");
    c
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sarif/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // The official `language` patterns (of `run` and `toolComponent`) have
    // a stray `]` (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`): ECMA-262
    // reads it as a literal, the validator's regex engine refuses the
    // schema. The reports never write `language`; the intended pattern
    // stands in for it.
    for owner in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][owner]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

/// Runs the command with `--sarif` into a temporary file; the SARIF and the
/// JSON report of the same run.
fn sarif_of(args: &[&str]) -> (Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    let json = dir.path().join("out.json");
    cmd()
        .args(args)
        .arg("--sarif")
        .arg(&sarif)
        .arg("--json")
        .arg(&json)
        .assert()
        .code(1);
    let read = |p: &Path| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    (read(&sarif), read(&json))
}

fn assert_valid(sarif: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{sarif:#}");
}

#[test]
fn the_first_draft_plan_is_valid_sarif_with_one_result_per_mistake() {
    let (sarif, report) = sarif_of(&["plan", "scenarios/lesson/01-first-draft.yaml"]);
    assert_valid(&sarif);
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "gitops-e2e");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let groups: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["group"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), groups.len());
    let mut fingerprints = BTreeSet::new();
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index], id);
        assert!(["error", "warning"].contains(&r["level"].as_str().unwrap()));
        let fp = r["partialFingerprints"]["gitopsE2eMistake/v1"]
            .as_str()
            .unwrap();
        assert!(groups.contains(fp), "{fp}");
        assert!(fingerprints.insert(fp), "two results for {fp}");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"],
            "scenarios/lesson/appsets/01-first-draft.yaml"
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() > 0);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() > 0);
    }
    let chart = results
        .iter()
        .find(|r| r["ruleId"] == "chart-from-git-repo")
        .unwrap();
    assert_eq!(
        chart["properties"]["applications"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert!(
        chart["message"]["text"]
            .as_str()
            .unwrap()
            .contains("… 6 Applications")
    );
}

#[test]
fn lint_writes_valid_sarif_too() {
    let (sarif, _) = sarif_of(&[
        "lint",
        "scenarios/lesson/appsets/01-first-draft.yaml",
        "scenarios/lesson/appsets/02-refined.yaml",
    ]);
    assert_valid(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let files: BTreeSet<&str> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
}

#[test]
fn a_clean_plan_is_valid_sarif_with_no_results() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    cmd()
        .args(["plan", "scenarios/lesson/03-constraints.yaml", "--sarif"])
        .arg(&sarif)
        .assert()
        .code(0);
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_valid(&sarif);
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn the_schema_check_does_reject_what_is_not_sarif() {
    let (mut sarif, _) = sarif_of(&["plan", "scenarios/lesson/01-first-draft.yaml"]);
    sarif["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!schema().is_valid(&sarif));
}
