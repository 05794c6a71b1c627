//! The `VerificationResult` contract (DESIGN.md §4): the JSON the API and `verify --json` print.

use serde::Serialize;
use serde_json::Value as Json;

use super::error::Finding;
use super::payload::CertType;
use crate::crypto::Alg;

/// How much of the certificate to return. `Minimal` (the default) is what a gate agent needs:
/// type, dates, issuer, holder name and date of birth. `Full` adds the whole DCC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    #[default]
    Minimal,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Valid,
    Invalid,
}

/// The family of health pass a QR code holds (detected by content, see [`crate::passes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, utoipa::ToSchema)]
pub enum PassFormat {
    /// EU Digital COVID Certificate (`HC1:`). An `HC1:` code whose signature did not verify is
    /// reported as `eu-dcc`: its payload, which tells the two HC1 families apart, is not read.
    #[default]
    #[serde(rename = "eu-dcc")]
    EuDcc,
    /// WHO Digital Documentation of COVID-19 Certificates core data set in HC1 framing.
    #[serde(rename = "who-ddcc")]
    WhoDdcc,
    /// NZ COVID Pass (`NZCP:/1/`).
    #[serde(rename = "nzcp")]
    Nzcp,
    /// SMART Health Card (`shc:/`).
    #[serde(rename = "shc")]
    Shc,
    /// ICAO Visible Digital Seal for non-constrained environments (JSON).
    #[serde(rename = "icao-vds-nc")]
    IcaoVdsNc,
    /// DIVOC W3C verifiable credential (ZIP, raw or `B64:`).
    #[serde(rename = "divoc")]
    Divoc,
}

impl PassFormat {
    pub const fn name(self) -> &'static str {
        match self {
            PassFormat::EuDcc => "eu-dcc",
            PassFormat::WhoDdcc => "who-ddcc",
            PassFormat::Nzcp => "nzcp",
            PassFormat::Shc => "shc",
            PassFormat::IcaoVdsNc => "icao-vds-nc",
            PassFormat::Divoc => "divoc",
        }
    }
}

/// The verdict on one QR code.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VerificationResult {
    /// What the QR code holds: `eu-dcc`, `who-ddcc`, `nzcp`, `shc`, `icao-vds-nc` or `divoc`.
    pub format: PassFormat,
    pub valid: bool,
    pub status: Status,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// The instant the certificate was checked against (RFC 3339).
    pub checked_at: String,
    /// Present only when the signature verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateInfo>,
    pub provenance: Provenance,
}

impl VerificationResult {
    /// The error codes, in order (handy for tests and logs).
    pub fn error_codes(&self) -> Vec<super::error::ErrorCode> {
        self.errors.iter().map(|f| f.code).collect()
    }

    pub fn warning_codes(&self) -> Vec<super::error::ErrorCode> {
        self.warnings.iter().map(|f| f.code).collect()
    }
}

/// What the signed certificate says (only after the signature verified).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CertificateInfo {
    #[serde(rename = "type")]
    pub cert_type: Option<CertType>,
    /// The signer's country (DSC subject `C=`), else the `iss` claim.
    pub issuer_country: Option<String>,
    pub iss: Option<String>,
    pub issued_at: Option<String>,
    /// Absent only for a pass that states no expiry (a SMART Health Card without `exp`, a WHO
    /// DDCC data set without `valid_until`, a DIVOC credential without `expirationDate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Base64 of the kid, as in trust lists (other passes: their key id as they carry it).
    pub kid: String,
    pub alg: SignatureAlg,
    pub uvci: Option<String>,
    pub holder: Holder,
    /// Vaccination events, where the format carries them (EU DCC `v`, SHC `Immunization`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vaccinations: Vec<Vaccination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub dcc: Option<Json>,
}

/// The signature algorithm that verified the pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub enum SignatureAlg {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "ES384")]
    Es384,
    #[serde(rename = "PS256")]
    Ps256,
    /// Ed25519 (DIVOC `Ed25519Signature2018`).
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SignatureAlg {
    pub const fn name(self) -> &'static str {
        match self {
            SignatureAlg::Es256 => "ES256",
            SignatureAlg::Es384 => "ES384",
            SignatureAlg::Ps256 => "PS256",
            SignatureAlg::EdDsa => "EdDSA",
        }
    }
}

impl From<Alg> for SignatureAlg {
    fn from(alg: Alg) -> Self {
        match alg {
            Alg::Es256 => SignatureAlg::Es256,
            Alg::Ps256 => SignatureAlg::Ps256,
        }
    }
}

/// One vaccination event of a certificate, in the terms of its format.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Vaccination {
    /// The product code: EU `mp` (e.g. `EU/1/20/1528`), SHC CVX code (e.g. `207`).
    pub product: Option<String>,
    /// The code system of `product` (`eu-mp`, `http://hl7.org/fhir/sid/cvx`, …).
    pub product_system: Option<String>,
    /// The date (or date-time) of the dose.
    pub date: Option<String>,
    /// The dose number and total in the series, where given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dose: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doses: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct Holder {
    /// The name as one string, for formats that carry only that (WHO DDCC, DIVOC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name_std: Option<String>,
    pub given_name_std: Option<String>,
    pub date_of_birth: Option<String>,
}

/// Which trust material produced the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Provenance {
    pub trust_snapshot: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsc_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsc_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsc_not_after: Option<String>,
}
