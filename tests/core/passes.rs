//! NZ COVID Passes and SMART Health Cards signed in the test, verified against issuer keys
//! read from their DID document / JWKS: every refusal the specs require, with its code.

use dcc_gateway::hcert::{Detail, ErrorCode, PassFormat, VerificationResult};
use dcc_gateway::passes;
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::model::TrustSnapshot;

use super::make_passes::*;

fn snapshot_with(keys: Vec<passes::PassKey>) -> TrustSnapshot {
    TrustSnapshot::new(0, Vec::new()).with_pass_keys(keys)
}

fn nz_keys(doc: &serde_json::Value) -> (Vec<passes::PassKey>, Vec<(String, &'static str)>) {
    passes::ingest(Format::NzcpDid, doc.to_string().as_bytes(), None, "nz").unwrap()
}

fn check(qr: &str, snap: &TrustSnapshot) -> VerificationResult {
    let format = passes::detect(qr);
    passes::verify(format, qr, snap, dcc_gateway::clock::now(), Detail::Minimal)
}

fn codes(r: &VerificationResult) -> Vec<ErrorCode> {
    r.error_codes()
}

#[test]
fn a_valid_nz_covid_pass_verifies_with_its_holder() {
    let key = IssuerKey::generate();
    let (keys, refused) = nz_keys(&did_document(NZ_DID, &[("key-1", &key)]));
    assert!(refused.is_empty(), "{refused:?}");
    let snap = snapshot_with(keys);
    let qr = Nzcp::new("key-1").sign(&key);
    let r = check(&qr, &snap);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::Nzcp);
    let c = r.certificate.clone().unwrap();
    assert_eq!(c.holder.given_name.as_deref(), Some("Jack"));
    assert_eq!(c.holder.family_name.as_deref(), Some("Sparrow"));
    assert_eq!(c.holder.date_of_birth.as_deref(), Some("1960-04-16"));
    assert_eq!(c.iss.as_deref(), Some(NZ_DID));
    assert_eq!(c.kid, "key-1");
    assert!(c.expires_at.is_some());
    assert_eq!(
        c.uvci.as_deref(),
        Some("urn:uuid:60606060-6060-6060-6060-606060606060")
    );
    assert_eq!(
        r.provenance.dsc_subject.as_deref(),
        Some("did:web:nzcp.test.example#key-1")
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["format"], "nzcp");
}

#[test]
fn nz_covid_pass_refusals_carry_their_codes() {
    let key = IssuerKey::generate();
    let other = IssuerKey::generate();
    let snap = snapshot_with(nz_keys(&did_document(NZ_DID, &[("key-1", &key)])).0);
    let now = dcc_gateway::clock::now().unix_timestamp();

    // Signed by a key the DID document does not hold.
    let r = check(&Nzcp::new("key-1").sign(&other), &snap);
    assert_eq!(codes(&r), vec![ErrorCode::SignatureInvalid]);
    assert!(r.certificate.is_none(), "no data from an unverified pass");
    // A byte of the signature flipped.
    let qr = Nzcp::new("key-1").sign(&key);
    let mut bytes = data_encoding::BASE32_NOPAD
        .decode(qr.trim_start_matches("NZCP:/1/").as_bytes())
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = format!("NZCP:/1/{}", data_encoding::BASE32_NOPAD.encode(&bytes));
    assert_eq!(
        codes(&check(&tampered, &snap)),
        vec![ErrorCode::SignatureInvalid]
    );
    // Another issuer; another kid.
    let mut p = Nzcp::new("key-1");
    p.iss = "did:web:evil.example";
    assert_eq!(
        codes(&check(&p.sign(&key), &snap)),
        vec![ErrorCode::IssuerUntrusted]
    );
    assert_eq!(
        codes(&check(&Nzcp::new("key-2").sign(&key), &snap)),
        vec![ErrorCode::KidUnknown]
    );
    // Time: expired, not yet valid (the certificate is shown: the signature verified).
    let mut p = Nzcp::new("key-1");
    p.exp = now - 10;
    let r = check(&p.sign(&key), &snap);
    assert_eq!(codes(&r), vec![ErrorCode::CwtExpired]);
    assert!(r.certificate.is_some());
    let mut p = Nzcp::new("key-1");
    p.nbf = now + 3600;
    assert_eq!(
        codes(&check(&p.sign(&key), &snap)),
        vec![ErrorCode::CwtNotYetValid]
    );
    // The credential rules.
    let mut p = Nzcp::new("key-1");
    p.types = vec!["VerifiableCredential"];
    assert_eq!(
        codes(&check(&p.sign(&key), &snap)),
        vec![ErrorCode::CredentialInvalid]
    );
    let mut p = Nzcp::new("key-1");
    p.version = "2.0.0";
    assert_eq!(
        codes(&check(&p.sign(&key), &snap)),
        vec![ErrorCode::CredentialInvalid]
    );
    let mut p = Nzcp::new("key-1");
    p.dob = "16/04/1960";
    assert_eq!(
        codes(&check(&p.sign(&key), &snap)),
        vec![ErrorCode::CredentialInvalid]
    );
    let mut p = Nzcp::new("key-1");
    p.family = None;
    assert!(check(&p.sign(&key), &snap).valid, "familyName is optional");
    // alg only in the unprotected header.
    let mut p = Nzcp::new("key-1");
    p.alg_unprotected = true;
    assert_eq!(
        codes(&check(&p.sign(&key), &snap)),
        vec![ErrorCode::AlgUnsupported]
    );
    // Framing: version, Base32.
    let body = qr.trim_start_matches("NZCP:/1/");
    assert_eq!(
        codes(&check(&format!("NZCP:/2/{body}"), &snap)),
        vec![ErrorCode::PrefixInvalid]
    );
    assert_eq!(
        codes(&check(&format!("NZCP:/1/{}", body.to_lowercase()), &snap)),
        vec![ErrorCode::Base32Invalid]
    );
    assert_eq!(
        codes(&check("NZCP:/1/AAAA", &snap)),
        vec![ErrorCode::CoseInvalid]
    );
    for long in [
        format!("NZCP:/1/{}", "A".repeat(9000)),
        format!("shc:/{}", "5".repeat(9000)),
    ] {
        assert_eq!(
            codes(&check(&long, &snap)),
            vec![ErrorCode::PayloadTooLarge]
        );
    }
}

#[test]
fn did_documents_give_only_assertion_keys_of_their_own_did() {
    let (a, b, c) = (
        IssuerKey::generate(),
        IssuerKey::generate(),
        IssuerKey::generate(),
    );
    let mut doc = did_document(NZ_DID, &[("key-1", &a), ("key-2", &b)]);
    // key-2 is listed but not an assertion method; a key of another DID; a private key.
    doc["assertionMethod"] = serde_json::json!(["#key-1"]);
    let mut foreign = doc["verificationMethod"][0].clone();
    foreign["id"] = serde_json::json!("did:web:other.example#key-9");
    let mut private = doc["verificationMethod"][0].clone();
    private["id"] = serde_json::json!(format!("{NZ_DID}#key-3"));
    private["publicKeyJwk"]["d"] = serde_json::json!("c2VjcmV0");
    doc["assertionMethod"] = serde_json::json!(["#key-1", format!("{NZ_DID}#key-3")]);
    let methods = doc["verificationMethod"].as_array_mut().unwrap();
    methods.push(foreign);
    methods.push(private);
    let (keys, refused) = nz_keys(&doc);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid, "key-1");
    let reasons: Vec<&str> = refused.iter().map(|(_, code)| *code).collect();
    assert!(reasons.contains(&"NOT_ASSERTION_METHOD"), "{refused:?}");
    assert!(reasons.contains(&"NOT_THIS_ISSUER"), "{refused:?}");
    assert!(reasons.contains(&"PRIVATE_KEY"), "{refused:?}");
    let snap = snapshot_with(keys);
    assert_eq!(
        codes(&check(&Nzcp::new("key-2").sign(&b), &snap)),
        vec![ErrorCode::KidUnknown]
    );
    let _ = c;
    assert!(passes::ingest(Format::NzcpDid, b"{\"id\": \"did:key:x\"}", None, "nz").is_err());
    assert!(passes::ingest(Format::NzcpDid, b"not json", None, "nz").is_err());
}

fn shc_snapshot(key: &IssuerKey) -> TrustSnapshot {
    let doc = jwks(&[key]);
    let (keys, refused) = passes::ingest(
        Format::ShcJwks,
        doc.to_string().as_bytes(),
        Some(SHC_ISS),
        "shc",
    )
    .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    snapshot_with(keys)
}

#[test]
fn a_valid_smart_health_card_verifies_with_its_immunizations() {
    let key = IssuerKey::generate();
    let snap = shc_snapshot(&key);
    let r = check(&shc_card(SHC_ISS, &key), &snap);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::Shc);
    let c = r.certificate.clone().unwrap();
    assert_eq!(c.holder.family_name.as_deref(), Some("Anyperson"));
    assert_eq!(c.holder.given_name.as_deref(), Some("John B."));
    assert_eq!(c.holder.date_of_birth.as_deref(), Some("1951-01-20"));
    assert_eq!(c.vaccinations.len(), 2);
    assert_eq!(c.vaccinations[0].product.as_deref(), Some("207"));
    assert_eq!(
        c.vaccinations[0].product_system.as_deref(),
        Some("http://hl7.org/fhir/sid/cvx")
    );
    assert_eq!(c.vaccinations[1].date.as_deref(), Some("2021-01-29"));
    assert!(c.expires_at.is_none(), "no exp in this card");
    assert_eq!(serde_json::to_value(&r).unwrap()["format"], "shc");
}

#[test]
fn smart_health_card_refusals_carry_their_codes() {
    let key = IssuerKey::generate();
    let other = IssuerKey::generate();
    let snap = shc_snapshot(&key);
    let now = dcc_gateway::clock::now().unix_timestamp() as f64;
    let payload = |iss: &str, nbf: f64, exp: Option<f64>| shc_payload(iss, nbf, exp).to_string();
    let good = payload(SHC_ISS, now - 60.0, None);

    // Wrong key under the right kid; an unknown issuer; an unknown kid.
    let forged = shc_qr(&shc_jws(good.as_bytes(), &other, &key.thumbprint(), true));
    assert_eq!(
        codes(&check(&forged, &snap)),
        vec![ErrorCode::SignatureInvalid]
    );
    let r = check(&shc_card("https://evil.example", &key), &snap);
    assert_eq!(codes(&r), vec![ErrorCode::IssuerUntrusted]);
    assert!(r.certificate.is_none());
    let unknown = shc_qr(&shc_jws(good.as_bytes(), &key, "not-a-kid", true));
    assert_eq!(codes(&check(&unknown, &snap)), vec![ErrorCode::KidUnknown]);
    // Time: expired (fractional exp), not yet valid.
    let expired = shc_qr(&shc_jws(
        payload(SHC_ISS, now - 600.0, Some(now - 10.5)).as_bytes(),
        &key,
        &key.thumbprint(),
        true,
    ));
    assert_eq!(codes(&check(&expired, &snap)), vec![ErrorCode::CwtExpired]);
    let early = shc_qr(&shc_jws(
        payload(SHC_ISS, now + 3600.0, None).as_bytes(),
        &key,
        &key.thumbprint(),
        true,
    ));
    assert_eq!(
        codes(&check(&early, &snap)),
        vec![ErrorCode::CwtNotYetValid]
    );
    // Framing: chunked, odd digits, digits out of range, no zip.
    assert_eq!(
        codes(&check("shc:/1/2/56762909", &snap)),
        vec![ErrorCode::ShcChunked]
    );
    assert_eq!(
        codes(&check("shc:/567", &snap)),
        vec![ErrorCode::JwsInvalid]
    );
    assert_eq!(
        codes(&check("shc:/5699", &snap)),
        vec![ErrorCode::JwsInvalid]
    );
    let unzipped = shc_qr(&shc_jws(good.as_bytes(), &key, &key.thumbprint(), false));
    assert_eq!(codes(&check(&unzipped, &snap)), vec![ErrorCode::JwsInvalid]);
    // Not a health card.
    let mut not_a_card = shc_payload(SHC_ISS, now - 60.0, None);
    not_a_card["vc"]["type"] = serde_json::json!(["VerifiableCredential"]);
    let qr = shc_qr(&shc_jws(
        not_a_card.to_string().as_bytes(),
        &key,
        &key.thumbprint(),
        true,
    ));
    assert_eq!(
        codes(&check(&qr, &snap)),
        vec![ErrorCode::CredentialInvalid]
    );
    // A decompression bomb: 4 MiB of spaces inflate past the cap before any JSON is read.
    let bomb = vec![b' '; 4 << 20];
    let qr = shc_qr(&shc_jws(&bomb, &key, &key.thumbprint(), true));
    assert_eq!(codes(&check(&qr, &snap)), vec![ErrorCode::PayloadTooLarge]);
}

#[test]
fn jwks_keys_must_be_named_by_their_thumbprint() {
    let (a, b) = (IssuerKey::generate(), IssuerKey::generate());
    let mut doc = jwks(&[&a, &b]);
    doc["keys"][1]["kid"] = serde_json::json!("chosen-by-issuer");
    let mut enc = a.jwk();
    enc["kid"] = serde_json::json!(a.thumbprint());
    enc["use"] = serde_json::json!("enc");
    doc["keys"].as_array_mut().unwrap().push(enc);
    let (keys, refused) = passes::ingest(
        Format::ShcJwks,
        doc.to_string().as_bytes(),
        Some(SHC_ISS),
        "shc",
    )
    .unwrap();
    assert_eq!(keys.len(), 1);
    let reasons: Vec<&str> = refused.iter().map(|(_, code)| *code).collect();
    assert_eq!(reasons, vec!["KID_NOT_THUMBPRINT", "NOT_A_SIGNER"]);
    // An off-curve point is refused at ingestion.
    let mut bad = jwks(&[&a]);
    bad["keys"][0]["y"] = bad["keys"][0]["x"].clone();
    let (keys, refused) = passes::ingest(
        Format::ShcJwks,
        bad.to_string().as_bytes(),
        Some(SHC_ISS),
        "shc",
    )
    .unwrap();
    assert!(keys.is_empty());
    assert_eq!(refused[0].1, "KEY_MALFORMED");
    assert!(passes::ingest(Format::ShcJwks, b"{\"keys\":[]}", None, "shc").is_err());
}

#[test]
fn pass_keys_change_the_snapshot_id() {
    let key = IssuerKey::generate();
    let plain = TrustSnapshot::new(0, Vec::new());
    let with = snapshot_with(nz_keys(&did_document(NZ_DID, &[("key-1", &key)])).0);
    let other = snapshot_with(nz_keys(&did_document(NZ_DID, &[("key-2", &key)])).0);
    assert_ne!(plain.id, with.id);
    assert_ne!(with.id, other.id);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, .. proptest::prelude::ProptestConfig::default() })]

    #[test]
    fn random_passes_never_panic_and_never_verify(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1500)) {
        let key = IssuerKey::generate();
        let snap = shc_snapshot(&key);
        let b32 = data_encoding::BASE32_NOPAD.encode(&bytes);
        let digits: String = bytes.iter().map(|b| format!("{:02}", b % 78)).collect();
        for qr in [format!("NZCP:/1/{b32}"), format!("shc:/{digits}"), format!("NZCP:/1/{}", String::from_utf8_lossy(&bytes))] {
            let r = check(&qr, &snap);
            proptest::prop_assert!(!r.valid);
            proptest::prop_assert_eq!(r.errors.len(), 1);
            proptest::prop_assert!(r.certificate.is_none());
        }
    }
}

#[test]
fn cli_verify_reads_nzcp_and_shc_issuer_files() {
    let dir = std::env::temp_dir().join(format!("dccgw-cli-passes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (nz, shc) = (IssuerKey::generate(), IssuerKey::generate());
    let did = dir.join("did.json");
    let keys = dir.join("jwks.json");
    std::fs::write(&did, did_document(NZ_DID, &[("key-1", &nz)]).to_string()).unwrap();
    std::fs::write(&keys, jwks(&[&shc]).to_string()).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dcc-gateway"))
            .arg("verify")
            .args(args)
            .output()
            .unwrap()
    };
    let nzcp = Nzcp::new("key-1").sign(&nz);
    let out = run(&["--json", "--nzcp-did", did.to_str().unwrap(), &nzcp]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "nzcp");
    let spec = format!("{SHC_ISS}={}", keys.display());
    let out = run(&["--shc-jwks", &spec, &shc_card(SHC_ISS, &shc)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With the key's revocation list naming the card's rid: revoked, exit 1.
    let crl = dir.join("crl.json");
    std::fs::write(
        &crl,
        serde_json::json!({"kid": shc.thumbprint(), "method": "rid", "ctr": 1, "rids": ["r1"]})
            .to_string(),
    )
    .unwrap();
    let now = dcc_gateway::clock::now().unix_timestamp();
    let card = shc_card_with_rid(&shc, now - 60, &serde_json::json!("r1"));
    let crl_spec = format!("{SHC_ISS}={}", crl.display());
    let out = run(&["--json", "--shc-jwks", &spec, "--shc-crl", &crl_spec, &card]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"][0]["code"], "REVOKED", "{v}");
    // Without the issuer's keys: invalid, exit 1; a malformed --shc-jwks: usage, exit 2.
    assert_eq!(run(&[&nzcp]).status.code(), Some(1));
    assert_eq!(
        run(&["--shc-jwks", "no-equals-sign", &nzcp]).status.code(),
        Some(2)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn icao_snapshot(signer: &IcaoSigner, state: &str) -> TrustSnapshot {
    let (keys, refused) = passes::ingest(
        Format::IcaoCsca,
        signer.csca_pem.as_bytes(),
        Some(state),
        "au",
    )
    .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    snapshot_with(keys)
}

#[test]
fn an_icao_vds_nc_verifies_against_its_states_csca() {
    let signer = IcaoSigner::new(365);
    let snap = icao_snapshot(&signer, "AUS");
    let qr = signer.seal(&vds_vacc_data("AUS"));
    let r = check(&qr, &snap);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::IcaoVdsNc);
    let c = r.certificate.clone().unwrap();
    assert_eq!(
        c.holder.family_name_std.as_deref(),
        Some("CITIZEN  JANE SUE")
    );
    assert_eq!(c.holder.date_of_birth.as_deref(), Some("1961-05-15"));
    assert_eq!(c.uvci.as_deref(), Some("VB0009990012"));
    assert_eq!(c.vaccinations.len(), 2);
    assert_eq!(c.vaccinations[1].dose, Some(2));
    assert_eq!(c.vaccinations[0].product.as_deref(), Some("XM68M6"));
    assert_eq!(serde_json::to_value(&r).unwrap()["format"], "icao-vds-nc");
    // Member order and whitespace of the QR text do not matter: the canonical form is signed.
    let reordered: serde_json::Value = serde_json::from_str(&qr).unwrap();
    let pretty = serde_json::to_string_pretty(&reordered).unwrap();
    assert!(check(&pretty, &snap).valid);
}

#[test]
fn icao_vds_nc_refusals_carry_their_codes() {
    let signer = IcaoSigner::new(365);
    let snap = icao_snapshot(&signer, "AUS");
    let data = vds_vacc_data("AUS");
    // Tampered data: a dose date changed after signing.
    let mut seal: serde_json::Value = serde_json::from_str(&signer.seal(&data)).unwrap();
    seal["data"]["msg"]["ve"][0]["vd"][0]["dvc"] = serde_json::json!("2021-09-16");
    assert_eq!(
        codes(&check(&seal.to_string(), &snap)),
        vec![ErrorCode::SignatureInvalid]
    );
    // A state without trusted CSCAs; a BSC from another CSCA.
    assert_eq!(
        codes(&check(&signer.seal(&vds_vacc_data("NZL")), &snap)),
        vec![ErrorCode::IssuerUntrusted]
    );
    let stranger = IcaoSigner::new(365);
    assert_eq!(
        codes(&check(&stranger.seal(&data), &snap)),
        vec![ErrorCode::KidUnknown]
    );
    // An expired barcode signer.
    let expired = IcaoSigner::new(-0);
    let snap_expired = icao_snapshot(&expired, "AUS");
    let r = passes::verify(
        PassFormat::IcaoVdsNc,
        &expired.seal(&data),
        &snap_expired,
        dcc_gateway::clock::now() + time::Duration::days(2),
        Detail::Minimal,
    );
    assert_eq!(codes(&r), vec![ErrorCode::DscNotValid]);
    // ES512 is refused; an unknown document type.
    let mut es512: serde_json::Value = serde_json::from_str(&signer.seal(&data)).unwrap();
    es512["sig"]["alg"] = serde_json::json!("ES512");
    assert_eq!(
        codes(&check(&es512.to_string(), &snap)),
        vec![ErrorCode::AlgUnsupported]
    );
    let mut other = data.clone();
    other["hdr"]["t"] = serde_json::json!("icao.visa");
    assert_eq!(
        codes(&check(&signer.seal(&other), &snap)),
        vec![ErrorCode::CredentialInvalid]
    );
    // Not a CA in the CSCA bundle: refused at ingestion.
    let bsc_pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        data_encoding::BASE64.encode(&signer.bsc_der)
    );
    let (keys, refused) =
        passes::ingest(Format::IcaoCsca, bsc_pem.as_bytes(), Some("AUS"), "au").unwrap();
    assert!(keys.is_empty());
    assert_eq!(refused[0].1, "NOT_A_CA");
}

#[test]
fn the_nzcp_specification_examples_give_the_specified_verdicts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nzcp");
    let did: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("did.json")).unwrap()).unwrap();
    let snap = snapshot_with(nz_keys(&did).0);
    // The examples were made in November 2021; judged then.
    let at = time::macros::datetime!(2021-11-03 00:00 UTC);
    for (file, expected) in [
        ("nzcp-valid.txt", vec![]),
        ("nzcp-bad-public-key.txt", vec![ErrorCode::SignatureInvalid]),
        (
            "nzcp-modified-payload.txt",
            vec![ErrorCode::SignatureInvalid],
        ),
        ("nzcp-modified-sig.txt", vec![ErrorCode::SignatureInvalid]),
        (
            "nzcp-not-associated-public-key.txt",
            vec![ErrorCode::KidUnknown],
        ),
        (
            "nzcp-notactive-payload.txt",
            vec![ErrorCode::CwtNotYetValid],
        ),
        ("nzcp-expired-payload.txt", vec![ErrorCode::CwtExpired]),
    ] {
        let qr = std::fs::read_to_string(dir.join(file)).unwrap();
        let r = passes::verify(PassFormat::Nzcp, qr.trim(), &snap, at, Detail::Minimal);
        assert_eq!(codes(&r), expected, "{file}");
    }
    let qr = std::fs::read_to_string(dir.join("nzcp-valid.txt")).unwrap();
    let r = passes::verify(PassFormat::Nzcp, qr.trim(), &snap, at, Detail::Minimal);
    let c = r.certificate.unwrap();
    assert_eq!(c.holder.given_name.as_deref(), Some("Jack"));
    assert_eq!(
        c.uvci.as_deref(),
        Some("urn:uuid:60a4f54d-4e30-4332-be33-ad78b1eafa4b")
    );
}

/// A card of `key` for SHC_ISS issued at `nbf` with revocation identifier `rid`.
fn shc_card_with_rid(key: &IssuerKey, nbf: i64, rid: &serde_json::Value) -> String {
    let mut payload = shc_payload(SHC_ISS, nbf as f64, None);
    payload["vc"]["rid"] = rid.clone();
    shc_qr(&shc_jws(
        payload.to_string().as_bytes(),
        key,
        &key.thumbprint(),
        true,
    ))
}

/// The issuer's JWKS with `crlVersion` on its key, and its revocation list.
fn shc_revocation_snapshot(
    key: &IssuerKey,
    crl_version: u64,
    crl: Option<serde_json::Value>,
) -> TrustSnapshot {
    let mut doc = jwks(&[key]);
    doc["keys"][0]["crlVersion"] = serde_json::json!(crl_version);
    let (mut keys, _) = passes::ingest(
        Format::ShcJwks,
        doc.to_string().as_bytes(),
        Some(SHC_ISS),
        "shc",
    )
    .unwrap();
    if let Some(crl) = crl {
        let (entries, refused) = passes::ingest(
            Format::ShcCrl,
            crl.to_string().as_bytes(),
            Some(SHC_ISS),
            "shc-crl",
        )
        .unwrap();
        assert!(refused.is_empty(), "{refused:?}");
        keys.extend(entries);
    }
    snapshot_with(keys)
}

#[test]
fn smart_health_cards_are_revoked_by_rid_as_their_issuers_list_says() {
    let key = IssuerKey::generate();
    let kid = key.thumbprint();
    let now = dcc_gateway::clock::now().unix_timestamp();
    let (issued, cutoff) = (now - 10 * 86_400, now - 5 * 86_400);
    let crl = serde_json::json!({"kid": kid, "method": "rid", "ctr": 2,
        "rids": ["revokedAll", format!("beforeCut.{cutoff}")]});
    let snap = shc_revocation_snapshot(&key, 2, Some(crl.clone()));
    let rid = |r: &str| serde_json::json!(r);
    // Listed without a time: revoked whenever issued.
    let r = check(&shc_card_with_rid(&key, issued, &rid("revokedAll")), &snap);
    assert_eq!(codes(&r), vec![ErrorCode::Revoked]);
    // Listed with a time: cards issued before it are revoked, later ones are not.
    let r = check(&shc_card_with_rid(&key, issued, &rid("beforeCut")), &snap);
    assert_eq!(codes(&r), vec![ErrorCode::Revoked]);
    let r = check(
        &shc_card_with_rid(&key, cutoff + 60, &rid("beforeCut")),
        &snap,
    );
    assert!(r.valid, "{:?}", r.errors);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Not listed, and a card without rid: valid.
    assert!(check(&shc_card_with_rid(&key, issued, &rid("other")), &snap).valid);
    assert!(check(&shc_card(SHC_ISS, &key), &snap).valid);
    // A malformed rid is refused.
    let r = check(
        &shc_card_with_rid(&key, issued, &rid("not/base64url")),
        &snap,
    );
    assert_eq!(codes(&r), vec![ErrorCode::CredentialInvalid]);
    let r = check(
        &shc_card_with_rid(&key, issued, &serde_json::json!(7)),
        &snap,
    );
    assert_eq!(codes(&r), vec![ErrorCode::CredentialInvalid]);
    // Another key's list does not revoke this key's cards.
    let mut other = crl.clone();
    other["kid"] = serde_json::json!("someOtherKid");
    let snap_other = shc_revocation_snapshot(&key, 2, Some(other));
    let r = check(
        &shc_card_with_rid(&key, issued, &rid("revokedAll")),
        &snap_other,
    );
    assert!(r.valid);
    // ...and says nothing of this key's revocations: a TRUST_STALE warning (not for a card
    // without rid, which no list could revoke).
    assert_eq!(r.warning_codes(), vec![ErrorCode::TrustStale]);
    let r = check(&shc_card(SHC_ISS, &key), &snap_other);
    assert!(r.valid && r.warnings.is_empty(), "{r:?}");
    // A list older than the key's crlVersion: still applied, with a warning.
    let snap_old = shc_revocation_snapshot(&key, 3, Some(crl));
    let r = check(&shc_card_with_rid(&key, issued, &rid("other")), &snap_old);
    assert!(r.valid);
    assert_eq!(r.warning_codes(), vec![ErrorCode::TrustStale]);
    // An empty list is a list: no warning, nothing revoked.
    let empty = serde_json::json!({"kid": kid, "method": "rid", "ctr": 2, "rids": []});
    let snap_empty = shc_revocation_snapshot(&key, 2, Some(empty));
    let r = check(
        &shc_card_with_rid(&key, issued, &rid("revokedAll")),
        &snap_empty,
    );
    assert!(r.valid && r.warnings.is_empty(), "{r:?}");
    // The list changes the snapshot id (a revocation can never be answered from a cache).
    assert_ne!(snap.id, snap_empty.id);
}

#[test]
fn revocation_lists_are_read_strictly() {
    let ingest = |doc: serde_json::Value| {
        passes::ingest(
            Format::ShcCrl,
            doc.to_string().as_bytes(),
            Some(SHC_ISS),
            "crl",
        )
    };
    assert!(ingest(serde_json::json!({"method": "rid", "ctr": 1, "rids": []})).is_err());
    assert!(
        ingest(serde_json::json!({"kid": "k", "method": "other", "ctr": 1, "rids": []})).is_err()
    );
    assert!(ingest(serde_json::json!({"kid": "k", "method": "rid", "rids": []})).is_err());
    assert!(ingest(serde_json::json!({"kid": "k", "method": "rid", "ctr": 1})).is_err());
    let (entries, refused) = ingest(serde_json::json!({"kid": "k", "method": "rid", "ctr": 1,
        "rids": ["ok", "x".repeat(25), "bad/rid", "t.notanumber", 5, "fine.1636977600"]}))
    .unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}"); // the list itself, ok, fine
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused.iter().all(|(_, c)| *c == "MALFORMED"));
    assert!(passes::ingest(Format::ShcCrl, b"{}", None, "crl").is_err());
}

#[test]
fn icao_barcode_signers_are_revoked_by_their_cscas_crls() {
    let signer = IcaoSigner::new(365);
    let other = IcaoSigner::new(365);
    let seal = signer.seal(&vds_vacc_data("AUS"));
    let week = dcc_gateway::clock::now() + time::Duration::days(7);
    let with_crls = |crls: &[String]| {
        let (mut keys, _) = passes::ingest(
            Format::IcaoCsca,
            signer.csca_pem.as_bytes(),
            Some("AUS"),
            "au",
        )
        .unwrap();
        for pem in crls {
            let (entries, refused) =
                passes::ingest(Format::IcaoCrl, pem.as_bytes(), Some("AUS"), "au-crl").unwrap();
            assert!(refused.is_empty(), "{refused:?}");
            keys.extend(entries);
        }
        snapshot_with(keys)
    };
    // Listed by its CSCA's CRL: revoked.
    let revoked = with_crls(&[signer.crl(&[signer.bsc_serial()], week)]);
    assert_eq!(codes(&check(&seal, &revoked)), vec![ErrorCode::Revoked]);
    // A CRL of its CSCA that lists another serial: valid, no warning.
    let fine = with_crls(&[signer.crl(&[vec![0x42]], week)]);
    let r = check(&seal, &fine);
    assert!(r.valid && r.warnings.is_empty(), "{r:?}");
    // Past its nextUpdate: still applied, with a TRUST_STALE warning.
    let old = with_crls(&[signer.crl(&[], dcc_gateway::clock::now() - time::Duration::minutes(1))]);
    let r = check(&seal, &old);
    assert!(r.valid);
    assert_eq!(r.warning_codes(), vec![ErrorCode::TrustStale]);
    // A CRL that names the serial but was signed by another CA (same name, other key) counts
    // for nothing: the CSCA has no CRL in force.
    let forged = with_crls(&[other.crl(&[signer.bsc_serial()], week)]);
    let r = check(&seal, &forged);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.warning_codes(), vec![ErrorCode::TrustStale]);
    // Without CRLs for the state, nothing is said about revocation.
    assert!(
        check(&seal, &icao_snapshot(&signer, "AUS"))
            .warnings
            .is_empty()
    );
    // Garbage is refused at ingestion.
    assert!(passes::ingest(Format::IcaoCrl, b"nothing", Some("AUS"), "c").is_err());
    let (_, refused) = passes::ingest(
        Format::IcaoCrl,
        b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        Some("AUS"),
        "c",
    )
    .unwrap_or_default();
    assert_eq!(refused.len(), 1);
}
