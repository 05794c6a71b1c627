//! Hostile input: random bytes and Base45, decompression bombs, deep CBOR. Nothing panics and
//! every input gets a typed error.

use std::io::Write;

use dcc_gateway::crypto::{Alg, RingVerifier};
use dcc_gateway::hcert::{self, ErrorCode, Limits, VerifyOptions};
use proptest::prelude::*;

use super::support::*;

fn verify(qr: &str) -> hcert::VerificationResult {
    let s = SIGNER.with(|s| s.dsc.clone());
    let snap = dcc_gateway::trust::model::TrustSnapshot::new(1, [s]);
    hcert::verify(
        qr,
        &snap,
        &RingVerifier,
        &Limits::default(),
        &VerifyOptions::at(T0),
    )
}

thread_local! {
    static SIGNER: Signer = signer(Alg::Es256);
}

#[test]
fn sixteen_mib_zlib_bomb_is_rejected_with_payload_too_large() {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 16 * 1024 * 1024]).unwrap();
    let bomb = z.finish().unwrap();
    let qr = format!("HC1:{}", base45::encode(&bomb));
    let r = verify(&qr);
    // The bomb's Base45 text is longer than a QR code can hold: the length limit stops it
    // before any decoding work, and says the input is too large (not a bad prefix).
    assert_eq!(r.error_codes(), [ErrorCode::PayloadTooLarge]);
    assert!(
        r.errors[0].message.contains("longer than the limit"),
        "{:?}",
        r.errors
    );
    // With the text limit lifted, the inflate cap stops it.
    let limits = Limits {
        max_qr_chars: usize::MAX,
        ..Limits::default()
    };
    let snap = dcc_gateway::trust::model::TrustSnapshot::default();
    let r = hcert::verify(&qr, &snap, &RingVerifier, &limits, &VerifyOptions::at(T0));
    assert_eq!(r.error_codes(), [ErrorCode::PayloadTooLarge]);
}

#[test]
fn a_small_bomb_that_fits_in_a_qr_code_is_capped() {
    // 1 MiB of zeros compresses to ~1 KiB: it fits in a QR code.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 1024 * 1024]).unwrap();
    let qr = format!("HC1:{}", base45::encode(z.finish().unwrap()));
    assert!(qr.len() < Limits::default().max_qr_chars);
    assert_eq!(verify(&qr).error_codes(), [ErrorCode::PayloadTooLarge]);
}

#[test]
fn deeply_nested_cbor_is_rejected() {
    let mut deep = vec![0x81u8; 5_000];
    deep.push(0);
    assert_eq!(
        verify(&dcc_gateway::hcert::encode::wrap(&deep)).error_codes(),
        [ErrorCode::CoseInvalid]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        let r = verify(&text);
        prop_assert!(!r.valid);
        prop_assert_eq!(r.errors.len(), 1);
    }

    #[test]
    fn random_base45_never_panics(text in "[0-9A-Z $%*+\\-./:]{0,3000}") {
        let r = verify(&format!("HC1:{text}"));
        prop_assert!(!r.valid);
    }

    #[test]
    fn random_compressed_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let r = verify(&dcc_gateway::hcert::encode::wrap(&bytes));
        prop_assert!(!r.valid);
    }

    #[test]
    fn mutated_valid_certificates_never_verify_unless_unchanged(pos in 0usize..4000, byte in any::<u8>()) {
        let good = SIGNER.with(|s| cose(s, claims_for(&vaccination())));
        let mut bad = good.clone();
        let i = pos % bad.len();
        bad[i] = byte;
        let r = verify(&dcc_gateway::hcert::encode::wrap(&bad));
        prop_assert_eq!(r.valid, bad == good);
    }
}
