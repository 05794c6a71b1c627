//! WHO GDHCN DID v2 trust list (`did.json`): a DID document whose `verificationMethod` entries
//! are `JsonWebKey2020` keys with the certificate in `publicKeyJwk.x5c[0]`, signed by a
//! `JsonWebSignature2020` Linked Data proof, exactly as WHO's Trust Network Gateway signs them.
//!
//! **Proof.** `proof.jws` is a detached compact JWS `header ".." signature` whose header is
//! `alg` `ES256` (else [`ListError::BadSignature`]) with `"b64": false, "crit": ["b64"]`
//! (RFC 7797). The signed bytes are `header "." verify_data`, where `verify_data` is
//! SHA-256 of the URDNA2015 canonical N-Quads of the proof options (the proof without `jws`,
//! `proofValue`, `signatureValue`, under the document's `@context`), followed by SHA-256 of the
//! canonical N-Quads of the document without its `proof` ([`crate::ld::proof_verify_data`]; the
//! contexts are bundled, nothing is fetched). A header without `b64` (or `b64: true`) signs
//! `header "." base64url(verify_data)`; `b64: false` without `"b64"` in `crit`, or any other
//! critical header, is malformed. The signature may be raw `r‖s` (JOSE) or a DER
//! `ECDSA-Sig-Value` (what WHO's Java signer writes, and what [`render`] writes too).
//! `proof.created`, when present, must not lie more than [`CLOCK_SKEW`] after `now`
//! ([`ListError::NotYetValid`]); `proofPurpose` and `nonce` are not interpreted.
//!
//! **What the proof covers.** A Linked Data proof signs the RDF, not the JSON: members the
//! contexts do not map vanish in the conversion and can be added or changed freely. So every
//! entry taken from the JSON must be stated in the signed dataset: a method's `publicKeyJwk`
//! must appear as the JSON literal of that method's `id`, else [`RejectReason::NotSigned`]; a
//! top-level `expires` the dataset does not state is ignored (it could only have been added by
//! someone other than the signer).
//!
//! **Signer.** With a configured anchor the proof must verify with an anchor key (WHO's key is a
//! bare P-256 key: pin it as a `PUBLIC KEY` PEM); a document without a proof is
//! [`ListError::BadSignature`]. When it does not verify but does verify with the key of the
//! document's own method named by `proof.verificationMethod`, the document is validly signed by
//! someone else: [`ListError::WrongSigner`]; otherwise [`ListError::BadSignature`]. **With an
//! empty anchor the document is trusted by configuration** (fetched from a pinned HTTPS origin,
//! or a local file) and the proof is not checked at all.
//!
//! **Replay protection.** Top-level `"version"` (u64) and `"expires"` (RFC 3339) are read when
//! present (our own documents state them under an inline context, so they are signed; WHO's
//! carry neither); at and after a signed `expires` the document is [`ListError::Expired`].
//!
//! **Entries.** `verificationMethod` strings (references to other DID documents, as in WHO's
//! `trustlist-ref` documents) are skipped: an adapter does no I/O. A method is a country signing
//! CA when its id names an `…:SCA` document (`…:SCA#kid`), it sits in one, or its `keyusage`
//! code is `#CSCA` / `#SCA`: SCAs are never signers ([`RejectReason::NotASigner`]) and, where a
//! document provides SCAs of a country, that country's DSCs must chain to one of them
//! ([`RejectReason::NoCscaChain`]). Any other stated `keyusage` than `#DSC` is not a signer
//! either. For each method object: the certificate is `publicKeyJwk.x5c[0]` (standard Base64
//! DER); its stated kid is `publicKeyJwk.kid`, else the `id` fragment after `#`, either in
//! Base64url or Base64 ([`jose::kid_standard`]); [`admit`] checks kid, validity and key; the
//! JWK's key must be the certificate's key (33-byte EC coordinates with a leading zero are
//! normalised), else [`RejectReason::Malformed`]. DID documents state no country, so none is
//! checked; the certificate's `C=` is used.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::{
    Context, Ingested, ListError, ListMeta, MAX_ENTRIES, RejectReason, Rejected, admit, push_unique,
};
use crate::keys::mint::SignerKey;
use crate::ld::{self, Signed};
use crate::trust::jose::{self, CLOCK_SKEW, RenderError, b64url, b64url_decode, canonical_json};
use crate::trust::model::{Dsc, Kid};
use crate::trust::validate::{issued_by, verify_spki};
use crate::util::{base64_decode, base64_encode, parse_rfc3339, rfc3339};

/// The `@context` of rendered documents: DID core, the JWS 2020 suite, WHO's TNG context
/// (`domain`, `keyusage`), and the two replay-protection members, so that they are signed.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/jws-2020/v1",
        "https://smart.who.int/trust/tng-context/v1.jsonld",
        {
            "version": VERSION_IRI,
            "expires": {"@id": EXPIRES_IRI, "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
        }
    ])
}

/// What `version` and `expires` mean in rendered documents.
const VERSION_IRI: &str = "https://schema.org/version";
const EXPIRES_IRI: &str = "https://w3id.org/security#expiration";
/// The predicate of a JSON Web Key in the JWS 2020 suite.
const PUBLIC_KEY_JWK: &str = "https://w3id.org/security#publicKeyJwk";
/// The JWS header WHO writes, member order included.
const HEADER: &str = r#"{"b64":false,"crit":["b64"],"alg":"ES256"}"#;

fn malformed(what: &str) -> ListError {
    ListError::Malformed(what.to_owned())
}

fn parse(bytes: &[u8]) -> Result<Map<String, Value>, ListError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(doc)) => Ok(doc),
        Ok(_) => Err(malformed("the DID document is not a JSON object")),
        Err(e) => Err(ListError::Malformed(format!("the DID document: {e}"))),
    }
}

/// The document's version and expiry as its JSON states them, read **without** checking the
/// proof: call it on a document [`ingest`] accepted. None if the bytes are not a DID document.
pub fn list_meta(bytes: &[u8]) -> Option<ListMeta> {
    ListMeta::from_object(&parse(bytes).ok()?).ok()
}

/// Reads a WHO DID v2 trust-list document.
pub fn ingest(bytes: &[u8], ctx: &Context<'_>) -> Result<Ingested, ListError> {
    let doc = parse(bytes)?;
    let mut meta = ListMeta::from_object(&doc)?;
    let signed = if ctx.anchor.is_empty() {
        None
    } else {
        Some(verify_proof(&doc, ctx)?)
    };
    let doc_id = doc
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_iri(id));
    if let (Some(signed), Some(expires)) = (&signed, doc.get("expires").and_then(Value::as_str))
        && !signed.states_literal(doc_id, EXPIRES_IRI, expires)
    {
        meta.expires = None;
    }
    meta.check(ctx.now)?;
    let methods = match doc.get("verificationMethod") {
        None => &[][..],
        Some(Value::Array(methods)) => methods.as_slice(),
        Some(_) => return Err(malformed("verificationMethod is not an array")),
    };
    if methods.len() > MAX_ENTRIES {
        return Err(ListError::TooManyEntries(MAX_ENTRIES));
    }
    // Without a JWK there is nothing to cover: such a method is malformed.
    let covered = |method: &Value| match (&signed, method.get("publicKeyJwk")) {
        (Some(signed), Some(jwk)) => {
            let id = method
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| is_iri(id));
            signed.states_json(id, PUBLIC_KEY_JWK, jwk)
        }
        _ => true,
    };
    let doc_is_sca = doc
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| id.ends_with(":SCA"));
    let mut scas: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
    for method in methods {
        if usage(method, doc_is_sca) == Usage::Sca
            && covered(method)
            && let Some(der) = method
                .get("publicKeyJwk")
                .and_then(Value::as_object)
                .and_then(jwk_certificate)
            && let Ok(ca) = Dsc::from_der(&der, ctx.source)
        {
            scas.entry(ca.country.clone().unwrap_or_default())
                .or_default()
                .push(der);
        }
    }
    let mut out = Ingested::default();
    for (i, method) in methods.iter().enumerate() {
        if method.is_string() {
            continue;
        }
        let stated = stated_kid(method);
        let name = stated
            .as_deref()
            .map(super::clip)
            .unwrap_or_else(|| format!("#{i}"));
        let country = method
            .get("publicKeyJwk")
            .and_then(Value::as_object)
            .and_then(jwk_certificate)
            .and_then(|der| Dsc::from_der(&der, ctx.source).ok())
            .and_then(|d| d.country);
        let checked = if !covered(method) {
            Err(RejectReason::NotSigned)
        } else if usage(method, doc_is_sca) != Usage::Dsc {
            Err(RejectReason::NotASigner)
        } else {
            check_method(method, stated.as_deref(), ctx).and_then(|dsc| {
                match scas.get(dsc.country.as_deref().unwrap_or_default()) {
                    Some(cas) if !cas.iter().any(|ca| issued_by(&dsc.der, ca)) => {
                        Err(RejectReason::NoCscaChain)
                    }
                    _ => Ok(dsc),
                }
            })
        };
        match checked {
            Ok(dsc) => push_unique(&mut out, dsc, name),
            Err(reason) => out.rejected.push(Rejected {
                entry: name,
                country,
                reason,
            }),
        }
    }
    Ok(out)
}

/// An absolute IRI (the only ids that name a node in the signed dataset).
fn is_iri(id: &str) -> bool {
    id.split_once(':')
        .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains(['/', '#', '?']))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    Dsc,
    Sca,
    Other,
}

/// A method's usage: a country signing CA entry (`…:SCA#…`, any entry of an SCA document, or
/// `keyusage` `#CSCA` / `#SCA`), another stated usage, or a document signer.
fn usage(method: &Value, doc_is_sca: bool) -> Usage {
    let in_sca = doc_is_sca
        || method
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.split_once('#'))
            .is_some_and(|(base, _)| base.ends_with(":SCA"));
    let stated = method
        .get("keyusage")
        .and_then(|k| k.get("code"))
        .and_then(Value::as_str);
    match stated {
        _ if in_sca => Usage::Sca,
        Some("#CSCA" | "#SCA") => Usage::Sca,
        None | Some("#DSC") => Usage::Dsc,
        Some(_) => Usage::Other,
    }
}

/// The kid a method states (standard Base64): `publicKeyJwk.kid`, else the `id` fragment.
fn stated_kid(method: &Value) -> Option<String> {
    let from_jwk = method
        .get("publicKeyJwk")
        .and_then(|j| j.get("kid"))
        .and_then(Value::as_str);
    let from_id = || {
        method
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.rsplit_once('#'))
            .map(|(_, fragment)| fragment)
            .filter(|f| !f.is_empty())
    };
    from_jwk.or_else(from_id).map(jose::kid_standard)
}

fn check_method(
    method: &Value,
    stated_kid: Option<&str>,
    ctx: &Context<'_>,
) -> Result<Dsc, RejectReason> {
    let jwk = method
        .get("publicKeyJwk")
        .and_then(Value::as_object)
        .ok_or(RejectReason::Malformed)?;
    let der = jwk_certificate(jwk).ok_or(RejectReason::Malformed)?;
    let dsc = admit(&der, stated_kid, ctx)?;
    if !jose::jwk_matches(jwk, &dsc.key) {
        return Err(RejectReason::Malformed);
    }
    Ok(dsc)
}

fn jwk_certificate(jwk: &Map<String, Value>) -> Option<Vec<u8>> {
    jwk.get("x5c")?
        .as_array()?
        .first()?
        .as_str()
        .and_then(base64_decode)
}

/// The bytes a proof with header `header_b64` signs, and the dataset they cover.
fn signing_input(
    header_b64: &str,
    detached: bool,
    doc: &Map<String, Value>,
    proof: &Map<String, Value>,
) -> Result<(Vec<u8>, Signed), ListError> {
    let context = doc
        .get("@context")
        .ok_or_else(|| malformed("the DID document has no @context"))?;
    let (data, signed) = ld::proof_verify_data(doc, proof, context)
        .map_err(|e| ListError::Malformed(e.to_string()))?;
    let mut input = Vec::with_capacity(header_b64.len() + 1 + 88);
    input.extend_from_slice(header_b64.as_bytes());
    input.push(b'.');
    if detached {
        input.extend_from_slice(&data);
    } else {
        input.extend_from_slice(b64url(&data).as_bytes());
    }
    Ok((input, signed))
}

fn verify_proof(doc: &Map<String, Value>, ctx: &Context<'_>) -> Result<Signed, ListError> {
    let proof = match doc.get("proof") {
        None => return Err(ListError::BadSignature),
        Some(Value::Object(proof)) => proof,
        Some(_) => return Err(malformed("proof is not an object")),
    };
    let jws = proof
        .get("jws")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the proof has no jws"))?;
    let (header_b64, payload, sig_b64) =
        jose::split_compact(jws).ok_or_else(|| malformed("proof.jws is not a compact JWS"))?;
    if !payload.is_empty() {
        return Err(malformed("proof.jws is not detached"));
    }
    let header = jose::decode_json_object(header_b64)
        .ok_or_else(|| malformed("the proof's JWS header is not Base64url JSON"))?;
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => {}
        Some(_) => return Err(ListError::BadSignature),
        None => return Err(malformed("the proof's JWS header has no alg")),
    }
    let detached = match header.get("b64") {
        None | Some(Value::Bool(true)) => false,
        Some(Value::Bool(false)) => true,
        Some(_) => return Err(malformed("b64 is not a boolean")),
    };
    let crit: Vec<&str> = match header.get("crit") {
        None => Vec::new(),
        Some(Value::Array(names)) => names
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| malformed("crit is not a list of names"))?,
        Some(_) => return Err(malformed("crit is not a list of names")),
    };
    if crit.iter().any(|c| *c != "b64") || (detached && !crit.contains(&"b64")) {
        return Err(malformed("unsupported critical JWS header"));
    }
    if let Some(created) = proof.get("created") {
        let created = created
            .as_str()
            .and_then(parse_rfc3339)
            .ok_or_else(|| malformed("proof.created is not an RFC 3339 instant"))?;
        if created > ctx.now + CLOCK_SKEW {
            return Err(ListError::NotYetValid);
        }
    }
    let sig = b64url_decode(sig_b64)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("the proof has no Base64url signature"))?;
    let (input, signed) = signing_input(header_b64, detached, doc, proof)?;
    let algs = jose::es256_encodings(&sig);
    if algs.iter().any(|alg| ctx.anchor.verify(*alg, &input, &sig)) {
        return Ok(signed);
    }
    // Validly signed by a key of the document itself, but not an anchor key?
    let own_key = proof
        .get("verificationMethod")
        .and_then(Value::as_str)
        .and_then(|id| own_method_spki(doc, id));
    match own_key {
        Some(spki)
            if algs
                .iter()
                .any(|alg| verify_spki(&spki, *alg, &input, &sig)) =>
        {
            Err(ListError::WrongSigner)
        }
        _ => Err(ListError::BadSignature),
    }
}

/// The SPKI of the certificate of the document's method `id`.
fn own_method_spki(doc: &Map<String, Value>, id: &str) -> Option<Vec<u8>> {
    let method = doc
        .get("verificationMethod")?
        .as_array()?
        .iter()
        .find(|m| m.get("id").and_then(Value::as_str) == Some(id))?;
    let der = jwk_certificate(method.get("publicKeyJwk")?.as_object()?)?;
    let (_, cert) = X509Certificate::from_der(&der).ok()?;
    Some(cert.tbs_certificate.subject_pki.raw.to_vec())
}

/// The verification method publishing one DSC, GDHCN style (`domain` / `keyusage` codes).
fn method_for(did_id: &str, index: usize, der: &[u8]) -> Result<Value, RenderError> {
    let dsc = Dsc::from_der(der, "render")
        .map_err(|_| RenderError::BadCertificate(index, "not X.509"))?;
    let mut jwk =
        jose::jwk_for(&dsc.key).ok_or(RenderError::BadCertificate(index, "unsupported key"))?;
    let kid = Kid::of_der(der);
    jwk.insert("kid".into(), kid.to_base64().into());
    jwk.insert("x5c".into(), json!([base64_encode(der)]));
    // GDHCN ids end `…:<participant>:<usage>`; a CSCA document's keys are `#CSCA` keys.
    let mut segments = did_id.rsplit(':');
    let usage = match segments.next() {
        Some("SCA") => "#CSCA",
        _ => "#DSC",
    };
    let mut method = json!({
        "id": format!("{did_id}#{}", b64url(&kid.0)),
        "type": "JsonWebKey2020",
        "controller": did_id,
        "publicKeyJwk": jwk,
        "domain": {"code": "#DCC"},
        "keyusage": {"code": usage},
    });
    if let Some(participant) = segments
        .next()
        .filter(|p| p.len() == 3 && p.bytes().all(|b| b.is_ascii_uppercase()))
        && let Some(object) = method.as_object_mut()
    {
        object.insert(
            "participant".into(),
            json!({"code": format!("#{participant}")}),
        );
    }
    Ok(method)
}

/// Instants as WHO writes them (whole seconds; `xsd:dateTime` literals stay short).
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Signs `doc` (without a proof) with a `JsonWebSignature2020` proof naming
/// `verification_method`: WHO's header, a DER signature, as GDHCN consumers check WHO's own.
fn sign_document(
    doc: &mut Map<String, Value>,
    key: &SignerKey,
    created: OffsetDateTime,
    verification_method: &str,
) -> Result<(), RenderError> {
    let mut proof = Map::new();
    proof.insert("type".into(), "JsonWebSignature2020".into());
    proof.insert("created".into(), rfc3339(whole_seconds(created)).into());
    proof.insert("proofPurpose".into(), "assertionMethod".into());
    proof.insert("verificationMethod".into(), verification_method.into());
    let header_b64 = b64url(HEADER.as_bytes());
    let (input, _) =
        signing_input(&header_b64, true, doc, &proof).map_err(|_| RenderError::Signing)?;
    let raw = jose::sign_es256(key, &input)?;
    let der = jose::ecdsa_raw_to_der(&raw).ok_or(RenderError::Signing)?;
    proof.insert(
        "jws".into(),
        format!("{header_b64}..{}", b64url(&der)).into(),
    );
    doc.insert("proof".into(), Value::Object(proof));
    Ok(())
}

/// Renders a signed DID document publishing `dscs` in WHO's GDHCN scheme (JSON-LD with
/// [`context`], a `JsonWebSignature2020` proof over URDNA2015, see the module docs), as
/// canonical JSON, with `version` / `expires` signed. The proof names `<did_id>#signer`;
/// verifiers identify the signer by their pinned anchor, not by that name.
pub fn render(
    did_id: &str,
    dscs: &[Vec<u8>],
    key: &SignerKey,
    created: OffsetDateTime,
    version: u64,
    expires: OffsetDateTime,
) -> Result<Vec<u8>, RenderError> {
    let methods = dscs
        .iter()
        .enumerate()
        .map(|(i, der)| method_for(did_id, i, der))
        .collect::<Result<Vec<_>, _>>()?;
    let mut doc = Map::new();
    doc.insert("@context".into(), context());
    doc.insert("id".into(), did_id.into());
    doc.insert("controller".into(), did_id.into());
    doc.insert("verificationMethod".into(), Value::Array(methods));
    doc.insert("version".into(), version.into());
    doc.insert("expires".into(), rfc3339(whole_seconds(expires)).into());
    sign_document(&mut doc, key, created, &format!("{did_id}#signer"))?;
    Ok(canonical_json(&Value::Object(doc)))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{NOW, ctx, dsc, es256, expired_dsc, signer};
    use super::*;
    use crate::crypto::Alg;
    use crate::trust::validate::Anchor;

    const DID: &str = "did:web:tng-cdn.who.int:v2:trustlist:-:DEU:DSC";

    fn expires() -> OffsetDateTime {
        NOW + time::Duration::days(2)
    }

    fn reasons(got: &Ingested) -> Vec<RejectReason> {
        got.rejected.iter().map(|r| r.reason).collect()
    }

    fn doc_of(bytes: &[u8]) -> Map<String, Value> {
        serde_json::from_slice(bytes).unwrap()
    }

    /// How a test re-signs a document.
    #[derive(Clone, Copy)]
    struct Sign<'a> {
        detached: bool,
        der_signature: bool,
        method: &'a str,
    }

    const DEFAULT: Sign<'static> = Sign {
        detached: true,
        der_signature: false,
        method: "did:web:x#signer",
    };

    /// Replaces the proof of `doc` by one made with `key`.
    fn resign(mut doc: Map<String, Value>, key: &SignerKey, how: Sign<'_>) -> Vec<u8> {
        doc.remove("proof");
        let header = if how.detached {
            json!({"alg": "ES256", "b64": false, "crit": ["b64"]})
        } else {
            json!({"alg": "ES256"})
        };
        let header_b64 = b64url(header.to_string().as_bytes());
        let mut proof = Map::new();
        proof.insert("type".into(), "JsonWebSignature2020".into());
        proof.insert("created".into(), rfc3339(NOW).into());
        proof.insert("nonce".into(), "V9DwRBGujv86258JM9hb2ESXlqSlktbj".into());
        proof.insert("proofPurpose".into(), "assertionMethod".into());
        proof.insert("verificationMethod".into(), how.method.into());
        let (input, _) = signing_input(&header_b64, how.detached, &doc, &proof).unwrap();
        let mut sig = key.sign(&input).unwrap();
        if how.der_signature {
            sig = jose::ecdsa_raw_to_der(&sig).unwrap();
        }
        proof.insert(
            "jws".into(),
            format!("{header_b64}..{}", b64url(&sig)).into(),
        );
        doc.insert("proof".into(), Value::Object(proof));
        // Pretty-printed on purpose: the proof covers the RDF, not the formatting.
        serde_json::to_vec_pretty(&doc).unwrap()
    }

    #[test]
    fn valid_document_round_trips() {
        let (key, _, anchor) = signer("WHO");
        let de = dsc("DE", "de", &es256());
        let fr = dsc("FR", "fr rsa", &SignerKey::generate(Alg::Ps256).unwrap());
        let body = render(
            DID,
            &[de.der.clone(), fr.der.clone()],
            &key,
            NOW,
            42,
            expires(),
        )
        .unwrap();
        // Canonical output: what we render is its own canonical form.
        assert_eq!(
            canonical_json(&serde_json::from_slice(&body).unwrap()),
            body
        );
        let got = ingest(&body, &ctx(&anchor)).unwrap().non_empty().unwrap();
        assert!(got.rejected.is_empty(), "{:?}", got.rejected);
        assert_eq!(
            got.countries().into_iter().collect::<Vec<_>>(),
            ["DE", "FR"]
        );
        let kids: Vec<Kid> = got.dscs.iter().map(|d| d.kid).collect();
        assert_eq!(kids, [Kid::of_der(&de.der), Kid::of_der(&fr.der)]);
        assert_eq!(
            list_meta(&body),
            Some(ListMeta {
                version: Some(42),
                expires: Some(expires())
            })
        );
        // Reformatted and re-ordered: still the same canonical content.
        let pretty = serde_json::to_vec_pretty(&doc_of(&body)).unwrap();
        assert_eq!(ingest(&pretty, &ctx(&anchor)).unwrap().dscs.len(), 2);
        // Without an anchor the document is trusted by configuration.
        assert_eq!(ingest(&body, &ctx(&Anchor::none())).unwrap().dscs.len(), 2);
    }

    #[test]
    fn tolerated_encodings() {
        let (key, _, anchor) = signer("WHO");
        let de = dsc("DE", "de", &es256());
        let body = render(DID, std::slice::from_ref(&de.der), &key, NOW, 1, expires()).unwrap();
        let mut doc = doc_of(&body);
        // A 33-byte x coordinate with a leading zero, and a kid given only by the id fragment.
        let jwk = doc["verificationMethod"][0]["publicKeyJwk"]
            .as_object_mut()
            .unwrap();
        let mut x = vec![0u8];
        x.extend(b64url_decode(jwk["x"].as_str().unwrap()).unwrap());
        jwk.insert("x".into(), b64url(&x).into());
        jwk.remove("kid");
        for how in [
            DEFAULT,
            Sign {
                der_signature: true,
                ..DEFAULT
            },
            Sign {
                detached: false,
                ..DEFAULT
            },
        ] {
            let signed = resign(doc.clone(), &key, how);
            let got = ingest(&signed, &ctx(&anchor)).unwrap();
            assert_eq!(got.dscs.len(), 1, "{:?}", got.rejected);
            assert_eq!(got.dscs[0].kid, Kid::of_der(&de.der));
        }
        // A 33-byte coordinate whose first byte is not zero is not the key.
        x[0] = 1;
        let jwk = doc["verificationMethod"][0]["publicKeyJwk"]
            .as_object_mut()
            .unwrap();
        jwk.insert("x".into(), b64url(&x).into());
        let got = ingest(&resign(doc, &key, DEFAULT), &ctx(&anchor)).unwrap();
        assert_eq!(reasons(&got), [RejectReason::Malformed]);
    }

    #[test]
    fn bad_proofs_are_refused() {
        let (key, _, anchor) = signer("WHO");
        let de_key = es256();
        let de = dsc("DE", "de", &de_key);
        let body = render(DID, std::slice::from_ref(&de.der), &key, NOW, 5, expires()).unwrap();
        let c = ctx(&anchor);
        let doc = doc_of(&body);
        // Tampered signature.
        let mut tampered = doc.clone();
        let jws = tampered["proof"]["jws"].as_str().unwrap().to_owned();
        let (head, sig) = jws.split_once("..").unwrap();
        let mut raw = b64url_decode(sig).unwrap();
        raw[5] ^= 0x40;
        tampered["proof"]["jws"] = format!("{head}..{}", b64url(&raw)).into();
        let bytes = serde_json::to_vec(&tampered).unwrap();
        assert_eq!(ingest(&bytes, &c).unwrap_err(), ListError::BadSignature);
        // Tampered content: a newer version, an added member.
        let mut newer = doc.clone();
        newer["version"] = 6.into();
        assert_eq!(
            ingest(&serde_json::to_vec(&newer).unwrap(), &c).unwrap_err(),
            ListError::BadSignature
        );
        let mut added = doc.clone();
        added.insert("alsoKnownAs".into(), "did:web:evil".into());
        assert_eq!(
            ingest(&serde_json::to_vec(&added).unwrap(), &c).unwrap_err(),
            ListError::BadSignature
        );
        // A member no context maps is not signed: adding it changes nothing that is read.
        let mut unmapped = doc.clone();
        unmapped.insert("extra".into(), true.into());
        let got = ingest(&serde_json::to_vec(&unmapped).unwrap(), &c).unwrap();
        assert_eq!(got.dscs.len(), 1);
        // A document with a context that is not bundled is refused, never fetched.
        let mut foreign = doc.clone();
        foreign["@context"] = json!(["https://www.w3.org/ns/did/v1", "https://evil.example/ctx"]);
        let err = ingest(&serde_json::to_vec(&foreign).unwrap(), &c).unwrap_err();
        assert!(
            matches!(&err, ListError::Malformed(m) if m.contains("https://evil.example/ctx")),
            "{err:?}"
        );
        // No proof.
        let mut unsigned = doc.clone();
        unsigned.remove("proof");
        assert_eq!(
            ingest(&serde_json::to_vec(&unsigned).unwrap(), &c).unwrap_err(),
            ListError::BadSignature
        );
        // Signed by an unrelated key.
        let (other, _, _) = signer("impostor");
        assert_eq!(
            ingest(&resign(doc.clone(), &other, DEFAULT), &c).unwrap_err(),
            ListError::BadSignature
        );
        // Signed by the document's own (DSC) key and naming it: a valid proof, wrong signer.
        let own_id = doc["verificationMethod"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let own = Sign {
            method: &own_id,
            ..DEFAULT
        };
        assert_eq!(
            ingest(&resign(doc.clone(), &de_key, own), &c).unwrap_err(),
            ListError::WrongSigner
        );
        // Other algorithms, broken headers.
        let with_jws = |jws: String| {
            let mut d = doc.clone();
            d["proof"]["jws"] = jws.into();
            ingest(&serde_json::to_vec(&d).unwrap(), &c)
        };
        let h = |v: Value| b64url(v.to_string().as_bytes());
        assert_eq!(
            with_jws(format!("{}..{sig}", h(json!({"alg": "EdDSA"})))).unwrap_err(),
            ListError::BadSignature
        );
        for jws in [
            format!("{}..{sig}", h(json!({"alg": "ES256", "b64": false}))),
            format!("{}..{sig}", h(json!({"alg": "ES256", "crit": ["exp"]}))),
            format!(
                "{}..{sig}",
                h(json!({"alg": "ES256", "b64": "no", "crit": ["b64"]}))
            ),
            format!("{}..{sig}", h(json!({"b64": false, "crit": ["b64"]}))),
            format!("{head}.e30.{sig}"),
            format!("{head}.."),
            format!("{head}..!!"),
            "garbage".to_owned(),
        ] {
            assert!(
                matches!(with_jws(jws.clone()), Err(ListError::Malformed(_))),
                "{jws}"
            );
        }
        // A proof created in the future.
        let mut future = doc.clone();
        future["proof"]["created"] = rfc3339(NOW + time::Duration::hours(1)).into();
        assert_eq!(
            ingest(&serde_json::to_vec(&future).unwrap(), &c).unwrap_err(),
            ListError::NotYetValid
        );
    }

    #[test]
    fn expired_documents_are_refused() {
        let (key, _, anchor) = signer("WHO");
        let de = dsc("DE", "de", &es256());
        let past = NOW - time::Duration::seconds(1);
        let body = render(DID, std::slice::from_ref(&de.der), &key, NOW, 9, past).unwrap();
        assert_eq!(
            ingest(&body, &ctx(&anchor)).unwrap_err(),
            ListError::Expired
        );
        assert_eq!(
            ingest(&body, &ctx(&Anchor::none())).unwrap_err(),
            ListError::Expired
        );
        assert_eq!(list_meta(&body).unwrap().version, Some(9));
        let mut doc = doc_of(&body);
        doc["expires"] = "next week".into();
        assert!(matches!(
            ingest(&resign(doc, &key, DEFAULT), &ctx(&anchor)),
            Err(ListError::Malformed(_))
        ));
    }

    #[test]
    fn sca_entries_are_csca_never_signers_and_dscs_must_chain_to_them() {
        use super::super::testkit::spec;
        let (key, _, anchor) = signer("WHO");
        let csca_key = es256();
        let csca = crate::keys::mint::csca(&spec("DE", "DE CSCA", -10, 1000), &csca_key).unwrap();
        let chained = crate::keys::mint::signed_by(
            &spec("DE", "DE DSC", -10, 100),
            &es256(),
            &csca,
            &csca_key,
        )
        .unwrap();
        let rogue = dsc("DE", "rogue", &es256());
        let fr = dsc("FR", "fr", &es256());
        let root = "did:web:tng-cdn.who.int:v2:trustlist";
        let method = |usage: &str, der: &[u8]| {
            let mut m = method_for(DID, 0, der).unwrap();
            m["id"] = format!("{root}:-:DEU:{usage}#{}", Kid::of_der(der).to_base64()).into();
            m
        };
        let body = render(DID, &[], &key, NOW, 1, expires()).unwrap();
        let mut doc = doc_of(&body);
        doc.insert(
            "verificationMethod".into(),
            json!([
                method("SCA", &csca.der),
                method("DSC", &chained.der),
                method("DSC", &rogue.der),
                method("DSC", &fr.der),
            ]),
        );
        let got = ingest(&resign(doc, &key, DEFAULT), &ctx(&anchor)).unwrap();
        let kept: Vec<&[u8]> = got.dscs.iter().map(|d| d.der.as_ref()).collect();
        // FR has no SCA in the document: its DSC stands on the document's signature alone.
        assert_eq!(kept, [chained.der.as_slice(), fr.der.as_slice()]);
        assert_eq!(
            reasons(&got),
            [RejectReason::NotASigner, RejectReason::NoCscaChain]
        );
        assert!(
            got.rejected
                .iter()
                .all(|r| r.country.as_deref() == Some("DE"))
        );
    }

    #[test]
    fn bad_entries_are_rejected_one_by_one() {
        let (key, _, anchor) = signer("WHO");
        let good = dsc("DE", "good", &es256());
        let old = expired_dsc("DE", &es256());
        let body = render(
            DID,
            &[good.der.clone(), old.der.clone(), good.der.clone()],
            &key,
            NOW,
            1,
            expires(),
        )
        .unwrap();
        let mut doc = doc_of(&body);
        let methods = doc["verificationMethod"].as_array_mut().unwrap();
        let template = methods[0].clone();
        let mut wrong_kid = template.clone();
        wrong_kid["publicKeyJwk"]["kid"] = Kid::of_der(b"x").to_base64().into();
        let mut wrong_fragment = template.clone();
        wrong_fragment["publicKeyJwk"]
            .as_object_mut()
            .unwrap()
            .remove("kid");
        wrong_fragment["id"] = format!("{DID}#AAAAAAAAAAA").into();
        let mut wrong_key = template.clone();
        let other = method_for(DID, 0, &dsc("DE", "other", &es256()).der).unwrap();
        wrong_key["publicKeyJwk"]["y"] = other["publicKeyJwk"]["y"].clone();
        let mut no_x5c = template.clone();
        no_x5c["publicKeyJwk"]
            .as_object_mut()
            .unwrap()
            .remove("x5c");
        let mut no_jwk = template.clone();
        no_jwk.as_object_mut().unwrap().remove("publicKeyJwk");
        no_jwk.as_object_mut().unwrap().remove("id");
        methods.extend([
            wrong_kid,
            wrong_fragment,
            wrong_key,
            no_x5c,
            no_jwk,
            json!("did:web:tng-cdn.who.int:v2:trustlist:-:FRA:DSC#abc"),
        ]);
        let got = ingest(&resign(doc, &key, DEFAULT), &ctx(&anchor)).unwrap();
        assert_eq!(got.dscs.len(), 1);
        assert_eq!(got.dscs[0].kid, Kid::of_der(&good.der));
        assert_eq!(
            reasons(&got),
            [
                RejectReason::Expired,
                RejectReason::Duplicate,
                RejectReason::KidMismatch,
                RejectReason::KidMismatch,
                RejectReason::Malformed,
                RejectReason::Malformed,
                RejectReason::Malformed,
            ]
        );
        assert_eq!(got.rejected[0].entry, Kid::of_der(&old.der).to_base64());
        assert_eq!(got.rejected[3].entry, "AAAAAAAAAAA=");
        assert_eq!(got.rejected[6].entry, "#7");
    }

    #[test]
    fn garbage_truncated_and_empty_documents() {
        let (key, _, anchor) = signer("WHO");
        let body = render(
            DID,
            &[dsc("DE", "de", &es256()).der],
            &key,
            NOW,
            1,
            expires(),
        )
        .unwrap();
        let c = ctx(&anchor);
        for cut in [0, 1, 10, body.len() / 2, body.len() - 1] {
            assert!(
                matches!(ingest(&body[..cut], &c), Err(ListError::Malformed(_))),
                "cut at {cut}"
            );
        }
        for garbage in [
            &b"garbage"[..],
            b"[]",
            b"\xff",
            b"{\"verificationMethod\":{}}",
        ] {
            assert!(
                matches!(
                    ingest(garbage, &ctx(&Anchor::none())),
                    Err(ListError::Malformed(_))
                ),
                "{garbage:?}"
            );
        }
        assert!(matches!(
            ingest(b"{\"proof\":1}", &c),
            Err(ListError::Malformed(_))
        ));
        let empty = render(DID, &[], &key, NOW, 1, expires()).unwrap();
        let got = ingest(&empty, &c).unwrap();
        assert!(got.dscs.is_empty() && got.rejected.is_empty());
        assert_eq!(got.non_empty().unwrap_err(), ListError::Empty);
        let no_methods = ingest(b"{\"id\":\"did:web:x\"}", &ctx(&Anchor::none())).unwrap();
        assert_eq!(no_methods.non_empty().unwrap_err(), ListError::Empty);
        assert_eq!(list_meta(b"garbage"), None);
        assert!(matches!(
            render(DID, &[b"not x509".to_vec()], &key, NOW, 1, expires()),
            Err(RenderError::BadCertificate(0, _))
        ));
    }

    #[test]
    fn single_byte_changes_never_change_the_keys() {
        let (key, _, anchor) = signer("WHO");
        let de = dsc("DE", "de", &es256());
        let body = render(DID, std::slice::from_ref(&de.der), &key, NOW, 1, expires()).unwrap();
        for i in 0..body.len() {
            let mut changed = body.clone();
            changed[i] ^= 0x01;
            // Only the unsigned proof metadata (type, purpose, method name) may change freely.
            if let Ok(got) = ingest(&changed, &ctx(&anchor)) {
                assert_eq!(got.dscs.len(), 1, "byte {i}");
                assert_eq!(got.dscs[0].kid, Kid::of_der(&de.der), "byte {i}");
                let text = String::from_utf8_lossy(&changed).into_owned();
                assert!(text.contains("\"proof\":{"), "byte {i}");
            }
        }
    }
}
