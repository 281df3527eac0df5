//! An ApplicationSet through expansion and every lint rule.
#![no_main]
use libfuzzer_sys::fuzz_target;

use gitops_e2e::appset::{self, Environment};
use gitops_e2e::lint::{self, AppSetContext};

fuzz_target!(|text: &str| {
    let Ok(docs) = gitops_e2e::yaml::parse(text) else {
        return;
    };
    let env = Environment::default();
    for doc in &docs {
        let expansion = appset::expand(&doc.value, &env);
        let _ = lint::lint_appset(&AppSetContext {
            file: std::path::Path::new("fuzz.yaml"),
            doc,
            expansion: &expansion,
            env: &env,
        });
    }
});
