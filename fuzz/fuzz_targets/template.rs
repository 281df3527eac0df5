//! Both template engines: the first line is the template, the rest a JSON
//! object of parameters (or none).
#![no_main]
use libfuzzer_sys::fuzz_target;

use gitops_e2e::appset::template::{self, Options};

fuzz_target!(|text: &str| {
    let (tmpl, rest) = text.split_once('\n').unwrap_or((text, ""));
    let params = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(rest)
        .unwrap_or_default();
    for go in [false, true] {
        let _ = template::replace(tmpl, &params, Options::new(go, &[]));
    }
    let _ = template::replace(
        tmpl,
        &params,
        Options::new(true, &["missingkey=error".to_string()]),
    );
});
