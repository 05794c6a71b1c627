//! Instruction-count ratio of the full ES256/PS256 pipeline against the raw signature check,
//! for `valgrind --tool=callgrind` (stable on a noisy machine, unlike wall-clock time).
//!
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/ratio es256 raw 200`
//! Modes: `raw` (signature only), `full` (`hcert::verify`), `setup` (fixture only, subtracted).

use dcc_gateway::crypto::{Alg, RingVerifier, SignatureVerifier};
use dcc_gateway::hcert::encode::{NewClaims, cwt_claims, sign1, wrap};
use dcc_gateway::hcert::{self, Limits, VerifyOptions, base45, cose, inflate, prefix};
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::trust::model::{Dsc, TrustSnapshot};
use time::{Duration, macros::datetime};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let alg = if args.get(1).map(String::as_str) == Some("ps256") {
        Alg::Ps256
    } else {
        Alg::Es256
    };
    let mode = args.get(2).cloned().unwrap_or_else(|| "full".into());
    let n: usize = args.get(3).map_or(Ok(200), |s| s.parse())?;
    let t0 = datetime!(2021-06-01 00:00 UTC);
    let key = SignerKey::generate(alg)?;
    let cert = mint::self_signed(
        &CertSpec::new(
            "VN",
            "ratio",
            t0 - Duration::days(30),
            t0 + Duration::days(700),
        ),
        &key,
    )?;
    let dsc = Dsc::from_der(&cert.der, "ratio")?;
    let dcc = serde_json::json!({"ver": "1.3.0", "nam": {"fn": "Nguyen", "fnt": "NGUYEN", "gn": "An", "gnt": "AN"},
        "dob": "1990-01-31", "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
        "dn": 2, "sd": 2, "dt": "2021-05-01", "co": "VN", "is": "Ministry of Health", "ci": "URN:UVCI:01:VN:RATIO#1"}]});
    let claims = cwt_claims(&NewClaims {
        iss: "VN",
        iat: t0 - Duration::days(1),
        exp: t0 + Duration::days(365),
        dcc: &dcc,
    })?;
    let qr = wrap(&sign1(claims, &dsc.kid.0, alg, |tbs| key.sign(tbs))?);
    let snapshot = TrustSnapshot::new(1, [dsc.clone()]);
    let limits = Limits::default();
    let msg = cose::parse(
        &inflate::inflate(&base45::decode(prefix::strip(&qr, &limits)?)?, &limits)?,
        &limits,
    )?;
    let (tbs, sig) = (msg.to_be_signed(), msg.signature().to_vec());
    // Warm the lazily compiled schema so it is not counted per call.
    let _ = hcert::verify(
        &qr,
        &snapshot,
        &RingVerifier,
        &limits,
        &VerifyOptions::at(t0),
    );
    let mut ok = 0usize;
    for _ in 0..n {
        match mode.as_str() {
            "raw" => ok += usize::from(RingVerifier.verify(alg, &dsc.key, &tbs, &sig).is_ok()),
            "full" => {
                ok += usize::from(
                    hcert::verify(
                        &qr,
                        &snapshot,
                        &RingVerifier,
                        &limits,
                        &VerifyOptions::at(t0),
                    )
                    .valid,
                )
            }
            _ => {}
        }
    }
    println!("{mode} {ok}/{n}");
    Ok(())
}
