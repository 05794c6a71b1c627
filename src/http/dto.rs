//! Request and response bodies of the verify API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::hcert::{Detail, VerificationResult};

/// `POST /v1/verify` (JSON form; a `text/plain` body holding just the QR text also works).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The QR text: `HC1:…` (EU DCC, WHO DDCC), `NZCP:/1/…`, `shc:/…`, an ICAO VDS-NC JSON seal,
    /// or a DIVOC credential (`B64:…`, or the raw ZIP with one character per byte).
    pub qr: String,
    /// Verify at this instant (RFC 3339); default now.
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub detail: Option<Detail>,
    /// Codes outside the EU value sets are errors.
    #[serde(default)]
    pub strict_valuesets: Option<bool>,
    /// Apply this destination's business rules (the answer gains `rules` and `admissible`).
    #[serde(default)]
    pub destination: Option<Destination>,
}

/// Where the traveller is going: its acceptance rules (and the issuer's invalidation rules)
/// are applied at the verification instant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// ISO 3166-1 alpha-2, e.g. `VN`.
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
}

impl Destination {
    /// A country of two upper-case letters and a region of at most 8 letters or digits.
    pub fn checked(self) -> Result<Destination, &'static str> {
        let country_ok =
            self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase());
        let region_ok = self
            .region
            .as_deref()
            .is_none_or(|r| r.len() <= 8 && r.bytes().all(|b| b.is_ascii_alphanumeric()));
        if country_ok && region_ok {
            Ok(self)
        } else {
            Err(
                "destination: country must be two upper-case letters, region at most 8 letters or digits",
            )
        }
    }
}

/// A verdict, with the destination's business rules when the request named one.
#[derive(Debug, ToSchema)]
pub struct Verdict {
    #[serde(flatten)]
    pub result: VerificationResult,
    /// The rules applied (only for a destination, and only to a technically valid certificate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<crate::rules::Assessment>,
    /// With a destination: `true` every rule passed, `false` a rule failed or the certificate
    /// is not valid, `null` a rule could not be decided or none applies. `valid` keeps its
    /// meaning (technical validity).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<bool>)]
    pub admissible: Option<Option<bool>>,
}

/// Without a destination the answer is the [`VerificationResult`] itself, serialized
/// directly (the hot path pays nothing for the rules fields); with one, the two fields follow
/// the result's.
impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WithRules<'a> {
            #[serde(flatten)]
            result: &'a VerificationResult,
            #[serde(skip_serializing_if = "Option::is_none")]
            rules: Option<&'a crate::rules::Assessment>,
            admissible: Option<bool>,
        }
        match self.admissible {
            None => self.result.serialize(s),
            Some(admissible) => WithRules {
                result: &self.result,
                rules: self.rules.as_ref(),
                admissible,
            }
            .serialize(s),
        }
    }
}

/// One item of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// The QR text, as in `/v1/verify`.
    pub qr: String,
    #[serde(default)]
    pub at: Option<String>,
}

/// `POST /v1/verify/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub items: Vec<BatchItem>,
    #[serde(default)]
    pub detail: Option<Detail>,
    #[serde(default)]
    pub strict_valuesets: Option<bool>,
    /// Apply this destination's business rules to every item.
    #[serde(default)]
    pub destination: Option<Destination>,
}

/// Results in the order of the request's items.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub results: Vec<Verdict>,
}

/// Query parameters of `POST /v1/verify/image`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImageQuery {
    /// Verify at this instant (RFC 3339); default now.
    pub at: Option<String>,
    pub detail: Option<Detail>,
    pub strict_valuesets: Option<bool>,
    /// Apply this destination country's business rules (ISO 3166-1 alpha-2).
    pub destination: Option<String>,
    /// The destination's region, with `destination`.
    pub region: Option<String>,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub trust_snapshot: Option<String>,
    pub snapshot_version: Option<u64>,
    pub dscs: usize,
    /// Seconds since the snapshot was loaded.
    pub snapshot_age_secs: Option<i64>,
    /// `disabled`, `connecting` or `connected`.
    pub redis: &'static str,
    /// The Redis deployment `redis_url` names: `standalone`, `sentinel` or `cluster`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_deployment: Option<&'static str>,
    /// Sources not confirmed within their `max_age` (verdicts using their keys carry
    /// `TRUST_STALE`); the instance stays ready: the last good keys are still in force.
    pub stale_sources: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `GET /v1/trust/summary`: what the gateway trusts right now (public material only).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrustSummary {
    pub trust_snapshot: Option<String>,
    pub snapshot_version: Option<u64>,
    /// Seconds since the snapshot was loaded.
    pub snapshot_age_secs: Option<i64>,
    /// When the snapshot was loaded (RFC 3339).
    pub loaded_at: Option<String>,
    pub dscs: usize,
    pub countries: Vec<CountryKeys>,
    pub sources: Vec<SourceHealth>,
    /// Business rules in force: how many, by destination country and by source.
    pub rules: RulesSummary,
    /// Revocation batches in force.
    pub revocations: RevocationSummary,
}

/// The revocation batches in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevocationSummary {
    pub batches: usize,
    /// Distinct revoked hashes.
    pub hashes: usize,
    /// Source → batches.
    pub by_source: std::collections::BTreeMap<String, usize>,
}

/// The business rules in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesSummary {
    pub total: usize,
    /// Countries with acceptance rules.
    pub destinations: Vec<String>,
    /// Source → rules (`local-rules` is the instance's own `rules_dir`).
    pub by_source: std::collections::BTreeMap<String, usize>,
    /// Files of `rules_dir` refused at the last load, with their reason codes.
    pub rejected: Vec<RejectedRule>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedRule {
    pub file: String,
    pub code: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountryKeys {
    /// ISO 3166-1 alpha-2, or `??` when the DSC names no country.
    pub country: String,
    pub dscs: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceHealth {
    pub source: String,
    pub dscs: usize,
    /// Entries of non-EU pass trust material: issuer keys (`nzcp-did`, `shc-jwks`,
    /// `icao-csca`, `divoc-key`), revocation entries (`shc-crl`: the list and each revoked
    /// `rid`; `icao-crl`: each CRL).
    #[serde(skip_serializing_if = "is_zero")]
    pub pass_keys: usize,
    /// `ok` (last refresh accepted), `failing` (the last good copy stays in force), `empty` (a
    /// local folder with no certificate yet, as on a fresh install), `pending` (not refreshed
    /// yet) or `disabled`.
    pub status: String,
    /// RFC 3339 of the last successful refresh.
    pub last_refresh: Option<String>,
    /// Stable code of the last failure (`FETCH_*`, `LIST_*`), while failing.
    pub last_error: Option<String>,
    /// Not confirmed within the source's `max_age`: verdicts using its keys carry
    /// `TRUST_STALE`.
    pub stale: bool,
}
