//! The committed OpenAPI document must be the code's, byte for byte.
//! Regenerate it with `cargo run -p openapi`.

use tests::repo_root;

#[test]
fn committed_openapi_matches_the_code() {
    let path = repo_root().join("openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = api::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -p openapi` and commit the result"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_the_cart_token_scheme() {
    let doc: serde_json::Value =
        serde_json::from_str(&api::openapi_json()).unwrap_or_else(|e| panic!("not JSON: {e}"));
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["cart_token"]["in"],
        "header"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["cart_token"]["name"],
        "X-Cart-Token"
    );
    let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
    assert!(paths >= 7, "only {paths} paths documented");
}
