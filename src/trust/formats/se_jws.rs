//! Swedish (DIGG) JWS trust list (spec §4.4): a compact JWS `header.payload.signature`.
//!
//! **Signature.** The header must be `alg` `ES256` (any other algorithm, `none` included, is
//! [`ListError::BadSignature`]: the list cannot be verified) and carry `x5c`, the signer chain
//! (standard Base64 DER, signer first); a `crit` header is refused as malformed since we
//! understand no extension. The signature (raw `r‖s`, a DER `ECDSA-Sig-Value` tolerated) over
//! the ASCII `header_b64 "." payload_b64` exactly as received must verify with the key of
//! `x5c[0]`, else [`ListError::BadSignature`].
//!
//! **Signer.** `x5c[0]` must chain to the pinned anchor: it is an anchor certificate, carries an
//! anchor key or is issued by an anchor certificate ([`Anchor::chains`]), or it is issued by
//! `x5c[1]`, a CA certificate (basic constraints `cA`), which in turn chains, and so on up to
//! [`MAX_CHAIN`] certificates. Otherwise [`ListError::WrongSigner`]. An empty anchor is
//! [`ListError::AnchorRequired`]. The signer certificates' validity periods are not checked: the
//! list's own `iat`/`exp` bound its use.
//!
//! **Claims.** `iss` (string), `iat` and `exp` (NumericDate) are mandatory
//! ([`ListError::Malformed`]); `iat` more than [`CLOCK_SKEW`] after `now` is
//! [`ListError::NotYetValid`]; at and after `exp` the list is [`ListError::Expired`]. `id` and
//! `aud` are not interpreted.
//!
//! **Entries.** `dsc_trust_list` maps a country to `{ "eku": {…}?, "keys": [JWK…] }`. For each
//! JWK: the DSC is `x5c[0]`; [`admit`] checks the JWK's `kid`, validity and key; the JWK's own
//! key (`x`/`y` or `n`/`e`) must be the certificate's key and `x5t#S256` (if present) its
//! SHA-256 thumbprint, else [`RejectReason::Malformed`] (the entry contradicts itself); the
//! certificate's `C=` must be the country it is listed under ([`RejectReason::CountryMismatch`]).
//! The `eku` map is informational: the DSC's own extended key usage decides what it may sign.
//! A country entry that is not an object with a `keys` array is rejected as a whole (entry
//! `<CC>`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::{
    Anchor, Context, Ingested, ListError, MAX_ENTRIES, RejectReason, Rejected, admit, push_unique,
};
use crate::keys::mint::SignerKey;
use crate::trust::jose::{self, CLOCK_SKEW, RenderError, b64url, b64url_decode};
use crate::trust::model::{Dsc, Kid};
use crate::trust::validate::{issued_by, verify_spki};
use crate::util::{base64_decode, base64_encode};

/// Most certificates accepted in the header's `x5c`.
pub const MAX_CHAIN: usize = 8;

fn malformed(what: &str) -> ListError {
    ListError::Malformed(what.to_owned())
}

fn decode_json_object(b64: &str, what: &str) -> Result<Map<String, Value>, ListError> {
    jose::decode_json_object(b64).ok_or_else(|| malformed(&format!("{what} is not Base64url JSON")))
}

/// Whether the certificate is a CA (basic constraints `cA` true).
fn is_ca(der: &[u8]) -> bool {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca),
        Err(_) => false,
    }
}

/// Whether `chain[0]` chains to the anchor through `chain[1..]` (see the module documentation).
fn chains_to(chain: &[Vec<u8>], anchor: &Anchor) -> bool {
    for (i, cert) in chain.iter().enumerate() {
        if anchor.chains(cert) {
            return true;
        }
        match chain.get(i + 1) {
            Some(issuer) if is_ca(issuer) && issued_by(cert, issuer) => {}
            _ => return false,
        }
    }
    false
}

/// Reads a Swedish JWS trust list.
pub fn ingest(bytes: &[u8], ctx: &Context<'_>) -> Result<Ingested, ListError> {
    if ctx.anchor.is_empty() {
        return Err(ListError::AnchorRequired);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| malformed("the list is not UTF-8"))?
        .trim_ascii();
    let (header_b64, payload_b64, sig_b64) =
        jose::split_compact(text).ok_or_else(|| malformed("not a compact JWS"))?;
    let header = decode_json_object(header_b64, "the JWS header")?;
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => {}
        Some(_) => return Err(ListError::BadSignature),
        None => return Err(malformed("the JWS header has no alg")),
    }
    if header.contains_key("crit") {
        return Err(malformed("unsupported critical JWS header"));
    }
    let chain: Vec<Vec<u8>> = match header.get("x5c").and_then(Value::as_array) {
        Some(certs) if !certs.is_empty() && certs.len() <= MAX_CHAIN => certs
            .iter()
            .map(|c| c.as_str().and_then(base64_decode))
            .collect::<Option<_>>()
            .ok_or_else(|| malformed("x5c is not Base64"))?,
        _ => return Err(malformed("the JWS header has no usable x5c")),
    };
    let claims = decode_json_object(payload_b64, "the JWS payload")?;
    let sig = b64url_decode(sig_b64)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("no Base64url signature"))?;
    let signer = chain.first().ok_or_else(|| malformed("empty x5c"))?;
    let (_, signer_cert) =
        X509Certificate::from_der(signer).map_err(|_| malformed("x5c[0] is not X.509"))?;
    let spki = signer_cert.tbs_certificate.subject_pki.raw;
    let input = format!("{header_b64}.{payload_b64}");
    let verified = jose::es256_encodings(&sig)
        .into_iter()
        .any(|alg| verify_spki(spki, alg, input.as_bytes(), &sig));
    if !verified {
        return Err(ListError::BadSignature);
    }
    if !chains_to(&chain, ctx.anchor) {
        return Err(ListError::WrongSigner);
    }
    check_times(&claims, ctx.now)?;
    let list = claims
        .get("dsc_trust_list")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("no dsc_trust_list object"))?;
    let total: usize = list
        .values()
        .map(|e| e.get("keys").and_then(Value::as_array).map_or(0, Vec::len))
        .sum();
    if total > MAX_ENTRIES {
        return Err(ListError::TooManyEntries(MAX_ENTRIES));
    }
    let mut out = Ingested::default();
    for (country, entry) in list {
        let Some(keys) = entry.get("keys").and_then(Value::as_array) else {
            out.rejected.push(Rejected {
                entry: super::clip(country),
                country: Some(super::clip(country)),
                reason: RejectReason::Malformed,
            });
            continue;
        };
        for (j, jwk) in keys.iter().enumerate() {
            let name = jwk
                .get("kid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{}#{j}", super::clip(country)), super::clip);
            match check_jwk(jwk, country, ctx) {
                Ok(dsc) => push_unique(&mut out, dsc, name),
                Err(reason) => out.rejected.push(Rejected {
                    entry: name,
                    country: Some(super::clip(country)),
                    reason,
                }),
            }
        }
    }
    Ok(out)
}

fn check_times(claims: &Map<String, Value>, now: OffsetDateTime) -> Result<(), ListError> {
    if !claims.get("iss").is_some_and(Value::is_string) {
        return Err(malformed("no iss claim"));
    }
    let date = |name: &str| {
        claims
            .get(name)
            .and_then(jose::numeric_date)
            .ok_or_else(|| malformed(&format!("no usable {name} claim")))
    };
    let (iat, exp) = (date("iat")?, date("exp")?);
    if iat > now + CLOCK_SKEW {
        return Err(ListError::NotYetValid);
    }
    if now >= exp {
        return Err(ListError::Expired);
    }
    Ok(())
}

fn check_jwk(jwk: &Value, country: &str, ctx: &Context<'_>) -> Result<Dsc, RejectReason> {
    let jwk = jwk.as_object().ok_or(RejectReason::Malformed)?;
    let kid = jwk
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(RejectReason::Malformed)?;
    let der = jwk
        .get("x5c")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .and_then(base64_decode)
        .ok_or(RejectReason::Malformed)?;
    let dsc = admit(&der, Some(kid), ctx)?;
    if !jose::jwk_matches(jwk, &dsc.key) {
        return Err(RejectReason::Malformed);
    }
    if let Some(x5t) = jwk.get("x5t#S256") {
        let digest = ring::digest::digest(&ring::digest::SHA256, &der);
        if x5t.as_str().and_then(b64url_decode).as_deref() != Some(digest.as_ref()) {
            return Err(RejectReason::Malformed);
        }
    }
    if dsc.country.as_deref() != Some(country) {
        return Err(RejectReason::CountryMismatch);
    }
    Ok(dsc)
}

/// The JWK publishing one DSC: its key members, `kid`, `x5c` and `x5t#S256`.
pub fn jwk_of(der: &[u8]) -> Option<Map<String, Value>> {
    let dsc = Dsc::from_der(der, "render").ok()?;
    let mut jwk = jose::jwk_for(&dsc.key)?;
    jwk.insert("kid".into(), Kid::of_der(der).to_base64().into());
    jwk.insert("x5c".into(), json!([base64_encode(der)]));
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    jwk.insert("x5t#S256".into(), b64url(digest.as_ref()).into());
    Some(jwk)
}

/// The claims of a trust list publishing `dscs`, grouped by each certificate's `C=`.
pub fn claims(
    iss: &str,
    iat: OffsetDateTime,
    exp: OffsetDateTime,
    dscs: &[Vec<u8>],
) -> Result<Value, RenderError> {
    let mut by_country: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (i, der) in dscs.iter().enumerate() {
        let country = Dsc::from_der(der, "render")
            .map_err(|_| RenderError::BadCertificate(i, "not X.509"))?
            .country
            .ok_or(RenderError::BadCertificate(i, "no country in the subject"))?;
        let jwk = jwk_of(der).ok_or(RenderError::BadCertificate(i, "unsupported key"))?;
        by_country
            .entry(country)
            .or_default()
            .push(Value::Object(jwk));
    }
    let list: Map<String, Value> = by_country
        .into_iter()
        .map(|(country, keys)| (country, json!({ "keys": keys })))
        .collect();
    Ok(json!({
        "iss": iss,
        "iat": iat.unix_timestamp(),
        "exp": exp.unix_timestamp(),
        "dsc_trust_list": list,
    }))
}

/// Renders a compact JWS over `claims` with header `{typ: JOSE, alg: ES256, x5c: signer_chain}`.
pub fn render(
    claims: &Value,
    signer_chain: &[Vec<u8>],
    key: &SignerKey,
) -> Result<String, RenderError> {
    if signer_chain.is_empty() || signer_chain.len() > MAX_CHAIN {
        return Err(RenderError::Content(
            "the signer chain must hold 1 to 8 certificates",
        ));
    }
    if !claims.is_object() {
        return Err(RenderError::Content("the claims must be an object"));
    }
    let x5c: Vec<String> = signer_chain.iter().map(|c| base64_encode(c)).collect();
    let header = json!({ "typ": "JOSE", "alg": "ES256", "x5c": x5c });
    let header_b64 = b64url(header.to_string().as_bytes());
    let payload_b64 = b64url(claims.to_string().as_bytes());
    let input = format!("{header_b64}.{payload_b64}");
    let sig = jose::sign_es256(key, input.as_bytes())?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{NOW, ctx, dsc, es256, expired_dsc, spec};
    use super::*;
    use crate::crypto::Alg;
    use crate::keys::mint::{self, Minted};

    struct Pki {
        root_key: SignerKey,
        root: Minted,
        anchor: Anchor,
        signer_key: SignerKey,
        signer: Minted,
    }

    /// An anchor CA and a list signer it issued.
    fn pki() -> Pki {
        let root_key = es256();
        let root = mint::csca(&spec("SE", "DIGG root", -100, 1000), &root_key).unwrap();
        let anchor = Anchor::from_bytes(&root.der).unwrap();
        let signer_key = es256();
        let signer = mint::signed_by(
            &spec("SE", "DIGG signer", -10, 100),
            &signer_key,
            &root,
            &root_key,
        )
        .unwrap();
        Pki {
            root_key,
            root,
            anchor,
            signer_key,
            signer,
        }
    }

    fn window() -> (OffsetDateTime, OffsetDateTime) {
        (
            NOW - time::Duration::hours(1),
            NOW + time::Duration::days(1),
        )
    }

    fn reasons(got: &Ingested) -> Vec<RejectReason> {
        got.rejected.iter().map(|r| r.reason).collect()
    }

    /// Signs an arbitrary header and payload.
    fn compact(header: &Value, claims: &Value, key: &SignerKey) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64url(&sig))
    }

    #[test]
    fn valid_list_round_trips() {
        let p = pki();
        let de = dsc("DE", "de", &es256());
        let se_key = SignerKey::generate(Alg::Ps256).unwrap();
        let se = dsc("SE", "se rsa", &se_key);
        let (iat, exp) = window();
        let claims = claims(
            "https://dgc.digg.se/trust-service",
            iat,
            exp,
            &[de.der.clone(), se.der.clone()],
        )
        .unwrap();
        let jws = render(&claims, std::slice::from_ref(&p.signer.der), &p.signer_key).unwrap();
        let got = ingest(jws.as_bytes(), &ctx(&p.anchor))
            .unwrap()
            .non_empty()
            .unwrap();
        assert!(got.rejected.is_empty(), "{:?}", got.rejected);
        assert_eq!(
            got.countries().into_iter().collect::<Vec<_>>(),
            ["DE", "SE"]
        );
        let kids: Vec<Kid> = got.dscs.iter().map(|d| d.kid).collect();
        assert_eq!(kids, [Kid::of_der(&de.der), Kid::of_der(&se.der)]);
        // Surrounding whitespace (a trailing newline) is fine; a DER signature is tolerated.
        assert_eq!(
            ingest(format!("{jws}\n").as_bytes(), &ctx(&p.anchor))
                .unwrap()
                .dscs
                .len(),
            2
        );
        let (input, sig) = jws.rsplit_once('.').unwrap();
        let der = jose::ecdsa_raw_to_der(&b64url_decode(sig).unwrap()).unwrap();
        let der_jws = format!("{input}.{}", b64url(&der));
        assert_eq!(
            ingest(der_jws.as_bytes(), &ctx(&p.anchor))
                .unwrap()
                .dscs
                .len(),
            2
        );
        // The anchor may pin the signer itself.
        let pinned = Anchor::from_bytes(&p.signer.der).unwrap();
        assert_eq!(ingest(jws.as_bytes(), &ctx(&pinned)).unwrap().dscs.len(), 2);
    }

    #[test]
    fn signer_chains_through_intermediates() {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer};
        let p = pki();
        // root → intermediate CA → leaf signer, built with rcgen directly (mint has no
        // intermediate CAs).
        let ca_params = |cn: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CountryName, "SE");
            params.distinguished_name.push(DnType::CommonName, cn);
            params.not_before = NOW - time::Duration::days(10);
            params.not_after = NOW + time::Duration::days(100);
            params
        };
        let mut root_params = ca_params("DIGG root");
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root_kp = p.root_key.rcgen().unwrap();
        let root = root_params.self_signed(&root_kp).unwrap();
        let anchor = Anchor::from_bytes(root.der()).unwrap();
        let root_issuer = Issuer::from_params(&root_params, root_kp);
        let mut mid_params = ca_params("DIGG intermediate");
        mid_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let mid_key = es256();
        let mid_kp = mid_key.rcgen().unwrap();
        let mid = mid_params.signed_by(&mid_kp, &root_issuer).unwrap();
        let mid_issuer = Issuer::from_params(&mid_params, mid_kp);
        let leaf_kp = p.signer_key.rcgen().unwrap();
        let leaf = ca_params("DIGG leaf")
            .signed_by(&leaf_kp, &mid_issuer)
            .unwrap();
        // The same leaf name under a non-CA "intermediate".
        let fake_mid_params = ca_params("DIGG intermediate");
        let fake_mid = fake_mid_params
            .signed_by(&mid_key.rcgen().unwrap(), &root_issuer)
            .unwrap();

        let (iat, exp) = window();
        let claims = claims("se", iat, exp, &[dsc("DE", "de", &es256()).der]).unwrap();
        let ok = render(
            &claims,
            &[leaf.der().to_vec(), mid.der().to_vec()],
            &p.signer_key,
        )
        .unwrap();
        assert_eq!(ingest(ok.as_bytes(), &ctx(&anchor)).unwrap().dscs.len(), 1);
        // With the root in the chain too.
        let full = render(
            &claims,
            &[leaf.der().to_vec(), mid.der().to_vec(), root.der().to_vec()],
            &p.signer_key,
        )
        .unwrap();
        assert_eq!(
            ingest(full.as_bytes(), &ctx(&anchor)).unwrap().dscs.len(),
            1
        );
        for chain in [
            vec![leaf.der().to_vec()],
            vec![leaf.der().to_vec(), fake_mid.der().to_vec()],
            vec![leaf.der().to_vec(), p.root.der.clone()],
        ] {
            let jws = render(&claims, &chain, &p.signer_key).unwrap();
            assert_eq!(
                ingest(jws.as_bytes(), &ctx(&anchor)).unwrap_err(),
                ListError::WrongSigner
            );
        }
    }

    #[test]
    fn bad_signatures_and_signers_are_refused() {
        let p = pki();
        let (iat, exp) = window();
        let claims = claims("se", iat, exp, &[dsc("DE", "de", &es256()).der]).unwrap();
        let chain = std::slice::from_ref(&p.signer.der);
        let jws = render(&claims, chain, &p.signer_key).unwrap();
        let c = ctx(&p.anchor);
        // Tampered signature.
        let (input, sig) = jws.rsplit_once('.').unwrap();
        let mut raw = b64url_decode(sig).unwrap();
        raw[10] ^= 1;
        let tampered = format!("{input}.{}", b64url(&raw));
        assert_eq!(
            ingest(tampered.as_bytes(), &c).unwrap_err(),
            ListError::BadSignature
        );
        // Tampered payload, original signature.
        let (header, _) = input.split_once('.').unwrap();
        let mut other_claims = claims.clone();
        other_claims["iss"] = "evil".into();
        let swapped = format!(
            "{header}.{}.{sig}",
            b64url(other_claims.to_string().as_bytes())
        );
        assert_eq!(
            ingest(swapped.as_bytes(), &c).unwrap_err(),
            ListError::BadSignature
        );
        // Signed by a key other than x5c[0]'s.
        let wrong_key = render(&claims, chain, &es256()).unwrap();
        assert_eq!(
            ingest(wrong_key.as_bytes(), &c).unwrap_err(),
            ListError::BadSignature
        );
        // A well-signed list whose signer chains to another anchor.
        let other = pki();
        let foreign = render(
            &claims,
            std::slice::from_ref(&other.signer.der),
            &other.signer_key,
        )
        .unwrap();
        assert_eq!(
            ingest(foreign.as_bytes(), &c).unwrap_err(),
            ListError::WrongSigner
        );
        // Other algorithms.
        let x5c = [base64_encode(&p.signer.der)];
        for alg in ["none", "HS256", "RS256", "ES384"] {
            let jws = compact(&json!({"alg": alg, "x5c": x5c}), &claims, &p.signer_key);
            assert_eq!(
                ingest(jws.as_bytes(), &c).unwrap_err(),
                ListError::BadSignature,
                "{alg}"
            );
        }
        for header in [
            json!({"x5c": x5c}),
            json!({"alg": "ES256"}),
            json!({"alg": "ES256", "x5c": []}),
            json!({"alg": "ES256", "x5c": ["!!"]}),
            json!({"alg": "ES256", "x5c": [base64_encode(b"not x509")]}),
            json!({"alg": "ES256", "x5c": x5c, "crit": ["exp"]}),
        ] {
            let jws = compact(&header, &claims, &p.signer_key);
            assert!(
                matches!(ingest(jws.as_bytes(), &c), Err(ListError::Malformed(_))),
                "{header}"
            );
        }
        // No anchor configured.
        assert_eq!(
            ingest(jws.as_bytes(), &ctx(&Anchor::none())).unwrap_err(),
            ListError::AnchorRequired
        );
    }

    #[test]
    fn list_validity_window() {
        let p = pki();
        let chain = std::slice::from_ref(&p.signer.der);
        let c = ctx(&p.anchor);
        let dscs = [dsc("DE", "de", &es256()).der];
        let hour = time::Duration::hours(1);
        let at = |iat: OffsetDateTime, exp: OffsetDateTime| {
            let claims = claims("se", iat, exp, &dscs).unwrap();
            ingest(
                render(&claims, chain, &p.signer_key).unwrap().as_bytes(),
                &c,
            )
        };
        assert_eq!(
            at(NOW - 2 * hour, NOW - hour).unwrap_err(),
            ListError::Expired
        );
        assert_eq!(at(NOW - 2 * hour, NOW).unwrap_err(), ListError::Expired);
        assert_eq!(
            at(NOW + hour, NOW + 2 * hour).unwrap_err(),
            ListError::NotYetValid
        );
        // Within the clock skew.
        assert!(at(NOW + time::Duration::minutes(4), NOW + hour).is_ok());
        let good = claims("se", NOW - hour, NOW + hour, &dscs).unwrap();
        for missing in ["iss", "iat", "exp", "dsc_trust_list"] {
            let mut claims = good.clone();
            claims.as_object_mut().unwrap().remove(missing);
            let jws = render(&claims, chain, &p.signer_key).unwrap();
            assert!(
                matches!(ingest(jws.as_bytes(), &c), Err(ListError::Malformed(_))),
                "{missing}"
            );
        }
        let mut claims = good.clone();
        claims["exp"] = "tomorrow".into();
        let jws = render(&claims, chain, &p.signer_key).unwrap();
        assert!(matches!(
            ingest(jws.as_bytes(), &c),
            Err(ListError::Malformed(_))
        ));
        // Fractional NumericDates are accepted.
        let mut claims = good;
        claims["exp"] = json!((NOW + hour).unix_timestamp() as f64 + 0.5);
        let jws = render(&claims, chain, &p.signer_key).unwrap();
        assert!(ingest(jws.as_bytes(), &c).is_ok());
    }

    #[test]
    fn bad_entries_are_rejected_one_by_one() {
        let p = pki();
        let good = dsc("DE", "good", &es256());
        let old = expired_dsc("DE", &es256());
        let at = dsc("AT", "at", &es256());
        let (iat, exp) = window();
        let mut claims = claims(
            "se",
            iat,
            exp,
            &[good.der.clone(), old.der.clone(), good.der.clone()],
        )
        .unwrap();
        let good_jwk = jwk_of(&good.der).unwrap();
        let mut wrong_kid = good_jwk.clone();
        wrong_kid.insert("kid".into(), Kid::of_der(b"x").to_base64().into());
        let mut wrong_key = good_jwk.clone();
        let other = jwk_of(&dsc("DE", "other", &es256()).der).unwrap();
        wrong_key.insert("x".into(), other["x"].clone());
        let mut wrong_thumb = good_jwk.clone();
        wrong_thumb.insert("x5t#S256".into(), b64url(&[0; 32]).into());
        let mut no_x5c = good_jwk.clone();
        no_x5c.remove("x5c");
        let mut no_kid = good_jwk.clone();
        no_kid.remove("kid");
        let keys = claims["dsc_trust_list"]["DE"]["keys"]
            .as_array_mut()
            .unwrap();
        keys.extend(
            [wrong_kid, wrong_key, wrong_thumb, no_x5c, no_kid]
                .into_iter()
                .map(Value::Object),
        );
        keys.push(json!("not a jwk"));
        // An Austrian DSC listed under Germany, and a country entry without keys.
        keys.push(Value::Object(jwk_of(&at.der).unwrap()));
        claims["dsc_trust_list"]["FR"] = json!({"eku": {}});
        let jws = render(&claims, std::slice::from_ref(&p.signer.der), &p.signer_key).unwrap();
        let got = ingest(jws.as_bytes(), &ctx(&p.anchor)).unwrap();
        assert_eq!(got.dscs.len(), 1);
        assert_eq!(got.dscs[0].kid, Kid::of_der(&good.der));
        assert_eq!(
            reasons(&got),
            [
                RejectReason::Expired,
                RejectReason::Duplicate,
                RejectReason::KidMismatch,
                RejectReason::Malformed,
                RejectReason::Malformed,
                RejectReason::Malformed,
                RejectReason::Malformed,
                RejectReason::Malformed,
                RejectReason::CountryMismatch,
                RejectReason::Malformed,
            ]
        );
        assert_eq!(got.rejected[0].entry, Kid::of_der(&old.der).to_base64());
        assert_eq!(got.rejected[6].entry, "DE#7");
        assert_eq!(got.rejected[8].country.as_deref(), Some("DE"));
        assert_eq!(got.rejected[9].entry, "FR");
    }

    #[test]
    fn garbage_truncated_and_empty_lists() {
        let p = pki();
        let chain = std::slice::from_ref(&p.signer.der);
        let (iat, exp) = window();
        let claims_one = claims("se", iat, exp, &[dsc("DE", "de", &es256()).der]).unwrap();
        let jws = render(&claims_one, chain, &p.signer_key).unwrap();
        let c = ctx(&p.anchor);
        let dots: Vec<usize> = jws.match_indices('.').map(|(i, _)| i).collect();
        for cut in [1, dots[0], dots[0] + 1, dots[1], dots[1] + 1, jws.len() / 2] {
            assert!(
                matches!(
                    ingest(&jws.as_bytes()[..cut], &c),
                    Err(ListError::Malformed(_))
                ),
                "cut at {cut}"
            );
        }
        // Cut inside the signature: still Base64url, but no longer a valid signature.
        let err = ingest(&jws.as_bytes()[..jws.len() - 3], &c).unwrap_err();
        assert!(matches!(
            err,
            ListError::Malformed(_) | ListError::BadSignature
        ));
        for garbage in [
            &b""[..],
            b"garbage",
            b"a.b.c",
            b"...",
            b"\xff.\xff.\xff",
            b"e30.e30.AAAA",
        ] {
            assert!(
                matches!(ingest(garbage, &c), Err(ListError::Malformed(_))),
                "{garbage:?}"
            );
        }
        let empty = claims("se", iat, exp, &[]).unwrap();
        let jws = render(&empty, chain, &p.signer_key).unwrap();
        let got = ingest(jws.as_bytes(), &c).unwrap();
        assert!(got.dscs.is_empty() && got.rejected.is_empty());
        assert_eq!(got.non_empty().unwrap_err(), ListError::Empty);
        assert!(matches!(
            render(&json!([]), chain, &p.signer_key),
            Err(RenderError::Content(_))
        ));
        assert!(matches!(
            render(&empty, &[], &p.signer_key),
            Err(RenderError::Content(_))
        ));
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let p = pki();
        let (iat, exp) = window();
        let claims = claims("se", iat, exp, &[dsc("DE", "de", &es256()).der]).unwrap();
        let jws = render(&claims, std::slice::from_ref(&p.signer.der), &p.signer_key).unwrap();
        for i in 0..jws.len() {
            let mut changed = jws.clone().into_bytes();
            changed[i] ^= 0x01;
            assert!(ingest(&changed, &ctx(&p.anchor)).is_err(), "byte {i}");
        }
    }
}
