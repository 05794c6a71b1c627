//! Signature verification backends for the two HCERT algorithms (hcert spec §3.3.2).
//!
//! * ES256 (COSE −7): ECDSA on P-256 with SHA-256; the COSE signature is the raw `r‖s`
//!   (64 bytes), never DER (RFC 8152 §8.1).
//! * PS256 (COSE −37): RSASSA-PSS with SHA-256, MGF1-SHA-256, salt length 32 (RFC 8230), for
//!   moduli of 2048 to 4096 bits.
//!
//! The algorithm never chooses the key type: [`PublicKey::fits`] pairs ES256 only with a P-256
//! key and PS256 only with an RSA key in range. A P-384 key presented with `alg = −7` (seen in
//! three Spanish test vectors) is refused: the hcert spec defines ES256 as P-256.
//!
//! [`RingVerifier`] (ring, the same C/asm crypto the TLS and certificate crates in the tree use)
//! is the hot-path default. `RustCryptoVerifier` (p256 + rsa, pure Rust) sits behind the
//! `rustcrypto` cargo feature; a differential test checks that both give the same verdicts.
//! Failures are opaque: callers learn only that a signature did not verify.

use serde::Serialize;

/// A supported HCERT signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub enum Alg {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "PS256")]
    Ps256,
}

impl Alg {
    pub const fn name(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Ps256 => "PS256",
        }
    }

    /// The COSE algorithm identifier.
    pub const fn cose_id(self) -> i64 {
        match self {
            Alg::Es256 => -7,
            Alg::Ps256 => -37,
        }
    }
}

/// Smallest and largest RSA modulus accepted for PS256.
pub const RSA_MIN_BITS: usize = 2048;
pub const RSA_MAX_BITS: usize = 4096;

/// A signer's public key, as far as verification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Uncompressed SEC1 point (`04‖x‖y`, 65 bytes) on P-256.
    EcP256 { point: Vec<u8> },
    /// PKCS#1 `RSAPublicKey` DER and the modulus size in bits.
    Rsa { der: Vec<u8>, bits: usize },
    /// A key this gateway cannot verify with (other curve, compressed point, DSA, …).
    Unsupported { kind: &'static str },
}

impl PublicKey {
    /// Whether this key may be used with `alg`.
    pub fn fits(&self, alg: Alg) -> bool {
        match (self, alg) {
            (PublicKey::EcP256 { point }, Alg::Es256) => point.len() == 65,
            (PublicKey::Rsa { bits, .. }, Alg::Ps256) => {
                (RSA_MIN_BITS..=RSA_MAX_BITS).contains(bits)
            }
            _ => false,
        }
    }

    /// Whether any algorithm can verify with this key: a P-256 point, or an RSA modulus of
    /// [`RSA_MIN_BITS`]–[`RSA_MAX_BITS`] bits (the hcert spec's PS256 range; RSA-1024 DSCs exist
    /// in the field and are refused as too small, not as the wrong algorithm).
    pub fn supported(&self) -> bool {
        match self {
            PublicKey::EcP256 { point } => point.len() == 65,
            PublicKey::Rsa { bits, .. } => (RSA_MIN_BITS..=RSA_MAX_BITS).contains(bits),
            PublicKey::Unsupported { .. } => false,
        }
    }

    /// The modulus size of an RSA key outside the accepted range.
    pub fn rsa_bits_out_of_range(&self) -> Option<usize> {
        match self {
            PublicKey::Rsa { bits, .. } if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(bits) => {
                Some(*bits)
            }
            _ => None,
        }
    }

    /// A short description for provenance and trust listings, e.g. `EC P-256`, `RSA 2048`.
    pub fn describe(&self) -> String {
        match self {
            PublicKey::EcP256 { .. } => "EC P-256".to_owned(),
            PublicKey::Rsa { bits, .. } => format!("RSA {bits}"),
            PublicKey::Unsupported { kind } => (*kind).to_owned(),
        }
    }
}

/// The signature did not verify (or the key cannot be used with this algorithm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature verification failed")]
pub struct BadSignature;

/// A signature verification backend.
pub trait SignatureVerifier: Send + Sync {
    /// Verifies `sig` over `msg` with `key` under `alg`.
    fn verify(&self, alg: Alg, key: &PublicKey, msg: &[u8], sig: &[u8])
    -> Result<(), BadSignature>;
}

/// The default backend, on `ring`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RingVerifier;

impl SignatureVerifier for RingVerifier {
    fn verify(
        &self,
        alg: Alg,
        key: &PublicKey,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), BadSignature> {
        use ring::signature::{
            ECDSA_P256_SHA256_FIXED, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey,
        };
        if !key.fits(alg) {
            return Err(BadSignature);
        }
        match (alg, key) {
            (Alg::Es256, PublicKey::EcP256 { point }) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(msg, sig)
            }
            (Alg::Ps256, PublicKey::Rsa { der, .. }) => {
                UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, der).verify(msg, sig)
            }
            _ => return Err(BadSignature),
        }
        .map_err(|_| BadSignature)
    }
}

/// The pure-Rust backend (RustCrypto `p256` 0.13 + `rsa` 0.9).
#[cfg(feature = "rustcrypto")]
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCryptoVerifier;

#[cfg(feature = "rustcrypto")]
impl SignatureVerifier for RustCryptoVerifier {
    fn verify(
        &self,
        alg: Alg,
        key: &PublicKey,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), BadSignature> {
        if !key.fits(alg) {
            return Err(BadSignature);
        }
        match (alg, key) {
            (Alg::Es256, PublicKey::EcP256 { point }) => {
                use p256::ecdsa::signature::Verifier;
                let vk =
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| BadSignature)?;
                let sig = p256::ecdsa::Signature::from_slice(sig).map_err(|_| BadSignature)?;
                vk.verify(msg, &sig).map_err(|_| BadSignature)
            }
            (Alg::Ps256, PublicKey::Rsa { der, .. }) => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                use sha2::Digest;
                let pk = rsa::RsaPublicKey::from_pkcs1_der(der).map_err(|_| BadSignature)?;
                let digest = sha2::Sha256::digest(msg);
                pk.verify(rsa::Pss::new_with_salt::<sha2::Sha256>(32), &digest, sig)
                    .map_err(|_| BadSignature)
            }
            _ => Err(BadSignature),
        }
    }
}

/// The backend used by the service and the CLI.
pub fn default_verifier() -> &'static dyn SignatureVerifier {
    &RingVerifier
}

#[cfg(test)]
mod tests {
    #[test]
    fn rsa_keys_outside_2048_to_4096_bits_are_unsupported_by_size() {
        for (bits, ok) in [
            (1024, false),
            (2047, false),
            (2048, true),
            (4096, true),
            (8192, false),
        ] {
            let key = PublicKey::Rsa { der: vec![], bits };
            assert_eq!(key.supported(), ok, "{bits}");
            assert_eq!(key.rsa_bits_out_of_range(), (!ok).then_some(bits), "{bits}");
        }
        assert!(!PublicKey::Unsupported { kind: "P-384" }.supported());
        assert_eq!(
            PublicKey::Unsupported { kind: "P-384" }.rsa_bits_out_of_range(),
            None
        );
    }

    use super::*;

    #[test]
    fn alg_never_picks_the_key_type() {
        let ec = PublicKey::EcP256 { point: vec![4; 65] };
        let rsa = PublicKey::Rsa {
            der: vec![],
            bits: 2048,
        };
        assert!(ec.fits(Alg::Es256));
        assert!(!ec.fits(Alg::Ps256));
        assert!(rsa.fits(Alg::Ps256));
        assert!(!rsa.fits(Alg::Es256));
        assert!(
            !PublicKey::Rsa {
                der: vec![],
                bits: 1024
            }
            .fits(Alg::Ps256)
        );
        assert!(
            !PublicKey::Rsa {
                der: vec![],
                bits: 8192
            }
            .fits(Alg::Ps256)
        );
        assert!(!PublicKey::EcP256 { point: vec![2; 33] }.fits(Alg::Es256));
        assert!(!PublicKey::Unsupported { kind: "EC P-384" }.fits(Alg::Es256));
    }

    #[test]
    fn ring_rejects_mismatched_pairs_without_calling_crypto() {
        let rsa = PublicKey::Rsa {
            der: vec![],
            bits: 2048,
        };
        assert_eq!(
            RingVerifier.verify(Alg::Es256, &rsa, b"m", &[0; 64]),
            Err(BadSignature)
        );
    }
}
