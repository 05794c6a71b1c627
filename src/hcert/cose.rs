//! Step 4: the COSE_Sign1 container (RFC 8152 §4.2, hcert spec §3.3) and its headers.
//!
//! Accepted shapes: an optional CWT tag 61, then an optional COSE_Sign1 tag 18, around the
//! 4-element array (`18([..])`, `61(18([..]))`, `61([..])`, untagged); any other tag is rejected. The CBOR is read with a recursion limit and must be consumed entirely. The
//! protected header is kept as the exact bytes received (coset keeps `original_data`), so the
//! `Sig_structure` is built over what the issuer signed, never over a re-encoding.
//!
//! Header rules (hcert spec §3.3.1/§3.3.3): the kid is taken from the protected header, and from
//! the unprotected one only when the protected header has none. The algorithm likewise, but
//! whatever the header says, [`crate::crypto`] refuses to use it with a key of another type, so
//! an unprotected `alg` cannot choose the key type.
//!
//! The type [`UnverifiedSign1`] does not expose the payload: the only way to the claims is
//! [`UnverifiedSign1::verify`], which returns a [`VerifiedSign1`].

use std::sync::Arc;

use coset::cbor::value::Value;
use coset::{AsCborValue, CoseSign1, RegisteredLabelWithPrivate, iana};

use super::error::{DecodeError, SignatureError};
use super::limits::Limits;
use crate::crypto::{Alg, SignatureVerifier};
use crate::trust::model::{Dsc, TrustSnapshot};

const TAG_COSE_SIGN1: u64 = 18;
const TAG_CWT: u64 = 61;

/// A parsed COSE_Sign1 whose signature has not been checked. Its payload is not reachable.
#[derive(Debug, Clone)]
pub struct UnverifiedSign1 {
    sign1: CoseSign1,
}

/// A COSE_Sign1 whose signature verified against `dsc`.
#[derive(Debug, Clone)]
pub struct VerifiedSign1 {
    payload: Vec<u8>,
    /// The raw COSE signature (for the revocation hash of type SIGNATURE).
    pub signature: Vec<u8>,
    pub kid: Vec<u8>,
    pub alg: Alg,
    pub dsc: Arc<Dsc>,
}

impl VerifiedSign1 {
    /// The signed CWT bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// Parses the COSE container from the inflated bytes.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<UnverifiedSign1, DecodeError> {
    let value = read_cbor(bytes, limits)?;
    let value = strip_tags(value)?;
    let sign1 = CoseSign1::from_cbor_value(value).map_err(|_| DecodeError::NotCoseSign1)?;
    if sign1.payload.is_none() {
        return Err(DecodeError::MissingPayload);
    }
    Ok(UnverifiedSign1 { sign1 })
}

/// Reads exactly one CBOR item, bounded in depth, with nothing after it.
pub(crate) fn read_cbor(bytes: &[u8], limits: &Limits) -> Result<Value, DecodeError> {
    let mut reader = bytes;
    let value: Value =
        coset::cbor::de::from_reader_with_recursion_limit(&mut reader, limits.max_cbor_depth)
            .map_err(|e| match e {
                coset::cbor::de::Error::RecursionLimitExceeded => DecodeError::CborTooDeep,
                _ => DecodeError::Cbor,
            })?;
    if reader.is_empty() {
        Ok(value)
    } else {
        Err(DecodeError::TrailingBytes)
    }
}

fn strip_tags(value: Value) -> Result<Value, DecodeError> {
    // Strip an optional 61 (CWT), then an optional 18 (COSE_Sign1); nothing else may be tagged.
    let value = match value {
        Value::Tag(TAG_CWT, inner) => *inner,
        other => other,
    };
    let value = match value {
        Value::Tag(TAG_COSE_SIGN1, inner) => *inner,
        other => other,
    };
    if matches!(value, Value::Tag(..)) {
        return Err(DecodeError::UnexpectedTag);
    }
    Ok(value)
}

impl UnverifiedSign1 {
    /// The payload and signature *without* any signature check: only for the operator's
    /// `revocation hashes` tool, which identifies a certificate and never judges it.
    pub(crate) fn unverified_parts(&self) -> (&[u8], &[u8]) {
        (
            self.sign1.payload.as_deref().unwrap_or_default(),
            &self.sign1.signature,
        )
    }

    /// The key identifier of the protected header only (formats that require it there).
    pub(crate) fn protected_kid(&self) -> Option<&[u8]> {
        let kid = &self.sign1.protected.header.key_id;
        (!kid.is_empty()).then_some(kid.as_slice())
    }

    /// Whether the protected header names ES256 (formats that require it there).
    pub(crate) fn protected_alg_is_es256(&self) -> bool {
        matches!(
            self.sign1.protected.header.alg,
            Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256))
        )
    }

    /// The key identifier: protected header first, else unprotected.
    pub fn kid(&self) -> Option<&[u8]> {
        let protected = &self.sign1.protected.header.key_id;
        let unprotected = &self.sign1.unprotected.key_id;
        if !protected.is_empty() {
            Some(protected)
        } else if !unprotected.is_empty() {
            Some(unprotected)
        } else {
            None
        }
    }

    /// The algorithm: protected header first, else unprotected. `None` if absent or not
    /// ES256/PS256.
    pub fn alg(&self) -> Option<Alg> {
        let label = self.sign1.protected.header.alg.as_ref().or(self
            .sign1
            .unprotected
            .alg
            .as_ref())?;
        match label {
            RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256) => Some(Alg::Es256),
            RegisteredLabelWithPrivate::Assigned(iana::Algorithm::PS256) => Some(Alg::Ps256),
            _ => None,
        }
    }

    /// The `Sig_structure` bytes (RFC 8152 §4.4) over the protected header as received.
    pub fn to_be_signed(&self) -> Vec<u8> {
        self.sign1.tbs_data(&[])
    }

    /// The raw signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.sign1.signature
    }

    /// Tries every candidate DSC with this message's kid (up to the limit) and returns the
    /// verified message bound to the first DSC whose key verifies the signature.
    pub fn verify(
        self,
        snapshot: &TrustSnapshot,
        verifier: &dyn SignatureVerifier,
        limits: &Limits,
    ) -> Result<VerifiedSign1, SignatureError> {
        let kid = self.kid().ok_or(SignatureError::KidMissing)?.to_vec();
        let candidates = snapshot.candidates(&kid);
        if candidates.is_empty() {
            return Err(SignatureError::KidUnknown);
        }
        let alg = self.alg().ok_or(SignatureError::AlgMissingOrUnknown)?;
        let tbs = self.to_be_signed();
        let mut any_matching_key = false;
        let mut rsa_bits_refused = None;
        for dsc in candidates.iter().take(limits.max_candidates_per_kid) {
            if !dsc.key.fits(alg) {
                if alg == Alg::Ps256 {
                    rsa_bits_refused = rsa_bits_refused.or(dsc.key.rsa_bits_out_of_range());
                }
                continue;
            }
            any_matching_key = true;
            if verifier
                .verify(alg, &dsc.key, &tbs, self.signature())
                .is_ok()
            {
                let payload = self.sign1.payload.unwrap_or_default();
                return Ok(VerifiedSign1 {
                    payload,
                    signature: self.sign1.signature,
                    kid,
                    alg,
                    dsc: Arc::clone(dsc),
                });
            }
        }
        match (any_matching_key, rsa_bits_refused) {
            (true, _) => Err(SignatureError::Invalid),
            (false, Some(bits)) => Err(SignatureError::RsaKeySize { bits }),
            (false, None) => Err(SignatureError::AlgKeyMismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};

    fn sample(protected_kid: &[u8], unprotected_kid: &[u8]) -> CoseSign1 {
        CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .key_id(protected_kid.to_vec())
                    .build(),
            )
            .unprotected(
                HeaderBuilder::new()
                    .key_id(unprotected_kid.to_vec())
                    .build(),
            )
            .payload(vec![0xA0])
            .signature(vec![1; 64])
            .build()
    }

    #[test]
    fn accepts_tagged_double_tagged_and_untagged() {
        let l = Limits::default();
        let tagged = sample(b"k1", b"").to_tagged_vec().unwrap();
        let untagged = sample(b"k1", b"").to_vec().unwrap();
        let mut double = vec![0xD8, 0x3D]; // tag 61
        double.extend_from_slice(&tagged);
        for bytes in [&tagged, &untagged, &double] {
            let m = parse(bytes, &l).unwrap();
            assert_eq!(m.kid(), Some(&b"k1"[..]));
            assert_eq!(m.alg(), Some(Alg::Es256));
        }
    }

    #[test]
    fn rejects_other_tags_trailing_bytes_and_non_arrays() {
        let l = Limits::default();
        let untagged = sample(b"k1", b"").to_vec().unwrap();
        let mut other_tag = vec![0xD8, 0x62]; // tag 98 (COSE_Sign)
        other_tag.extend_from_slice(&untagged);
        assert_eq!(
            parse(&other_tag, &l).unwrap_err(),
            DecodeError::UnexpectedTag
        );
        let mut cwt_only = vec![0xD8, 0x3D];
        cwt_only.extend_from_slice(&untagged);
        assert!(parse(&cwt_only, &l).is_ok(), "61 around the bare array");
        let mut reversed = vec![0xD2, 0xD8, 0x3D];
        reversed.extend_from_slice(&untagged);
        assert_eq!(
            parse(&reversed, &l).unwrap_err(),
            DecodeError::UnexpectedTag,
            "18(61(..)) is not a valid shape"
        );
        let mut trailing = untagged.clone();
        trailing.push(0);
        assert_eq!(
            parse(&trailing, &l).unwrap_err(),
            DecodeError::TrailingBytes
        );
        // A map instead of the 4-element array.
        assert_eq!(parse(&[0xA0], &l).unwrap_err(), DecodeError::NotCoseSign1);
        // A 3-element array.
        assert_eq!(
            parse(&[0x83, 0x40, 0xA0, 0x40], &l).unwrap_err(),
            DecodeError::NotCoseSign1
        );
        assert_eq!(parse(&[0xFF], &l).unwrap_err(), DecodeError::Cbor);
        assert_eq!(parse(&[], &l).unwrap_err(), DecodeError::Cbor);
    }

    #[test]
    fn rejects_deep_nesting_without_recursing_unboundedly() {
        let l = Limits::default();
        let mut deep = vec![0x81u8; 100_000];
        deep.push(0x00);
        assert_eq!(parse(&deep, &l).unwrap_err(), DecodeError::CborTooDeep);
    }

    #[test]
    fn kid_prefers_protected_then_unprotected() {
        let l = Limits::default();
        let both = parse(&sample(b"prot", b"unprot").to_vec().unwrap(), &l).unwrap();
        assert_eq!(both.kid(), Some(&b"prot"[..]));
        let only_unprotected = parse(&sample(b"", b"unprot").to_vec().unwrap(), &l).unwrap();
        assert_eq!(only_unprotected.kid(), Some(&b"unprot"[..]));
        let none = parse(&sample(b"", b"").to_vec().unwrap(), &l).unwrap();
        assert_eq!(none.kid(), None);
    }

    #[test]
    fn signs_over_the_protected_bytes_as_received() {
        // Protected header {1: -7, 4: h'6B31'} encoded with a non-canonical length prefix for the
        // kid (0x58 0x02 instead of 0x42): a re-encoding would differ from what was signed.
        let protected = [0xA2, 0x01, 0x26, 0x04, 0x58, 0x02, b'k', b'1'];
        let mut msg = vec![0x84, 0x48];
        msg.extend_from_slice(&protected);
        msg.extend_from_slice(&[0xA0, 0x41, 0xA0, 0x40]);
        let m = parse(&msg, &Limits::default()).unwrap();
        assert_eq!(m.kid(), Some(&b"k1"[..]));
        let tbs = m.to_be_signed();
        // ["Signature1", h'<protected>', h'', h'A0']
        let mut expected = vec![0x84, 0x6A];
        expected.extend_from_slice(b"Signature1");
        expected.push(0x48);
        expected.extend_from_slice(&protected);
        expected.extend_from_slice(&[0x40, 0x41, 0xA0]);
        assert_eq!(tbs, expected);
    }
}
