//! End-to-end pipeline tests with freshly minted keys: every algorithm and certificate type,
//! and every kind of tampering the issue lists, each with its stable code.

use coset::{
    CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana,
};
use dcc_gateway::crypto::{Alg, RingVerifier};
use dcc_gateway::hcert::encode::wrap;
use dcc_gateway::hcert::{self, ErrorCode, Limits, VerificationResult, VerifyOptions};
use dcc_gateway::keys::mint::{EKU_TEST, EKU_VACCINATION};
use dcc_gateway::trust::model::TrustSnapshot;
use time::Duration;

use super::support::*;

fn codes(r: &VerificationResult) -> Vec<ErrorCode> {
    r.error_codes()
}

#[test]
fn valid_certificates_of_every_type_and_algorithm() {
    for alg in [Alg::Es256, Alg::Ps256] {
        let s = signer(alg);
        let snap = snapshot(&[&s]);
        for (dcc, kind) in [
            (vaccination(), "vaccination"),
            (test_cert(), "test"),
            (recovery(), "recovery"),
        ] {
            let r = run(&hc1(&s, &dcc), &snap, T0);
            assert!(r.valid, "{alg:?} {kind}: {:?}", r.errors);
            assert!(r.warnings.is_empty(), "{:?}", r.warnings);
            let c = r.certificate.as_ref().unwrap();
            assert_eq!(serde_json::to_value(c.cert_type).unwrap(), kind);
            assert_eq!(c.alg, alg.into());
            assert_eq!(c.issuer_country.as_deref(), Some("VN"));
            assert_eq!(c.kid, s.dsc.kid.to_base64());
            assert_eq!(
                c.holder.family_name_std,
                dcc["nam"]["fnt"].as_str().map(str::to_owned)
            );
            assert_eq!(r.provenance.dsc_source.as_deref(), Some("test"));
            assert!(c.dcc.is_none(), "minimal detail by default");
        }
    }
}

#[test]
fn full_detail_returns_the_dcc_and_json_matches_the_contract() {
    let s = signer(Alg::Es256);
    let snap = snapshot(&[&s]);
    let opts = VerifyOptions {
        detail: hcert::Detail::Full,
        ..VerifyOptions::at(T0)
    };
    let r = hcert::verify(
        &hc1(&s, &vaccination()),
        &snap,
        &RingVerifier,
        &Limits::default(),
        &opts,
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["status"], "VALID");
    assert_eq!(json["checked_at"], "2021-06-01T00:00:00Z");
    assert_eq!(json["certificate"]["type"], "vaccination");
    assert_eq!(json["certificate"]["alg"], "ES256");
    assert_eq!(json["certificate"]["uvci"], "URN:UVCI:01:VN:TEST0001#K");
    assert_eq!(json["certificate"]["holder"]["date_of_birth"], "1985-03-14");
    assert_eq!(json["certificate"]["expires_at"], "2022-06-01T00:00:00Z");
    assert_eq!(json["certificate"]["dcc"], vaccination());
    assert_eq!(json["provenance"]["trust_snapshot"], snap.id.as_str());
    assert!(json["errors"].as_array().unwrap().is_empty());
}

#[test]
fn flipped_signature_bit_is_signature_invalid() {
    for alg in [Alg::Es256, Alg::Ps256] {
        let s = signer(alg);
        let mut msg = CoseSign1::from_tagged_slice(&cose(&s, claims_for(&vaccination()))).unwrap();
        msg.signature[5] ^= 0x01;
        let r = run(&wrap(&msg.to_tagged_vec().unwrap()), &snapshot(&[&s]), T0);
        assert_eq!(codes(&r), [ErrorCode::SignatureInvalid], "{alg:?}");
        assert!(
            r.certificate.is_none(),
            "no data from an unverified certificate"
        );
    }
}

#[test]
fn changed_claim_without_resigning_is_signature_invalid() {
    let s = signer(Alg::Es256);
    let mut msg = CoseSign1::from_tagged_slice(&cose(&s, claims_for(&vaccination()))).unwrap();
    let mut forged = vaccination();
    forged["nam"]["fnt"] = "MALLORY".into();
    msg.payload = Some(claims_for(&forged));
    let r = run(&wrap(&msg.to_tagged_vec().unwrap()), &snapshot(&[&s]), T0);
    assert_eq!(codes(&r), [ErrorCode::SignatureInvalid]);
}

#[test]
fn wrong_dsc_with_the_same_kid_is_signature_invalid_and_unknown_kid_is_kid_unknown() {
    let s = signer(Alg::Es256);
    let other = signer(Alg::Es256);
    // Sign with `other`'s key but claim `s`'s kid.
    let forged = wrap(
        &dcc_gateway::hcert::encode::sign1(
            claims_for(&vaccination()),
            &s.dsc.kid.0,
            Alg::Es256,
            |tbs| other.key.sign(tbs),
        )
        .unwrap(),
    );
    assert_eq!(
        codes(&run(&forged, &snapshot(&[&s]), T0)),
        [ErrorCode::SignatureInvalid]
    );
    assert_eq!(
        codes(&run(&hc1(&other, &vaccination()), &snapshot(&[&s]), T0)),
        [ErrorCode::KidUnknown]
    );
}

#[test]
fn all_dscs_sharing_a_kid_are_tried() {
    let s = signer(Alg::Es256);
    let impostor = signer(Alg::Es256);
    let mut colliding = impostor.dsc.clone();
    colliding.kid = s.dsc.kid;
    let snap = TrustSnapshot::new(1, [colliding, s.dsc.clone()]);
    assert_eq!(snap.candidates(&s.dsc.kid.0).len(), 2);
    let r = run(&hc1(&s, &vaccination()), &snap, T0);
    assert!(r.valid, "{:?}", r.errors);
}

#[test]
fn time_policy() {
    let s = signer(Alg::Ps256);
    let snap = snapshot(&[&s]);
    let qr = hc1(&s, &vaccination());
    let exp = T0 + Duration::days(365);
    assert!(run(&qr, &snap, exp).valid, "exp itself is still valid");
    assert_eq!(
        codes(&run(&qr, &snap, exp + Duration::seconds(1))),
        [ErrorCode::CwtExpired]
    );
    let iat = T0 - Duration::days(1);
    assert!(run(&qr, &snap, iat).valid);
    assert_eq!(
        codes(&run(&qr, &snap, iat - Duration::seconds(1))),
        [ErrorCode::CwtNotYetValid]
    );
    // After the DSC expired (and after exp): both reported.
    let late = T0 + Duration::days(800);
    assert_eq!(
        codes(&run(&qr, &snap, late)),
        [ErrorCode::CwtExpired, ErrorCode::DscNotValid]
    );
}

#[test]
fn dsc_validity_window() {
    // Issued (iat T0-1d) before the DSC's notBefore (T0-1h): an issuer error the field accepts
    // once the DSC is valid — a warning at T0, an error before the DSC starts.
    let mut spec = dsc_spec();
    spec.not_before = T0 - Duration::hours(1);
    let s = signer_with(Alg::Es256, &spec);
    let qr = hc1(&s, &vaccination());
    let r = run(&qr, &snapshot(&[&s]), T0);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.warning_codes(), [ErrorCode::DscNotValid]);
    assert!(
        r.warnings[0].message.contains("issued before"),
        "{:?}",
        r.warnings
    );
    let early = run(&qr, &snapshot(&[&s]), T0 - Duration::hours(2));
    assert_eq!(codes(&early), [ErrorCode::DscNotValid]);

    let mut short = dsc_spec();
    short.not_after = T0 + Duration::days(100); // certificate outlives its DSC: warning only
    let s = signer_with(Alg::Es256, &short);
    let r = run(&hc1(&s, &vaccination()), &snapshot(&[&s]), T0);
    assert!(r.valid);
    assert_eq!(r.warning_codes(), [ErrorCode::DscNotValid]);

    // A certificate whose whole validity lies before its DSC's: invalid at every instant.
    let mut later = dsc_spec();
    later.not_before = T0 + Duration::days(400); // after exp (T0 + 365 d)
    later.not_after = T0 + Duration::days(900);
    let s = signer_with(Alg::Es256, &later);
    let qr = hc1(&s, &vaccination());
    for at in [T0, T0 + Duration::days(366), T0 + Duration::days(500)] {
        let r = run(&qr, &snapshot(&[&s]), at);
        assert!(!r.valid, "{at}");
        assert!(
            codes(&r).contains(&ErrorCode::DscNotValid),
            "{at}: {:?}",
            codes(&r)
        );
    }
}

#[test]
fn key_usage_restricts_types_and_legacy_oids_count() {
    let mut spec = dsc_spec();
    spec.eku = vec![EKU_TEST.to_vec()];
    let s = signer_with(Alg::Es256, &spec);
    let snap = snapshot(&[&s]);
    assert!(run(&hc1(&s, &test_cert()), &snap, T0).valid);
    assert_eq!(
        codes(&run(&hc1(&s, &vaccination()), &snap, T0)),
        [ErrorCode::KeyUsageMismatch]
    );
    assert_eq!(
        codes(&run(&hc1(&s, &recovery()), &snap, T0)),
        [ErrorCode::KeyUsageMismatch]
    );

    let mut legacy = dsc_spec();
    legacy.eku = vec![vec![1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 2]];
    let s = signer_with(Alg::Ps256, &legacy);
    let snap = snapshot(&[&s]);
    assert!(run(&hc1(&s, &vaccination()), &snap, T0).valid);
    assert_eq!(
        codes(&run(&hc1(&s, &test_cert()), &snap, T0)),
        [ErrorCode::KeyUsageMismatch]
    );

    // An EKU with only non-DCC OIDs allows every type.
    let mut other = dsc_spec();
    other.eku = vec![
        vec![1, 3, 6, 1, 5, 5, 7, 3, 2],
        EKU_VACCINATION[..3].to_vec(),
    ];
    let s = signer_with(Alg::Es256, &other);
    assert!(run(&hc1(&s, &recovery()), &snapshot(&[&s]), T0).valid);
}

#[test]
fn empty_eku_sequence_still_loads_and_allows_all_types() {
    let mut spec = dsc_spec();
    spec.extra_extensions = vec![(vec![2, 5, 29, 37], vec![0x30, 0x00])];
    let s = signer_with(Alg::Es256, &spec);
    let r = run(&hc1(&s, &recovery()), &snapshot(&[&s]), T0);
    assert!(r.valid, "{:?}", r.errors);
}

#[test]
fn decode_errors_have_their_codes() {
    let s = signer(Alg::Es256);
    let snap = snapshot(&[&s]);
    let qr = hc1(&s, &vaccination());
    let lower = format!("hc1:{}", &qr[4..]);
    assert_eq!(codes(&run(&lower, &snap, T0)), [ErrorCode::PrefixInvalid]);
    assert_eq!(codes(&run(&qr[4..], &snap, T0)), [ErrorCode::PrefixInvalid]);
    assert_eq!(
        codes(&run(&format!("HC2:{}", &qr[4..]), &snap, T0)),
        [ErrorCode::PrefixInvalid]
    );
    // Truncation: drop 1 char (length mod 3 breaks), 3 chars (zlib truncated).
    assert_eq!(
        codes(&run(&qr[..qr.len() - 1], &snap, T0)),
        [ErrorCode::Base45Invalid]
    );
    let compressed = base45::decode(&qr[4..]).unwrap();
    let truncated = format!(
        "HC1:{}",
        base45::encode(&compressed[..compressed.len() - 5])
    );
    assert_eq!(
        codes(&run(&truncated, &snap, T0)),
        [ErrorCode::DecompressFailed]
    );
    assert_eq!(
        codes(&run(&format!("{qr}="), &snap, T0)),
        [ErrorCode::Base45Invalid]
    );
    // Not compressed: raw COSE in Base45.
    let raw = format!(
        "HC1:{}",
        base45::encode(cose(&s, claims_for(&vaccination())))
    );
    assert_eq!(codes(&run(&raw, &snap, T0)), [ErrorCode::DecompressFailed]);
    // Compressed garbage CBOR.
    assert_eq!(
        codes(&run(&wrap(&[0x84, 0x40]), &snap, T0)),
        [ErrorCode::CoseInvalid]
    );
}

#[test]
fn header_variants() {
    let s = signer(Alg::Es256);
    let snap = snapshot(&[&s]);
    let payload = claims_for(&vaccination());
    let build = |protected: coset::Header, unprotected: coset::Header, tagged: bool| -> String {
        let msg = CoseSign1Builder::new()
            .protected(protected)
            .unprotected(unprotected)
            .payload(payload.clone())
            .try_create_signature(&[], |tbs| s.key.sign(tbs))
            .unwrap()
            .build();
        wrap(&if tagged {
            msg.to_tagged_vec().unwrap()
        } else {
            msg.to_vec().unwrap()
        })
    };
    let kid = s.dsc.kid.0.to_vec();
    let alg = || HeaderBuilder::new().algorithm(iana::Algorithm::ES256);
    // kid unprotected only, untagged: valid.
    assert!(
        run(
            &build(
                alg().build(),
                HeaderBuilder::new().key_id(kid.clone()).build(),
                false
            ),
            &snap,
            T0
        )
        .valid
    );
    // everything unprotected (empty protected header): valid.
    let r = run(
        &build(
            HeaderBuilder::new().build(),
            alg().key_id(kid.clone()).build(),
            true,
        ),
        &snap,
        T0,
    );
    assert!(r.valid, "{:?}", r.errors);
    // protected kid right, unprotected wrong: valid (protected wins).
    assert!(
        run(
            &build(
                alg().key_id(kid.clone()).build(),
                HeaderBuilder::new().key_id(b"foo".to_vec()).build(),
                true
            ),
            &snap,
            T0
        )
        .valid
    );
    // protected kid wrong, unprotected right: invalid.
    assert_eq!(
        codes(&run(
            &build(
                alg().key_id(b"foo".to_vec()).build(),
                HeaderBuilder::new().key_id(kid.clone()).build(),
                true
            ),
            &snap,
            T0
        )),
        [ErrorCode::KidUnknown]
    );
    // no kid anywhere.
    assert_eq!(
        codes(&run(
            &build(alg().build(), HeaderBuilder::new().build(), true),
            &snap,
            T0
        )),
        [ErrorCode::KidMissing]
    );
    // PS256 header on an EC key: the header does not pick the key type.
    let ps = HeaderBuilder::new()
        .algorithm(iana::Algorithm::PS256)
        .key_id(kid.clone())
        .build();
    assert_eq!(
        codes(&run(
            &build(ps, HeaderBuilder::new().build(), true),
            &snap,
            T0
        )),
        [ErrorCode::AlgUnsupported]
    );
    // An algorithm outside ES256/PS256.
    let es384 = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES384)
        .key_id(kid.clone())
        .build();
    assert_eq!(
        codes(&run(
            &build(es384, HeaderBuilder::new().build(), true),
            &snap,
            T0
        )),
        [ErrorCode::AlgUnsupported]
    );
    // CWT tag 61 around tag 18.
    let mut double = vec![0xD8, 0x3D];
    double.extend_from_slice(&cose(&s, payload.clone()));
    assert!(run(&wrap(&double), &snap, T0).valid);
}

#[test]
fn float_timestamps_are_accepted() {
    use coset::cbor::value::Value as V;
    let s = signer(Alg::Es256);
    let mut out = Vec::new();
    let dcc = V::serialized(&vaccination()).unwrap();
    let claims = V::Map(vec![
        (V::Integer(1.into()), V::Text("VN".into())),
        (
            V::Integer(4.into()),
            V::Float((T0 + Duration::days(30)).unix_timestamp() as f64 + 0.933),
        ),
        (
            V::Integer(6.into()),
            V::Float((T0 - Duration::days(1)).unix_timestamp() as f64 + 0.5),
        ),
        (
            V::Integer((-260).into()),
            V::Map(vec![(V::Integer(1.into()), dcc)]),
        ),
    ]);
    coset::cbor::ser::into_writer(&claims, &mut out).unwrap();
    let r = run(&wrap(&cose(&s, out)), &snapshot(&[&s]), T0);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(
        r.certificate.unwrap().expires_at.as_deref(),
        Some("2021-07-01T00:00:00Z")
    );
}

#[test]
fn payload_problems_after_a_good_signature() {
    let s = signer(Alg::Es256);
    let snap = snapshot(&[&s]);
    let mut two = vaccination();
    two["r"] = recovery()["r"].clone();
    let r = run(&hc1(&s, &two), &snap, T0);
    assert!(!r.valid);
    assert!(
        codes(&r)
            .iter()
            .all(|c| *c == ErrorCode::PayloadSchemaInvalid),
        "{:?}",
        r.errors
    );

    let mut odd = vaccination();
    odd["v"][0]["mp"] = "NEW-VACCINE-2026".into();
    let r = run(&hc1(&s, &odd), &snap, T0);
    assert!(r.valid, "value-set findings are warnings by default");
    assert_eq!(r.warning_codes(), [ErrorCode::PayloadValuesetInvalid]);
    let strict = VerifyOptions {
        strict_valuesets: true,
        ..VerifyOptions::at(T0)
    };
    let r = hcert::verify(
        &hc1(&s, &odd),
        &snap,
        &RingVerifier,
        &Limits::default(),
        &strict,
    );
    assert_eq!(codes(&r), [ErrorCode::PayloadValuesetInvalid]);
}

#[cfg(feature = "rustcrypto")]
#[test]
fn both_backends_agree_on_good_and_tampered_signatures() {
    use dcc_gateway::crypto::RustCryptoVerifier;
    for alg in [Alg::Es256, Alg::Ps256] {
        let s = signer(alg);
        let snap = snapshot(&[&s]);
        let good = cose(&s, claims_for(&vaccination()));
        let mut variants = vec![wrap(&good)];
        for bit in [0usize, 7, 100, 500] {
            let mut msg = CoseSign1::from_tagged_slice(&good).unwrap();
            let i = bit % msg.signature.len();
            msg.signature[i] ^= 1;
            variants.push(wrap(&msg.to_tagged_vec().unwrap()));
        }
        for qr in variants {
            let a = hcert::verify(
                &qr,
                &snap,
                &RingVerifier,
                &Limits::default(),
                &VerifyOptions::at(T0),
            );
            let b = hcert::verify(
                &qr,
                &snap,
                &RustCryptoVerifier,
                &Limits::default(),
                &VerifyOptions::at(T0),
            );
            assert_eq!(a, b);
        }
    }
}

#[test]
fn an_rsa_1024_signer_is_refused_for_its_key_size_not_its_algorithm() {
    // A DSC carrying an RSA-1024 key (real ones exist): the certificate says PS256, which is
    // right for RSA; the key is too small, and the verdict says so.
    let base = signer(Alg::Es256);
    let mut weak = base.dsc.clone();
    weak.key = dcc_gateway::crypto::PublicKey::Rsa {
        der: vec![0x30, 0x00],
        bits: 1024,
    };
    let snap = TrustSnapshot::new(1, [weak]);
    let cose = dcc_gateway::hcert::encode::sign1(
        claims_for(&vaccination()),
        &base.dsc.kid.0,
        Alg::Ps256,
        |_| Ok::<_, std::convert::Infallible>(vec![7u8; 128]),
    )
    .unwrap();
    let r = run(&dcc_gateway::hcert::encode::wrap(&cose), &snap, T0);
    assert_eq!(codes(&r), [ErrorCode::KeyUnsupported]);
    assert!(r.errors[0].message.contains("1024 bits"), "{:?}", r.errors);
    // ES256 against that key is the algorithm that does not fit.
    let es = dcc_gateway::hcert::encode::sign1(
        claims_for(&vaccination()),
        &base.dsc.kid.0,
        Alg::Es256,
        |_| Ok::<_, std::convert::Infallible>(vec![7u8; 64]),
    )
    .unwrap();
    let r = run(&dcc_gateway::hcert::encode::wrap(&es), &snap, T0);
    assert_eq!(codes(&r), [ErrorCode::AlgUnsupported]);
}
