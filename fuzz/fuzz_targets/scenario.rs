//! A scenario file through the loader (paths it names resolve inside a
//! scratch directory holding one valid ApplicationSet).
#![no_main]
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a scratch directory").keep();
        std::fs::write(
            dir.join("appset.yaml"),
            "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: a}\nspec:\n  generators: [{list: {elements: [{env: dev}]}}]\n  template:\n    metadata: {name: 'a-{{env}}'}\n    spec: {project: default, destination: {server: 'https://kubernetes.default.svc', namespace: a}}\n",
        )
        .expect("the ApplicationSet is written");
        dir
    })
}

fuzz_target!(|text: &str| {
    let file = scratch().join("scenario.yaml");
    if std::fs::write(&file, text).is_ok() {
        if let Err(e) = gitops_e2e::scenario::load(&file) {
            let _ = e.render();
        }
    }
});
