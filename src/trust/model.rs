//! The trust model: Document Signer Certificates and the immutable snapshot the hot path reads.
//!
//! * [`Kid`] is the first 8 bytes of SHA-256 over the DSC's DER **as received** (hcert spec
//!   Appendix A.1); certificates are never re-encoded, because some real DSCs are not strict DER
//!   (explicit `cA=FALSE`, an empty EKU sequence) and a re-encoding would change the kid.
//! * [`KeyUsage`] follows hcert spec Appendix A.4: a DSC whose extended key usage contains any
//!   DCC OID (official `1.3.6.1.4.1.1847.2021.1.{1,2,3}` or legacy
//!   `1.3.6.1.4.1.0.1847.2021.1.{1,2,3}`) may sign only those types; without one (no EKU, an empty
//!   EKU, or only unrelated OIDs such as ICAO's) it may sign all three. This is the rule of the
//!   reference verifier apps; the upstream Python test harness is stricter on one vector (IS/3).
//! * [`TrustSnapshot`] maps a kid to **all** DSCs with that kid: colliding kids never overwrite
//!   each other, and verification tries each candidate.

use std::collections::HashMap;
use std::sync::Arc;

use ::time::OffsetDateTime;
use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::pem::Pem;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::crypto::PublicKey;
use crate::hcert::payload::CertType;

/// The 8-byte key identifier of a DSC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; 8]);

impl Kid {
    /// The kid of a certificate: SHA-256 of the DER bytes as received, first 8 bytes.
    pub fn of_der(der: &[u8]) -> Kid {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut kid = [0u8; 8];
        for (dst, src) in kid.iter_mut().zip(digest.as_ref()) {
            *dst = *src;
        }
        Kid(kid)
    }

    /// Standard Base64 with padding, as in EU trust lists (e.g. `qroU+hDDovs=`).
    pub fn to_base64(&self) -> String {
        crate::util::base64_encode(&self.0)
    }
}

impl std::fmt::Display for Kid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// Which certificate types a DSC may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyUsage {
    pub test: bool,
    pub vaccination: bool,
    pub recovery: bool,
}

impl KeyUsage {
    pub const ALL: KeyUsage = KeyUsage {
        test: true,
        vaccination: true,
        recovery: true,
    };

    pub fn allows(&self, cert_type: CertType) -> bool {
        match cert_type {
            CertType::Test => self.test,
            CertType::Vaccination => self.vaccination,
            CertType::Recovery => self.recovery,
        }
    }

    /// Derives the usage from the dotted EKU OIDs of a certificate.
    pub fn from_eku_oids<'a>(oids: impl IntoIterator<Item = &'a str>) -> KeyUsage {
        let mut usage = KeyUsage {
            test: false,
            vaccination: false,
            recovery: false,
        };
        let mut any = false;
        for oid in oids {
            let suffix = oid
                .strip_prefix("1.3.6.1.4.1.1847.2021.1.")
                .or_else(|| oid.strip_prefix("1.3.6.1.4.1.0.1847.2021.1."));
            match suffix {
                Some("1") => usage.test = true,
                Some("2") => usage.vaccination = true,
                Some("3") => usage.recovery = true,
                _ => continue,
            }
            any = true;
        }
        if any { usage } else { KeyUsage::ALL }
    }
}

/// Why a certificate could not be loaded as a DSC.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DscError {
    #[error("the certificate is not valid X.509 DER")]
    NotX509,
    #[error("the certificate is not valid PEM")]
    NotPem,
    #[error("the certificate's validity dates are out of range")]
    BadValidity,
}

/// A Document Signer Certificate, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Dsc {
    pub kid: Kid,
    /// The DER exactly as received.
    pub der: Arc<[u8]>,
    /// Subject country (`C=`), if present.
    pub country: Option<String>,
    pub subject: String,
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub key: PublicKey,
    pub usage: KeyUsage,
    /// Whether the certificate may sign documents: not a CA (`basicConstraints` cA=TRUE), not a
    /// web server certificate (EKU `serverAuth` and nothing else) and, when it has a `keyUsage`,
    /// one allowing `digitalSignature`. A TLS *client* usage does not disqualify: production
    /// DSCs of Belgium (`clientAuth`) and Spain (`clientAuth`, `emailProtection`) carry one.
    pub may_sign: bool,
    /// Which trust source vouched for this DSC (e.g. `cli`, `eu-gateway`, `VN`).
    pub source: String,
    /// When the source's list holding this DSC was fetched (None for ad-hoc material).
    pub fetched_at: Option<OffsetDateTime>,
}

impl crate::trust::material::Material for Dsc {
    const KIND: &'static str = "dsc";

    fn identity(&self) -> String {
        self.kid.to_base64()
    }

    /// A DSC past its `notAfter` leaving a list is routine (not counted by the removal guard).
    fn in_force(&self, now: OffsetDateTime) -> bool {
        now <= self.not_after
    }

    fn stamp(&mut self, fetched_at: OffsetDateTime) {
        self.fetched_at = Some(fetched_at);
    }
}

impl Dsc {
    /// Parses a DER certificate. Lenient about DER strictness, strict about structure.
    pub fn from_der(der: &[u8], source: &str) -> Result<Dsc, DscError> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|_| DscError::NotX509)?;
        if !rest.is_empty() {
            return Err(DscError::NotX509);
        }
        let tbs = &cert.tbs_certificate;
        let country = tbs
            .subject
            .iter_country()
            .next()
            .and_then(|c| c.as_str().ok())
            .map(str::to_owned);
        let eku_oids: Vec<String> = tbs
            .extensions()
            .iter()
            .filter_map(|ext| match ext.parsed_extension() {
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    Some(eku.other.iter().map(|o| o.to_id_string()))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let usage = KeyUsage::from_eku_oids(eku_oids.iter().map(String::as_str));
        let not_before = tbs.validity.not_before.to_datetime();
        let not_after = tbs.validity.not_after.to_datetime();
        if not_after < not_before {
            return Err(DscError::BadValidity);
        }
        let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        // A web server certificate is not a document signer. Client-auth EKUs are common on
        // real DSCs (Belgium, Spain) and refusing them would refuse those countries' passes.
        let tls_only = tbs
            .extensions()
            .iter()
            .any(|ext| match ext.parsed_extension() {
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    eku.server_auth
                        && !eku.any
                        && !eku.client_auth
                        && !eku.code_signing
                        && !eku.email_protection
                        && !eku.time_stamping
                        && !eku.ocsp_signing
                        && eku.other.is_empty()
                }
                _ => false,
            });
        let signs = match cert.key_usage() {
            Ok(Some(ku)) => ku.value.digital_signature(),
            Ok(None) => true,
            Err(_) => false,
        };
        Ok(Dsc {
            may_sign: !is_ca && !tls_only && signs,
            kid: Kid::of_der(der),
            der: Arc::from(der),
            country,
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            not_before,
            not_after,
            key: public_key(&tbs.subject_pki),
            usage,
            source: source.to_owned(),
            fetched_at: None,
        })
    }

    /// Parses every certificate in a PEM bundle (or one DER certificate).
    pub fn from_pem_or_der(bytes: &[u8], source: &str) -> Result<Vec<Dsc>, DscError> {
        if bytes.starts_with(&[0x30]) {
            return Ok(vec![Dsc::from_der(bytes, source)?]);
        }
        let mut out = Vec::new();
        for pem in Pem::iter_from_buffer(bytes) {
            let pem = pem.map_err(|_| DscError::NotPem)?;
            if pem.label == "CERTIFICATE" {
                out.push(Dsc::from_der(&pem.contents, source)?);
            }
        }
        if out.is_empty() {
            return Err(DscError::NotPem);
        }
        Ok(out)
    }

    /// Whether `at` lies within the certificate's validity period.
    pub fn valid_at(&self, at: OffsetDateTime) -> bool {
        self.not_before <= at && at <= self.not_after
    }
}

fn public_key(spki: &SubjectPublicKeyInfo<'_>) -> PublicKey {
    use x509_parser::public_key::{PublicKey as X509Key, RSAPublicKey};
    const P256: &str = "1.2.840.10045.3.1.7";
    // RSA keys published under id-RSASSA-PSS instead of rsaEncryption: same RSAPublicKey bits.
    const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
    let curve = crate::trust::validate::curve_oid(spki);
    match spki.parsed() {
        Ok(X509Key::EC(point)) => {
            let data = point.data();
            if curve.as_deref() != Some(P256) {
                PublicKey::Unsupported {
                    kind: "EC (curve other than P-256)",
                }
            } else if data.len() == 65 && data.first() == Some(&4) {
                PublicKey::EcP256 {
                    point: data.to_vec(),
                }
            } else {
                PublicKey::Unsupported {
                    kind: "EC P-256 (compressed point)",
                }
            }
        }
        Ok(rsa @ X509Key::RSA(_)) => PublicKey::Rsa {
            der: spki.subject_public_key.data.to_vec(),
            bits: rsa.key_size(),
        },
        Ok(X509Key::Unknown(bits)) if spki.algorithm.algorithm.to_id_string() == RSASSA_PSS => {
            match RSAPublicKey::from_der(bits) {
                Ok(([], key)) => PublicKey::Rsa {
                    der: bits.to_vec(),
                    bits: X509Key::RSA(key).key_size(),
                },
                _ => PublicKey::Unsupported {
                    kind: "RSASSA-PSS key (malformed)",
                },
            }
        }
        Ok(_) | Err(_) => PublicKey::Unsupported {
            kind: "unsupported key type",
        },
    }
}

/// An immutable set of trusted DSCs: kid → every DSC with that kid.
#[derive(Debug, Clone, Default)]
pub struct TrustSnapshot {
    /// Monotonic version (0 for ad-hoc snapshots such as the CLI's).
    pub version: u64,
    /// Content hash over the sorted DSC kids and DER bytes, and the business rules and value
    /// sets when there are any (hex, 16 chars).
    pub id: String,
    by_kid: HashMap<Vec<u8>, Vec<Arc<Dsc>>>,
    /// The content hash of the DSCs alone.
    dsc_id: String,
    /// Business rules in force (and the value sets they read), swapped with the DSCs.
    pub rules: Arc<crate::rules::RuleSet>,
    /// Revocation batches in force, and their index for the policy stage.
    pub batches: Arc<Vec<crate::revocation::Batch>>,
    pub revocations: Arc<crate::hcert::revocation::Index>,
    /// Issuer keys of non-EU passes (NZCP, SHC) in force.
    pub pass_keys: Arc<crate::passes::PassKeys>,
}

impl TrustSnapshot {
    /// Builds a snapshot, dropping exact duplicates (same DER) but keeping kid collisions.
    pub fn new(version: u64, dscs: impl IntoIterator<Item = Dsc>) -> TrustSnapshot {
        let mut by_kid: HashMap<Vec<u8>, Vec<Arc<Dsc>>> = HashMap::new();
        for dsc in dscs {
            let entry = by_kid.entry(dsc.kid.0.to_vec()).or_default();
            if !entry.iter().any(|d| d.der == dsc.der) {
                entry.push(Arc::new(dsc));
            }
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut all: Vec<&Arc<Dsc>> = by_kid.values().flatten().collect();
        all.sort_by(|a, b| (a.kid, &a.der).cmp(&(b.kid, &b.der)));
        for dsc in all {
            ctx.update(&dsc.kid.0);
            ctx.update(&(dsc.der.len() as u64).to_be_bytes());
            ctx.update(&dsc.der);
        }
        let id = crate::util::hex(ctx.finish().as_ref().get(..8).unwrap_or_default());
        TrustSnapshot {
            version,
            dsc_id: id.clone(),
            id,
            by_kid,
            rules: Arc::default(),
            batches: Arc::default(),
            revocations: Arc::default(),
            pass_keys: Arc::default(),
        }
    }

    /// The snapshot with `rules` in force; the id then covers them too (the DSCs' id when there
    /// is no rule and no value set).
    pub fn with_rules(mut self, rules: crate::rules::RuleSet) -> TrustSnapshot {
        self.rules = Arc::new(rules);
        self.refresh_id();
        self
    }

    /// The snapshot with `batches` revoking certificates; the id then covers them too.
    pub fn with_revocations(mut self, mut batches: Vec<crate::revocation::Batch>) -> TrustSnapshot {
        batches.sort_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
        self.revocations = Arc::new(crate::revocation::index(&batches));
        self.batches = Arc::new(batches);
        self.refresh_id();
        self
    }

    /// The snapshot with `keys` (issuer keys of non-EU passes); the id then covers them too.
    pub fn with_pass_keys(mut self, keys: Vec<crate::passes::PassKey>) -> TrustSnapshot {
        self.pass_keys = Arc::new(crate::passes::PassKeys::new(keys));
        self.refresh_id();
        self
    }

    /// The id over the DSCs, and the rules, batches and pass keys when there are any.
    fn refresh_id(&mut self) {
        self.id.clone_from(&self.dsc_id);
        let rules = &self.rules;
        if rules.rules.is_empty()
            && rules.extra_value_sets.is_empty()
            && self.batches.is_empty()
            && self.pass_keys.is_empty()
        {
            return;
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(self.dsc_id.as_bytes());
        rules.fingerprint(&mut ctx);
        for b in self.batches.iter() {
            ctx.update(b.source.as_bytes());
            ctx.update(crate::revocation::to_json(b).as_bytes());
        }
        for k in self.pass_keys.all() {
            let format = format!("{:?}", k.format);
            let crl = k.crl_version.map(|v| v.to_string()).unwrap_or_default();
            for part in [&format, &k.issuer, &k.kid, &k.point, &k.source, &crl] {
                ctx.update(&(part.len() as u64).to_be_bytes());
                ctx.update(part.as_bytes());
            }
        }
        self.id = crate::util::hex(ctx.finish().as_ref().get(..8).unwrap_or_default());
    }

    /// Every DSC whose kid equals `kid` (empty if none; kids that are not 8 bytes match nothing).
    pub fn candidates(&self, kid: &[u8]) -> &[Arc<Dsc>] {
        self.by_kid.get(kid).map(Vec::as_slice).unwrap_or_default()
    }

    /// Number of DSCs in the snapshot.
    pub fn len(&self) -> usize {
        self.by_kid.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }

    /// All DSCs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Dsc>> {
        self.by_kid.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_usage_follows_appendix_a4() {
        assert_eq!(KeyUsage::from_eku_oids([]), KeyUsage::ALL);
        assert_eq!(
            KeyUsage::from_eku_oids(["2.23.136.1.1.14.2"]),
            KeyUsage::ALL
        );
        assert_eq!(
            KeyUsage::from_eku_oids(["1.3.6.1.5.5.7.3.2"]),
            KeyUsage::ALL
        );
        let test_only = KeyUsage::from_eku_oids(["1.3.6.1.4.1.1847.2021.1.1"]);
        assert!(test_only.allows(CertType::Test));
        assert!(!test_only.allows(CertType::Vaccination));
        assert!(!test_only.allows(CertType::Recovery));
        let legacy =
            KeyUsage::from_eku_oids(["1.3.6.1.4.1.0.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.3"]);
        assert!(!legacy.allows(CertType::Test));
        assert!(legacy.allows(CertType::Vaccination));
        assert!(legacy.allows(CertType::Recovery));
        // Lookalike OIDs do not count.
        assert_eq!(
            KeyUsage::from_eku_oids(["1.3.6.1.4.1.1847.2021.1.4"]),
            KeyUsage::ALL
        );
        assert_eq!(
            KeyUsage::from_eku_oids(["1.3.6.1.4.1.1847.2021.1.11"]),
            KeyUsage::ALL
        );
    }

    #[test]
    fn rsa_keys_under_the_pss_oid_load_as_rsa() {
        use crate::crypto::Alg;
        use crate::keys::mint::{self, CertSpec, SignerKey};
        let t = ::time::macros::datetime!(2021-06-01 00:00 UTC);
        let ca_key = SignerKey::generate(Alg::Es256).unwrap();
        let ca = mint::csca(
            &CertSpec::new("VN", "CA", t, t + ::time::Duration::days(9)),
            &ca_key,
        )
        .unwrap();
        let key = SignerKey::generate(Alg::Ps256).unwrap();
        let cert = mint::signed_by(
            &CertSpec::new("VN", "DSC", t, t + ::time::Duration::days(9)),
            &key,
            &ca,
            &ca_key,
        )
        .unwrap();
        // Swap rsaEncryption (1.2.840.113549.1.1.1) for id-RSASSA-PSS (…1.10): same length.
        let rsa_encryption = [
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
        ];
        let mut der = cert.der.clone();
        let at = der.windows(11).position(|w| w == rsa_encryption).unwrap();
        der[at + 10] = 0x0A;
        let dsc = Dsc::from_der(&der, "test").unwrap();
        assert!(
            matches!(dsc.key, PublicKey::Rsa { bits: 2048, .. }),
            "{:?}",
            dsc.key.describe()
        );
        assert!(dsc.key.fits(Alg::Ps256));
        let original = Dsc::from_der(&cert.der, "test").unwrap();
        assert_eq!(dsc.key, original.key);
    }

    #[test]
    fn kid_is_sha256_prefix_and_base64() {
        let kid = Kid::of_der(b"abc");
        // SHA-256("abc") = ba7816bf 8f01cfea ...
        assert_eq!(kid.0, [0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea]);
        assert_eq!(kid.to_base64(), "ungWv48Bz+o=");
    }
}
