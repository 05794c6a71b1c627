//! ICAO Visible Digital Seal for non-constrained environments (VDS-NC), the proof of
//! vaccination (`icao.vacc`) and of testing (`icao.test`).
//!
//! The QR holds JSON: `{"data": {"hdr": {"t", "v": 1, "is"}, "msg": {…}}, "sig": {"alg", "cer",
//! "sigvl"}}`. The signature (`sigvl`, Base64url; raw r‖s or DER) is over the RFC 8785 (JCS)
//! canonical form of `data`, by the barcode signer certificate `cer` (Base64url DER), which must
//! be issued by a trusted CSCA of the issuing state `hdr.is`, be valid at the instant checked
//! and allow digital signatures. `alg` is ES256 (P-256) or ES384 (P-384); ES512 is refused
//! (`ALG_UNSUPPORTED`: no P-521 in the verifier).
//!
//! Trust: `icao-csca` sources, a PEM bundle of one state's CSCAs with `issuer` set to the
//! state's ICAO code (e.g. `AUS`), and optionally `icao-crl` sources, the CSCAs' revocation
//! lists (X.509 CRLs, PEM or DER). A CRL counts only when a trusted CSCA of the same state
//! signed it (checked when the snapshot's index is built, [`super::PassKeys`]): a barcode
//! signer whose serial it lists is `REVOKED`; with CRLs configured for the state, a signer
//! whose CSCA has none in force, or whose CSCA's CRL is past its `nextUpdate`, gets a
//! `TRUST_STALE` warning (revocation not checked in full).

use x509_parser::prelude::{FromDer, X509Certificate};

use super::{PassFormatName, PassKey, PassKeys, Refused, Verdict, cut};
use crate::hcert::{CertificateInfo, Detail, ErrorCode, Holder, Vaccination};

/// Whether `qr` looks like a VDS-NC (a JSON object naming `data` and `sig` near its start).
pub fn looks_like(qr: &str) -> bool {
    let head = qr.trim_start();
    head.starts_with('{') && {
        let window = head.get(..head.len().min(4096)).unwrap_or(head);
        window.contains("\"sig\"") && window.contains("\"data\"")
    }
}

/// Verifies one VDS-NC into `out`.
pub(crate) fn verify(qr: &str, keys: &PassKeys, out: &mut Verdict, detail: Detail) {
    let Ok(seal) = serde_json::from_str::<serde_json::Value>(qr) else {
        return out.error(ErrorCode::CwtInvalid, "the seal is not JSON");
    };
    let (Some(data), Some(sig)) = (seal.get("data"), seal.get("sig")) else {
        return out.error(ErrorCode::CwtInvalid, "the seal needs data and sig");
    };
    let hdr = data.get("hdr");
    let doc_type = text(hdr, "t");
    if !matches!(doc_type, Some("icao.vacc" | "icao.test"))
        || hdr
            .and_then(|h| h.get("v"))
            .and_then(serde_json::Value::as_u64)
            != Some(1)
    {
        return out.error(
            ErrorCode::CredentialInvalid,
            "the header must be type icao.vacc or icao.test, version 1",
        );
    }
    let Some(state) = text(hdr, "is").map(str::to_owned) else {
        return out.error(
            ErrorCode::CwtInvalid,
            "the header names no issuing state (is)",
        );
    };
    let b64 = |k: &str| {
        text(Some(sig), k).and_then(|s| {
            data_encoding::BASE64URL_NOPAD
                .decode(s.trim_end_matches('=').as_bytes())
                .ok()
        })
    };
    let (Some(cer), Some(sigvl)) = (b64("cer"), b64("sigvl")) else {
        return out.error(
            ErrorCode::CoseInvalid,
            "sig needs cer and sigvl in Base64url",
        );
    };
    let alg = text(Some(sig), "alg").unwrap_or("");
    let Ok((_, bsc)) = X509Certificate::from_der(&cer) else {
        return out.error(ErrorCode::KeyUnsupported, "cer is not an X.509 certificate");
    };
    let cscas = match keys.of_issuer(super::PassFormatName::IcaoVdsNc, &state) {
        Ok(c) => c,
        Err(_) => {
            return out.error(
                ErrorCode::IssuerUntrusted,
                format!("no trusted CSCA for the issuing state {}", cut(&state)),
            );
        }
    };
    let Some(csca) = cscas
        .iter()
        .find(|(_, der)| crate::trust::validate::issued_by(&cer, der))
    else {
        return out.error(
            ErrorCode::KidUnknown,
            "the barcode signer certificate is not issued by a trusted CSCA of the issuing state",
        );
    };
    let Some(canonical) = jcs(data) else {
        return out.error(ErrorCode::CwtInvalid, "data cannot be canonicalised");
    };
    match verify_signature(&bsc, alg, canonical.as_bytes(), &sigvl) {
        Ok(true) => {}
        Ok(false) => {
            return out.error(ErrorCode::SignatureInvalid, "the signature does not verify");
        }
        Err(()) => {
            return out.error(
                ErrorCode::AlgUnsupported,
                "alg must be ES256 (P-256) or ES384 (P-384), matching the signer's key",
            );
        }
    }
    out.signed_by(&csca.0);
    let at = out.at.unix_timestamp();
    match keys.icao_revocation(&state, &csca.0.kid, bsc.tbs_certificate.raw_serial(), at) {
        super::IcaoRevocation::Revoked => out.error(
            ErrorCode::Revoked,
            "the barcode signer certificate is revoked (listed in its CSCA's CRL)",
        ),
        super::IcaoRevocation::NoCrl => out.warn(
            ErrorCode::TrustStale,
            "no CRL of the barcode signer's CSCA is in force: revocation was not checked",
        ),
        super::IcaoRevocation::Outdated => out.warn(
            ErrorCode::TrustStale,
            "the CSCA's CRL is past its nextUpdate: revocations since may be missing",
        ),
        super::IcaoRevocation::NotRevoked | super::IcaoRevocation::NotConfigured => {}
    }
    let validity = bsc.validity();
    if at < validity.not_before.timestamp() || at > validity.not_after.timestamp() {
        out.error(
            ErrorCode::DscNotValid,
            "the barcode signer certificate is not valid at the instant checked",
        );
    }
    if bsc
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|ku| !ku.value.digital_signature())
    {
        out.error(
            ErrorCode::KeyUsageMismatch,
            "the barcode signer certificate does not allow digital signatures",
        );
    }
    let msg = data.get("msg");
    let pid = msg.and_then(|m| m.get("pid"));
    let vaccinations: Vec<Vaccination> = msg
        .and_then(|m| m.get("ve"))
        .and_then(|v| v.as_array())
        .map(|events| {
            events
                .iter()
                .take(16)
                .flat_map(|e| {
                    let product = text(Some(e), "des").map(str::to_owned);
                    e.get("vd")
                        .and_then(|d| d.as_array())
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .take(16)
                        .map(move |d| Vaccination {
                            product: product.clone(),
                            product_system: Some("icd-11".into()),
                            date: d.get("dvc").and_then(|s| s.as_str()).map(str::to_owned),
                            dose: d.get("seq").and_then(|s| {
                                s.as_u64()
                                    .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
                            }),
                            doses: None,
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    let is_test = doc_type == Some("icao.test");
    out.certificate(CertificateInfo {
        cert_type: Some(if is_test {
            crate::hcert::payload::CertType::Test
        } else {
            crate::hcert::payload::CertType::Vaccination
        }),
        issuer_country: Some(state.clone()),
        iss: Some(state),
        issued_at: None,
        expires_at: None,
        kid: data_encoding::HEXLOWER.encode(bsc.tbs_certificate.raw_serial()),
        alg: if alg == "ES384" {
            crate::hcert::SignatureAlg::Es384
        } else {
            crate::hcert::SignatureAlg::Es256
        },
        uvci: text(msg, if is_test { "utci" } else { "uvci" }).map(str::to_owned),
        holder: Holder {
            // ICAO names are one field (Doc 9303 form, family name first).
            name: text(pid, "n").map(str::to_owned),
            family_name: None,
            given_name: None,
            family_name_std: text(pid, "n").map(str::to_owned),
            given_name_std: None,
            date_of_birth: text(pid, "dob").map(str::to_owned),
        },
        vaccinations,
        dcc: (detail == Detail::Full).then(|| data.clone()),
    });
}

/// The text member `k` of `v`.
fn text<'a>(v: Option<&'a serde_json::Value>, k: &str) -> Option<&'a str> {
    v.and_then(|x| x.get(k)).and_then(|s| s.as_str())
}

/// ES256 / ES384 with the certificate's key, raw r‖s or DER; `Err` for any other pairing.
fn verify_signature(
    cert: &X509Certificate<'_>,
    alg: &str,
    msg: &[u8],
    sig: &[u8],
) -> Result<bool, ()> {
    use ring::signature as rs;
    let spki = &cert.tbs_certificate.subject_pki;
    let curve = crate::trust::validate::curve_oid(spki);
    let (fixed, der, size): (
        &dyn rs::VerificationAlgorithm,
        &dyn rs::VerificationAlgorithm,
        usize,
    ) = match (alg, curve.as_deref()) {
        ("ES256", Some("1.2.840.10045.3.1.7")) => (
            &rs::ECDSA_P256_SHA256_FIXED,
            &rs::ECDSA_P256_SHA256_ASN1,
            64,
        ),
        ("ES384", Some("1.3.132.0.34")) => (
            &rs::ECDSA_P384_SHA384_FIXED,
            &rs::ECDSA_P384_SHA384_ASN1,
            96,
        ),
        _ => return Err(()),
    };
    let key = spki.subject_public_key.data.as_ref();
    let algorithm = if sig.len() == size { fixed } else { der };
    Ok(rs::UnparsedPublicKey::new(algorithm, key)
        .verify(msg, sig)
        .is_ok())
}

/// RFC 8785 JSON Canonicalization Scheme: members sorted by UTF-16 code units, no whitespace,
/// strings escaped as ECMAScript's `JSON.stringify` does, numbers as ECMAScript's
/// `Number::toString` lays out their shortest round-trip digits. `None` past 64 levels.
pub fn jcs(v: &serde_json::Value) -> Option<String> {
    let mut out = String::new();
    write_jcs(v, &mut out, 0)?;
    Some(out)
}

fn write_jcs(v: &serde_json::Value, out: &mut String, depth: usize) -> Option<()> {
    use serde_json::Value as J;
    if depth > 64 {
        return None;
    }
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => out.push_str(&jcs_number(n)?),
        J::String(s) => jcs_string(s, out),
        J::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_jcs(x, out, depth + 1)?;
            }
            out.push(']');
        }
        J::Object(m) => {
            let mut members: Vec<(&String, &serde_json::Value)> = m.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, x)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                jcs_string(k, out);
                out.push(':');
                write_jcs(x, out, depth + 1)?;
            }
            out.push('}');
        }
    }
    Some(())
}

fn jcs_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn jcs_number(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.to_string());
    }
    let f = n.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    if f == f.trunc() && f.abs() < 1e21 {
        // An integer-valued double: ECMAScript prints it without a fraction.
        return Some(format!("{f:.0}"));
    }
    // Shortest round-trip digits (what serde_json prints), laid out as ECMAScript's
    // Number::toString does (ECMA-262 §6.1.6.1.20).
    let repr = serde_json::Number::from_f64(f)?.to_string();
    let (sign, unsigned) = match repr.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", repr.as_str()),
    };
    let (mantissa, exp) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_start_matches('0').trim_end_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    // value = 0.digits × 10^n
    let k = i64::try_from(digits.len()).ok()?;
    let n = i64::try_from(int.len()).ok()? - i64::try_from(lead).ok()? + exp;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat(usize::try_from(n - k).ok()?))
    } else if 0 < n && n <= 21 {
        let (a, b) = digits.split_at(usize::try_from(n).ok()?);
        format!("{a}.{b}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-n).ok()?))
    } else {
        let (first, rest) = digits.split_at(1);
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        if rest.is_empty() {
            format!("{first}e{e}")
        } else {
            format!("{first}.{rest}e{e}")
        }
    };
    Some(format!("{sign}{body}"))
}

/// The CSCAs of an `icao-csca` source: every certificate of the PEM bundle that is a CA
/// (basicConstraints cA), for the state `issuer` (a three-letter ICAO code).
pub fn cscas_of_pem(
    bytes: &[u8],
    issuer: &str,
    source: &str,
) -> Result<(Vec<PassKey>, Vec<Refused>), String> {
    use rustls_pki_types::pem::PemObject;
    let mut keys = Vec::new();
    let mut refused = Vec::new();
    for (i, item) in rustls_pki_types::CertificateDer::pem_slice_iter(bytes)
        .enumerate()
        .take(super::MAX_KEYS_PER_SOURCE)
    {
        let name = format!("#{i}");
        let Ok(der) = item else {
            refused.push((name, "MALFORMED"));
            continue;
        };
        let Ok((_, cert)) = X509Certificate::from_der(der.as_ref()) else {
            refused.push((name, "MALFORMED"));
            continue;
        };
        if !cert.is_ca() {
            refused.push((name, "NOT_A_CA"));
            continue;
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
        keys.push(PassKey {
            format: PassFormatName::IcaoVdsNc,
            issuer: issuer.to_owned(),
            kid: data_encoding::HEXLOWER.encode(digest.as_ref().get(..8).unwrap_or_default()),
            point: data_encoding::BASE64.encode(der.as_ref()),
            source: source.to_owned(),
            crl_version: None,
        });
    }
    if keys.is_empty() && refused.is_empty() {
        return Err("no PEM certificate in the bundle".into());
    }
    Ok((keys, refused))
}

/// Reads one `icao-crl` source: X.509 CRLs (PEM `X509 CRL` blocks, or one DER CRL) of the
/// CSCAs of `state`. Signatures are checked against the state's CSCAs when the index is built;
/// here only the form (`MALFORMED` otherwise).
pub fn crls_of_pem(
    bytes: &[u8],
    state: &str,
    source: &str,
) -> Result<(Vec<PassKey>, Vec<Refused>), String> {
    use rustls_pki_types::pem::PemObject;
    use x509_parser::revocation_list::CertificateRevocationList;
    let ders: Vec<Result<Vec<u8>, ()>> = if bytes.first() == Some(&0x30) {
        vec![Ok(bytes.to_vec())]
    } else {
        rustls_pki_types::CertificateRevocationListDer::pem_slice_iter(bytes)
            .take(super::MAX_KEYS_PER_SOURCE)
            .map(|r| r.map(|d| d.as_ref().to_vec()).map_err(|_| ()))
            .collect()
    };
    // One CRL per issuing CSCA (named by a hash of its issuer name, so a newer CRL replaces the
    // older one without counting as a removal): the latest thisUpdate wins.
    let mut latest: std::collections::BTreeMap<String, (i64, Vec<u8>)> = Default::default();
    let mut refused = Vec::new();
    for (i, der) in ders.into_iter().enumerate() {
        let name = format!("#{i}");
        let Some((kid, this_update)) = der.as_ref().ok().and_then(|der| {
            let (_, crl) = CertificateRevocationList::from_der(der).ok()?;
            let digest =
                ring::digest::digest(&ring::digest::SHA256, crl.tbs_cert_list.issuer.as_raw());
            let kid = data_encoding::HEXLOWER.encode(digest.as_ref().get(..8).unwrap_or_default());
            Some((kid, crl.last_update().timestamp()))
        }) else {
            refused.push((name, "MALFORMED"));
            continue;
        };
        let Ok(der) = der else { continue };
        match latest.get(&kid) {
            Some((t, _)) if *t >= this_update => refused.push((name, "SUPERSEDED")),
            _ => {
                latest.insert(kid, (this_update, der));
            }
        }
    }
    let crls: Vec<PassKey> = latest
        .into_iter()
        .map(|(kid, (_, der))| PassKey {
            format: PassFormatName::IcaoCrl,
            issuer: state.to_owned(),
            kid,
            point: data_encoding::BASE64.encode(&der),
            source: source.to_owned(),
            crl_version: None,
        })
        .collect();
    if crls.is_empty() && refused.is_empty() {
        return Err("no PEM or DER CRL in the file".into());
    }
    Ok((crls, refused))
}

/// A CRL of a trusted CSCA, checked: (the CSCA's kid, revoked serials without leading zeros,
/// nextUpdate in Unix seconds).
pub(crate) type CheckedCrl = (String, std::collections::HashSet<Vec<u8>>, Option<i64>);

/// The CRL in `der` if one of `cscas` (kid, DER) of its state issued and signed it.
pub(crate) fn check_crl(der: &[u8], cscas: &[(&str, &[u8])]) -> Option<CheckedCrl> {
    use x509_parser::revocation_list::CertificateRevocationList;
    let (_, crl) = CertificateRevocationList::from_der(der).ok()?;
    let alg = &crl.signature_algorithm;
    let params = alg.parameters.as_ref().map(|p| p.as_bytes());
    let sig_alg =
        crate::trust::validate::SigAlg::from_oid(&alg.algorithm.to_id_string(), params, None)?;
    let (kid, _) = cscas.iter().find(|(_, csca)| {
        X509Certificate::from_der(csca).is_ok_and(|(_, c)| {
            c.tbs_certificate.subject.as_raw() == crl.tbs_cert_list.issuer.as_raw()
                && crate::trust::validate::verify_with(
                    &c.tbs_certificate.subject_pki,
                    sig_alg,
                    crl.tbs_cert_list.as_ref(),
                    crl.signature_value.data.as_ref(),
                )
        })
    })?;
    let serials = crl
        .iter_revoked_certificates()
        .take(1_000_000)
        .map(|r| strip_zeros(r.raw_serial()).to_vec())
        .collect();
    Some((
        (*kid).to_owned(),
        serials,
        crl.next_update().map(|t| t.timestamp()),
    ))
}

/// A serial number's bytes without leading zeros (DER adds one before a high bit).
pub(crate) fn strip_zeros(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|&b| b != 0).unwrap_or(serial.len());
    serial.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jcs_sorts_by_utf16_and_escapes_like_json_stringify() {
        let v = serde_json::json!({"b": [1, 2.5, true, null], "a": "x\"\u{1}\u{e9}", "\u{e000}": 1, "\u{1f600}": 2});
        // U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000 in UTF-16.
        assert_eq!(
            jcs(&v).unwrap(),
            "{\"a\":\"x\\\"\\u0001\u{e9}\",\"b\":[1,2.5,true,null],\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
        assert_eq!(jcs(&serde_json::json!(1e21)).unwrap(), "1e+21");
        assert_eq!(jcs(&serde_json::json!(100.0)).unwrap(), "100");
        assert_eq!(jcs(&serde_json::json!(-0.5)).unwrap(), "-0.5");
        // ECMAScript's layout of RFC 8785 Appendix B's samples.
        for (value, text) in [
            (1.5e-5, "0.000015"),
            (1e-7, "1e-7"),
            (123.456, "123.456"),
            (1.2345e22, "1.2345e+22"),
            (4.5e-10, "4.5e-10"),
            (333_333_333.333_333_3, "333333333.3333333"),
        ] {
            assert_eq!(jcs(&serde_json::json!(value)).unwrap(), text, "{value}");
        }
    }

    #[test]
    fn vds_nc_is_recognised_by_its_members() {
        assert!(looks_like(r#" {"data":{"hdr":{}},"sig":{}}"#));
        assert!(!looks_like(r#"{"data":1}"#));
        assert!(!looks_like("HC1:{\"sig\",\"data\"}"));
    }
}
