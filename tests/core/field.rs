//! Codes from the field, as WHO's DDCC validator's tests hold them (Apache-2.0), verified with
//! the keys their issuers publish (from the Path-Check trust registry): a WHO DDCC test result
//! from Singapore, SMART Health Cards from the SHC spec, Senegal, Walgreens and Washington
//! State, ICAO VDS-NC seals from Australia and Japan, and EU DCCs from Germany, Indonesia and
//! Uruguay (PS256). Provenance: `tests/data/field/SOURCES.md`.

use dcc_gateway::crypto::RingVerifier;
use dcc_gateway::hcert::{
    self, Detail, ErrorCode, Limits, PassFormat, VerificationResult, VerifyOptions,
};
use dcc_gateway::passes;
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::model::{Dsc, TrustSnapshot};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/field");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}/{name}")).unwrap()
}

fn at(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap()
}

/// An HC1 code against the DSC certificate its issuer publishes.
fn hc1(name: &str, instant: &str) -> VerificationResult {
    let dsc = Dsc::from_pem_or_der(read(&format!("{name}.cert.pem")).as_bytes(), "field").unwrap();
    let snap = TrustSnapshot::new(1, dsc);
    hcert::verify(
        read(&format!("{name}.qr.txt")).trim_end(),
        &snap,
        &RingVerifier,
        &Limits::default(),
        &VerifyOptions::at(at(instant)),
    )
}

#[test]
fn a_who_ddcc_test_result_from_singapore() {
    let r = hc1("WHOSingaporePCR", "2022-08-01T00:00:00Z");
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::WhoDdcc);
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(c.cert_type, Some(hcert::payload::CertType::Test));
    assert_eq!(c.holder.name.as_deref(), Some("TAN CHEN CHEN"));
    assert_eq!(c.holder.date_of_birth.as_deref(), Some("1990-01-15"));
    // No exp and no valid_until: the pass states no expiry.
    assert!(c.expires_at.is_none());
    // After its signer certificate expired, it is refused.
    let late = hc1("WHOSingaporePCR", "2025-01-01T00:00:00Z");
    assert_eq!(late.error_codes(), vec![ErrorCode::DscNotValid]);
}

#[test]
fn eu_dccs_from_germany_indonesia_and_uruguay() {
    for (name, instant) in [
        ("EUQR1", "2022-01-01T00:00:00Z"),
        ("EUIndonesia", "2022-08-01T00:00:00Z"),
        ("EUUruguay2", "2023-01-01T00:00:00Z"),
    ] {
        let r = hc1(name, instant);
        assert!(r.valid, "{name}: {:?}", r.errors);
        assert_eq!(r.format, PassFormat::EuDcc, "{name}");
    }
    assert_eq!(
        hc1("EUUruguay2", "2023-01-01T00:00:00Z")
            .certificate
            .unwrap()
            .alg,
        hcert::SignatureAlg::Ps256
    );
}

/// A JWKS holding the P-256 key of `pem` under `kid`.
fn jwks(pem: &str, kid: &str) -> serde_json::Value {
    use rustls_pki_types::pem::PemObject;
    let spki = rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).unwrap();
    let point = &spki.as_ref()[spki.as_ref().len() - 65..];
    let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
    json!({"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": b64(&point[1..33]), "y": b64(&point[33..])}]})
}

#[test]
fn smart_health_cards_from_four_issuers() {
    for (name, issuer_kid, instant, family) in [
        (
            "SHCQR1",
            "https://spec.smarthealth.cards/examples/issuer#3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s",
            "2021-07-01T00:00:00Z",
            Some("Anyperson"),
        ),
        (
            "SHCSenegal",
            "https://senegal.tbi.ohms.oracle.com#VEccqX9LvPZJXqv11staEs0qPN2OR9bMS_PXEAZODXg",
            "2023-01-01T00:00:00Z",
            None,
        ),
        (
            "SHCTestResults",
            "https://healthcard.walgreens.com#HU_oQtpaUSKgrD7QzeQ9TxED9BtPRFGcD8MqI6og_8A",
            "2022-06-01T00:00:00Z",
            None,
        ),
        (
            "SHCWAVax",
            "https://waverify.doh.wa.gov/creds#n0S0H6_mbA93e3pEu-a67qoiF4CAWYsOGoWo6TLHUzQ",
            "2023-01-01T00:00:00Z",
            None,
        ),
    ] {
        let (iss, kid) = issuer_kid.split_once('#').unwrap();
        let doc = jwks(&read(&format!("{name}.key.pem")), kid);
        let (keys, refused) = passes::ingest(
            Format::ShcJwks,
            doc.to_string().as_bytes(),
            Some(iss),
            "shc",
        )
        .unwrap();
        assert!(
            refused.is_empty(),
            "{name}: the registry's kid is the key's thumbprint"
        );
        let snap = TrustSnapshot::new(0, Vec::new()).with_pass_keys(keys);
        let qr = read(&format!("{name}.qr.txt"));
        let r = passes::verify(
            PassFormat::Shc,
            qr.trim_end(),
            &snap,
            at(instant),
            Detail::Minimal,
        );
        assert!(r.valid, "{name}: {:?}", r.errors);
        let c = r.certificate.as_ref().unwrap();
        assert_eq!(c.iss.as_deref(), Some(iss), "{name}");
        assert!(c.holder.family_name.is_some(), "{name}: {:?}", c.holder);
        if let Some(f) = family {
            assert_eq!(c.holder.family_name.as_deref(), Some(f));
        }
    }
}

#[test]
fn icao_seals_from_australia_and_japan_chain_to_their_cscas() {
    for (name, state, instant) in [
        ("ICAOAUQR1", "AUS", "2022-01-01T00:00:00Z"),
        ("ICAOJPQR1", "JPN", "2022-07-01T00:00:00Z"),
    ] {
        let (keys, refused) = passes::ingest(
            Format::IcaoCsca,
            read(&format!("{name}.cert.pem")).as_bytes(),
            Some(state),
            "icao",
        )
        .unwrap();
        assert!(refused.is_empty(), "{name}: {refused:?}");
        let snap = TrustSnapshot::new(0, Vec::new()).with_pass_keys(keys);
        let qr = read(&format!("{name}.qr.txt"));
        let r = passes::verify(
            PassFormat::IcaoVdsNc,
            qr.trim_end(),
            &snap,
            at(instant),
            Detail::Minimal,
        );
        assert!(r.valid, "{name}: {:?}", r.errors);
        assert_eq!(r.format, PassFormat::IcaoVdsNc);
        assert!(!r.certificate.unwrap().vaccinations.is_empty(), "{name}");
    }
    // The Japanese seal against Australia's CSCA: issued by no trusted CSCA of its state.
    let (au, _) = passes::ingest(
        Format::IcaoCsca,
        read("ICAOAUQR1.cert.pem").as_bytes(),
        Some("JPN"),
        "icao",
    )
    .unwrap();
    let snap = TrustSnapshot::new(0, Vec::new()).with_pass_keys(au);
    let r = passes::verify(
        PassFormat::IcaoVdsNc,
        read("ICAOJPQR1.qr.txt").trim_end(),
        &snap,
        at("2022-07-01T00:00:00Z"),
        Detail::Minimal,
    );
    assert!(!r.valid);
}
