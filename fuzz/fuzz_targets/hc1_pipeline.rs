//! The whole HC1 pipeline on arbitrary text, against a snapshot holding one real DSC (so the
//! signature stage is reached for inputs that carry its kid).
#![no_main]

use std::sync::LazyLock;

use dcc_gateway::crypto::RingVerifier;
use dcc_gateway::hcert::{self, Limits, VerifyOptions};
use dcc_gateway::trust::model::TrustSnapshot;
use libfuzzer_sys::fuzz_target;

static SNAPSHOT: LazyLock<TrustSnapshot> = LazyLock::new(|| {
    let dscs = std::env::var("FUZZ_DSC_PEM")
        .ok()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| dcc_gateway::trust::model::Dsc::from_pem_or_der(&b, "fuzz").ok())
        .unwrap_or_default();
    TrustSnapshot::new(1, dscs)
});

fuzz_target!(|data: &[u8]| {
    let at = time::OffsetDateTime::from_unix_timestamp(1_622_505_600).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let opts = VerifyOptions::at(at);
    // Both as text after the prefix (reaches Base45) and as already-compressed bytes.
    let text = String::from_utf8_lossy(data);
    let r = hcert::verify(&format!("HC1:{text}"), &SNAPSHOT, &RingVerifier, &Limits::default(), &opts);
    assert!(r.valid == r.errors.is_empty());
    let wrapped = hcert::encode::wrap(data);
    let _ = hcert::verify(&wrapped, &SNAPSHOT, &RingVerifier, &Limits::default(), &opts);
});
