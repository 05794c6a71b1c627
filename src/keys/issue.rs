//! `dcc-gateway issue`: sign a DCC payload with the current VN DSC.
//!
//! The payload is validated against the schema of its `ver` first (schema errors refuse to
//! sign; value-set findings are printed as warnings). Claims: `iss` = `VN`, `iat` = now,
//! `exp` = iat + `--valid-for` (default 365 days: Vietnam's 12 months). The kid goes in the
//! protected header. `--png` writes the QR code in alphanumeric mode with error correction Q.

use std::path::Path;

use serde_json::Value as Json;
use time::{Duration, OffsetDateTime};

use super::mint::SignerKey;
use crate::hcert::encode::{NewClaims, cwt_claims, sign1, wrap};
use crate::trust::model::Dsc;

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the payload is not valid: {0}")]
    Payload(String),
    #[error("signer key: {0}")]
    Key(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("encoding failed")]
    Encode,
}

/// Parses durations like `365d`, `12h`, `90m`, `3600s`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    match unit {
        "d" => Some(Duration::days(n)),
        "h" => Some(Duration::hours(n)),
        "m" => Some(Duration::minutes(n)),
        "s" => Some(Duration::seconds(n)),
        _ => None,
    }
}

/// Loads the DSC and its private key from `<data_dir>/keys/`.
pub fn load_signer(data_dir: &Path) -> Result<(Dsc, SignerKey), IssueError> {
    let dir = data_dir.join("keys");
    let cert = std::fs::read(dir.join("dsc.pem"))?;
    let dsc = Dsc::from_pem_or_der(&cert, "VN")
        .map_err(|e| IssueError::Key(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| IssueError::Key("no certificate in dsc.pem".into()))?;
    let alg = match dsc.key {
        crate::crypto::PublicKey::EcP256 { .. } => crate::crypto::Alg::Es256,
        crate::crypto::PublicKey::Rsa { .. } => crate::crypto::Alg::Ps256,
        crate::crypto::PublicKey::Unsupported { kind } => return Err(IssueError::Key(kind.into())),
    };
    let key = crate::keys::store::read_key(&dir.join("dsc.key.pem"), alg)
        .map_err(|e| IssueError::Key(e.to_string()))?;
    Ok((dsc, key))
}

/// Signs `dcc` and returns the `HC1:` text and any value-set warnings.
pub fn issue(
    dcc: &Json,
    dsc: &Dsc,
    key: &SignerKey,
    iat: OffsetDateTime,
    valid_for: Duration,
) -> Result<(String, Vec<String>), IssueError> {
    let report = crate::hcert::payload::validate(dcc);
    if let Some(first) = report.schema_errors.first() {
        return Err(IssueError::Payload(first.message.clone()));
    }
    let warnings = report
        .valueset_findings
        .iter()
        .map(|f| f.message.clone())
        .collect();
    let claims = cwt_claims(&NewClaims {
        iss: "VN",
        iat,
        exp: iat + valid_for,
        dcc,
    })
    .map_err(|_| IssueError::Encode)?;
    let cose =
        sign1(claims, &dsc.kid.0, key.alg, |tbs| key.sign(tbs)).map_err(|_| IssueError::Encode)?;
    Ok((wrap(&cose), warnings))
}

/// Renders `text` as a QR code PNG (alphanumeric mode, ECC Q, 4 px per module, quiet zone 4).
pub fn qr_png(text: &str) -> Result<Vec<u8>, IssueError> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q)
        .map_err(|_| IssueError::Encode)?;
    let modules = code.width();
    let (scale, quiet) = (4usize, 4usize);
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (i % modules, i / modules);
            for dy in 0..scale {
                let row = ((y + quiet) * scale + dy) * side + (x + quiet) * scale;
                if let Some(px) = pixels.get_mut(row..row + scale) {
                    px.fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    let side32 = u32::try_from(side).map_err(|_| IssueError::Encode)?;
    let mut enc = png::Encoder::new(&mut out, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|_| IssueError::Encode)?;
    writer
        .write_image_data(&pixels)
        .map_err(|_| IssueError::Encode)?;
    writer.finish().map_err(|_| IssueError::Encode)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("365d"), Some(Duration::days(365)));
        assert_eq!(parse_duration("12h"), Some(Duration::hours(12)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration("5y"), None);
    }
}
