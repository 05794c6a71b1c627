//! The committed `openapi/openapi.json` matches the code, and the server serves the same.

use super::helpers::*;

#[tokio::test]
async fn openapi_document_has_not_drifted() {
    let generated = dcc_gateway::http::openapi::json();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "openapi/openapi.json is stale: run `cargo run -- openapi`"
    );
    let app = spawn_app(settings(), None);
    let served = app.get_text("/openapi.json").await;
    assert_eq!(served, generated);
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for path in [
        "/v1/verify",
        "/v1/verify/batch",
        "/v1/verify/image",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}
