//! Load-test corpus generator: thousands of distinct certificates signed with fresh keys, plus
//! invalid ones, and the trust material the gateway loads.
//!
//! `cargo run --release --example corpus -- OUT_DIR [VALID_COUNT] [EXTRA_DSCS]`
//!
//! Writes `OUT_DIR/valid.txt`, `invalid.txt` (one HC1 per line), `trust/loadtest/*.pem` (the
//! DSCs that signed the valid ones) and, with `EXTRA_DSCS` > 0, `trust-scale/loadtest/*.pem`
//! holding that many additional DSCs (100 per file) for the trust-scale measurement.

#![allow(
    clippy::indexing_slicing,
    reason = "a development tool over fixed, non-empty arrays; a panic is a failed run"
)]

use std::fmt::Write as _;
use std::path::Path;

use dcc_gateway::crypto::Alg;
use dcc_gateway::hcert::encode::{NewClaims, cwt_claims, sign1, wrap};
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::trust::model::Kid;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Signer {
    key: SignerKey,
    kid: Kid,
}

fn signer(alg: Alg, n: u64, now: OffsetDateTime, pem_out: &mut String) -> Res<Signer> {
    let key = SignerKey::generate(alg)?;
    let mut spec = CertSpec::new(
        "VN",
        &format!("VN load-test DSC {n}"),
        now - Duration::days(30),
        now + Duration::days(730),
    );
    spec.serial = n;
    let cert = mint::self_signed(&spec, &key)?;
    pem_out.push_str(&cert.pem);
    Ok(Signer {
        kid: Kid::of_der(&cert.der),
        key,
    })
}

fn dcc(i: usize) -> Value {
    let name =
        json!({"fn": format!("Nguyen{i}"), "fnt": format!("NGUYEN{i}"), "gn": "Van", "gnt": "VAN"});
    let ci = format!("URN:UVCI:01:VN:LOAD{i:08}");
    match i % 3 {
        0 => {
            json!({"ver": "1.3.0", "nam": name, "dob": "1990-01-31", "v": [{"tg": "840539006", "vp": "1119349007",
            "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-08-01", "co": "VN",
            "is": "Ministry of Health of Viet Nam", "ci": ci}]})
        }
        1 => {
            json!({"ver": "1.3.0", "nam": name, "dob": "1985", "t": [{"tg": "840539006", "tt": "LP6464-4",
            "sc": "2021-08-01T08:00:00Z", "tr": "260415000", "tc": "Bach Mai", "co": "VN",
            "is": "Ministry of Health of Viet Nam", "ci": ci}]})
        }
        _ => {
            json!({"ver": "1.3.0", "nam": name, "dob": "1970-05", "r": [{"tg": "840539006", "fr": "2021-06-01",
            "co": "VN", "is": "Ministry of Health of Viet Nam", "df": "2021-06-15", "du": "2021-12-01", "ci": ci}]})
        }
    }
}

fn issue(s: &Signer, dcc: &Value, iat: OffsetDateTime, exp: OffsetDateTime) -> Res<String> {
    let claims = cwt_claims(&NewClaims {
        iss: "VN",
        iat,
        exp,
        dcc,
    })?;
    Ok(wrap(&sign1(claims, &s.kid.0, s.key.alg, |tbs| {
        s.key.sign(tbs)
    })?))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(
        args.get(1)
            .ok_or("usage: corpus OUT_DIR [VALID_COUNT] [EXTRA_DSCS]")?,
    );
    let count: usize = args.get(2).map_or(Ok(4000), |s| s.parse())?;
    let extra: u64 = args.get(3).map_or(Ok(0), |s| s.parse())?;
    let now = dcc_gateway::clock::now();
    std::fs::create_dir_all(out.join("trust/loadtest"))?;
    let mut pem = String::new();
    let signers = [
        signer(Alg::Es256, 1, now, &mut pem)?,
        signer(Alg::Es256, 2, now, &mut pem)?,
        signer(Alg::Ps256, 3, now, &mut pem)?,
        signer(Alg::Ps256, 4, now, &mut pem)?,
    ];
    std::fs::write(out.join("trust/loadtest/dscs.pem"), &pem)?;
    let stranger = signer(Alg::Es256, 99, now, &mut String::new())?;

    let (iat, exp) = (now - Duration::days(1), now + Duration::days(365));
    let mut valid = String::new();
    let mut es_only = String::new();
    let mut ps_only = String::new();
    for i in 0..count {
        let s = &signers[i % signers.len()];
        let qr = issue(s, &dcc(i), iat, exp)?;
        writeln!(valid, "{qr}")?;
        match s.key.alg {
            Alg::Es256 => writeln!(es_only, "{qr}")?,
            Alg::Ps256 => writeln!(ps_only, "{qr}")?,
        }
    }
    std::fs::write(out.join("valid.txt"), valid)?;
    std::fs::write(out.join("valid-es256.txt"), es_only)?;
    std::fs::write(out.join("valid-ps256.txt"), ps_only)?;

    let mut invalid = String::new();
    for i in 0..count / 4 {
        let s = &signers[i % signers.len()];
        let line = match i % 4 {
            0 => {
                let mut q = issue(s, &dcc(100_000 + i), iat, exp)?.into_bytes();
                let mid = q.len() / 2;
                q[mid] = if q[mid] == b'A' { b'B' } else { b'A' };
                String::from_utf8(q)?
            }
            1 => issue(
                s,
                &dcc(200_000 + i),
                now - Duration::days(400),
                now - Duration::days(35),
            )?,
            2 => issue(&stranger, &dcc(300_000 + i), iat, exp)?,
            _ => format!("HC1:GARBAGE{i:06}"),
        };
        writeln!(invalid, "{line}")?;
    }
    std::fs::write(out.join("invalid.txt"), invalid)?;

    if extra > 0 {
        let dir = out.join("trust-scale/loadtest");
        std::fs::create_dir_all(&dir)?;
        let key = SignerKey::generate(Alg::Es256)?;
        let mut file = String::new();
        for n in 0..extra {
            let spec = CertSpec {
                serial: 1000 + n,
                ..CertSpec::new(
                    "VN",
                    &format!("scale DSC {n}"),
                    now - Duration::days(1),
                    now + Duration::days(365),
                )
            };
            file.push_str(&mint::self_signed(&spec, &key)?.pem);
            if (n + 1) % 100 == 0 || n + 1 == extra {
                std::fs::write(
                    dir.join(format!("dscs-{:05}.pem", n / 100)),
                    std::mem::take(&mut file),
                )?;
            }
        }
        std::fs::write(dir.join("signers.pem"), &pem)?;
    }
    eprintln!(
        "corpus: {count} valid, {} invalid, {extra} extra DSCs in {}",
        count / 4,
        out.display()
    );
    Ok(())
}
