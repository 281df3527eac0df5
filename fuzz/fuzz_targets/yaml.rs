//! The YAML reader: any text parses or fails with a position, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(docs) = gitops_e2e::yaml::parse(text) {
        for doc in &docs {
            let _ = gitops_e2e::yaml::to_string(&doc.value);
        }
    }
});
