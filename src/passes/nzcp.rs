//! NZ COVID Pass (New Zealand Ministry of Health, NZCP technical specification v1).
//!
//! `NZCP:/1/` + Base32 (RFC 4648, no padding) of a COSE_Sign1 (tag 18 optional) whose
//! protected header carries `kid` (4) and `alg` (1) = ES256 (-7) — both required there —
//! and whose payload is a CWT: `1` iss (a `did:web` DID), `5` nbf, `4` exp (both required),
//! `7` cti (16 bytes, the pass id), and `vc`, a W3C verifiable credential: `@context` starting
//! with `https://www.w3.org/2018/credentials/v1` and holding
//! `https://nzcp.covid19.health.nz/contexts/v1`, `version` `1.0.0`, `type`
//! [`VerifiableCredential`, `PublicCovidPass`], `credentialSubject` with `givenName` and `dob`
//! (required) and `familyName` (optional).
//!
//! The key is `iss#kid`, which the issuer's DID document must list in `assertionMethod`, as a
//! `JsonWebKey2020` EC P-256 key: the `nzcp-did` source is that document, pinned.

use coset::cbor::value::Value;

use super::{PassFormatName, PassKey, PassKeys, Refused, Verdict, cut, es256_verifies, jwk_point};
use crate::hcert::{CertificateInfo, Detail, ErrorCode, Holder, Limits};

const PREFIX: &str = "NZCP:/";
const CONTEXT_W3C: &str = "https://www.w3.org/2018/credentials/v1";
const CONTEXT_NZCP: &str = "https://nzcp.covid19.health.nz/contexts/v1";

/// Verifies one NZ COVID Pass into `out`.
pub(crate) fn verify(qr: &str, keys: &PassKeys, out: &mut Verdict, detail: Detail) {
    let limits = Limits::default();
    let Some((version, payload)) = qr.strip_prefix(PREFIX).and_then(|r| r.split_once('/')) else {
        return out.error(
            ErrorCode::PrefixInvalid,
            "an NZ COVID Pass starts with NZCP:/1/",
        );
    };
    if version != "1" {
        return out.error(
            ErrorCode::PrefixInvalid,
            "unsupported NZ COVID Pass version (only 1 is supported)",
        );
    }
    let Ok(bytes) = data_encoding::BASE32_NOPAD.decode(payload.as_bytes()) else {
        return out.error(
            ErrorCode::Base32Invalid,
            "the pass is not valid Base32 (RFC 4648, upper case, no padding)",
        );
    };
    let sign1 = match crate::hcert::cose::parse(&bytes, &limits) {
        Ok(s) => s,
        Err(_) => {
            return out.error(
                ErrorCode::CoseInvalid,
                "the pass is not a COSE_Sign1 message",
            );
        }
    };
    let Some(kid) = sign1.protected_kid() else {
        return out.error(ErrorCode::KidMissing, "the protected header has no kid");
    };
    if !sign1.protected_alg_is_es256() {
        return out.error(
            ErrorCode::AlgUnsupported,
            "the protected header must name ES256 (-7)",
        );
    }
    let Ok(kid) = std::str::from_utf8(kid).map(str::to_owned) else {
        return out.error(ErrorCode::KidMissing, "the kid is not UTF-8");
    };
    let (payload, signature) = sign1.unverified_parts();
    let claims = match crate::hcert::cose::read_cbor(payload, &limits) {
        Ok(Value::Map(m)) => m,
        _ => return out.error(ErrorCode::CwtInvalid, "the CWT claims are not a CBOR map"),
    };
    let int_key = |k: i64| {
        claims.iter().find_map(|(key, v)| match key {
            Value::Integer(i) if i128::from(*i) == i128::from(k) => Some(v),
            _ => None,
        })
    };
    let text_key = |k: &str| {
        claims.iter().find_map(|(key, v)| match key {
            Value::Text(t) if t == k => Some(v),
            _ => None,
        })
    };
    let Some(Value::Text(iss)) = int_key(1) else {
        return out.error(ErrorCode::CwtInvalid, "the CWT has no iss (1) text claim");
    };
    if !iss.starts_with("did:web:") {
        return out.error(
            ErrorCode::IssuerUntrusted,
            "the issuer is not a did:web DID",
        );
    }
    let number = |v: Option<&Value>| match v {
        Some(Value::Integer(i)) => i64::try_from(i128::from(*i)).ok(),
        _ => None,
    };
    let (Some(nbf), Some(exp)) = (number(int_key(5)), number(int_key(4))) else {
        return out.error(
            ErrorCode::CwtInvalid,
            "the CWT needs integer nbf (5) and exp (4) claims",
        );
    };
    let key = match keys.find(PassFormatName::Nzcp, iss, &kid) {
        Ok(k) => k,
        Err(ErrorCode::IssuerUntrusted) => {
            return out.error(
                ErrorCode::IssuerUntrusted,
                format!("the issuer {} is not a trusted NZCP issuer", cut(iss)),
            );
        }
        Err(code) => {
            return out.error(
                code,
                "no key of the issuer's DID document (assertionMethod) has this kid",
            );
        }
    };
    if !es256_verifies(&key.1, &sign1.to_be_signed(), signature) {
        return out.error(ErrorCode::SignatureInvalid, "the signature does not verify");
    }
    out.signed_by(&key.0);
    out.check_window(Some(nbf), Some(exp));
    let Some(Value::Map(vc)) = text_key("vc") else {
        return out.error(ErrorCode::CredentialInvalid, "the CWT has no vc claim");
    };
    let Ok(json) = crate::hcert::claims::to_json(Value::Map(vc.clone()), limits.max_cbor_depth)
    else {
        return out.error(
            ErrorCode::CredentialInvalid,
            "the vc claim is not JSON-shaped CBOR (text keys, no duplicates)",
        );
    };
    if let Err(why) = check_credential(&json) {
        out.error(ErrorCode::CredentialInvalid, why);
    }
    let subject = json.get("credentialSubject");
    let field = |name: &str| {
        subject
            .and_then(|s| s.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    out.certificate(CertificateInfo {
        cert_type: Some(crate::hcert::payload::CertType::Vaccination),
        issuer_country: Some("NZ".into()),
        iss: Some(iss.clone()),
        issued_at: super::stamp(Some(nbf)),
        expires_at: super::stamp(Some(exp)),
        kid,
        alg: crate::hcert::SignatureAlg::Es256,
        uvci: match int_key(7) {
            Some(Value::Bytes(b)) if b.len() == 16 => Some(urn_uuid(b)),
            _ => None,
        },
        holder: Holder {
            name: None,
            family_name: field("familyName"),
            given_name: field("givenName"),
            family_name_std: None,
            given_name_std: None,
            date_of_birth: field("dob"),
        },
        vaccinations: Vec::new(),
        dcc: (detail == Detail::Full).then_some(json),
    });
}

/// The credential rules of the spec (the first failure, as a fixed sentence).
fn check_credential(vc: &serde_json::Value) -> Result<(), &'static str> {
    let strings = |name: &str| -> Vec<&str> {
        vc.get(name)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
            .unwrap_or_default()
    };
    let context = strings("@context");
    if context.first() != Some(&CONTEXT_W3C) || !context.contains(&CONTEXT_NZCP) {
        return Err(
            "the credential's @context must start with the W3C credentials context and hold the NZCP context",
        );
    }
    if vc.get("version").and_then(|v| v.as_str()) != Some("1.0.0") {
        return Err("the credential's version must be 1.0.0");
    }
    let types = strings("type");
    if !types.contains(&"VerifiableCredential") || !types.contains(&"PublicCovidPass") {
        return Err("the credential's type must be VerifiableCredential and PublicCovidPass");
    }
    let subject = vc.get("credentialSubject");
    let given = subject
        .and_then(|s| s.get("givenName"))
        .and_then(|v| v.as_str());
    if given.is_none_or(str::is_empty) {
        return Err("the credential subject has no givenName");
    }
    let dob = subject.and_then(|s| s.get("dob")).and_then(|v| v.as_str());
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if dob.is_none_or(|d| time::Date::parse(d, format).is_err()) {
        return Err("the credential subject's dob must be a date YYYY-MM-DD");
    }
    Ok(())
}

fn urn_uuid(b: &[u8]) -> String {
    let hex = data_encoding::HEXLOWER.encode(b);
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or("");
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// The keys of an NZCP issuer's DID document: every `JsonWebKey2020` verification method of
/// the document's own DID that `assertionMethod` names (absolute or `#fragment` references).
pub fn keys_of_did(
    doc: &serde_json::Value,
    source: &str,
) -> Result<(Vec<PassKey>, Vec<Refused>), String> {
    let Some(did) = doc.get("id").and_then(|v| v.as_str()) else {
        return Err("the DID document has no id".into());
    };
    if !did.starts_with("did:web:") || did.len() > 256 {
        return Err("the DID document's id is not a did:web DID".into());
    }
    let absolute = |r: &str| {
        if r.starts_with('#') {
            format!("{did}{r}")
        } else {
            r.to_owned()
        }
    };
    let assertion: Vec<String> = doc
        .get("assertionMethod")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str()).map(absolute).collect())
        .unwrap_or_default();
    let methods = doc
        .get("verificationMethod")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let mut keys = Vec::new();
    let mut refused = Vec::new();
    for (i, m) in methods.iter().enumerate().take(super::MAX_KEYS_PER_SOURCE) {
        let id = m.get("id").and_then(|v| v.as_str()).map(absolute);
        let name = id.clone().map_or_else(|| format!("#{i}"), |s| cut(&s));
        let Some(id) = id else {
            refused.push((name, "KEY_MALFORMED"));
            continue;
        };
        let Some(kid) = id
            .strip_prefix(&format!("{did}#"))
            .filter(|k| !k.is_empty())
        else {
            refused.push((name, "NOT_THIS_ISSUER"));
            continue;
        };
        if !assertion.contains(&id) {
            refused.push((name, "NOT_ASSERTION_METHOD"));
            continue;
        }
        if m.get("type").and_then(|v| v.as_str()) != Some("JsonWebKey2020") {
            refused.push((name, "KEY_UNSUPPORTED"));
            continue;
        }
        match m.get("publicKeyJwk").map(jwk_point) {
            Some(Ok(point)) => keys.push(PassKey {
                format: PassFormatName::Nzcp,
                issuer: did.to_owned(),
                kid: kid.to_owned(),
                point: data_encoding::BASE64.encode(&point),
                source: source.to_owned(),
                crl_version: None,
            }),
            Some(Err(code)) => refused.push((name, code)),
            None => refused.push((name, "KEY_MALFORMED")),
        }
    }
    if methods.len() > super::MAX_KEYS_PER_SOURCE {
        refused.push(("(more keys)".into(), "TOO_MANY_KEYS"));
    }
    Ok((keys, refused))
}
