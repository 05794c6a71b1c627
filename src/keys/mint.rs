//! Key and certificate minting.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use ring::rand::SystemRandom;
use ring::signature::{self as rs, EcdsaKeyPair, RsaKeyPair};
use time::OffsetDateTime;

use crate::crypto::Alg;

/// Errors while creating keys or certificates.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error("key generation failed")]
    KeyGeneration,
    #[error("the private key is not usable for this algorithm")]
    BadKey,
    #[error("certificate creation failed")]
    Certificate,
    #[error("signing failed")]
    Signing,
}

/// A private signing key (PKCS#8 DER) for ES256 or PS256.
pub struct SignerKey {
    pub alg: Alg,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// DCC extended-key-usage OIDs (hcert spec Appendix A.4), official arc.
pub const EKU_TEST: &[u64] = &[1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1];
pub const EKU_VACCINATION: &[u64] = &[1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2];
pub const EKU_RECOVERY: &[u64] = &[1, 3, 6, 1, 4, 1, 1847, 2021, 1, 3];

impl SignerKey {
    /// Generates a new key: P-256 for ES256, RSA-2048 for PS256.
    pub fn generate(alg: Alg) -> Result<SignerKey, MintError> {
        let pkcs8 = match alg {
            Alg::Es256 => {
                let rng = SystemRandom::new();
                EcdsaKeyPair::generate_pkcs8(&rs::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| MintError::KeyGeneration)?
                    .as_ref()
                    .to_vec()
            }
            Alg::Ps256 => {
                use rsa::pkcs8::EncodePrivateKey;
                let mut rng = rsa::rand_core::OsRng;
                let key = rsa::RsaPrivateKey::new(&mut rng, 2048)
                    .map_err(|_| MintError::KeyGeneration)?;
                key.to_pkcs8_der()
                    .map_err(|_| MintError::KeyGeneration)?
                    .as_bytes()
                    .to_vec()
            }
        };
        SignerKey::from_pkcs8(alg, pkcs8)
    }

    /// Loads a PKCS#8 DER key, checking it fits the algorithm.
    pub fn from_pkcs8(alg: Alg, pkcs8: Vec<u8>) -> Result<SignerKey, MintError> {
        let key = SignerKey { alg, pkcs8 };
        key.sign(b"self-test")?;
        Ok(key)
    }

    /// The PKCS#8 DER (secret).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Signs `msg`: raw r‖s for ES256, RSASSA-PSS-SHA256 (salt 32) for PS256.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, MintError> {
        let rng = SystemRandom::new();
        match self.alg {
            Alg::Es256 => self.ecdsa(&rs::ECDSA_P256_SHA256_FIXED_SIGNING, msg),
            Alg::Ps256 => {
                let kp = RsaKeyPair::from_pkcs8(&self.pkcs8).map_err(|_| MintError::BadKey)?;
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(&rs::RSA_PSS_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| MintError::Signing)?;
                Ok(sig)
            }
        }
    }

    /// An ECDSA P-256 / SHA-256 signature of `msg` in DER (X9.62), as Java's
    /// `SHA256withECDSA` makes and checks it (business-rule service `X-SIGNATURE`). ES256 keys
    /// only.
    pub fn sign_der(&self, msg: &[u8]) -> Result<Vec<u8>, MintError> {
        if self.alg != Alg::Es256 {
            return Err(MintError::BadKey);
        }
        self.ecdsa(&rs::ECDSA_P256_SHA256_ASN1_SIGNING, msg)
    }

    /// An ECDSA signature in the encoding of `alg` (raw `r‖s` or DER).
    fn ecdsa(
        &self,
        alg: &'static rs::EcdsaSigningAlgorithm,
        msg: &[u8],
    ) -> Result<Vec<u8>, MintError> {
        let rng = SystemRandom::new();
        let kp = EcdsaKeyPair::from_pkcs8(alg, &self.pkcs8, &rng).map_err(|_| MintError::BadKey)?;
        Ok(kp
            .sign(&rng, msg)
            .map_err(|_| MintError::Signing)?
            .as_ref()
            .to_vec())
    }

    /// The key as an rcgen key pair (certificates are signed with ECDSA-SHA256 or
    /// sha256WithRSAEncryption).
    pub fn rcgen(&self) -> Result<KeyPair, MintError> {
        let alg = match self.alg {
            Alg::Es256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Alg::Ps256 => &rcgen::PKCS_RSA_SHA256,
        };
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.as_slice());
        KeyPair::from_pkcs8_der_and_sign_algo(&der, alg).map_err(|_| MintError::BadKey)
    }
}

/// What to put in a certificate.
#[derive(Debug, Clone)]
pub struct CertSpec {
    pub country: String,
    pub common_name: String,
    pub organization: Option<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Extended key usage OIDs (empty: no EKU extension).
    pub eku: Vec<Vec<u64>>,
    /// Extra raw extensions: (OID, DER content).
    pub extra_extensions: Vec<(Vec<u64>, Vec<u8>)>,
    pub serial: u64,
}

impl CertSpec {
    pub fn new(
        country: &str,
        common_name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Self {
        CertSpec {
            country: country.to_owned(),
            common_name: common_name.to_owned(),
            organization: None,
            not_before,
            not_after,
            eku: Vec::new(),
            extra_extensions: Vec::new(),
            serial: 1,
        }
    }

    fn params(&self, ca: bool) -> Result<CertificateParams, MintError> {
        let mut p =
            CertificateParams::new(Vec::<String>::new()).map_err(|_| MintError::Certificate)?;
        p.distinguished_name
            .push(DnType::CountryName, self.country.as_str());
        if let Some(o) = &self.organization {
            p.distinguished_name
                .push(DnType::OrganizationName, o.as_str());
        }
        p.distinguished_name
            .push(DnType::CommonName, self.common_name.as_str());
        p.not_before = self.not_before;
        p.not_after = self.not_after;
        p.serial_number = Some(SerialNumber::from_slice(&self.serial.to_be_bytes()));
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        } else {
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        p.extended_key_usages = self
            .eku
            .iter()
            .map(|oid| ExtendedKeyUsagePurpose::Other(oid.clone()))
            .collect();
        p.custom_extensions = self
            .extra_extensions
            .iter()
            .map(|(oid, content)| CustomExtension::from_oid_content(oid, content.clone()))
            .collect();
        Ok(p)
    }
}

/// A certificate with its DER and the key that certified it.
#[derive(Debug, Clone)]
pub struct Minted {
    pub der: Vec<u8>,
    pub pem: String,
    params: CertificateParams,
}

/// A self-signed CSCA certificate.
pub fn csca(spec: &CertSpec, key: &SignerKey) -> Result<Minted, MintError> {
    let params = spec.params(true)?;
    let cert = params
        .self_signed(&key.rcgen()?)
        .map_err(|_| MintError::Certificate)?;
    Ok(Minted {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
    })
}

/// A DSC (or any end-entity certificate) for `subject_key`, signed by `issuer` with its key.
pub fn signed_by(
    spec: &CertSpec,
    subject_key: &SignerKey,
    issuer: &Minted,
    issuer_key: &SignerKey,
) -> Result<Minted, MintError> {
    issue_under(spec.params(false)?, subject_key, issuer, issuer_key)
}

/// Like [`signed_by`], with an authority key identifier equal to the issuer's subject key
/// identifier (hcert spec §5: a DSC carries the AKI of its CSCA).
pub fn signed_by_ca(
    spec: &CertSpec,
    subject_key: &SignerKey,
    issuer: &Minted,
    issuer_key: &SignerKey,
) -> Result<Minted, MintError> {
    let mut params = spec.params(false)?;
    params.use_authority_key_identifier_extension = true;
    issue_under(params, subject_key, issuer, issuer_key)
}

/// The issuer side of a stored CA certificate, to sign further certificates with its key.
///
/// The issuer name is rebuilt from the certificate's subject attributes (C, O, OU, CN, in
/// order); rcgen encodes the same strings the same way, so children name the CA exactly as it
/// names itself. Callers should still check children with `trust::validate::issued_by`.
pub fn ca_from_der(der: &[u8]) -> Result<Minted, MintError> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|_| MintError::Certificate)?;
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|_| MintError::Certificate)?;
    for attr in cert.tbs_certificate.subject.iter_attributes() {
        let ty = match attr.attr_type().to_id_string().as_str() {
            "2.5.4.6" => DnType::CountryName,
            "2.5.4.10" => DnType::OrganizationName,
            "2.5.4.11" => DnType::OrganizationalUnitName,
            "2.5.4.3" => DnType::CommonName,
            _ => return Err(MintError::Certificate),
        };
        let value = attr.as_str().map_err(|_| MintError::Certificate)?;
        params.distinguished_name.push(ty, value);
    }
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(Minted {
        der: der.to_vec(),
        pem: super::pem_encode("CERTIFICATE", der),
        params,
    })
}

fn issue_under(
    params: CertificateParams,
    subject_key: &SignerKey,
    issuer: &Minted,
    issuer_key: &SignerKey,
) -> Result<Minted, MintError> {
    let issuer = Issuer::from_params(&issuer.params, issuer_key.rcgen()?);
    let cert = params
        .signed_by(&subject_key.rcgen()?, &issuer)
        .map_err(|_| MintError::Certificate)?;
    Ok(Minted {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
    })
}

/// A self-signed end-entity certificate (as many test DSCs are).
pub fn self_signed(spec: &CertSpec, key: &SignerKey) -> Result<Minted, MintError> {
    let params = spec.params(false)?;
    let cert = params
        .self_signed(&key.rcgen()?)
        .map_err(|_| MintError::Certificate)?;
    Ok(Minted {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
    })
}
