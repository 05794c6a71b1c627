//! Real WHO GDHCN documents (tests/data/gdhcn, see SOURCE.md) verified with WHO's real key:
//! the JsonWebSignature2020 proof over URDNA2015, SCA entries as CSCAs, and tampered copies.

use std::path::{Path, PathBuf};
use std::process::Command;

use dcc_gateway::crypto::Alg;
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::ld;
use dcc_gateway::trust::formats::{Context, KEEP_EXPIRED, ListError, RejectReason, who_did};
use dcc_gateway::trust::validate::Anchor;
use serde_json::Value;
use time::macros::datetime;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/gdhcn")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

fn who_anchor() -> Anchor {
    let pem = Path::new(env!("CARGO_MANIFEST_DIR")).join("trust-lists/anchors/who-gdhcn-prod.pem");
    Anchor::from_bytes(&std::fs::read(pem).unwrap()).unwrap()
}

fn context(anchor: &Anchor) -> Context<'_> {
    Context {
        anchor,
        now: datetime!(2026-08-23 00:00 UTC),
        source: "who",
        keep_expired: KEEP_EXPIRED,
    }
}

#[test]
fn urdna2015_matches_an_independent_canonicalisation() {
    let mut doc: serde_json::Map<String, Value> =
        serde_json::from_slice(&read("ALB-SCA.json")).unwrap();
    let mut proof = doc.remove("proof").unwrap().as_object().unwrap().clone();
    let expected_doc = String::from_utf8(read("ALB-SCA.doc.nq")).unwrap();
    assert_eq!(
        ld::canonical_nquads(&Value::Object(doc.clone())).unwrap(),
        expected_doc
    );
    proof.remove("jws");
    proof.insert("@context".into(), doc["@context"].clone());
    let expected_proof = String::from_utf8(read("ALB-SCA.proof.nq")).unwrap();
    assert_eq!(
        ld::canonical_nquads(&Value::Object(proof)).unwrap(),
        expected_proof
    );
}

#[test]
fn every_real_document_verifies_with_whos_key() {
    let anchor = who_anchor();
    let ctx = context(&anchor);
    for name in [
        "root.json",
        "ALB.json",
        "ALB-SCA.json",
        "ALB-DSC.json",
        "DCC-ALB-DSC.json",
        "ref-root.json",
        "WHO.json",
    ] {
        let got = who_did::ingest(&read(name), &ctx);
        assert!(got.is_ok(), "{name}: {got:?}");
    }
}

#[test]
fn the_root_document_yields_document_signers_only() {
    let anchor = who_anchor();
    let got = who_did::ingest(&read("root.json"), &context(&anchor)).unwrap();
    let doc: Value = serde_json::from_slice(&read("root.json")).unwrap();
    let methods = doc["verificationMethod"].as_array().unwrap();
    let usage = |code: &str| {
        methods
            .iter()
            .filter(|m| m["keyusage"]["code"] == code)
            .count()
    };
    let not_signers = got
        .rejected
        .iter()
        .filter(|r| r.reason == RejectReason::NotASigner)
        .count();
    // Every CSCA and every other usage (DECA) is refused as a signer, none is accepted.
    assert_eq!(not_signers, usage("#CSCA") + usage("#DECA"));
    assert!(usage("#CSCA") > 50, "{}", usage("#CSCA"));
    assert!(got.dscs.len() > 150, "{}", got.dscs.len());
    assert!(got.dscs.len() <= usage("#DSC"));
    for dsc in &got.dscs {
        assert!(dsc.may_sign, "{:?}", dsc.kid);
    }
    // Belgium's production DSC 08 carries a TLS client EKU and is a document signer.
    assert!(
        got.dscs
            .iter()
            .any(|d| d.kid.to_base64() == "aAMCmshYO3I=" && d.country.as_deref() == Some("BE"))
    );
    // Nothing is refused for a signature reason: every entry is covered by the proof.
    assert!(
        got.rejected
            .iter()
            .all(|r| r.reason != RejectReason::NotSigned),
        "{:?}",
        got.rejected
    );
}

#[test]
fn tampered_real_documents_and_other_keys_are_refused() {
    let anchor = who_anchor();
    let ctx = context(&anchor);
    let body = read("ALB-DSC.json");
    let doc: Value = serde_json::from_slice(&body).unwrap();
    // One character of a certificate changed.
    let mut cert = doc.clone();
    let x5c = cert["verificationMethod"][0]["publicKeyJwk"]["x5c"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if x5c.ends_with('A') { "B" } else { "A" };
    cert["verificationMethod"][0]["publicKeyJwk"]["x5c"][0] =
        format!("{}{flipped}", &x5c[..x5c.len() - 1]).into();
    // An entry dropped; the signature's date moved; the controller changed.
    let mut dropped = doc.clone();
    dropped["verificationMethod"].as_array_mut().unwrap().pop();
    let mut created = doc.clone();
    created["proof"]["created"] = "2026-08-22T17:05:26Z".into();
    let mut controller = doc.clone();
    controller["controller"] = "did:web:evil.example".into();
    for (what, tampered) in [
        ("certificate", cert),
        ("dropped", dropped),
        ("created", created),
        ("controller", controller),
    ] {
        let got = who_did::ingest(&serde_json::to_vec(&tampered).unwrap(), &ctx);
        assert_eq!(got.unwrap_err(), ListError::BadSignature, "{what}");
    }
    // Reformatted: the proof signs the RDF, so whitespace and member order do not matter.
    let pretty = serde_json::to_vec_pretty(&doc).unwrap();
    assert!(who_did::ingest(&pretty, &ctx).is_ok());
    // Another anchor: refused.
    let key = SignerKey::generate(Alg::Es256).unwrap();
    let spec = CertSpec::new(
        "VN",
        "not WHO",
        datetime!(2026-01-01 00:00 UTC),
        datetime!(2028-01-01 00:00 UTC),
    );
    let other = Anchor::from_bytes(&mint::csca(&spec, &key).unwrap().der).unwrap();
    let got = who_did::ingest(&body, &context(&other));
    assert_eq!(got.unwrap_err(), ListError::BadSignature);
}

#[test]
fn trust_list_check_accepts_real_who_documents_and_refuses_tampered_ones() {
    let bin = env!("CARGO_BIN_EXE_dcc-gateway");
    let anchor =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("trust-lists/anchors/who-gdhcn-prod.pem");
    let check = |file: &Path| {
        Command::new(bin)
            .args(["trust-list", "check", "--format", "who-did", "--json"])
            .args(["--at", "2026-08-23T00:00:00Z", "--anchor"])
            .arg(&anchor)
            .arg(file)
            .output()
            .unwrap()
    };
    let out = check(&data("root.json"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["accepted"], true);
    assert!(report["keys"].as_u64().unwrap() > 150, "{}", report["keys"]);
    assert!(
        report["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reason"] == "NOT_A_SIGNER"),
        "{report}"
    );
    let mut doc: Value = serde_json::from_slice(&read("root.json")).unwrap();
    doc["verificationMethod"][0]["controller"] = "did:web:evil.example".into();
    let tampered = std::env::temp_dir().join(format!("gdhcn-tampered-{}.json", std::process::id()));
    std::fs::write(&tampered, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = check(&tampered);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("LIST_SIGNATURE_INVALID"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
