//! DIVOC credentials on arbitrary JSON with trusted keys in place (India's RSA key and the
//! Indonesian Ed25519 key, so mutated real credentials reach the JSON-LD canonicalisation,
//! the signature and the signed-data checks), and the ZIP reader on arbitrary bytes: no panic,
//! bounded work, a verdict valid exactly when it has no error.
#![no_main]

use dcc_gateway::passes;
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::model::TrustSnapshot;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static SNAPSHOT: LazyLock<TrustSnapshot> = LazyLock::new(|| {
    let mut keys = Vec::new();
    for (method, pem) in [
        ("did:india", include_str!("../../tests/data/divoc/did-india.pem")),
        ("did:indonesia", include_str!("../../tests/data/divoc/did-indonesia.pem")),
    ] {
        if let Ok((found, _)) = passes::ingest(Format::DivocKey, pem.as_bytes(), Some(method), "fuzz") {
            keys.extend(found);
        }
    }
    TrustSnapshot::new(1, Vec::new()).with_pass_keys(keys)
});

fuzz_target!(|data: &[u8]| {
    let at = time::OffsetDateTime::from_unix_timestamp(1_660_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let r = passes::verify_divoc_json_for_fuzzing(data, &SNAPSHOT, at);
    assert!(r.valid == r.errors.is_empty());
    let _ = passes::zip::member(data, "certificate.json", passes::divoc::MAX_CREDENTIAL);
    let _ = passes::ingest(Format::DivocKey, data, Some("did:x"), "fuzz");
});
