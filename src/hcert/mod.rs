//! The pure HC1 verification pipeline: bytes, a [`TrustSnapshot`], an instant and [`Limits`] in,
//! a [`VerificationResult`] out. No I/O, no async, no clock.
//!
//! The numbered steps mirror the EU hcert specification (v1.0.8) and the spec digest in
//! DESIGN.md §5:
//!
//! 1. [`prefix`] — exact `HC1:` (§4.2.2).
//! 2. [`base45`] — strict RFC 9285 decoding.
//! 3. [`inflate`] — zlib required, output capped at `Limits::max_inflated_bytes` (§4.2.1).
//! 4. [`cose`] — COSE_Sign1, tagged 18, 61(18) or untagged; kid protected-then-unprotected.
//! 5. signature — every DSC with the kid, ES256/PS256 over the `Sig_structure` built from the
//!    protected bytes as received ([`crate::crypto`]).
//! 6. [`claims`] — CWT claims from the *verified* payload only.
//! 7. [`policy`] — exp/iat/DSC validity at `at`, key usage vs. certificate type.
//! 8. [`payload`] — v/t/r, JSON schema by `ver`, EU value sets; for a WHO DDCC ([`ddcc`]) the
//!    core data set's rules instead. The claims ([`claims`]) tell the two HC1 families apart,
//!    so the verdict's `format` is `who-ddcc` only once the signature verified.
//!
//! Steps 1–6 and 8 do not depend on `at`: [`check_signed`] runs them once and its
//! [`SignedOutcome`] can be cached per (QR, snapshot); [`evaluate`] applies step 7 for each
//! request's instant. [`verify`] does both. Payload data is never read before step 5 succeeds:
//! [`cose::UnverifiedSign1`] does not expose its payload.

pub mod base45;
pub mod claims;
pub mod cose;
pub mod ddcc;
pub mod encode;
pub mod error;
pub mod inflate;
pub mod limits;
pub mod payload;
pub mod policy;
pub mod prefix;
pub mod result;
pub mod revocation;

use std::sync::Arc;

use time::OffsetDateTime;

use crate::crypto::{Alg, SignatureVerifier};
use crate::trust::model::{Dsc, TrustSnapshot};
use crate::util::{base64_encode, rfc3339};
pub use error::{Coded, ErrorCode, Finding, Stage};
pub use limits::Limits;
use payload::{CertType, PayloadReport};
pub use result::{
    CertificateInfo, Detail, Holder, PassFormat, Provenance, SignatureAlg, Status, Vaccination,
    VerificationResult,
};

/// Per-request options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The instant to verify at.
    pub at: OffsetDateTime,
    pub detail: Detail,
    /// Value-set violations are errors instead of warnings.
    pub strict_valuesets: bool,
}

impl VerifyOptions {
    pub fn at(at: OffsetDateTime) -> Self {
        VerifyOptions {
            at,
            detail: Detail::Minimal,
            strict_valuesets: false,
        }
    }
}

/// Everything about a certificate that does not depend on the verification instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Signed {
    /// The certificate's revocation hashes.
    pub revocation: revocation::Keys,
    pub kid: Vec<u8>,
    pub alg: Alg,
    pub dsc: Arc<Dsc>,
    pub claims: claims::Claims,
    pub payload: PayloadReport,
}

/// The instant-independent outcome: a verified certificate, or the first fatal finding.
pub type SignedOutcome = Result<Signed, Finding>;

/// Steps 1–6 and 8.
pub fn check_signed(
    qr: &str,
    snapshot: &TrustSnapshot,
    verifier: &dyn SignatureVerifier,
    limits: &Limits,
) -> SignedOutcome {
    let fail = |e: &dyn Coded| Finding::from_error(e);
    let b45 = prefix::strip(qr, limits).map_err(|e| fail(&e))?;
    let compressed = base45::decode(b45).map_err(|e| fail(&e))?;
    let cose_bytes = inflate::inflate(&compressed, limits).map_err(|e| fail(&e))?;
    let unverified = cose::parse(&cose_bytes, limits).map_err(|e| fail(&e))?;
    let verified = unverified
        .verify(snapshot, verifier, limits)
        .map_err(|e| fail(&e))?;
    let claims = claims::read(&verified, limits).map_err(|e| fail(&e))?;
    let payload = match claims.format {
        PassFormat::WhoDdcc => ddcc::validate(&claims.dcc),
        _ => payload::validate(&claims.dcc),
    };
    let revocation = revocation::keys(
        &claims.dcc,
        payload.cert_type,
        claims.iss.as_deref(),
        verified.alg,
        &verified.signature,
    );
    Ok(Signed {
        revocation,
        kid: verified.kid,
        alg: verified.alg,
        dsc: verified.dsc,
        claims,
        payload,
    })
}

/// The revocation hashes of a certificate, read without checking its signature (the operator
/// tool that prepares revocation batches; verdicts never use this).
#[derive(Debug, Clone)]
pub struct RevocationHashes {
    pub keys: revocation::Keys,
    /// The kid of the COSE header (8 bytes), if any.
    pub kid: Option<[u8; 8]>,
    /// The CWT `exp` (None for a WHO DDCC data set that states no expiry).
    pub exp: Option<OffsetDateTime>,
}

/// Decodes `qr` far enough to compute its revocation hashes (see [`RevocationHashes`]).
pub fn revocation_hashes(qr: &str, limits: &Limits) -> Result<RevocationHashes, Finding> {
    let fail = |e: &dyn Coded| Finding::from_error(e);
    let b45 = prefix::strip(qr, limits).map_err(|e| fail(&e))?;
    let compressed = base45::decode(b45).map_err(|e| fail(&e))?;
    let cose_bytes = inflate::inflate(&compressed, limits).map_err(|e| fail(&e))?;
    let unverified = cose::parse(&cose_bytes, limits).map_err(|e| fail(&e))?;
    let alg = unverified.alg().ok_or_else(|| {
        Finding::new(
            ErrorCode::AlgUnsupported,
            "no ES256 or PS256 alg in the COSE header",
        )
    })?;
    let (payload_bytes, signature) = unverified.unverified_parts();
    let claims = claims::parse(payload_bytes, limits).map_err(|e| fail(&e))?;
    let cert_type = payload::validate(&claims.dcc).cert_type;
    Ok(RevocationHashes {
        keys: revocation::keys(
            &claims.dcc,
            cert_type,
            claims.iss.as_deref(),
            alg,
            signature,
        ),
        kid: unverified.kid().and_then(|k| <[u8; 8]>::try_from(k).ok()),
        exp: claims.exp,
    })
}

/// Step 7 and the result for one instant.
pub fn evaluate(
    outcome: &SignedOutcome,
    snapshot: &TrustSnapshot,
    opts: &VerifyOptions,
) -> VerificationResult {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut provenance = Provenance {
        trust_snapshot: snapshot.id.clone(),
        dsc_source: None,
        dsc_subject: None,
        dsc_not_after: None,
    };
    let mut format = PassFormat::EuDcc;
    let certificate = match outcome {
        Err(finding) => {
            errors.push(finding.clone());
            None
        }
        Ok(signed) => {
            format = signed.claims.format;
            let report = policy::check(
                &signed.claims,
                &signed.dsc,
                signed.payload.cert_type,
                opts.at,
            );
            errors.extend(report.errors);
            warnings.extend(report.warnings);
            let country = signed
                .dsc
                .country
                .as_deref()
                .or(signed.claims.iss.as_deref());
            if let Some(origin) =
                snapshot
                    .revocations
                    .lookup(&signed.kid, country, &signed.revocation)
            {
                errors.push(Finding::new(
                    ErrorCode::Revoked,
                    format!(
                        "the certificate is revoked (batch {}, source {}, hash type {})",
                        origin.batch,
                        origin.source,
                        origin.hash_type.name()
                    ),
                ));
            }
            errors.extend(signed.payload.schema_errors.iter().cloned());
            warnings.extend(signed.payload.schema_warnings.iter().cloned());
            if opts.strict_valuesets {
                errors.extend(signed.payload.valueset_findings.iter().cloned());
            } else {
                warnings.extend(signed.payload.valueset_findings.iter().cloned());
            }
            provenance.dsc_source = Some(signed.dsc.source.clone());
            provenance.dsc_subject = Some(signed.dsc.subject.clone());
            provenance.dsc_not_after = Some(rfc3339(signed.dsc.not_after));
            Some(certificate_info(signed, opts.detail))
        }
    };
    let valid = errors.is_empty();
    VerificationResult {
        format,
        valid,
        status: if valid {
            Status::Valid
        } else {
            Status::Invalid
        },
        errors,
        warnings,
        checked_at: rfc3339(opts.at),
        certificate,
        provenance,
    }
}

/// The whole pipeline for one QR text.
pub fn verify(
    qr: &str,
    snapshot: &TrustSnapshot,
    verifier: &dyn SignatureVerifier,
    limits: &Limits,
    opts: &VerifyOptions,
) -> VerificationResult {
    evaluate(
        &check_signed(qr, snapshot, verifier, limits),
        snapshot,
        opts,
    )
}

/// The result for input that never reached the pipeline (e.g. no QR code in an image).
pub fn rejected(
    finding: Finding,
    snapshot: &TrustSnapshot,
    opts: &VerifyOptions,
) -> VerificationResult {
    evaluate(&Err(finding), snapshot, opts)
}

fn text(v: &serde_json::Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(|s| s.as_str())
        .map(str::to_owned)
}

fn certificate_info(signed: &Signed, detail: Detail) -> CertificateInfo {
    let dcc = &signed.claims.dcc;
    let (uvci, holder, vaccinations) = if signed.claims.format == PassFormat::WhoDdcc {
        (ddcc::hcid(dcc), ddcc::holder(dcc), ddcc::vaccinations(dcc))
    } else {
        (
            signed
                .payload
                .cert_type
                .and_then(|t| payload::entry(dcc, t))
                .and_then(|e| e.get("ci"))
                .and_then(|c| c.as_str())
                .map(str::to_owned),
            Holder {
                name: None,
                family_name: text(dcc, "/nam/fn"),
                given_name: text(dcc, "/nam/gn"),
                family_name_std: text(dcc, "/nam/fnt"),
                given_name_std: text(dcc, "/nam/gnt"),
                date_of_birth: text(dcc, "/dob"),
            },
            eu_vaccinations(dcc),
        )
    };
    CertificateInfo {
        cert_type: signed.payload.cert_type,
        issuer_country: signed
            .dsc
            .country
            .clone()
            .or_else(|| signed.claims.iss.clone()),
        iss: signed.claims.iss.clone(),
        issued_at: signed.claims.iat.map(rfc3339),
        expires_at: signed.claims.exp.map(rfc3339),
        kid: base64_encode(&signed.kid),
        alg: signed.alg.into(),
        uvci,
        holder,
        vaccinations,
        dcc: (detail == Detail::Full).then(|| dcc.clone()),
    }
}

/// The EU DCC's vaccination events (`v`), at most 16.
fn eu_vaccinations(dcc: &serde_json::Value) -> Vec<Vaccination> {
    dcc.get("v")
        .and_then(|v| v.as_array())
        .map(|events| {
            events
                .iter()
                .take(16)
                .map(|e| Vaccination {
                    product: e.get("mp").and_then(|c| c.as_str()).map(str::to_owned),
                    product_system: Some("eu-mp".to_owned()),
                    date: e.get("dt").and_then(|c| c.as_str()).map(str::to_owned),
                    dose: e.get("dn").and_then(serde_json::Value::as_u64),
                    doses: e.get("sd").and_then(serde_json::Value::as_u64),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl CertType {
    pub const fn name(self) -> &'static str {
        match self {
            CertType::Vaccination => "vaccination",
            CertType::Test => "test",
            CertType::Recovery => "recovery",
        }
    }
}
