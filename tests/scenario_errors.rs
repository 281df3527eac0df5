//! The bad-input corpus: each file in `tests/bad-scenarios/` holds one
//! mistake, and the message users read for it is snapshot-tested.
//! Files starting with `_` are valid helpers the others point at.
//!
//! Refresh the snapshots with `cargo insta test --test scenario_errors --accept`
//! (or `INSTA_UPDATE=always cargo test --test scenario_errors`).

use std::path::{Path, PathBuf};

use gitops_e2e::scenario::{self, ProviderKind};

const CORPUS: &str = "tests/bad-scenarios";

/// Paths as a user would type them from the crate root, so snapshots are stable.
fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(CORPUS))
        .expect("the corpus directory exists")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && !name.starts_with('_'))
        .map(|name| Path::new(CORPUS).join(name))
        .collect();
    files.sort();
    files
}

fn in_crate_root() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate root exists");
}

#[test]
fn every_bad_scenario_is_rejected_with_its_own_message() {
    in_crate_root();
    let files = corpus();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    for file in files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rendered = match scenario::load(&file) {
            Ok(_) => panic!("`{}` loaded, but it holds a mistake", file.display()),
            Err(e) => e.render(),
        };
        insta::assert_snapshot!(stem, rendered);
    }
}

#[test]
fn a_missing_file_is_named() {
    in_crate_root();
    let err = scenario::load(Path::new("tests/bad-scenarios/does-not-exist.yaml"))
        .expect_err("no such file");
    insta::assert_snapshot!("does-not-exist", err.render());
}

#[test]
fn a_valid_scenario_loads_and_resolves_paths() {
    in_crate_root();
    let file = Path::new(CORPUS).join("_valid.yaml");
    let loaded = match scenario::load(&file) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{}", e.render()),
    };
    let dir = Path::new(CORPUS);
    assert_eq!(loaded.file, file);
    assert_eq!(loaded.scenario.spec.provider, ProviderKind::Kwok);
    assert_eq!(loaded.application_set, dir.join("_appset.yaml"));
    assert_eq!(loaded.repo_paths, vec![dir.join("_charts")]);
    assert_eq!(loaded.fixtures["prod"], vec![dir.join("_fixture.yaml")]);
    assert_eq!(loaded.kind_configs["dev"], dir.join("_kind.yaml"));
    assert!(!loaded.kind_configs.contains_key("prod"));
    assert_eq!(loaded.hub().name, "dev");
    assert_eq!(loaded.server_of("dev"), "https://kubernetes.default.svc");
    assert_eq!(loaded.server_of("prod"), "https://prod.example.com");
    assert_eq!(loaded.server_of("staging"), "https://staging.cluster.local");
    assert_eq!(loaded.scenario.spec.timeouts.sync, "90s");
}

#[test]
fn the_lesson_scenarios_load() {
    in_crate_root();
    let dir = Path::new("scenarios/lesson");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            if let Err(e) = scenario::load(&path) {
                panic!("{}", e.render());
            }
        }
    }
}
