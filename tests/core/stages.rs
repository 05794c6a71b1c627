//! Each pipeline stage against the intermediate values an EU conformance vector carries
//! (dgc-testdata `common/CO1`, bundled in tests/data/dgc, Apache-2.0).

use dcc_gateway::crypto::{Alg, RingVerifier};
use dcc_gateway::hcert::{Limits, base45, claims, cose, inflate, prefix};
use dcc_gateway::trust::model::{Dsc, Kid, TrustSnapshot};
use serde_json::Value;

fn vector() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dgc/common/2DCode/raw/CO1.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value, field: &str) -> Vec<u8> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(v[field].as_str().unwrap().as_bytes())
        .unwrap()
}

#[test]
fn every_stage_reproduces_the_vector() {
    let v = vector();
    let l = Limits::default();
    let b45 = prefix::strip(v["PREFIX"].as_str().unwrap(), &l).unwrap();
    assert_eq!(b45, v["BASE45"].as_str().unwrap());
    let compressed = base45::decode(b45).unwrap();
    assert_eq!(compressed, hex(&v, "COMPRESSED"));
    let cose_bytes = inflate::inflate(&compressed, &l).unwrap();
    assert_eq!(cose_bytes, hex(&v, "COSE"));
    let msg = cose::parse(&cose_bytes, &l).unwrap();
    assert_eq!(msg.alg(), Some(Alg::Ps256));
    let der =
        dcc_gateway::util::base64_decode(v["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
    assert_eq!(
        msg.kid(),
        Some(&Kid::of_der(&der).0[..]),
        "kid = SHA-256(DSC DER)[..8]"
    );
    let dsc = Dsc::from_der(&der, "testdata").unwrap();
    let snapshot = TrustSnapshot::new(0, [dsc]);
    let verified = msg.verify(&snapshot, &RingVerifier, &l).unwrap();
    assert_eq!(verified.payload(), hex(&v, "CBOR"));
    let c = claims::read(&verified, &l).unwrap();
    assert_eq!(c.dcc, v["JSON"]);
    assert_eq!(c.iss.as_deref(), Some("AT"));
    assert!(c.iat.unwrap() < c.exp.unwrap());
}
