//! Shared test material: freshly minted keys and certificates, sample DCCs, HC1 strings.

use dcc_gateway::crypto::Alg;
use dcc_gateway::hcert::encode::{NewClaims, cwt_claims, sign1, wrap};
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::trust::model::{Dsc, TrustSnapshot};
use qrcode::{EcLevel, QrCode};
use serde_json::{Value as Json, json};
use time::{Duration, OffsetDateTime, macros::datetime};

pub const T0: OffsetDateTime = datetime!(2021-06-01 00:00 UTC);

/// A DSC with its private key.
pub struct Signer {
    pub key: SignerKey,
    pub dsc: Dsc,
    pub pem: String,
    pub der: Vec<u8>,
}

pub fn csca_spec() -> CertSpec {
    CertSpec::new(
        "VN",
        "VN CSCA test",
        T0 - Duration::days(400),
        T0 + Duration::days(3650),
    )
}

pub fn dsc_spec() -> CertSpec {
    CertSpec::new(
        "VN",
        "VN DSC test",
        T0 - Duration::days(30),
        T0 + Duration::days(700),
    )
}

/// A DSC issued by a fresh CSCA, with the given spec.
pub fn signer_with(alg: Alg, spec: &CertSpec) -> Signer {
    let csca_key = SignerKey::generate(Alg::Es256).unwrap();
    let csca = mint::csca(&csca_spec(), &csca_key).unwrap();
    let key = SignerKey::generate(alg).unwrap();
    let cert = mint::signed_by(spec, &key, &csca, &csca_key).unwrap();
    let dsc = Dsc::from_der(&cert.der, "test").unwrap();
    Signer {
        key,
        dsc,
        pem: cert.pem,
        der: cert.der,
    }
}

pub fn signer(alg: Alg) -> Signer {
    signer_with(alg, &dsc_spec())
}

pub fn snapshot(signers: &[&Signer]) -> TrustSnapshot {
    TrustSnapshot::new(1, signers.iter().map(|s| s.dsc.clone()))
}

pub fn vaccination() -> Json {
    json!({
        "ver": "1.3.0",
        "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Thị Lan", "gnt": "THI<LAN"},
        "dob": "1985-03-14",
        "v": [{
            "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
            "dn": 2, "sd": 2, "dt": "2021-05-01", "co": "VN",
            "is": "Ministry of Health of Viet Nam", "ci": "URN:UVCI:01:VN:TEST0001#K"
        }]
    })
}

pub fn test_cert() -> Json {
    json!({
        "ver": "1.3.0",
        "nam": {"fn": "Trần", "fnt": "TRAN", "gn": "Minh", "gnt": "MINH"},
        "dob": "1990-12-01",
        "t": [{
            "tg": "840539006", "tt": "LP6464-4", "nm": "PCR", "sc": "2021-05-30T08:00:00Z",
            "tr": "260415000", "tc": "Bach Mai Hospital", "co": "VN",
            "is": "Ministry of Health of Viet Nam", "ci": "URN:UVCI:01:VN:TEST0002#L"
        }]
    })
}

pub fn recovery() -> Json {
    json!({
        "ver": "1.3.0",
        "nam": {"fn": "Lê", "fnt": "LE", "gn": "Hoa", "gnt": "HOA"},
        "dob": "1970",
        "r": [{
            "tg": "840539006", "fr": "2021-04-01", "co": "VN", "is": "Ministry of Health of Viet Nam",
            "df": "2021-04-15", "du": "2021-10-01", "ci": "URN:UVCI:01:VN:TEST0003#M"
        }]
    })
}

/// Signed CWT payload bytes for `dcc`, iat = T0 - 1 day, exp = T0 + 365 days.
pub fn claims_for(dcc: &Json) -> Vec<u8> {
    cwt_claims(&NewClaims {
        iss: "VN",
        iat: T0 - Duration::days(1),
        exp: T0 + Duration::days(365),
        dcc,
    })
    .unwrap()
}

/// A COSE_Sign1 (tagged) over `payload` by `s`, kid in the protected header.
pub fn cose(s: &Signer, payload: Vec<u8>) -> Vec<u8> {
    sign1(payload, &s.dsc.kid.0, s.key.alg, |tbs| s.key.sign(tbs)).unwrap()
}

/// The verdict on `qr` at `at` with the ring backend and default limits.
pub fn run(
    qr: &str,
    snap: &TrustSnapshot,
    at: OffsetDateTime,
) -> dcc_gateway::hcert::VerificationResult {
    dcc_gateway::hcert::verify(
        qr,
        snap,
        &dcc_gateway::crypto::RingVerifier,
        &dcc_gateway::hcert::Limits::default(),
        &dcc_gateway::hcert::VerifyOptions::at(at),
    )
}

/// A complete HC1 string.
pub fn hc1(s: &Signer, dcc: &Json) -> String {
    wrap(&cose(s, claims_for(dcc)))
}

/// Renders a QR code (alphanumeric mode, ECC Q) as a greyscale PNG, 4 px per module.
pub fn qr_png(text: &str) -> Vec<u8> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q).unwrap();
    let modules = code.width();
    let scale = 4;
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for y in 0..modules {
        for x in 0..modules {
            if colors[y * modules + x] == qrcode::Color::Dark {
                for dy in 0..scale {
                    for dx in 0..scale {
                        pixels[((y + quiet) * scale + dy) * side + (x + quiet) * scale + dx] = 0;
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .unwrap()
        .write_image_data(&pixels)
        .unwrap();
    out
}
