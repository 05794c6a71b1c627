//! DIVOC vaccination credentials (India's CoWIN and the countries running DIVOC: Indonesia,
//! Jamaica, the Philippines, Sri Lanka, …).
//!
//! **Framing.** The QR code holds a ZIP archive whose member `certificate.json` is a W3C
//! Verifiable Credential: either the raw archive in byte mode (India; starts `PK\x03\x04`, each
//! byte one character) or `B64:` + its standard Base64 (the prefix compared without case, as
//! WHO's validator does). A raw archive reaches us as text, one character per byte as QR byte
//! mode defaults to (ISO 8859-1) or, from a decoder that guessed UTF-8 for data that happened
//! to be valid UTF-8, as that text: both readings are tried, the ZIP structure and CRC decide
//! (a byte-mode payload an encoder split into Kanji segments is not recovered). The archive is
//! read by our own bounded reader ([`super::zip`]) and the credential is capped at
//! [`MAX_CREDENTIAL`] bytes.
//!
//! **Signature.** `proof.type` `RsaSignature2018` (RSASSA-PSS, SHA-256, salt 32, key ≥ 2048
//! bits) or `Ed25519Signature2018`, `proofPurpose` `assertionMethod`, and a detached JWS
//! (`header..signature`) whose header is exactly `{"alg": "PS256" | "EdDSA", "b64": false,
//! "crit": ["b64"]}`, alg matching the suite. The signed data is what `jsonld-signatures` (the
//! library DIVOC signs with) computes: SHA-256 of the URDNA2015 N-Quads of the proof options
//! (the proof without `jws`, under the `https://w3id.org/security/v2` context: DIVOC's signer
//! always hashes the proof under it) followed by SHA-256 of the N-Quads of the credential
//! without `proof`; the JWS signing input is `header` + `.` + those 64 bytes. JSON-LD contexts
//! are the bundled ones only ([`crate::ld`]): W3C credentials v1, security v1/v2 and DIVOC's
//! vaccination contexts under every URL the deployments use; any other context refuses the
//! credential (`CREDENTIAL_INVALID`), nothing is fetched.
//!
//! **Keys.** A `divoc-key` source holds the PEM public keys of one `verificationMethod`
//! (`issuer = "did:india"`); every key of that method is tried.
//!
//! **Only signed data is shown.** The credential's JSON is read only where the signed RDF
//! states it: the holder's `name` (and `dob`) must be statements of the node the credential
//! names as `credentialSubject`, each dose's `vaccine`, `date` and counts statements of one of
//! its `evidence` nodes; what is not covered is left out with a `CREDENTIAL_INVALID` warning
//! (Jamaica's codes carry `"id": ""` on the subject, a relative IRI that drops the whole
//! subject out of the signed data). DIVOC's vaccination context maps several members to one
//! IRI (`vaccine`, `batch`, `manufacturer`, `certificateId` are all `schema:id`; `dose` and
//! `totalDoses` both `schema:doseValue`; `date`, `effectiveStart`, `effectiveUntil` all
//! `schema:date`): a signature binds the set of those values, not which member holds which.
//! So the reported dose is the smaller and the total the larger of the two counts; the product
//! and date are what the credential names, signed as one of that set.
//!
//! **Cost.** JSON-LD processing is nearly all of a verdict's cost; the signed data of the last
//! [`MEMO_ENTRIES`] credentials is remembered by their content (it depends on nothing else),
//! so a code scanned again skips it. The signature and all checks run for every verdict.
//!
//! **Test certificates** (DIVOC's test-certificate context, evidence `TestDetails`) are
//! verified the same way and reported as type `test`; their result stays in the credential
//! (`detail=full`), as an EU test certificate's does.
//!
//! **Time.** `issuanceDate` (required) after the instant checked is `CWT_NOT_YET_VALID`;
//! `expirationDate`, when present, at or before it is `CWT_EXPIRED`. DIVOC's per-dose
//! `effectiveUntil` is the dose's own date in the field, not a validity, and is not used.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{PassFormatName, PassKey, PassKeys, Refused, Verdict};
use crate::hcert::{
    CertificateInfo, Detail, ErrorCode, Holder, SignatureAlg, Vaccination, payload::CertType,
};

/// Largest `certificate.json` inflated.
pub const MAX_CREDENTIAL: usize = 64 * 1024;

const B64: &str = "B64:";
const ZIP_MAGIC: &str = "PK\u{3}\u{4}";
const MEMBER: &str = "certificate.json";
const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";
const SECURITY_V2: &str = "https://w3id.org/security/v2";
const CRED: &str = "https://www.w3.org/2018/credentials#";
const SCHEMA: &str = "https://schema.org/";
/// The class DIVOC's test-certificate context gives test evidence (`vac` has no trailing
/// delimiter, so JSON-LD 1.1 leaves the compact form as the IRI, as DIVOC's signer does).
const TEST_DETAILS: &str = "vac:TestDetails";

/// Whether `qr` has DIVOC's framing.
pub fn looks_like(qr: &str) -> bool {
    qr.get(..B64.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(B64))
        || qr.starts_with(ZIP_MAGIC)
}

/// The signature suites and their JWS alg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suite {
    Rsa,
    Ed25519,
}

impl Suite {
    fn of(proof_type: &str) -> Option<Suite> {
        match proof_type {
            "RsaSignature2018" => Some(Suite::Rsa),
            "Ed25519Signature2018" => Some(Suite::Ed25519),
            _ => None,
        }
    }

    const fn jws_alg(self) -> &'static str {
        match self {
            Suite::Rsa => "PS256",
            Suite::Ed25519 => "EdDSA",
        }
    }

    /// The kid prefix of this suite's keys.
    const fn key_kind(self) -> &'static str {
        match self {
            Suite::Rsa => "rsa",
            Suite::Ed25519 => "ed25519",
        }
    }
}

/// The archive bytes a DIVOC QR text may stand for: the Base64 after `B64:`, or for a raw
/// archive each character as one byte (ISO 8859-1, what QR byte mode defaults to) and, when
/// that differs, the text's UTF-8 bytes (a decoder that guessed UTF-8 for binary data that
/// happened to be valid UTF-8 gives the archive back that way). The ZIP reader's structure
/// and CRC checks tell which reading is the archive.
fn archives(qr: &str) -> Result<Vec<Vec<u8>>, (ErrorCode, &'static str)> {
    if let Some(b64) = qr.get(B64.len()..).filter(|_| !qr.starts_with(ZIP_MAGIC)) {
        return data_encoding::BASE64
            .decode(b64.trim_end().as_bytes())
            .map(|b| vec![b])
            .map_err(|_| {
                (
                    ErrorCode::Base64Invalid,
                    "the text after B64: is not standard Base64",
                )
            });
    }
    let latin1 = qr
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>();
    let utf8 = qr.as_bytes().to_vec();
    Ok(match latin1 {
        Some(bytes) if bytes == utf8 => vec![bytes],
        Some(bytes) => vec![bytes, utf8],
        None => vec![utf8],
    })
}

/// The credential inside a DIVOC QR text (`B64:` or raw ZIP), parsed but **not verified**:
/// for tests and tools; verdicts go through [`verify`].
pub fn unpack(qr: &str) -> Result<Map<String, Value>, (ErrorCode, String)> {
    let readings = archives(qr).map_err(|(c, m)| (c, m.to_owned()))?;
    let mut found = Err(super::zip::ZipError::NotZip);
    for bytes in &readings {
        found = super::zip::member(bytes, MEMBER, MAX_CREDENTIAL);
        if found.is_ok() {
            break;
        }
    }
    let json = found.map_err(|e| match e {
        super::zip::ZipError::TooLarge => (
            ErrorCode::PayloadTooLarge,
            "certificate.json inflates past the credential size limit".to_owned(),
        ),
        super::zip::ZipError::Missing => (
            ErrorCode::CredentialInvalid,
            "the ZIP archive has no certificate.json".to_owned(),
        ),
        e => (ErrorCode::DecompressFailed, e.to_string()),
    })?;
    match serde_json::from_slice::<Value>(&json) {
        Ok(Value::Object(doc)) => Ok(doc),
        _ => Err((
            ErrorCode::CredentialInvalid,
            "certificate.json is not a JSON object".to_owned(),
        )),
    }
}

/// Verifies one DIVOC credential into `out`.
pub(crate) fn verify(qr: &str, keys: &PassKeys, out: &mut Verdict, detail: Detail) {
    match unpack(qr) {
        Ok(doc) => verify_credential(&doc, keys, out, detail),
        Err((code, message)) => out.error(code, message),
    }
}

/// Verifies an unpacked credential into `out`.
pub(crate) fn verify_credential(
    doc: &Map<String, Value>,
    keys: &PassKeys,
    out: &mut Verdict,
    detail: Detail,
) {
    if let Err(message) = shape(doc) {
        return out.error(ErrorCode::CredentialInvalid, message);
    }
    let Some(Value::Object(proof)) = doc.get("proof") else {
        return out.error(
            ErrorCode::CredentialInvalid,
            "the credential has no proof object",
        );
    };
    let Some(suite) = proof
        .get("type")
        .and_then(Value::as_str)
        .and_then(Suite::of)
    else {
        return out.error(
            ErrorCode::AlgUnsupported,
            "proof.type must be RsaSignature2018 or Ed25519Signature2018",
        );
    };
    if proof.get("proofPurpose").and_then(Value::as_str) != Some("assertionMethod") {
        return out.error(
            ErrorCode::CredentialInvalid,
            "proof.proofPurpose must be assertionMethod",
        );
    }
    let Some(method) = proof.get("verificationMethod").and_then(Value::as_str) else {
        return out.error(
            ErrorCode::KidMissing,
            "the proof names no verificationMethod",
        );
    };
    let (header64, signature) = match detached_jws(proof, suite) {
        Ok(parts) => parts,
        Err((code, message)) => return out.error(code, message),
    };
    let candidates = match keys.of_issuer(PassFormatName::Divoc, method) {
        Ok(c) => c,
        Err(code) => {
            return out.error(
                code,
                format!(
                    "no trusted DIVOC key for verificationMethod {:?}",
                    super::cut(method)
                ),
            );
        }
    };
    let (verify_data, signed) = match signed_data(doc, proof) {
        Ok(v) => v,
        Err(crate::ld::LdError::TooLarge | crate::ld::LdError::C14n(_)) => {
            return out.error(
                ErrorCode::PayloadTooLarge,
                "the credential exceeds the JSON-LD processing bounds",
            );
        }
        Err(e) => return out.error(ErrorCode::CredentialInvalid, e.to_string()),
    };
    let mut input = Vec::with_capacity(header64.len() + 1 + verify_data.len());
    input.extend_from_slice(header64.as_bytes());
    input.push(b'.');
    input.extend_from_slice(&verify_data);
    let key = candidates
        .iter()
        .filter(|(k, _)| k.kid.starts_with(suite.key_kind()))
        .find(|(_, raw)| signature_verifies(suite, raw, &input, &signature));
    let Some((key, _)) = key else {
        return out.error(
            ErrorCode::SignatureInvalid,
            "the proof's signature does not verify with the verificationMethod's keys",
        );
    };
    out.signed_by(key);
    read_certificate(doc, &signed, method, suite, out, detail);
}

/// Most credentials whose signed data [`signed_data`] remembers.
pub const MEMO_ENTRIES: usize = 512;

/// Recently computed signed data, by SHA-256 of the credential (as parsed, re-serialised):
/// keys in arrival order for eviction, and the entries.
type Memo = (
    std::collections::VecDeque<[u8; 32]>,
    std::collections::HashMap<[u8; 32], (Vec<u8>, crate::ld::Signed)>,
);

static MEMO: std::sync::LazyLock<std::sync::Mutex<Memo>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(Memo::default()));

/// The verify data and signed RDF of `doc` with `proof`, as [`crate::ld::proof_verify_data`]
/// computes them under security/v2, remembered for the last [`MEMO_ENTRIES`] credentials:
/// they depend on the credential alone (the contexts are bundled and fixed), and JSON-LD
/// processing is nearly all of a DIVOC verdict's cost (1.7 ms), so a code scanned again (at
/// check-in, then at the gate) skips it. The signature and every check on the data still run
/// for each verdict; failures are not remembered.
fn signed_data(
    doc: &Map<String, Value>,
    proof: &Map<String, Value>,
) -> Result<(Vec<u8>, crate::ld::Signed), crate::ld::LdError> {
    let bytes = serde_json::to_vec(doc).map_err(|e| crate::ld::LdError::Invalid(e.to_string()))?;
    let mut key = [0u8; 32];
    key.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
    if let Some(hit) = MEMO.lock().ok().and_then(|m| m.1.get(&key).cloned()) {
        return Ok(hit);
    }
    let computed = crate::ld::proof_verify_data(doc, proof, &Value::String(SECURITY_V2.into()))?;
    if let Ok(mut memo) = MEMO.lock() {
        let (order, entries) = &mut *memo;
        if entries.insert(key, computed.clone()).is_none() {
            order.push_back(key);
        }
        while order.len() > MEMO_ENTRIES {
            if let Some(old) = order.pop_front() {
                entries.remove(&old);
            }
        }
    }
    Ok(computed)
}

/// The credential's required shape: credentials v1 first, a `VerifiableCredential`.
fn shape(doc: &Map<String, Value>) -> Result<(), &'static str> {
    let first_context = match doc.get("@context") {
        Some(Value::Array(list)) => list.first(),
        other => other,
    };
    if first_context.and_then(Value::as_str) != Some(CREDENTIALS_V1) {
        return Err("the credential's first @context must be the W3C credentials v1 context");
    }
    if !has_type(doc.get("type"), "VerifiableCredential") {
        return Err("the credential's type does not include VerifiableCredential");
    }
    Ok(())
}

/// Whether a JSON-LD `type` member (one term or a list) names `name`.
fn has_type(v: Option<&Value>, name: &str) -> bool {
    match v {
        Some(Value::Array(list)) => list.iter().any(|t| t == name),
        Some(t) => t == name,
        None => false,
    }
}

/// The JWS header segment as written and the signature bytes of `proof.jws`.
fn detached_jws(
    proof: &Map<String, Value>,
    suite: Suite,
) -> Result<(String, Vec<u8>), (ErrorCode, &'static str)> {
    let bad = |m| (ErrorCode::JwsInvalid, m);
    let jws = proof
        .get("jws")
        .and_then(Value::as_str)
        .ok_or(bad("the proof has no jws"))?;
    let mut parts = jws.split('.');
    let (Some(h64), Some(""), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("proof.jws is not a detached JWS (header..signature)"));
    };
    let b64 = |s: &str| data_encoding::BASE64URL_NOPAD.decode(s.as_bytes()).ok();
    let (Some(header), Some(signature)) = (b64(h64), b64(s64)) else {
        return Err(bad("a part of proof.jws is not Base64url"));
    };
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&header) else {
        return Err(bad("the JWS header is not a JSON object"));
    };
    let unencoded = header.get("b64") == Some(&Value::Bool(false))
        && header.get("crit") == Some(&Value::Array(vec![Value::String("b64".into())]))
        && header.len() == 3;
    if !unencoded {
        return Err(bad(
            "the JWS header must be exactly alg, b64 false and crit [b64]",
        ));
    }
    if header.get("alg").and_then(Value::as_str) != Some(suite.jws_alg()) {
        return Err((
            ErrorCode::AlgUnsupported,
            "the JWS alg does not match the proof type (PS256 for RsaSignature2018, EdDSA for Ed25519Signature2018)",
        ));
    }
    Ok((h64.to_owned(), signature))
}

fn signature_verifies(suite: Suite, key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use ring::signature as rs;
    let alg: &dyn rs::VerificationAlgorithm = match suite {
        Suite::Rsa => &rs::RSA_PSS_2048_8192_SHA256,
        Suite::Ed25519 => &rs::ED25519,
    };
    rs::UnparsedPublicKey::new(alg, key)
        .verify(msg, sig)
        .is_ok()
}

/// Fills the certificate from the credential, only where the signed data states it.
fn read_certificate(
    doc: &Map<String, Value>,
    signed: &crate::ld::Signed,
    method: &str,
    suite: Suite,
    out: &mut Verdict,
    detail: Detail,
) {
    let cred = |t: &str| format!("{CRED}{t}");
    let schema = |t: &str| format!("{SCHEMA}{t}");
    let Some(root) = signed.node_of_type(&cred("VerifiableCredential")).cloned() else {
        return out.error(
            ErrorCode::CredentialInvalid,
            "the signed data does not hold exactly one VerifiableCredential",
        );
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let at = out.at;
    let issued = text(doc.get("issuanceDate"));
    let issued_at = issued
        .as_deref()
        .filter(|d| signed.node_states(&root, &cred("issuanceDate"), d))
        .and_then(|d| OffsetDateTime::parse(d, &Rfc3339).ok());
    let Some(issued_at) = issued_at else {
        return out.error(
            ErrorCode::CredentialInvalid,
            "the credential has no signed RFC 3339 issuanceDate",
        );
    };
    if issued_at > at {
        out.error(
            ErrorCode::CwtNotYetValid,
            "the credential is not valid yet (issuanceDate is after the instant checked)",
        );
    }
    let mut expires_at = None;
    if let Some(exp) = doc.get("expirationDate") {
        let parsed = exp
            .as_str()
            .filter(|d| signed.node_states(&root, &cred("expirationDate"), d))
            .and_then(|d| OffsetDateTime::parse(d, &Rfc3339).ok());
        match parsed {
            None => {
                return out.error(
                    ErrorCode::CredentialInvalid,
                    "the credential's expirationDate is not a signed RFC 3339 date-time",
                );
            }
            Some(exp) if exp <= at => out.error(
                ErrorCode::CwtExpired,
                "the credential has expired (expirationDate is before the instant checked)",
            ),
            Some(exp) => expires_at = Some(exp),
        }
    }
    let mut uncovered = Vec::new();
    let subjects = signed.nodes(&root, &cred("credentialSubject"));
    let subject_json = doc.get("credentialSubject");
    let mut holder = Holder::default();
    for (member, predicate, slot) in [
        ("name", "name", &mut holder.name),
        ("dob", "date", &mut holder.date_of_birth),
    ] {
        let Some(value) = text(subject_json.and_then(|s| s.get(member))) else {
            continue;
        };
        if subjects
            .iter()
            .any(|s| signed.node_states(s, &schema(predicate), &value))
        {
            *slot = Some(value);
        } else {
            uncovered.push(member);
        }
    }
    let evidence_nodes = signed.nodes(&root, &cred("evidence"));
    let evidence: Vec<&Value> = match doc.get("evidence") {
        Some(Value::Array(list)) => list.iter().take(16).collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut vaccinations = Vec::new();
    for e in evidence {
        if !has_type(e.get("type"), "Vaccination") {
            continue;
        }
        let product = text(e.get("vaccine"));
        let date = text(e.get("date"));
        let counts: Vec<u64> = ["dose", "totalDoses"]
            .iter()
            .filter_map(|k| e.get(*k).and_then(Value::as_u64))
            .collect();
        let covered = evidence_nodes.iter().any(|n| {
            product
                .as_deref()
                .is_none_or(|p| signed.node_states(n, &schema("id"), p))
                && date
                    .as_deref()
                    .is_none_or(|d| signed.node_states(n, &schema("date"), d))
                && counts
                    .iter()
                    .all(|c| signed.node_states(n, &schema("doseValue"), &c.to_string()))
        });
        if !covered {
            uncovered.push("evidence");
            continue;
        }
        vaccinations.push(Vaccination {
            product,
            product_system: Some("divoc".into()),
            date,
            dose: counts.iter().min().copied(),
            doses: (counts.len() == 2)
                .then(|| counts.iter().max().copied())
                .flatten(),
        });
    }
    if !uncovered.is_empty() {
        out.warn(
            ErrorCode::CredentialInvalid,
            format!(
                "not covered by the signature, so not shown: {}",
                uncovered.join(", ")
            ),
        );
    }
    let iss = match doc.get("issuer") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => text(o.get("id")),
        _ => None,
    }
    .filter(|i| {
        signed
            .nodes(&root, &cred("issuer"))
            .iter()
            .any(|n| **n == crate::ld::Term::Iri(i.clone()))
    });
    // A test certificate (DIVOC's test-certificate context: evidence of type TestDetails)
    // says so; its result stays in the credential (`detail=full`), as an EU test's does.
    let is_test = has_type(doc.get("type"), "ProofOfTestCertificateCredential")
        && signed
            .nodes(&root, &cred("evidence"))
            .iter()
            .any(|n| signed.node_is_a(n, TEST_DETAILS));
    out.certificate(CertificateInfo {
        cert_type: Some(if is_test {
            CertType::Test
        } else {
            CertType::Vaccination
        }),
        issuer_country: None,
        iss,
        issued_at: Some(crate::util::rfc3339(issued_at)),
        expires_at: expires_at.map(crate::util::rfc3339),
        kid: method.to_owned(),
        alg: match suite {
            Suite::Rsa => SignatureAlg::Ps256,
            Suite::Ed25519 => SignatureAlg::EdDsa,
        },
        uvci: None,
        holder,
        vaccinations,
        dcc: (detail == Detail::Full).then(|| Value::Object(doc.clone())),
    });
}

/// Reads the public keys of one `divoc-key` source: PEM `PUBLIC KEY` blocks (SPKI), RSA of
/// 2048–8192 bits or Ed25519, all trusted for `method`. Refused alone: `PRIVATE_KEY` (a
/// private key in the file), `KEY_MALFORMED`, `KEY_UNSUPPORTED` (other key types, short RSA).
pub fn keys_of_pem(
    bytes: &[u8],
    method: &str,
    source: &str,
) -> Result<(Vec<PassKey>, Vec<Refused>), String> {
    use rustls_pki_types::pem::{PemObject, SectionKind};
    use x509_parser::prelude::FromDer;
    let mut keys = Vec::new();
    let mut refused = Vec::new();
    for (i, item) in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .enumerate()
        .take(super::MAX_KEYS_PER_SOURCE)
    {
        let name = format!("#{i}");
        let der = match item {
            Ok((SectionKind::PublicKey, der)) => der,
            Ok((
                SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey,
                _,
            )) => {
                refused.push((name, "PRIVATE_KEY"));
                continue;
            }
            Ok(_) => {
                refused.push((name, "KEY_UNSUPPORTED"));
                continue;
            }
            Err(_) => {
                refused.push((name, "KEY_MALFORMED"));
                continue;
            }
        };
        let Ok((_, spki)) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&der) else {
            refused.push((name, "KEY_MALFORMED"));
            continue;
        };
        let raw = spki.subject_public_key.data.to_vec();
        let kind = match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.2.840.113549.1.1.1" => {
                let bits = match spki.parsed() {
                    Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => rsa.key_size(),
                    _ => 0,
                };
                if bits == 0 {
                    refused.push((name, "KEY_MALFORMED"));
                    continue;
                }
                if !(2048..=8192).contains(&bits) {
                    refused.push((name, "KEY_UNSUPPORTED"));
                    continue;
                }
                "rsa"
            }
            "1.3.101.112" if raw.len() == 32 => "ed25519",
            "1.3.101.112" => {
                refused.push((name, "KEY_MALFORMED"));
                continue;
            }
            _ => {
                refused.push((name, "KEY_UNSUPPORTED"));
                continue;
            }
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, &der);
        keys.push(PassKey {
            format: PassFormatName::Divoc,
            issuer: method.to_owned(),
            kid: format!(
                "{kind}:{}",
                data_encoding::HEXLOWER.encode(digest.as_ref().get(..8).unwrap_or_default())
            ),
            point: data_encoding::BASE64.encode(&raw),
            source: source.to_owned(),
            crl_version: None,
        });
    }
    if keys.is_empty() && refused.is_empty() {
        return Err("no PEM public key in the file".into());
    }
    Ok((keys, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        assert!(looks_like("B64:UEsDBBQ"));
        assert!(looks_like("b64:UEsDBBQ"));
        assert!(looks_like("PK\u{3}\u{4}\u{14}\u{0}"));
        assert!(!looks_like("PK"));
        assert!(!looks_like("HC1:NCF"));
        assert!(!looks_like("B64"));
        // One byte per character, and the UTF-8 reading when it differs.
        assert_eq!(
            archives("PK\u{3}\u{4}\u{ff}").unwrap(),
            vec![
                vec![0x50, 0x4b, 3, 4, 0xff],
                vec![0x50, 0x4b, 3, 4, 0xc3, 0xbf]
            ]
        );
        assert_eq!(
            archives("PK\u{3}\u{4}\u{100}").unwrap(),
            vec![vec![0x50, 0x4b, 3, 4, 0xc4, 0x80]]
        );
        assert_eq!(archives("PK\u{3}\u{4}a").unwrap().len(), 1);
        assert_eq!(
            archives("B64:UEsDBA==").unwrap(),
            vec![b"PK\x03\x04".to_vec()]
        );
        assert_eq!(archives("B64:!!").unwrap_err().0, ErrorCode::Base64Invalid);
    }
}
