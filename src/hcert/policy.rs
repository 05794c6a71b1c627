//! Step 7: time and key-usage policy at the instant `at` (hcert spec §3.3.5, §3.3.6, §5,
//! Appendix A.4).
//!
//! Errors (the verdict is invalid):
//! * `CWT_EXPIRED` when `at` > exp; `CWT_NOT_YET_VALID` when `at` < iat.
//! * `DSC_NOT_VALID` when `at` is outside the DSC's validity, or when the certificate's whole
//!   validity (iat … exp) lies outside the DSC's (a key that was never in force for it).
//! * `KEY_USAGE_MISMATCH` when the DSC's DCC EKU OIDs do not cover the certificate type.
//!
//! Warnings (the verdict stands): `DSC_NOT_VALID` when the certificate was issued (iat) before
//! the DSC's notBefore, or expires after its notAfter. The spec states both as obligations of
//! the issuer, and field verifiers accept such certificates while the DSC is valid (real codes
//! from Fiji and Bulgaria carry an iat before their DSC's notBefore); the DSC must still be
//! valid at `at`, which is an error otherwise.
//! No clock-skew allowance is applied: `at` is taken exactly as given.

use time::OffsetDateTime;

use super::claims::Claims;
use super::error::{ErrorCode, Finding};
use super::payload::CertType;
use crate::trust::model::Dsc;

/// What the policy found: errors and warnings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyReport {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

/// Applies the time and key-usage policy.
pub fn check(
    claims: &Claims,
    dsc: &Dsc,
    cert_type: Option<CertType>,
    at: OffsetDateTime,
) -> PolicyReport {
    let mut r = PolicyReport::default();
    if claims.exp.is_some_and(|exp| at > exp) {
        r.errors.push(Finding::new(
            ErrorCode::CwtExpired,
            "the certificate has expired (exp is before the verification time)",
        ));
    }
    if claims.iat.is_some_and(|iat| at < iat) {
        r.errors.push(Finding::new(
            ErrorCode::CwtNotYetValid,
            "the certificate is not valid yet (iat is after the verification time)",
        ));
    }
    if !dsc.valid_at(at) {
        r.errors.push(Finding::new(
            ErrorCode::DscNotValid,
            "the signer certificate (DSC) is not valid at the verification time",
        ));
    } else if claims.exp.is_some_and(|exp| exp < dsc.not_before)
        || claims.iat.is_some_and(|iat| iat > dsc.not_after)
    {
        r.errors.push(Finding::new(
            ErrorCode::DscNotValid,
            "the certificate's validity lies wholly outside its signer certificate's (DSC)",
        ));
    }
    if claims.iat.is_some_and(|iat| iat < dsc.not_before) {
        r.warnings.push(Finding::new(
            ErrorCode::DscNotValid,
            "the certificate was issued before its signer certificate (DSC) became valid",
        ));
    }
    if claims.exp.is_some_and(|exp| exp > dsc.not_after) {
        r.warnings.push(Finding::new(
            ErrorCode::DscNotValid,
            "the certificate expires after its signer certificate (DSC) does",
        ));
    }
    if let Some(t) = cert_type
        && !dsc.usage.allows(t)
    {
        r.errors.push(Finding::new(
            ErrorCode::KeyUsageMismatch,
            "the signer certificate (DSC) is not allowed to sign this certificate type",
        ));
    }
    r
}
