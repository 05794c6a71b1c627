//! Small JOSE helpers shared by the JWS and DID trust-list adapters (and the German list's
//! signature handling): Base64url, canonical JSON, JWK ↔ certificate key comparison, ES256
//! signature encodings, and the renderers' error type.
//!
//! * **Base64url** is RFC 4648 §5 without padding; decoding tolerates trailing `=`.
//! * **Canonical JSON** ([`canonical_json`]): object members sorted by the UTF-8 bytes of their
//!   names, no insignificant whitespace, strings escaped as `serde_json` escapes them, numbers
//!   as `serde_json` prints them (integers verbatim). It is what the WHO DID proof signs; both
//!   sides canonicalise the *parsed* value, so the received formatting does not matter.
//! * **ES256 signatures** are raw `r‖s` (64 bytes, RFC 7518 §3.4). For lenience towards
//!   producers that emit a DER `ECDSA-Sig-Value` instead, [`es256_encodings`] also offers the DER
//!   interpretation when the signature starts with a SEQUENCE tag.
//! * **JWK coordinates** of P-256 keys must be 32 bytes; a 33-byte value with a leading zero
//!   byte (a signed big-endian integer, seen in the wild) is accepted and normalised.

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::RSAPublicKey;

use crate::crypto::PublicKey;
use crate::trust::validate::SigAlg;

/// Tolerated clock skew for "issued at" / "created" instants in the future.
pub const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// Why a list could not be rendered.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the signing key must be an ES256 (P-256) key")]
    WrongKeyType,
    #[error("signing failed")]
    Signing,
    #[error("certificate #{0} cannot be published: {1}")]
    BadCertificate(usize, &'static str),
    #[error("the list content is not valid: {0}")]
    Content(&'static str),
}

/// Base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// Decodes Base64url (padding tolerated, no whitespace).
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    BASE64URL_NOPAD
        .decode(text.trim_end_matches('=').as_bytes())
        .ok()
}

/// Decodes Base64url text holding a JSON object (a JWS header or payload).
pub fn decode_json_object(b64: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&b64url_decode(b64)?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A kid written in Base64url (or standard Base64, with or without padding) as the standard
/// padded Base64 of [`crate::trust::model::Kid::to_base64`].
pub fn kid_standard(text: &str) -> String {
    let mut out: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// The canonical bytes of a JSON value (see the module documentation).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (name, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_canonical(member, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::String(s) => write_string(s, out),
        // null, booleans and numbers: serde_json's compact Display.
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(Value::from(s).to_string().as_bytes());
}

/// The signature encodings to try for an ES256 signature: raw `r‖s` when it is 64 bytes, DER
/// when it starts with a SEQUENCE tag (both when both apply). Empty: not an ES256 signature.
pub fn es256_encodings(sig: &[u8]) -> Vec<SigAlg> {
    let mut out = Vec::with_capacity(2);
    if sig.len() == 64 {
        out.push(SigAlg::EcdsaP256Fixed);
    }
    if sig.first() == Some(&0x30) {
        out.push(SigAlg::EcdsaDer(256));
    }
    out
}

/// Converts a raw `r‖s` ECDSA signature (even length, each half ≤ 62 bytes) to a DER
/// `ECDSA-Sig-Value`.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let zero = [0u8];
    let mut body = Vec::with_capacity(raw.len() + 6);
    for half in [r, s] {
        let trimmed = strip_leading_zeros(half);
        let trimmed = if trimmed.is_empty() {
            zero.as_slice()
        } else {
            trimmed
        };
        let pad = trimmed.first().is_some_and(|b| b & 0x80 != 0);
        let len = trimmed.len() + usize::from(pad);
        body.push(0x02);
        body.push(u8::try_from(len).ok().filter(|l| *l < 0x80)?);
        if pad {
            body.push(0);
        }
        body.extend_from_slice(trimmed);
    }
    let mut out = vec![0x30, u8::try_from(body.len()).ok().filter(|l| *l < 0x80)?];
    out.extend_from_slice(&body);
    Some(out)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let at = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(at..).unwrap_or_default()
}

/// A P-256 JWK coordinate: 32 bytes, or 33 with a leading zero byte (normalised to 32).
pub fn ec_coordinate(text: &str) -> Option<Vec<u8>> {
    let bytes = b64url_decode(text)?;
    match bytes.as_slice() {
        [0, rest @ ..] if rest.len() == 32 => Some(rest.to_vec()),
        b if b.len() == 32 => Some(bytes),
        _ => None,
    }
}

/// Whether a JWK (`kty` EC with `crv` P-256 and `x`/`y`, or `kty` RSA with `n`/`e`) is the same
/// public key as `key` (leading zero bytes of RSA integers and of 33-byte EC coordinates are
/// ignored).
pub fn jwk_matches(jwk: &Map<String, Value>, key: &PublicKey) -> bool {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    match (text("kty"), key) {
        (Some("EC"), PublicKey::EcP256 { point }) => {
            let (Some("P-256"), Some(x), Some(y)) = (
                text("crv"),
                text("x").and_then(ec_coordinate),
                text("y").and_then(ec_coordinate),
            ) else {
                return false;
            };
            point.len() == 65
                && point.first() == Some(&4)
                && point.get(1..33) == Some(x.as_slice())
                && point.get(33..65) == Some(y.as_slice())
        }
        (Some("RSA"), PublicKey::Rsa { der, .. }) => {
            let Ok((_, rsa)) = RSAPublicKey::from_der(der) else {
                return false;
            };
            let (Some(n), Some(e)) = (
                text("n").and_then(b64url_decode),
                text("e").and_then(b64url_decode),
            ) else {
                return false;
            };
            strip_leading_zeros(&n) == strip_leading_zeros(rsa.modulus)
                && strip_leading_zeros(&e) == strip_leading_zeros(rsa.exponent)
        }
        _ => false,
    }
}

/// The canonical JWK members of a public key: `kty`, `crv`, `x`, `y` (32-byte coordinates) or
/// `kty`, `n`, `e` (no leading zero bytes). None for unsupported keys.
pub fn jwk_for(key: &PublicKey) -> Option<Map<String, Value>> {
    let mut jwk = Map::new();
    match key {
        PublicKey::EcP256 { point } => {
            let (Some(4), Some(x), Some(y)) = (point.first(), point.get(1..33), point.get(33..65))
            else {
                return None;
            };
            jwk.insert("kty".into(), "EC".into());
            jwk.insert("crv".into(), "P-256".into());
            jwk.insert("x".into(), b64url(x).into());
            jwk.insert("y".into(), b64url(y).into());
        }
        PublicKey::Rsa { der, .. } => {
            let (_, rsa) = RSAPublicKey::from_der(der).ok()?;
            jwk.insert("kty".into(), "RSA".into());
            jwk.insert("n".into(), b64url(strip_leading_zeros(rsa.modulus)).into());
            jwk.insert("e".into(), b64url(strip_leading_zeros(rsa.exponent)).into());
        }
        PublicKey::Unsupported { .. } => return None,
    }
    Some(jwk)
}

/// A JWT NumericDate (seconds since the epoch, fractions truncated).
pub fn numeric_date(value: &Value) -> Option<OffsetDateTime> {
    let secs = match value.as_i64() {
        Some(s) => s,
        None => {
            let f = value.as_f64()?.floor();
            // Out-of-range floats saturate; the range check below refuses them.
            if !f.is_finite() {
                return None;
            }
            f as i64
        }
    };
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// The three parts of a compact JWS (`header.payload.signature`), as text.
pub fn split_compact(jws: &str) -> Option<(&str, &str, &str)> {
    let mut parts = jws.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Some((h, p, s)),
        _ => None,
    }
}

/// Signs `msg` with an ES256 key (raw `r‖s`).
pub fn sign_es256(key: &crate::keys::mint::SignerKey, msg: &[u8]) -> Result<Vec<u8>, RenderError> {
    if key.alg != crate::crypto::Alg::Es256 {
        return Err(RenderError::WrongKeyType);
    }
    key.sign(msg).map_err(|_| RenderError::Signing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Alg;
    use crate::keys::mint::SignerKey;
    use crate::trust::validate::verify_spki;

    #[test]
    fn canonical_json_sorts_and_compacts() {
        let v: Value =
            serde_json::from_str(r#" { "b" : [1, {"z":null,"a":true}], "a":"é\"\n", "A": 1.5 } "#)
                .unwrap();
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            r#"{"A":1.5,"a":"é\"\n","b":[1,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn der_and_raw_signatures_verify_alike() {
        let key = SignerKey::generate(Alg::Es256).unwrap();
        let cert = crate::keys::mint::self_signed(
            &crate::keys::mint::CertSpec::new(
                "VN",
                "k",
                time::macros::datetime!(2021-01-01 00:00 UTC),
                time::macros::datetime!(2031-01-01 00:00 UTC),
            ),
            &key,
        )
        .unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert.der).unwrap();
        let spki = parsed.tbs_certificate.subject_pki.raw;
        for _ in 0..8 {
            let raw = sign_es256(&key, b"msg").unwrap();
            let der = ecdsa_raw_to_der(&raw).unwrap();
            // A raw signature whose first byte happens to be 0x30 (1 in 256) is also tried as DER.
            let expected: &[SigAlg] = if raw[0] == 0x30 {
                &[SigAlg::EcdsaP256Fixed, SigAlg::EcdsaDer(256)]
            } else {
                &[SigAlg::EcdsaP256Fixed]
            };
            assert_eq!(es256_encodings(&raw), expected);
            assert!(es256_encodings(&der).contains(&SigAlg::EcdsaDer(256)));
            assert!(verify_spki(spki, SigAlg::EcdsaP256Fixed, b"msg", &raw));
            assert!(verify_spki(spki, SigAlg::EcdsaDer(256), b"msg", &der));
        }
        let mut ambiguous = [7u8; 64];
        ambiguous[0] = 0x30;
        assert_eq!(
            es256_encodings(&ambiguous),
            [SigAlg::EcdsaP256Fixed, SigAlg::EcdsaDer(256)]
        );
        assert_eq!(
            ecdsa_raw_to_der(&[0, 0]).unwrap(),
            [0x30, 6, 2, 1, 0, 2, 1, 0]
        );
        assert_eq!(
            ecdsa_raw_to_der(&[0x80, 1]).unwrap(),
            [0x30, 7, 2, 2, 0, 0x80, 2, 1, 1]
        );
        assert!(ecdsa_raw_to_der(&[1]).is_none());
        assert!(es256_encodings(b"short").is_empty());
        let rsa = SignerKey::generate(Alg::Ps256).unwrap();
        assert_eq!(sign_es256(&rsa, b"m"), Err(RenderError::WrongKeyType));
    }

    #[test]
    fn jwk_coordinates_and_kids_are_normalised() {
        let x = [7u8; 32];
        let mut padded = vec![0u8];
        padded.extend_from_slice(&x);
        assert_eq!(ec_coordinate(&b64url(&x)).unwrap(), x);
        assert_eq!(ec_coordinate(&b64url(&padded)).unwrap(), x);
        assert!(ec_coordinate(&b64url(&[1u8; 33])).is_none());
        assert!(ec_coordinate(&b64url(&[1u8; 31])).is_none());
        let mut point = vec![4u8];
        point.extend_from_slice(&x);
        point.extend_from_slice(&[9u8; 32]);
        let key = PublicKey::EcP256 { point };
        let mut jwk = jwk_for(&key).unwrap();
        assert!(jwk_matches(&jwk, &key));
        jwk.insert("x".into(), b64url(&padded).into());
        assert!(jwk_matches(&jwk, &key));
        jwk.insert("y".into(), b64url(&x).into());
        assert!(!jwk_matches(&jwk, &key));
        assert_eq!(kid_standard("qroU-hDDovs"), "qroU+hDDovs=");
        assert_eq!(kid_standard("qroU+hDDovs="), "qroU+hDDovs=");
        assert_eq!(kid_standard("a_b-"), "a/b+");
    }

    #[test]
    fn numeric_dates_and_compact_parts() {
        assert_eq!(
            numeric_date(&Value::from(1_600_000_000.9)).unwrap(),
            OffsetDateTime::from_unix_timestamp(1_600_000_000).unwrap()
        );
        assert!(numeric_date(&Value::from(1e300)).is_none());
        assert!(numeric_date(&Value::from("1")).is_none());
        assert_eq!(split_compact("a.b.c"), Some(("a", "b", "c")));
        assert_eq!(split_compact("a..c"), Some(("a", "", "c")));
        assert!(split_compact("a.b").is_none());
        assert!(split_compact("a.b.c.d").is_none());
    }
}
