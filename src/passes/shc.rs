//! SMART Health Cards (smarthealth.cards framework, QR form).
//!
//! `shc:/` + digits, each pair one character (value + 45) of a compact JWS; a chunked code
//! (`shc:/1/2/…`) is refused with `SHC_CHUNKED` (the chunks must be joined by the scanner, and
//! the spec deprecated chunking). The JWS header must be `alg` ES256 and `zip` DEF with a
//! `kid`; the payload is raw DEFLATE (capped) of a JSON object: `iss` (the issuer URL), `nbf`,
//! optional `exp`, and `vc` whose `type` holds `https://smarthealth.cards#health-card` and
//! whose `credentialSubject.fhirBundle` is a FHIR Bundle. The signature is raw ES256 over
//! `header.payload`; the key is the issuer's JWKS entry whose `kid` is the key's RFC 7638
//! thumbprint (an `shc-jwks` source: the issuer's `/.well-known/jwks.json`, pinned).
//!
//! Read from the bundle: the `Patient` (name, birth date) and each `Immunization`
//! (`vaccineCode` coding — CVX where given — and `occurrenceDateTime`).

use std::io::Read;

use super::{PassFormatName, PassKey, PassKeys, Refused, Verdict, cut, es256_verifies, jwk_point};
use crate::hcert::{CertificateInfo, Detail, ErrorCode, Holder, Limits, Vaccination};

const PREFIX: &str = "shc:/";
const HEALTH_CARD: &str = "https://smarthealth.cards#health-card";

/// Verifies one SMART Health Card into `out`.
pub(crate) fn verify(qr: &str, keys: &PassKeys, out: &mut Verdict, detail: Detail) {
    let limits = Limits::default();
    let Some(digits) = qr.strip_prefix(PREFIX) else {
        return out.error(
            ErrorCode::PrefixInvalid,
            "a SMART Health Card starts with shc:/",
        );
    };
    if digits.contains('/') {
        return out.error(
            ErrorCode::ShcChunked,
            "a chunked SMART Health Card (shc:/N/M/…): scan every chunk and join them into one code",
        );
    }
    let Some(jws) = numeric_to_jws(digits) else {
        return out.error(
            ErrorCode::JwsInvalid,
            "the numeric part is not pairs of digits 00-77",
        );
    };
    let mut parts = jws.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return out.error(ErrorCode::JwsInvalid, "the card is not a compact JWS");
    };
    let b64 = |s: &str| data_encoding::BASE64URL_NOPAD.decode(s.as_bytes()).ok();
    let (Some(header), Some(deflated), Some(signature)) = (b64(h64), b64(p64), b64(s64)) else {
        return out.error(ErrorCode::JwsInvalid, "a JWS part is not Base64url");
    };
    let Ok(header) = serde_json::from_slice::<serde_json::Value>(&header) else {
        return out.error(ErrorCode::JwsInvalid, "the JWS header is not JSON");
    };
    if header.get("alg").and_then(|v| v.as_str()) != Some("ES256") {
        return out.error(ErrorCode::AlgUnsupported, "the JWS alg must be ES256");
    }
    if header.get("zip").and_then(|v| v.as_str()) != Some("DEF") {
        return out.error(ErrorCode::JwsInvalid, "the JWS header must say zip DEF");
    }
    let Some(kid) = header
        .get("kid")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
    else {
        return out.error(ErrorCode::KidMissing, "the JWS header has no kid");
    };
    let mut payload = Vec::new();
    let cap = limits.max_inflated_bytes;
    let inflated = flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut payload);
    if inflated.is_err() {
        return out.error(
            ErrorCode::DecompressFailed,
            "the payload is not raw DEFLATE",
        );
    }
    if payload.len() > cap {
        return out.error(
            ErrorCode::PayloadTooLarge,
            "the inflated payload exceeds the limit",
        );
    }
    let Ok(card) = serde_json::from_slice::<serde_json::Value>(&payload) else {
        return out.error(ErrorCode::CwtInvalid, "the payload is not JSON");
    };
    let Some(iss) = card.get("iss").and_then(|v| v.as_str()).map(str::to_owned) else {
        return out.error(ErrorCode::CwtInvalid, "the payload has no iss");
    };
    let key = match keys.find(PassFormatName::Shc, &iss, &kid) {
        Ok(k) => k,
        Err(ErrorCode::IssuerUntrusted) => {
            return out.error(
                ErrorCode::IssuerUntrusted,
                format!(
                    "the issuer {} is not a trusted SMART Health Card issuer",
                    cut(&iss)
                ),
            );
        }
        Err(code) => return out.error(code, "the issuer's key set has no key with this kid"),
    };
    let signed = format!("{h64}.{p64}");
    if !es256_verifies(&key.1, signed.as_bytes(), &signature) {
        return out.error(ErrorCode::SignatureInvalid, "the signature does not verify");
    }
    out.signed_by(&key.0);
    let crl_version = key.0.crl_version;
    let seconds = |name: &str| card.get(name).and_then(serde_json::Value::as_f64);
    let Some(nbf) = seconds("nbf") else {
        return out.error(ErrorCode::CwtInvalid, "the payload has no numeric nbf");
    };
    let exp = seconds("exp");
    // Whole seconds: a fractional nbf counts from its second, a fractional exp up to its end.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "bounded by the checks below"
    )]
    let whole = |f: f64, up: bool| -> Option<i64> {
        (f.is_finite() && f.abs() < 1e12).then(|| if up { f.ceil() } else { f.floor() } as i64)
    };
    let (nbf, exp) = (whole(nbf, false), exp.and_then(|e| whole(e, true)));
    out.check_window(nbf, exp);
    let vc = card.get("vc");
    check_revocation(
        keys,
        (&iss, &kid, crl_version),
        vc.and_then(|v| v.get("rid")),
        nbf,
        out,
    );
    let types: Vec<&str> = vc
        .and_then(|v| v.get("type"))
        .and_then(|t| t.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
        .unwrap_or_default();
    if !types.contains(&HEALTH_CARD) {
        out.error(
            ErrorCode::CredentialInvalid,
            "the credential's type does not hold https://smarthealth.cards#health-card",
        );
    }
    let bundle = vc
        .and_then(|v| v.get("credentialSubject"))
        .and_then(|s| s.get("fhirBundle"));
    if bundle
        .and_then(|b| b.get("resourceType"))
        .and_then(|r| r.as_str())
        != Some("Bundle")
    {
        out.error(
            ErrorCode::CredentialInvalid,
            "the credential subject has no FHIR Bundle",
        );
    }
    let resources: Vec<&serde_json::Value> = bundle
        .and_then(|b| b.get("entry"))
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .take(64)
                .filter_map(|e| e.get("resource"))
                .collect()
        })
        .unwrap_or_default();
    let of_type = |t: &'static str| {
        resources
            .iter()
            .copied()
            .filter(move |r| r.get("resourceType").and_then(|v| v.as_str()) == Some(t))
    };
    let patient = of_type("Patient").next();
    let name = patient
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_array())
        .and_then(|n| n.first());
    let family = name
        .and_then(|n| n.get("family"))
        .and_then(|f| f.as_str())
        .map(str::to_owned);
    let given = name
        .and_then(|n| n.get("given"))
        .and_then(|g| g.as_array())
        .map(|g| {
            g.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|g| !g.is_empty());
    let vaccinations: Vec<Vaccination> = of_type("Immunization")
        .filter(|i| i.get("status").and_then(|s| s.as_str()) != Some("entered-in-error"))
        .map(|i| {
            let coding = i
                .get("vaccineCode")
                .and_then(|c| c.get("coding"))
                .and_then(|c| c.as_array())
                .and_then(|c| c.first());
            let text = |v: Option<&serde_json::Value>, k: &str| {
                v.and_then(|x| x.get(k))
                    .and_then(|s| s.as_str())
                    .map(str::to_owned)
            };
            Vaccination {
                product: text(coding, "code"),
                product_system: text(coding, "system"),
                date: text(Some(i), "occurrenceDateTime"),
                dose: None,
                doses: None,
            }
        })
        .collect();
    out.certificate(CertificateInfo {
        cert_type: (!vaccinations.is_empty())
            .then_some(crate::hcert::payload::CertType::Vaccination),
        issuer_country: None,
        iss: Some(iss),
        issued_at: super::stamp(nbf),
        expires_at: super::stamp(exp),
        kid,
        alg: crate::hcert::SignatureAlg::Es256,
        uvci: None,
        holder: Holder {
            name: None,
            family_name: family,
            given_name: given,
            family_name_std: None,
            given_name_std: None,
            date_of_birth: patient
                .and_then(|p| p.get("birthDate"))
                .and_then(|d| d.as_str())
                .map(str::to_owned),
        },
        vaccinations,
        dcc: (detail == Detail::Full).then_some(card),
    });
}

/// `shc:/` digits to the JWS text: each pair `dd` is the character `dd + 45` (`dd` ≤ 77).
fn numeric_to_jws(digits: &str) -> Option<String> {
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| match pair {
            [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                let v = (a - b'0') * 10 + (b - b'0');
                (v <= 77).then(|| char::from(v + 45))
            }
            _ => None,
        })
        .collect()
}

/// The RFC 7638 thumbprint of an EC P-256 JWK (`crv`, `kty`, `x`, `y` in that order), Base64url.
pub fn thumbprint(jwk: &serde_json::Value) -> Option<String> {
    let text = |k: &str| jwk.get(k).and_then(|v| v.as_str());
    let canonical = format!(
        r#"{{"crv":{},"kty":{},"x":{},"y":{}}}"#,
        serde_json::to_string(text("crv")?).ok()?,
        serde_json::to_string(text("kty")?).ok()?,
        serde_json::to_string(text("x")?).ok()?,
        serde_json::to_string(text("y")?).ok()?,
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    Some(data_encoding::BASE64URL_NOPAD.encode(digest.as_ref()))
}

/// The keys of one SMART Health Card issuer's JWKS (`{"keys": [...]}`): EC P-256 signing keys
/// whose `kid` is their thumbprint (`use`, when given, `sig`; `alg`, when given, ES256).
pub fn keys_of_jwks(
    doc: &serde_json::Value,
    issuer: &str,
    source: &str,
) -> Result<(Vec<PassKey>, Vec<Refused>), String> {
    let Some(list) = doc.get("keys").and_then(|k| k.as_array()) else {
        return Err("the JWKS has no keys array".into());
    };
    let mut keys = Vec::new();
    let mut refused = Vec::new();
    for (i, jwk) in list.iter().enumerate().take(super::MAX_KEYS_PER_SOURCE) {
        let kid = jwk.get("kid").and_then(|v| v.as_str());
        let name = kid.map_or_else(|| format!("#{i}"), cut);
        let point = match jwk_point(jwk) {
            Ok(p) => p,
            Err(code) => {
                refused.push((name, code));
                continue;
            }
        };
        let usage_ok = jwk.get("use").is_none_or(|u| u.as_str() == Some("sig"))
            && jwk.get("alg").is_none_or(|a| a.as_str() == Some("ES256"));
        if !usage_ok {
            refused.push((name, "NOT_A_SIGNER"));
            continue;
        }
        let Some(kid) = kid.filter(|k| thumbprint(jwk).as_deref() == Some(*k)) else {
            refused.push((name, "KID_NOT_THUMBPRINT"));
            continue;
        };
        keys.push(PassKey {
            format: PassFormatName::Shc,
            issuer: issuer.to_owned(),
            kid: kid.to_owned(),
            point: data_encoding::BASE64.encode(&point),
            source: source.to_owned(),
            crl_version: jwk.get("crlVersion").and_then(serde_json::Value::as_u64),
        });
    }
    if list.len() > super::MAX_KEYS_PER_SOURCE {
        refused.push(("(more keys)".into(), "TOO_MANY_KEYS"));
    }
    Ok((keys, refused))
}

/// The card's `rid` against its key's revocation list, when one is configured; for a card
/// with a `rid`, a key that announces revocations (`crlVersion`) without a list in force, or
/// with an older one, is a `TRUST_STALE` warning (revocation could not be checked in full).
fn check_revocation(
    keys: &PassKeys,
    (iss, kid, crl_version): (&str, &str, Option<u64>),
    rid: Option<&serde_json::Value>,
    nbf: Option<i64>,
    out: &mut Verdict,
) {
    let rid = match rid {
        // A card without `rid` cannot be revoked by one: nothing to check or to warn about.
        None => return,
        Some(serde_json::Value::String(r)) if is_rid(r) => Some(r.as_str()),
        Some(_) => {
            return out.error(
                ErrorCode::CredentialInvalid,
                "vc.rid is not a Base64url revocation identifier of at most 24 characters",
            );
        }
    };
    match (keys.shc_revocation(iss, kid, rid, nbf), crl_version) {
        (super::Revocation::Revoked(ctr), _) => out.error(
            ErrorCode::Revoked,
            format!("the card is revoked by its issuer (rid listed in revocation list ctr {ctr})"),
        ),
        (super::Revocation::NoList, Some(v)) => out.warn(
            ErrorCode::TrustStale,
            format!(
                "the issuer publishes revocations for this key (crlVersion {v}) but no shc-crl source holds its list: revocation was not checked"
            ),
        ),
        (super::Revocation::NotRevoked(ctr), Some(v)) if ctr < v => out.warn(
            ErrorCode::TrustStale,
            format!(
                "the revocation list in force (ctr {ctr}) is older than the key's crlVersion {v}"
            ),
        ),
        _ => {}
    }
}

/// Most rids one revocation list may carry.
pub const MAX_RIDS: usize = 100_000;

/// Whether `rid` is a revocation identifier as the spec defines it: Base64url, at most 24
/// characters.
fn is_rid(rid: &str) -> bool {
    (1..=24).contains(&rid.len())
        && rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads one key's revocation list (`/.well-known/crl/<kid>.json`: `kid`, `method` `rid`,
/// `ctr`, `rids`), issued by `issuer`. Each `rid` (every card) or `rid.<unix seconds>` (cards
/// whose `nbf` is before that instant) is one entry; a malformed one is refused alone
/// (`MALFORMED`). The list itself is an entry too, so an empty list is still a list.
pub fn revocations_of_crl(
    doc: &serde_json::Value,
    issuer: &str,
    source: &str,
) -> Result<(Vec<PassKey>, Vec<Refused>), String> {
    let kid = doc
        .get("kid")
        .and_then(|k| k.as_str())
        .filter(|k| !k.is_empty() && k.len() <= 128 && !k.contains('/'))
        .ok_or("the revocation list has no kid")?;
    if doc.get("method").and_then(|m| m.as_str()) != Some("rid") {
        return Err("the revocation list's method is not rid".into());
    }
    // The spec's example writes the counter as a string; a number is what issuers publish.
    let ctr = doc
        .get("ctr")
        .and_then(|c| {
            c.as_u64()
                .or_else(|| c.as_str().and_then(|t| t.parse().ok()))
        })
        .ok_or("the revocation list has no integer ctr")?;
    let rids = doc
        .get("rids")
        .and_then(|r| r.as_array())
        .ok_or("the revocation list has no rids array")?;
    let entry = |kid: String, point: String| PassKey {
        format: PassFormatName::ShcRevocation,
        issuer: issuer.to_owned(),
        kid,
        point,
        source: source.to_owned(),
        crl_version: Some(ctr),
    };
    let mut entries = vec![entry(kid.to_owned(), String::new())];
    let mut refused = Vec::new();
    for (i, r) in rids.iter().enumerate().take(MAX_RIDS) {
        let text = r.as_str().unwrap_or("");
        let (rid, cutoff) = match text.split_once('.') {
            Some((rid, t)) => (rid, t.parse::<i64>().ok().map(|t| t.to_string())),
            None => (text, Some(String::new())),
        };
        match cutoff {
            Some(point) if is_rid(rid) => entries.push(entry(format!("{kid}/{rid}"), point)),
            _ => refused.push((format!("#{i}"), "MALFORMED")),
        }
    }
    if rids.len() > MAX_RIDS {
        refused.push(("(more rids)".into(), "TOO_MANY_KEYS"));
    }
    Ok((entries, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_mode_round_trips_the_jws_alphabet() {
        // "eyJ" = 101 121 74 → 56 76 29.
        assert_eq!(numeric_to_jws("567629").as_deref(), Some("eyJ"));
        assert_eq!(numeric_to_jws("5"), None);
        assert_eq!(numeric_to_jws("78"), None);
        assert_eq!(numeric_to_jws("5a"), None);
        assert_eq!(numeric_to_jws(""), None);
    }

    #[test]
    fn thumbprint_matches_rfc_7638_member_order() {
        // RFC 7638 §3.1's example is RSA; for EC the members are crv, kty, x, y: check the
        // canonical form is what is hashed (order and no whitespace).
        let jwk = serde_json::json!({"y": "Y", "x": "X", "kty": "EC", "crv": "P-256", "kid": "k"});
        let expected = ring::digest::digest(
            &ring::digest::SHA256,
            br#"{"crv":"P-256","kty":"EC","x":"X","y":"Y"}"#,
        );
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some(
                data_encoding::BASE64URL_NOPAD
                    .encode(expected.as_ref())
                    .as_str()
            )
        );
    }
}
