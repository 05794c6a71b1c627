//! PURE detached CMS/PKCS#7 SignedData (RFC 5652): the per-entry `signature` of EU gateway trust
//! lists, and what Vietnam signs its own entries with.
//!
//! * [`verify_detached`] checks a SignedData over content handed in separately and returns the
//!   signer certificate; *who* the signer must be is the caller's decision.
//! * [`sign_detached`] builds one: SHA-256, signed attributes (content-type id-data,
//!   message-digest), signer identified by issuer and serial number, the signer certificate
//!   included. ES256 keys sign ecdsa-with-SHA256, PS256 keys RSASSA-PSS (SHA-256, MGF1-SHA-256,
//!   salt 32).
//!
//! The gateway (BouncyCastle) emits BER with indefinite lengths (`MIAG…`); such input is
//! rewritten to definite-length DER before it is decoded ([`MAX_DEPTH`] bounds the nesting).
//! Signed attributes are DER by definition (RFC 5652 §5.3), so re-encoding them is exact.
//! Certificates inside the CMS must be DER (the decoder is strict).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use der::asn1::{OctetString, SetOfVec, UintRef};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use crate::crypto::Alg;
use crate::keys::mint::SignerKey;
use crate::trust::validate::{SigAlg, sha2_bits, verify_spki};

/// Largest CMS accepted (an EU entry's CMS is about 1–3 KiB).
pub const MAX_CMS_LEN: usize = 64 * 1024;
/// Most certificates, and most SignerInfos, one CMS may carry.
pub const MAX_ITEMS: usize = 16;
/// Deepest BER nesting rewritten to DER.
pub const MAX_DEPTH: u8 = 32;

const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// RSASSA-PSS-params { hashAlgorithm sha256, maskGenAlgorithm mgf1(sha256), saltLength 32 }
/// (trailerField left at its default), SHA-256 identifiers with NULL parameters as OpenSSL
/// writes them.
const PSS_SHA256_PARAMS: [u8; 54] = [
    0x30, 0x34, // SEQUENCE
    0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, // [0] sha256
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, // [1] mgf1(sha256)
    0xa2, 0x03, 0x02, 0x01, 0x20, // [2] saltLength 32
];

/// Why a CMS was refused (or could not be built).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    #[error("the CMS is malformed: {0}")]
    Malformed(&'static str),
    #[error("the CMS is larger than {MAX_CMS_LEN} bytes or holds more than {MAX_ITEMS} items")]
    TooLarge,
    #[error("no certificate in the CMS matches its signer")]
    NoSigner,
    #[error("the content does not match the signed digest")]
    DigestMismatch,
    #[error("the CMS signature does not verify")]
    BadSignature,
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("the CMS uses SHA-1, which is refused")]
    WeakDigest,
    #[error("signing failed")]
    Signing,
}

fn malformed(what: &'static str) -> impl Fn(der::Error) -> CmsError {
    move |_| CmsError::Malformed(what)
}

/// `cms_der` bounded and in definite-length DER (BER input rewritten).
fn to_der(cms_der: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, CmsError> {
    if cms_der.len() > MAX_CMS_LEN {
        return Err(CmsError::TooLarge);
    }
    if ber::any_indefinite(cms_der, 0)? {
        Ok(std::borrow::Cow::Owned(ber::to_der(cms_der)?))
    } else {
        Ok(std::borrow::Cow::Borrowed(cms_der))
    }
}

/// The SignedData of a DER ContentInfo.
fn signed_data(der_bytes: &[u8]) -> Result<SignedData, CmsError> {
    let info = ContentInfo::from_der(der_bytes).map_err(malformed("not a ContentInfo"))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(CmsError::Malformed("not id-signedData"));
    }
    info.content
        .decode_as()
        .map_err(malformed("not a SignedData"))
}

/// Verifies a detached SignedData `cms_der` over `content` and returns the DER of the signer
/// certificate (taken from the CMS `certificates`). With several SignerInfos the first that
/// verifies wins; otherwise the first SignerInfo's error is returned.
pub fn verify_detached(cms_der: &[u8], content: &[u8]) -> Result<Vec<u8>, CmsError> {
    let der_bytes = to_der(cms_der)?;
    let sd = signed_data(&der_bytes)?;
    let encap = &sd.encap_content_info;
    if encap.econtent_type != ID_DATA {
        return Err(CmsError::Malformed(
            "encapsulated content type is not id-data",
        ));
    }
    if let Some(econtent) = &encap.econtent {
        let inner: OctetString = econtent
            .decode_as()
            .map_err(malformed("eContent is not an OCTET STRING"))?;
        if inner.as_bytes() != content {
            return Err(CmsError::DigestMismatch);
        }
    }
    let certs: Vec<&Certificate> = sd
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(cert) => Some(cert),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let signers = sd.signer_infos.0.as_slice();
    if certs.len() > MAX_ITEMS || signers.len() > MAX_ITEMS {
        return Err(CmsError::TooLarge);
    }
    let mut first_error = None;
    for signer in signers {
        match verify_signer(signer, &certs, content) {
            Ok(cert) => return Ok(cert),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(CmsError::NoSigner))
}

fn verify_signer(
    signer: &SignerInfo,
    certs: &[&Certificate],
    content: &[u8],
) -> Result<Vec<u8>, CmsError> {
    let cert = certs
        .iter()
        .find(|c| identifies(&signer.sid, c))
        .ok_or(CmsError::NoSigner)?;
    let digest_oid = signer.digest_alg.oid.to_string();
    let sig_oid_text = signer.signature_algorithm.oid.to_string();
    // SHA-1 (real Norwegian upload signatures use it), as a digest or inside the signature
    // algorithm: refused as such, not lumped with malformed signatures.
    const SHA1: [&str; 3] = ["1.3.14.3.2.26", "1.2.840.113549.1.1.5", "1.2.840.10045.4.1"];
    if SHA1.contains(&digest_oid.as_str()) || SHA1.contains(&sig_oid_text.as_str()) {
        return Err(CmsError::WeakDigest);
    }
    let digest_alg = match sha2_bits(&digest_oid) {
        Some(256) => &ring::digest::SHA256,
        Some(384) => &ring::digest::SHA384,
        Some(512) => &ring::digest::SHA512,
        _ => return Err(CmsError::UnsupportedAlgorithm(digest_oid)),
    };
    let sig_oid = signer.signature_algorithm.oid.to_string();
    let params = match &signer.signature_algorithm.parameters {
        Some(p) => Some(p.to_der().map_err(malformed("signature parameters"))?),
        None => None,
    };
    let sig_alg = SigAlg::from_oid(&sig_oid, params.as_deref(), Some(&digest_oid))
        .ok_or(CmsError::UnsupportedAlgorithm(sig_oid))?;
    let signed_attrs;
    let message: &[u8] = match &signer.signed_attrs {
        Some(attrs) => {
            let digest = ring::digest::digest(digest_alg, content);
            let stated: OctetString = single_value(attrs.as_slice(), &ID_MESSAGE_DIGEST)?
                .decode_as()
                .map_err(malformed("message-digest is not an OCTET STRING"))?;
            if stated.as_bytes() != digest.as_ref() {
                return Err(CmsError::DigestMismatch);
            }
            let content_type: ObjectIdentifier = single_value(attrs.as_slice(), &ID_CONTENT_TYPE)?
                .decode_as()
                .map_err(malformed("content-type is not an OID"))?;
            if content_type != ID_DATA {
                return Err(CmsError::Malformed("content-type attribute is not id-data"));
            }
            // RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF.
            signed_attrs = attrs.to_der().map_err(malformed("signed attributes"))?;
            &signed_attrs
        }
        None => content,
    };
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(malformed("signer key"))?;
    if !verify_spki(&spki, sig_alg, message, signer.signature.as_bytes()) {
        return Err(CmsError::BadSignature);
    }
    cert.to_der().map_err(malformed("signer certificate"))
}

/// Whether `cert` is the certificate `sid` names.
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            isn.serial_number == tbs.serial_number && isn.issuer == tbs.issuer
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(tbs.get::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
        }
    }
}

/// The one value of the one attribute `oid` (RFC 5652 §11: exactly one of each).
fn single_value<'a>(attrs: &'a [Attribute], oid: &ObjectIdentifier) -> Result<&'a Any, CmsError> {
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    match (found.next(), found.next()) {
        (Some(attr), None) => match attr.values.as_slice() {
            [value] => Ok(value),
            _ => Err(CmsError::Malformed("attribute must have exactly one value")),
        },
        (None, _) => Err(CmsError::Malformed("required signed attribute missing")),
        (Some(_), Some(_)) => Err(CmsError::Malformed("signed attribute repeated")),
    }
}

/// Builds a detached SignedData over `content`, signed with `signer_key`, whose certificate
/// `signer_cert_der` is included and named by issuer and serial number.
pub fn sign_detached(
    content: &[u8],
    signer_cert_der: &[u8],
    signer_key: &SignerKey,
) -> Result<Vec<u8>, CmsError> {
    sign(content, signer_cert_der, signer_key, false)
}

/// [`sign_detached`] with the content embedded (eContent), as EU gateway revocation batches
/// are delivered.
pub fn sign_embedded(
    content: &[u8],
    signer_cert_der: &[u8],
    signer_key: &SignerKey,
) -> Result<Vec<u8>, CmsError> {
    sign(content, signer_cert_der, signer_key, true)
}

/// Verifies a SignedData that embeds its content; returns the content and the DER of the
/// signer certificate.
pub fn verify_embedded(cms_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CmsError> {
    let der_bytes = to_der(cms_der)?;
    let sd = signed_data(&der_bytes)?;
    let content = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(CmsError::Malformed("no embedded content"))?
        .decode_as::<OctetString>()
        .map_err(malformed("eContent is not an OCTET STRING"))?
        .as_bytes()
        .to_vec();
    let signer = verify_detached(&der_bytes, &content)?;
    Ok((content, signer))
}

fn sign(
    content: &[u8],
    signer_cert_der: &[u8],
    signer_key: &SignerKey,
    embed: bool,
) -> Result<Vec<u8>, CmsError> {
    let cert = Certificate::from_der(signer_cert_der).map_err(malformed("signer certificate"))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, content);
    let attr = |oid: ObjectIdentifier, value: Any| -> Result<Attribute, CmsError> {
        Ok(Attribute {
            oid,
            values: SetOfVec::try_from(vec![value]).map_err(malformed("attribute"))?,
        })
    };
    let content_type = Any::encode_from(&ID_DATA).map_err(malformed("content type"))?;
    let message_digest =
        Any::encode_from(&OctetString::new(digest.as_ref()).map_err(malformed("message digest"))?)
            .map_err(malformed("message digest"))?;
    let signed_attrs = SetOfVec::try_from(vec![
        attr(ID_CONTENT_TYPE, content_type)?,
        attr(ID_MESSAGE_DIGEST, message_digest)?,
    ])
    .map_err(malformed("signed attributes"))?;
    let to_sign = signed_attrs
        .to_der()
        .map_err(malformed("signed attributes"))?;
    let raw = signer_key.sign(&to_sign).map_err(|_| CmsError::Signing)?;
    let (signature_algorithm, signature) = match signer_key.alg {
        Alg::Es256 => (
            AlgorithmIdentifierOwned {
                oid: ID_ECDSA_SHA256,
                parameters: None,
            },
            ecdsa_der(&raw)?,
        ),
        Alg::Ps256 => (
            AlgorithmIdentifierOwned {
                oid: ID_RSASSA_PSS,
                parameters: Some(
                    Any::from_der(&PSS_SHA256_PARAMS).map_err(malformed("PSS parameters"))?,
                ),
            },
            raw,
        ),
    };
    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm,
        signature: OctetString::new(signature).map_err(malformed("signature"))?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(malformed("digests"))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: if embed {
                Some(
                    Any::encode_from(&OctetString::new(content).map_err(malformed("content"))?)
                        .map_err(malformed("content"))?,
                )
            } else {
                None
            },
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(cert)])
                .map_err(malformed("certificates"))?,
        )),
        crls: None,
        signer_infos: SignerInfos(
            SetOfVec::try_from(vec![signer_info]).map_err(malformed("signer infos"))?,
        ),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(malformed("signed data"))?,
    }
    .to_der()
    .map_err(malformed("content info"))
}

/// Raw `r‖s` (P-256: 32 + 32 bytes) to a DER ECDSA-Sig-Value.
fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>, CmsError> {
    if raw.len() != 64 {
        return Err(CmsError::Signing);
    }
    let (r, s) = raw.split_at(32);
    let r = UintRef::new(r).map_err(|_| CmsError::Signing)?;
    let s = UintRef::new(s).map_err(|_| CmsError::Signing)?;
    let len = (r.encoded_len().map_err(|_| CmsError::Signing)?
        + s.encoded_len().map_err(|_| CmsError::Signing)?)
    .map_err(|_| CmsError::Signing)?;
    let mut out = Vec::with_capacity(72);
    der::Header::new(der::Tag::Sequence, len)
        .and_then(|h| h.encode_to_vec(&mut out))
        .and_then(|_| r.encode_to_vec(&mut out))
        .and_then(|_| s.encode_to_vec(&mut out))
        .map_err(|_| CmsError::Signing)?;
    Ok(out)
}

/// BER (indefinite lengths, constructed OCTET STRINGs) to DER, as far as CMS needs it.
mod ber {
    use super::{CmsError, MAX_DEPTH};

    const BAD: CmsError = CmsError::Malformed("bad BER encoding");

    /// One element at the start of a buffer.
    struct Element<'a> {
        /// The identifier octets.
        tag: &'a [u8],
        constructed: bool,
        indefinite: bool,
        /// The contents (without the end-of-contents octets of an indefinite element).
        content: &'a [u8],
        /// Length of the whole element, header and end-of-contents included.
        len: usize,
    }

    fn element(input: &[u8], depth: u8) -> Result<Element<'_>, CmsError> {
        if depth > MAX_DEPTH {
            return Err(BAD);
        }
        let first = *input.first().ok_or(BAD)?;
        let mut at = 1;
        if first & 0x1f == 0x1f {
            // High tag number: base-128 continuation octets.
            loop {
                let b = *input.get(at).ok_or(BAD)?;
                at += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if at > 6 {
                    return Err(BAD);
                }
            }
        }
        let tag = input.get(..at).ok_or(BAD)?;
        let constructed = first & 0x20 != 0;
        let len_byte = *input.get(at).ok_or(BAD)?;
        at += 1;
        if len_byte == 0x80 {
            if !constructed {
                return Err(BAD);
            }
            let start = at;
            loop {
                let rest = input.get(at..).ok_or(BAD)?;
                if rest.starts_with(&[0, 0]) {
                    let content = input.get(start..at).ok_or(BAD)?;
                    return Ok(Element {
                        tag,
                        constructed,
                        indefinite: true,
                        content,
                        len: at + 2,
                    });
                }
                at += element(rest, depth + 1)?.len;
            }
        }
        let len = if len_byte < 0x80 {
            usize::from(len_byte)
        } else {
            let n = usize::from(len_byte & 0x7f);
            if n > 4 {
                return Err(BAD);
            }
            let bytes = input.get(at..at + n).ok_or(BAD)?;
            at += n;
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        let end = at.checked_add(len).ok_or(BAD)?;
        let content = input.get(at..end).ok_or(BAD)?;
        Ok(Element {
            tag,
            constructed,
            indefinite: false,
            content,
            len: end,
        })
    }

    fn for_each<'a>(
        mut input: &'a [u8],
        depth: u8,
        mut f: impl FnMut(Element<'a>, &'a [u8]) -> Result<(), CmsError>,
    ) -> Result<(), CmsError> {
        while !input.is_empty() {
            let e = element(input, depth)?;
            let (whole, rest) = input.split_at_checked(e.len).ok_or(BAD)?;
            f(e, whole)?;
            input = rest;
        }
        Ok(())
    }

    /// Whether any element in `input` (a sequence of elements) has an indefinite length.
    pub(super) fn any_indefinite(input: &[u8], depth: u8) -> Result<bool, CmsError> {
        let mut found = false;
        for_each(input, depth, |e, _| {
            if !found {
                found = e.indefinite || (e.constructed && any_indefinite(e.content, depth + 1)?);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Rewrites `input` to definite lengths; elements without indefinite parts are kept as
    /// they are.
    pub(super) fn to_der(input: &[u8]) -> Result<Vec<u8>, CmsError> {
        let mut out = Vec::with_capacity(input.len());
        rewrite(input, 0, &mut out)?;
        Ok(out)
    }

    fn rewrite(input: &[u8], depth: u8, out: &mut Vec<u8>) -> Result<(), CmsError> {
        for_each(input, depth, |e, whole| {
            if !e.constructed || (!e.indefinite && !any_indefinite(e.content, depth + 1)?) {
                out.extend_from_slice(whole);
                return Ok(());
            }
            let mut inner = Vec::with_capacity(e.content.len());
            rewrite(e.content, depth + 1, &mut inner)?;
            if e.tag == [0x24] {
                // Constructed OCTET STRING: concatenate the (now primitive) segments.
                let mut joined = Vec::with_capacity(inner.len());
                for_each(&inner, depth + 1, |seg, _| {
                    if seg.tag != [0x04] {
                        return Err(BAD);
                    }
                    joined.extend_from_slice(seg.content);
                    Ok(())
                })?;
                out.push(0x04);
                push_len(out, joined.len());
                out.extend_from_slice(&joined);
            } else {
                out.extend_from_slice(e.tag);
                push_len(out, inner.len());
                out.extend_from_slice(&inner);
            }
            Ok(())
        })
    }

    fn push_len(out: &mut Vec<u8>, len: usize) {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        if len < 0x80 {
            out.push(significant.first().copied().unwrap_or(0));
        } else {
            // At most 8 length octets: fits the 7-bit count.
            out.push(0x80 | significant.len() as u8);
            out.extend_from_slice(significant);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn indefinite_lengths_become_definite() {
            // SEQUENCE(indef) { INTEGER 5, [0](indef) { OCTET STRING(constructed, indef) {"ab", "c"} } }
            let ber = [
                0x30, 0x80, 0x02, 0x01, 0x05, 0xa0, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04,
                0x01, b'c', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            ];
            assert!(any_indefinite(&ber, 0).unwrap());
            let der = to_der(&ber).unwrap();
            assert_eq!(
                der,
                [
                    0x30, 0x0a, 0x02, 0x01, 0x05, 0xa0, 0x05, 0x04, 0x03, b'a', b'b', b'c'
                ]
            );
            assert!(!any_indefinite(&der, 0).unwrap());
            assert_eq!(to_der(&der).unwrap(), der);
            // Truncated or primitive-indefinite input is refused, never a panic.
            for n in 0..ber.len() {
                let _ = to_der(&ber[..n]);
            }
            assert!(to_der(&[0x04, 0x80, 0x00, 0x00]).is_err());
            let mut deep = vec![];
            for _ in 0..100 {
                deep.extend_from_slice(&[0x30, 0x80]);
            }
            assert!(any_indefinite(&deep, 0).is_err());
        }

        #[test]
        fn long_lengths() {
            let mut v = Vec::new();
            push_len(&mut v, 0x7f);
            push_len(&mut v, 0x80);
            push_len(&mut v, 0x1234);
            assert_eq!(v, [0x7f, 0x81, 0x80, 0x82, 0x12, 0x34]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::mint::{self, CertSpec, Minted};
    use time::macros::datetime;

    fn signer(alg: Alg, cn: &str) -> (SignerKey, Minted) {
        let t = datetime!(2021-06-01 00:00 UTC);
        let key = SignerKey::generate(alg).unwrap();
        let cert = mint::self_signed(
            &CertSpec::new("VN", cn, t, t + time::Duration::days(365)),
            &key,
        )
        .unwrap();
        (key, cert)
    }

    #[test]
    fn round_trips_es256_and_ps256() {
        for alg in [Alg::Es256, Alg::Ps256] {
            let (key, cert) = signer(alg, "upload");
            let cms = sign_detached(b"certificate bytes", &cert.der, &key).unwrap();
            assert_eq!(
                verify_detached(&cms, b"certificate bytes").unwrap(),
                cert.der,
                "{alg:?}"
            );
            assert_eq!(
                verify_detached(&cms, b"certificate byteS"),
                Err(CmsError::DigestMismatch),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn tampered_signature_fails() {
        for alg in [Alg::Es256, Alg::Ps256] {
            let (key, cert) = signer(alg, "upload");
            let content = b"content";
            let cms = sign_detached(content, &cert.der, &key).unwrap();
            // The signature is the last OCTET STRING: flip a byte near the end (inside it).
            let mut bad = cms.clone();
            let n = bad.len();
            bad[n - 5] ^= 0x01;
            let err = verify_detached(&bad, content).unwrap_err();
            // A flipped byte inside a DER ECDSA signature may also break its encoding; both
            // are signature failures, never acceptance.
            assert_eq!(err, CmsError::BadSignature, "{alg:?}");
        }
    }

    #[test]
    fn signature_by_another_key_than_the_certificate_fails() {
        let (key_a, _) = signer(Alg::Es256, "A");
        let (_, cert_b) = signer(Alg::Es256, "B");
        let cms = sign_detached(b"x", &cert_b.der, &key_a).unwrap();
        assert_eq!(verify_detached(&cms, b"x"), Err(CmsError::BadSignature));
    }

    #[test]
    fn truncated_and_garbage_input_is_malformed() {
        let (key, cert) = signer(Alg::Es256, "upload");
        let cms = sign_detached(b"x", &cert.der, &key).unwrap();
        for n in 0..cms.len() {
            let err = verify_detached(&cms[..n], b"x").unwrap_err();
            assert!(matches!(err, CmsError::Malformed(_)), "{n}: {err:?}");
        }
        for garbage in [
            &b""[..],
            b"garbage",
            &[0x30, 0x80],
            &[0xff; 40],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert!(
                matches!(verify_detached(garbage, b"x"), Err(CmsError::Malformed(_))),
                "{garbage:?}"
            );
        }
        assert_eq!(
            verify_detached(&vec![0x30; MAX_CMS_LEN + 1], b"x"),
            Err(CmsError::TooLarge)
        );
        // A certificate is not a CMS.
        assert!(matches!(
            verify_detached(&cert.der, b"x"),
            Err(CmsError::Malformed(_))
        ));
    }

    #[test]
    fn ber_indefinite_lengths_are_accepted() {
        let (key, cert) = signer(Alg::Es256, "upload");
        let cms = sign_detached(b"x", &cert.der, &key).unwrap();
        // Re-wrap the outer ContentInfo SEQUENCE with an indefinite length, as BouncyCastle does.
        assert_eq!(cms[..2], [0x30, 0x82], "the test CMS has a two-byte length");
        let body = &cms[4..];
        let mut ber = vec![0x30, 0x80];
        ber.extend_from_slice(body);
        ber.extend_from_slice(&[0, 0]);
        assert_eq!(verify_detached(&ber, b"x").unwrap(), cert.der);
    }

    #[test]
    fn embedded_content_round_trips_and_tampering_fails() {
        let (key, cert) = signer(Alg::Es256, "upload");
        let cms = sign_embedded(b"{\"a\":1}", &cert.der, &key).unwrap();
        assert_eq!(
            verify_embedded(&cms).unwrap(),
            (b"{\"a\":1}".to_vec(), cert.der.clone())
        );
        let detached = sign_detached(b"x", &cert.der, &key).unwrap();
        assert_eq!(
            verify_embedded(&detached),
            Err(CmsError::Malformed("no embedded content"))
        );
        let mut bad = cms.clone();
        let at = bad.windows(5).position(|w| w == b"{\"a\":").unwrap();
        bad[at + 5] = b'2';
        assert!(verify_embedded(&bad).is_err());
    }

    #[test]
    fn sha1_signatures_are_refused_as_weak_not_as_malformed() {
        use std::process::Command;
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("openssl not installed: skipped");
            return;
        }
        let dir = std::env::temp_dir().join(format!("dcc-cms-sha1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = signer(Alg::Es256, "upload");
        std::fs::write(dir.join("content.der"), &cert.der).unwrap();
        std::fs::write(dir.join("key.der"), key.pkcs8_der()).unwrap();
        std::fs::write(dir.join("cert.pem"), &cert.pem).unwrap();
        let out = Command::new("openssl")
            .args([
                "cms",
                "-sign",
                "-binary",
                "-outform",
                "DER",
                "-nodetach",
                "-md",
                "sha1",
            ])
            .arg("-in")
            .arg(dir.join("content.der"))
            .arg("-signer")
            .arg(dir.join("cert.pem"))
            .arg("-inkey")
            .arg(dir.join("key.der"))
            .args(["-keyform", "DER", "-out"])
            .arg(dir.join("sha1.der"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cms = std::fs::read(dir.join("sha1.der")).unwrap();
        assert_eq!(verify_detached(&cms, &cert.der), Err(CmsError::WeakDigest));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn openssl_verifies_what_we_sign() {
        use std::process::Command;
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("openssl not installed: skipped");
            return;
        }
        let dir = std::env::temp_dir().join(format!("dcc-cms-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for alg in [Alg::Es256, Alg::Ps256] {
            let (key, cert) = signer(alg, "upload");
            let content = dir.join("content.der");
            let sig = dir.join("sig.der");
            std::fs::write(&content, &cert.der).unwrap();
            std::fs::write(&sig, sign_detached(&cert.der, &cert.der, &key).unwrap()).unwrap();
            let out = Command::new("openssl")
                .args(["cms", "-verify", "-binary", "-inform", "DER", "-noverify"])
                .arg("-in")
                .arg(&sig)
                .arg("-content")
                .arg(&content)
                .args(["-out", "/dev/null"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{alg:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // And we verify what openssl signs (DER output, detached, with signed attributes).
            let pem_key = dir.join("key.der");
            std::fs::write(&pem_key, key.pkcs8_der()).unwrap();
            let cert_pem = dir.join("cert.pem");
            std::fs::write(&cert_pem, &cert.pem).unwrap();
            // Embedded content (eContent), and detached streaming output (BER, indefinite).
            // (OpenSSL 3.0 cannot stream RSASSA-PSS: "illegal zero content".)
            let modes: &[&str] = match alg {
                Alg::Es256 => &["-nodetach", "-stream"],
                Alg::Ps256 => &["-nodetach"],
            };
            for &mode in modes {
                let ossl_sig = dir.join("ossl.der");
                let mut cmd = Command::new("openssl");
                cmd.args(["cms", "-sign", "-binary", "-outform", "DER", mode])
                    .arg("-in")
                    .arg(&content)
                    .arg("-signer")
                    .arg(&cert_pem)
                    .arg("-inkey")
                    .arg(&pem_key)
                    .args(["-keyform", "DER", "-md", "sha256"])
                    .arg("-out")
                    .arg(&ossl_sig);
                if alg == Alg::Ps256 {
                    cmd.args([
                        "-keyopt",
                        "rsa_padding_mode:pss",
                        "-keyopt",
                        "rsa_pss_saltlen:32",
                    ]);
                }
                let out = cmd.output().unwrap();
                assert!(
                    out.status.success(),
                    "{alg:?} {mode}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let ossl = std::fs::read(&ossl_sig).unwrap();
                assert_eq!(
                    verify_detached(&ossl, &cert.der).unwrap(),
                    cert.der,
                    "{alg:?} {mode}"
                );
                assert!(verify_detached(&ossl, b"other").is_err(), "{alg:?} {mode}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
