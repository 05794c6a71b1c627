//! NZ COVID Pass, SMART Health Card, ICAO VDS-NC and DIVOC decoding and verification on
//! arbitrary input, and the issuer-key and revocation-list readers (DID document, JWKS, SHC
//! CRL, CSCA and DIVOC PEM) on arbitrary bytes: no panic, bounded work, and a verdict is valid
//! exactly when it has no error.
#![no_main]

use dcc_gateway::hcert::{Detail, PassFormat};
use dcc_gateway::passes;
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::model::TrustSnapshot;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let snap = TrustSnapshot::new(1, Vec::new());
    let at = time::OffsetDateTime::from_unix_timestamp(1_700_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let text = String::from_utf8_lossy(data);
    // Text after each prefix, and the bytes Base32-encoded (reaches COSE) or as numeric SHC.
    let b32 = data_encoding::BASE32_NOPAD.encode(data);
    let digits: String = data.iter().map(|b| format!("{:02}", b % 78)).collect();
    for (format, qr) in [
        (PassFormat::Nzcp, format!("NZCP:/1/{text}")),
        (PassFormat::Nzcp, format!("NZCP:/1/{b32}")),
        (PassFormat::Shc, format!("shc:/{text}")),
        (PassFormat::Shc, format!("shc:/{digits}")),
        (PassFormat::IcaoVdsNc, text.to_string()),
        (PassFormat::Divoc, format!("B64:{text}")),
        (PassFormat::Divoc, format!("B64:{}", data_encoding::BASE64.encode(data))),
        (PassFormat::Divoc, data.iter().map(|&b| char::from(b)).collect()),
    ] {
        let r = passes::verify(format, &qr, &snap, at, Detail::Full);
        assert!(r.valid == r.errors.is_empty());
        assert!(!r.valid, "nothing verifies without keys");
    }
    let _ = passes::ingest(Format::NzcpDid, data, None, "fuzz");
    let _ = passes::ingest(Format::ShcJwks, data, Some("https://x.example"), "fuzz");
    let _ = passes::ingest(Format::IcaoCsca, data, Some("AUS"), "fuzz");
    let _ = passes::ingest(Format::ShcCrl, data, Some("https://x.example"), "fuzz");
    let _ = passes::ingest(Format::DivocKey, data, Some("did:x"), "fuzz");
    let _ = passes::ingest(Format::IcaoCrl, data, Some("AUS"), "fuzz");
});
