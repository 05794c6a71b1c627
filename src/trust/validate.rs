//! PURE checks on trust material: pinned anchors, X.509 issuance (a DSC chains to a CSCA, a
//! JWS `x5c` chains to an anchor) and generic signature verification with ring.
//!
//! Signature algorithms accepted for lists, CMS and certificate chains (the EU gateway's crypto
//! floor: RSA ≥ 2048, ECDSA P-256/P-384, SHA-256/384/512): ecdsa-with-SHA256/384/512 (DER
//! signatures), sha256/384/512WithRSAEncryption, RSASSA-PSS with SHA-256/384/512. SHA-1 is
//! refused.

use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

/// A signature algorithm, resolved from OIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// ECDSA with a DER-encoded signature and the given SHA-2 digest size (256/384/512).
    EcdsaDer(u16),
    /// ECDSA P-256 with SHA-256 and a raw `r‖s` signature (JOSE ES256, German list).
    EcdsaP256Fixed,
    /// RSASSA-PKCS1-v1_5 with the given SHA-2 digest size.
    RsaPkcs1(u16),
    /// RSASSA-PSS with the given SHA-2 digest size (MGF1 with the same hash, salt = hash size).
    RsaPss(u16),
}

const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const OID_RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const OID_RSA_SHA384: &str = "1.2.840.113549.1.1.12";
const OID_RSA_SHA512: &str = "1.2.840.113549.1.1.13";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// The digest size (256/384/512) named by a SHA-2 digest-algorithm OID.
pub fn sha2_bits(digest_oid: &str) -> Option<u16> {
    match digest_oid {
        OID_SHA256 => Some(256),
        OID_SHA384 => Some(384),
        OID_SHA512 => Some(512),
        _ => None,
    }
}

impl SigAlg {
    /// Resolves a signature-algorithm OID. `params` is the DER of the AlgorithmIdentifier's
    /// parameters (needed for RSASSA-PSS); `digest_oid` is the separately stated digest (CMS
    /// SignerInfo), needed when the OID names only the key type (`rsaEncryption`,
    /// `ecPublicKey`).
    pub fn from_oid(oid: &str, params: Option<&[u8]>, digest_oid: Option<&str>) -> Option<SigAlg> {
        let digest = || digest_oid.and_then(sha2_bits);
        match oid {
            OID_ECDSA_SHA256 => Some(SigAlg::EcdsaDer(256)),
            OID_ECDSA_SHA384 => Some(SigAlg::EcdsaDer(384)),
            OID_ECDSA_SHA512 => Some(SigAlg::EcdsaDer(512)),
            OID_RSA_SHA256 => Some(SigAlg::RsaPkcs1(256)),
            OID_RSA_SHA384 => Some(SigAlg::RsaPkcs1(384)),
            OID_RSA_SHA512 => Some(SigAlg::RsaPkcs1(512)),
            OID_EC_PUBLIC_KEY => digest().map(SigAlg::EcdsaDer),
            OID_RSA_ENCRYPTION => digest().map(SigAlg::RsaPkcs1),
            OID_RSA_PSS => Some(SigAlg::RsaPss(pss_hash_bits(params.unwrap_or_default())?)),
            _ => None,
        }
    }
}

/// The hash of RSASSA-PSS-params: SHA-256 unless the parameters name SHA-384/512. The default
/// (absent) hash of RFC 4055 is SHA-1, which is refused.
fn pss_hash_bits(params: &[u8]) -> Option<u16> {
    // The encoded OIDs 2.16.840.1.101.3.4.2.{1,2,3} end in 0x02 0x01/0x02/0x03.
    const PREFIX: [u8; 10] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
    let at = params.windows(PREFIX.len()).position(|w| w == PREFIX)?;
    match params.get(at + PREFIX.len()) {
        Some(1) => Some(256),
        Some(2) => Some(384),
        Some(3) => Some(512),
        _ => None,
    }
}

/// Verifies `sig` over `msg` with the DER SubjectPublicKeyInfo `spki_der`.
pub fn verify_spki(spki_der: &[u8], alg: SigAlg, msg: &[u8], sig: &[u8]) -> bool {
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(spki_der) else {
        return false;
    };
    verify_with(&spki, alg, msg, sig)
}

/// The named-curve OID of an EC SubjectPublicKeyInfo (dotted): the `namedCurve`, or, for
/// explicit `ECParameters` (which ICAO Doc 9303-12 has eMRTD CSCA and signer keys carry, e.g.
/// Japan's), the named curve whose prime, coefficients, base point and order they spell out.
pub fn curve_oid(spki: &SubjectPublicKeyInfo<'_>) -> Option<String> {
    use x509_parser::asn1_rs::Tag;
    let params = spki.algorithm.parameters.as_ref()?;
    match params.tag() {
        // (asn1-rs reads any content as an OID when asked: the tag decides.)
        Tag::Oid => params.as_oid().ok().map(|o| o.to_id_string()),
        Tag::Sequence => explicit_curve(params.data).map(str::to_owned),
        _ => None,
    }
}

/// P-256 and P-384 as explicit parameters: (OID, p, a, b, uncompressed G, n), big-endian hex
/// without leading zeros (SEC 2 §2.4.2, §2.5.1).
const EXPLICIT_CURVES: [(&str, [&str; 5]); 2] = [
    (
        OID_P256,
        [
            "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
            "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
            "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
            "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        ],
    ),
    (
        OID_P384,
        [
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
            "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
            "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
            "04aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
        ],
    ),
];

/// The named curve that the content of an explicit `ECParameters` SEQUENCE equals (RFC 3279
/// §2.3.5: version, prime-field fieldID, curve a and b, base, order, cofactor); None for any
/// other curve or encoding.
fn explicit_curve(content: &[u8]) -> Option<&'static str> {
    use x509_parser::der_parser::der::parse_der;
    let mut items = Vec::new();
    let mut rest = content;
    while !rest.is_empty() && items.len() < 6 {
        let (next, item) = parse_der(rest).ok()?;
        items.push(item);
        rest = next;
    }
    let field = items.get(1)?.as_sequence().ok()?;
    if field.first()?.as_oid().ok()?.to_id_string() != "1.2.840.10045.1.1" {
        return None; // not a prime field
    }
    let curve = items.get(2)?.as_sequence().ok()?;
    let strip = |b: &[u8]| {
        let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
        crate::util::hex(b.get(start..).unwrap_or_default())
    };
    let found = [
        strip(field.get(1)?.as_slice().ok()?),
        strip(curve.first()?.as_slice().ok()?),
        strip(curve.get(1)?.as_slice().ok()?),
        crate::util::hex(items.get(3)?.as_slice().ok()?),
        strip(items.get(4)?.as_slice().ok()?),
    ];
    EXPLICIT_CURVES
        .iter()
        .find(|(_, values)| values.iter().zip(&found).all(|(v, f)| *v == f))
        .map(|(oid, _)| *oid)
}

/// Verifies `sig` over `msg` with a parsed SubjectPublicKeyInfo.
pub fn verify_with(spki: &SubjectPublicKeyInfo<'_>, alg: SigAlg, msg: &[u8], sig: &[u8]) -> bool {
    use ring::signature as rs;
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let curve = curve_oid(spki);
    let key = spki.subject_public_key.data.as_ref();
    let ring_alg: &dyn rs::VerificationAlgorithm = match (alg, key_oid.as_str(), curve.as_deref()) {
        (SigAlg::EcdsaP256Fixed, OID_EC_PUBLIC_KEY, Some(OID_P256)) => &rs::ECDSA_P256_SHA256_FIXED,
        (SigAlg::EcdsaDer(256), OID_EC_PUBLIC_KEY, Some(OID_P256)) => &rs::ECDSA_P256_SHA256_ASN1,
        (SigAlg::EcdsaDer(384), OID_EC_PUBLIC_KEY, Some(OID_P256)) => &rs::ECDSA_P256_SHA384_ASN1,
        (SigAlg::EcdsaDer(256), OID_EC_PUBLIC_KEY, Some(OID_P384)) => &rs::ECDSA_P384_SHA256_ASN1,
        (SigAlg::EcdsaDer(384), OID_EC_PUBLIC_KEY, Some(OID_P384)) => &rs::ECDSA_P384_SHA384_ASN1,
        (SigAlg::RsaPkcs1(bits), OID_RSA_ENCRYPTION | OID_RSA_PSS, _) => match bits {
            256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            512 => &rs::RSA_PKCS1_2048_8192_SHA512,
            _ => return false,
        },
        (SigAlg::RsaPss(bits), OID_RSA_ENCRYPTION | OID_RSA_PSS, _) => match bits {
            256 => &rs::RSA_PSS_2048_8192_SHA256,
            384 => &rs::RSA_PSS_2048_8192_SHA384,
            512 => &rs::RSA_PSS_2048_8192_SHA512,
            _ => return false,
        },
        _ => return false,
    };
    rs::UnparsedPublicKey::new(ring_alg, key)
        .verify(msg, sig)
        .is_ok()
}

/// Whether `child_der` is a certificate issued by `issuer_der`: the child's issuer name equals
/// the issuer's subject and the child's signature verifies with the issuer's key.
pub fn issued_by(child_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok((_, child)), Ok((_, issuer))) = (
        X509Certificate::from_der(child_der),
        X509Certificate::from_der(issuer_der),
    ) else {
        return false;
    };
    issued_by_parsed(&child, &issuer)
}

/// [`issued_by`] on parsed certificates.
pub fn issued_by_parsed(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    if child.tbs_certificate.issuer.as_raw() != issuer.tbs_certificate.subject.as_raw() {
        return false;
    }
    let alg = &child.signature_algorithm;
    let params = alg.parameters.as_ref().map(|p| p.as_bytes());
    let Some(sig_alg) = SigAlg::from_oid(&alg.algorithm.to_id_string(), params, None) else {
        return false;
    };
    verify_with(
        &issuer.tbs_certificate.subject_pki,
        sig_alg,
        child.tbs_certificate.as_ref(),
        child.signature_value.data.as_ref(),
    )
}

/// Why an anchor file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    #[error("the anchor holds no certificate or public key")]
    Empty,
    #[error("the anchor is not valid PEM or DER")]
    Malformed,
}

/// A pinned trust anchor: certificates and/or bare public keys (SPKI DER).
///
/// A list or CMS is "signed by the anchor" when its signer certificate is one of `certs`, or its
/// key is one of `keys` (every certificate's key is in `keys` too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anchor {
    /// DER certificates.
    pub certs: Vec<Vec<u8>>,
    /// DER SubjectPublicKeyInfo of every anchor key (including the certificates' keys).
    pub keys: Vec<Vec<u8>>,
}

impl Anchor {
    /// No anchor configured.
    pub fn none() -> Anchor {
        Anchor::default()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Loads `CERTIFICATE` and `PUBLIC KEY` PEM blocks, or one DER certificate or SPKI.
    pub fn from_bytes(bytes: &[u8]) -> Result<Anchor, AnchorError> {
        let mut anchor = Anchor::default();
        if bytes.first() == Some(&0x30) {
            anchor.add_der(bytes)?;
        } else {
            for pem in Pem::iter_from_buffer(bytes) {
                let pem = pem.map_err(|_| AnchorError::Malformed)?;
                match pem.label.as_str() {
                    "CERTIFICATE" => anchor.add_cert(&pem.contents)?,
                    "PUBLIC KEY" => anchor.add_key(&pem.contents)?,
                    _ => {}
                }
            }
        }
        if anchor.is_empty() {
            return Err(AnchorError::Empty);
        }
        Ok(anchor)
    }

    fn add_der(&mut self, der: &[u8]) -> Result<(), AnchorError> {
        if X509Certificate::from_der(der).is_ok() {
            self.add_cert(der)
        } else {
            self.add_key(der)
        }
    }

    /// Adds a DER certificate.
    pub fn add_cert(&mut self, der: &[u8]) -> Result<(), AnchorError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|_| AnchorError::Malformed)?;
        self.keys
            .push(cert.tbs_certificate.subject_pki.raw.to_vec());
        self.certs.push(der.to_vec());
        Ok(())
    }

    /// Adds a DER SubjectPublicKeyInfo.
    pub fn add_key(&mut self, spki_der: &[u8]) -> Result<(), AnchorError> {
        match SubjectPublicKeyInfo::from_der(spki_der) {
            Ok(([], _)) => {
                self.keys.push(spki_der.to_vec());
                Ok(())
            }
            _ => Err(AnchorError::Malformed),
        }
    }

    /// Whether the certificate `der` is an anchor certificate or carries an anchor key.
    pub fn vouches_for_cert(&self, der: &[u8]) -> bool {
        if self.certs.iter().any(|c| c == der) {
            return true;
        }
        match X509Certificate::from_der(der) {
            Ok((_, cert)) => self.has_key(cert.tbs_certificate.subject_pki.raw),
            Err(_) => false,
        }
    }

    /// Whether `spki_der` is one of the anchor keys.
    pub fn has_key(&self, spki_der: &[u8]) -> bool {
        self.keys.iter().any(|k| k == spki_der)
    }

    /// Whether `der` is an anchor certificate or was issued by one (one level of chain).
    pub fn chains(&self, der: &[u8]) -> bool {
        self.vouches_for_cert(der) || self.certs.iter().any(|a| issued_by(der, a))
    }

    /// Verifies `sig` over `msg` with any anchor key.
    pub fn verify(&self, alg: SigAlg, msg: &[u8], sig: &[u8]) -> bool {
        self.keys.iter().any(|k| verify_spki(k, alg, msg, sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_curve_parameters_are_recognised_as_the_named_curve() {
        // openssl ec -param_enc explicit: P-256 spelled out (with its seed and cofactor).
        let pem = "MIIBSzCCAQMGByqGSM49AgEwgfcCAQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAAAAAAAAAAAAAA////////////////MFsEIP////8AAAABAAAAAAAAAAAAAAAA///////////////8BCBaxjXYqjqT57PrvVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSdNgiG5wSTamZ44ROdJreBn36QBEEEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA//////////+85vqtpxeehPO5ysL8YyVRAgEBA0IABCKUzCnPjjUpCq/V8CgzZpmViADp3AIwhD4cTUnV71Vswcmf2i5n87kbQPXhjZD+V6NMfXxB+xstThdimB7OqhM=";
        let der = data_encoding::BASE64.decode(pem.as_bytes()).unwrap();
        let (_, spki) = SubjectPublicKeyInfo::from_der(&der).unwrap();
        assert_eq!(curve_oid(&spki).as_deref(), Some(OID_P256));
        // One byte of b changed: no longer P-256, and not mistaken for any curve.
        let mut other = der.clone();
        let b_at = other
            .windows(4)
            .position(|w| w == [0x5a, 0xc6, 0x35, 0xd8])
            .unwrap();
        other[b_at] ^= 1;
        let (_, spki) = SubjectPublicKeyInfo::from_der(&other).unwrap();
        assert_eq!(curve_oid(&spki), None);
    }
    use crate::crypto::Alg;
    use crate::keys::mint::{self, CertSpec, SignerKey};
    use time::macros::datetime;

    fn spec(cn: &str) -> CertSpec {
        let t = datetime!(2021-06-01 00:00 UTC);
        CertSpec::new("VN", cn, t, t + time::Duration::days(365))
    }

    #[test]
    fn chains_follow_the_issuer_signature() {
        for alg in [Alg::Es256, Alg::Ps256] {
            let ca_key = SignerKey::generate(alg).unwrap();
            let ca = mint::csca(&spec("CA"), &ca_key).unwrap();
            let other_key = SignerKey::generate(Alg::Es256).unwrap();
            // Same subject name, different key: the name matches, the signature does not.
            let impostor = mint::csca(&spec("CA"), &other_key).unwrap();
            let dsc_key = SignerKey::generate(Alg::Es256).unwrap();
            let dsc = mint::signed_by(&spec("DSC"), &dsc_key, &ca, &ca_key).unwrap();
            assert!(issued_by(&dsc.der, &ca.der), "{alg:?}");
            assert!(!issued_by(&dsc.der, &impostor.der), "{alg:?}");
            assert!(!issued_by(&ca.der, &dsc.der));
            assert!(!issued_by(b"garbage", &ca.der));
            let anchor = Anchor::from_bytes(ca.pem.as_bytes()).unwrap();
            assert!(anchor.chains(&dsc.der));
            assert!(anchor.vouches_for_cert(&ca.der));
            assert!(!anchor.vouches_for_cert(&dsc.der));
            let wrong = Anchor::from_bytes(impostor.pem.as_bytes()).unwrap();
            assert!(!wrong.chains(&dsc.der));
        }
    }

    #[test]
    fn anchors_load_keys_and_reject_garbage() {
        assert_eq!(Anchor::from_bytes(b""), Err(AnchorError::Empty));
        assert_eq!(
            Anchor::from_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Err(AnchorError::Malformed)
        );
        let key = SignerKey::generate(Alg::Es256).unwrap();
        let cert = mint::self_signed(&spec("L"), &key).unwrap();
        let (_, parsed) = X509Certificate::from_der(&cert.der).unwrap();
        let spki = parsed.tbs_certificate.subject_pki.raw.to_vec();
        let anchor = Anchor::from_bytes(&spki).unwrap();
        assert!(anchor.certs.is_empty());
        let sig = key.sign(b"list").unwrap();
        assert!(anchor.verify(SigAlg::EcdsaP256Fixed, b"list", &sig));
        assert!(!anchor.verify(SigAlg::EcdsaP256Fixed, b"lisT", &sig));
        assert!(!anchor.verify(SigAlg::EcdsaDer(256), b"list", &sig));
    }

    #[test]
    fn pss_params_name_the_hash() {
        assert_eq!(SigAlg::from_oid(OID_RSA_PSS, None, None), None);
        let sha256_params = [
            0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        ];
        assert_eq!(
            SigAlg::from_oid(OID_RSA_PSS, Some(&sha256_params), None),
            Some(SigAlg::RsaPss(256))
        );
        assert_eq!(
            SigAlg::from_oid(OID_RSA_ENCRYPTION, None, Some(OID_SHA384)),
            Some(SigAlg::RsaPkcs1(384))
        );
        assert_eq!(SigAlg::from_oid("1.2.840.113549.1.1.5", None, None), None);
    }
}
