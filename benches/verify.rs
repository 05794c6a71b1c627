//! Criterion benchmarks of the verification core, every stage and the raw signature check in
//! one run, so ratios (pipeline ÷ raw verify) are measured side by side on the same machine.
//! Run: `cargo bench --bench verify` (add `--features rustcrypto` for the pure-Rust backend).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::hint::black_box;

#[path = "../tests/common/passes.rs"]
#[allow(
    dead_code,
    reason = "shared with the tests; not every helper is used here"
)]
mod make_passes;

use criterion::{Criterion, criterion_group, criterion_main};
use dcc_gateway::crypto::{Alg, RingVerifier, SignatureVerifier};
use dcc_gateway::hcert::encode::{NewClaims, cwt_claims, sign1, wrap};
use dcc_gateway::hcert::{
    self, Limits, VerifyOptions, base45, claims, cose, inflate, payload, prefix,
};
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::trust::model::{Dsc, TrustSnapshot};
use serde_json::json;
use time::{Duration, macros::datetime};

struct Fixture {
    qr: String,
    snapshot: TrustSnapshot,
    alg: Alg,
}

/// An EU DCC signed by a fresh DSC.
fn fixture(alg: Alg) -> Fixture {
    fixture_with(alg, false)
}

/// An EU DCC, or (`who_ddcc`) a WHO DDCC data set as the CWT payload, signed by a fresh DSC.
fn fixture_with(alg: Alg, who_ddcc: bool) -> Fixture {
    let t0 = datetime!(2021-06-01 00:00 UTC);
    let key = SignerKey::generate(alg).expect("key");
    let spec = CertSpec::new(
        "VN",
        "bench DSC",
        t0 - Duration::days(30),
        t0 + Duration::days(700),
    );
    let cert = mint::self_signed(&spec, &key).expect("cert");
    let dsc = Dsc::from_der(&cert.der, "bench").expect("dsc");
    let dcc = json!({
        "ver": "1.3.0",
        "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Văn An", "gnt": "VAN<AN"},
        "dob": "1990-01-31",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
               "dn": 2, "sd": 2, "dt": "2021-05-01", "co": "VN", "is": "Ministry of Health",
               "ci": "URN:UVCI:01:VN:BENCH#1"}]
    });
    let payload = cwt_claims(&NewClaims {
        iss: "VN",
        iat: t0 - Duration::days(1),
        exp: t0 + Duration::days(365),
        dcc: &dcc,
    })
    .expect("claims");
    let payload = if who_ddcc {
        let ddcc = json!({"name": "Nguyễn Văn An", "birthDate": "1990-01-31",
            "vaccine": {"system": "http://snomed.info/sct", "code": "1119349007"},
            "brand": {"code": "EU/1/20/1528"}, "lot": "L1", "date": "2021-05-01", "dose": 2,
            "total_doses": 2, "country": {"code": "VNM"}, "hcid": "VN-BENCH-1",
            "valid_until": "2022-05-01"});
        let mut out = Vec::new();
        coset::cbor::ser::into_writer(
            &coset::cbor::value::Value::serialized(&ddcc).expect("cbor"),
            &mut out,
        )
        .expect("cbor");
        out
    } else {
        payload
    };
    let cose = sign1(payload, &dsc.kid.0, alg, |tbs| key.sign(tbs)).expect("sign");
    Fixture {
        qr: wrap(&cose),
        snapshot: TrustSnapshot::new(1, [dsc]),
        alg,
    }
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let at = datetime!(2021-06-01 00:00 UTC);
    for alg in [Alg::Es256, Alg::Ps256] {
        let f = fixture(alg);
        let name = alg.name();
        let b45 = prefix::strip(&f.qr, &limits).expect("prefix");
        let compressed = base45::decode(b45).expect("b45");
        let cose_bytes = inflate::inflate(&compressed, &limits).expect("inflate");
        let unverified = cose::parse(&cose_bytes, &limits).expect("cose");
        let tbs = unverified.to_be_signed();
        let sig = unverified.signature().to_vec();
        let dsc = f.snapshot.candidates(unverified.kid().expect("kid"))[0].clone();
        let verified = unverified
            .clone()
            .verify(&f.snapshot, &RingVerifier, &limits)
            .expect("verify");
        let claims = claims::read(&verified, &limits).expect("claims");

        c.bench_function(&format!("{name}/1_base45"), |b| {
            b.iter(|| base45::decode(black_box(b45)))
        });
        c.bench_function(&format!("{name}/2_inflate"), |b| {
            b.iter(|| inflate::inflate(black_box(&compressed), &limits))
        });
        c.bench_function(&format!("{name}/3_cose_parse"), |b| {
            b.iter(|| cose::parse(black_box(&cose_bytes), &limits))
        });
        c.bench_function(&format!("{name}/4_raw_signature_ring"), |b| {
            b.iter(|| RingVerifier.verify(f.alg, &dsc.key, black_box(&tbs), black_box(&sig)))
        });
        #[cfg(feature = "rustcrypto")]
        c.bench_function(&format!("{name}/4_raw_signature_rustcrypto"), |b| {
            b.iter(|| {
                dcc_gateway::crypto::RustCryptoVerifier.verify(
                    f.alg,
                    &dsc.key,
                    black_box(&tbs),
                    black_box(&sig),
                )
            })
        });
        c.bench_function(&format!("{name}/5_claims"), |b| {
            b.iter(|| claims::read(black_box(&verified), &limits))
        });
        c.bench_function(&format!("{name}/6_payload_schema_valuesets"), |b| {
            b.iter(|| payload::validate(black_box(&claims.dcc)))
        });
        let outcome = hcert::check_signed(&f.qr, &f.snapshot, &RingVerifier, &limits);
        c.bench_function(&format!("{name}/7_check_signed"), |b| {
            b.iter(|| hcert::check_signed(black_box(&f.qr), &f.snapshot, &RingVerifier, &limits))
        });
        c.bench_function(&format!("{name}/8_evaluate_policy_and_result"), |b| {
            b.iter(|| hcert::evaluate(black_box(&outcome), &f.snapshot, &VerifyOptions::at(at)))
        });
        let ddcc = fixture_with(alg, true);
        assert!(
            hcert::verify(
                &ddcc.qr,
                &ddcc.snapshot,
                &RingVerifier,
                &limits,
                &VerifyOptions::at(at)
            )
            .valid
        );
        c.bench_function(&format!("{name}/full_pipeline_who_ddcc"), |b| {
            b.iter(|| {
                hcert::verify(
                    black_box(&ddcc.qr),
                    &ddcc.snapshot,
                    &RingVerifier,
                    &limits,
                    &VerifyOptions::at(at),
                )
            })
        });
        c.bench_function(&format!("{name}/full_pipeline"), |b| {
            b.iter(|| {
                hcert::verify(
                    black_box(&f.qr),
                    &f.snapshot,
                    &RingVerifier,
                    &limits,
                    &VerifyOptions::at(at),
                )
            })
        });
    }
}

/// Non-EU passes: format detection (what it adds to every EU DCC verification) and the whole
/// verification of an NZ COVID Pass, a SMART Health Card, a VDS-NC seal and DIVOC credentials.
fn bench_passes(c: &mut Criterion) {
    use dcc_gateway::hcert::Detail;
    use dcc_gateway::passes;
    use dcc_gateway::trust::formats::Format;
    use dcc_gateway::trust::model::TrustSnapshot;
    use make_passes::*;
    let (nz, shc) = (IssuerKey::generate(), IssuerKey::generate());
    let mut keys = passes::ingest(
        Format::NzcpDid,
        did_document(NZ_DID, &[("key-1", &nz)])
            .to_string()
            .as_bytes(),
        None,
        "nz",
    )
    .unwrap()
    .0;
    keys.extend(
        passes::ingest(
            Format::ShcJwks,
            jwks(&[&shc]).to_string().as_bytes(),
            Some(SHC_ISS),
            "shc",
        )
        .unwrap()
        .0,
    );
    let icao = IcaoSigner::new(365);
    keys.extend(
        passes::ingest(
            Format::IcaoCsca,
            icao.csca_pem.as_bytes(),
            Some("AUS"),
            "au",
        )
        .unwrap()
        .0,
    );
    // DIVOC: India's real credential with India's published key, and one signed here with
    // Ed25519 (the two suites).
    let ed = DivocKey::ed25519();
    for (method, pem) in [
        (
            "did:india",
            include_str!("../tests/data/divoc/did-india.pem").to_owned(),
        ),
        ("did:test:vn", ed.public_pem()),
    ] {
        keys.extend(
            passes::ingest(Format::DivocKey, pem.as_bytes(), Some(method), "divoc")
                .unwrap()
                .0,
        );
    }
    let mut divoc_ed = divoc_credential("did:test:vn", "2021-05-01T10:00:00.000Z");
    ed.sign(&mut divoc_ed);
    let divoc_ed = divoc_qr(&divoc_ed);
    let divoc_india = include_str!("../tests/data/divoc/india-sample.qr.txt")
        .trim_end()
        .to_owned();
    let snap = TrustSnapshot::new(0, Vec::new()).with_pass_keys(keys);
    let at = dcc_gateway::clock::now();
    let nzcp = Nzcp::new("key-1").sign(&nz);
    let card = shc_card(SHC_ISS, &shc);
    c.bench_function("passes/detect_hc1", |b| {
        b.iter(|| {
            passes::detect(black_box(
                "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N",
            ))
        })
    });
    let seal = icao.seal(&vds_vacc_data("AUS"));
    for (name, qr) in [
        ("nzcp", &nzcp),
        ("shc", &card),
        ("icao_vds_nc", &seal),
        ("divoc_rsa_india", &divoc_india),
        ("divoc_ed25519", &divoc_ed),
    ] {
        let format = passes::detect(qr);
        assert!(passes::verify(format, qr, &snap, at, Detail::Minimal).valid);
        c.bench_function(&format!("passes/{name}_full_verify"), |b| {
            b.iter(|| passes::verify(format, black_box(qr), &snap, at, Detail::Minimal))
        });
    }
    // A DIVOC credential scanned for the first time (the loop above measures codes scanned
    // again, whose signed data is remembered): a new credential for every iteration.
    let mut n = 0u64;
    c.bench_function("passes/divoc_ed25519_first_scan", |b| {
        b.iter_batched(
            || {
                n += 1;
                let mut cred = divoc_credential("did:test:vn", "2021-05-01T10:00:00.000Z");
                cred["credentialSubject"]["refId"] = serde_json::json!(n.to_string());
                ed.sign(&mut cred);
                divoc_qr(&cred)
            },
            |qr| passes::verify(passes::detect(&qr), &qr, &snap, at, Detail::Minimal),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench, bench_passes
}
criterion_main!(benches);
