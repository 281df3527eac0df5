//! The checked-in JSON Schema must match the Rust types it is generated from.

const SCHEMA_FILE: &str = "scenarios/scenario.schema.json";

#[test]
fn checked_in_schema_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA_FILE);
    let expected = serde_json::to_string_pretty(&gitops_e2e::scenario::schema())
        .expect("the schema serializes")
        + "\n";
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "`{SCHEMA_FILE}` is stale or missing; refresh it with:\n\n    \
         cargo run -- schema > {SCHEMA_FILE}\n"
    );
}

#[test]
fn schema_rejects_unknown_fields_and_names_the_provider_variants() {
    let schema = gitops_e2e::scenario::schema();
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    let text = schema.to_string();
    for variant in ["\"kind\"", "\"kwok\"", "\"existing\""] {
        assert!(text.contains(variant), "{variant} in the schema");
    }
}
