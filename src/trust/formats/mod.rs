//! Pure parsers (and, for the formats Vietnam publishes, renderers) of trust-list formats.
//!
//! Every adapter takes the raw bytes of a list, the pinned [`Anchor`] of its source, the
//! instant `now` and the source id, and returns an [`Ingested`] set: the DSCs it accepts, every
//! entry it rejects with a stable [`RejectReason`], and the kids the list deletes. A problem
//! with the list *as a whole* (unparseable, bad or missing list signature, expired) is a
//! [`ListError`] and nothing of the list is used. No I/O, no clock: callers pass `now`.
//!
//! | format | module | what vouches for the keys |
//! |---|---|---|
//! | EU gateway `/trustList` JSON | [`eu_json`] | detached CMS per entry: CSCA/UPLOAD by the anchor, DSC by an UPLOAD of its country; DSC chains to a CSCA of its country |
//! | German signed DSC list | [`de_signed`] | first line: base64 raw `r‖s` ECDSA-P256 over the JSON that follows, pinned key |
//! | Swedish JWS trust list | [`se_jws`] | compact JWS ES256, `x5c` chained to the anchor, `iat`/`exp` |
//! | WHO DID v2 document | [`who_did`] | JsonWebSignature2020 proof (checked when an anchor is configured) |
//! | PEM bundle or directory | [`pem`] | the configuration itself |

pub mod de_signed;
pub mod eu_json;
#[doc(hidden)]
pub mod eu_testkit;
pub mod pem;
pub mod se_jws;
pub mod who_did;

#[cfg(test)]
pub(crate) mod testkit;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::trust::model::{Dsc, Kid};
pub use crate::trust::validate::Anchor;

/// A trust-list format (the `format` of a source in `trust-lists/sources.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// EU DCC Gateway `/trustList` JSON array of TrustListItem.
    EuJson,
    /// German signed DSC list (signature line + JSON).
    DeSigned,
    /// Swedish (DIGG) compact JWS trust list.
    SeJws,
    /// WHO GDHCN DID v2 document (`did.json`).
    WhoDid,
    /// PEM bundle (or a directory of PEM/DER files), trusted by configuration.
    Pem,
    /// A business-rule service (`/rules`, `/valuesets`; X-SIGNATURE by the pinned anchor key):
    /// business rules and value sets, not keys.
    RulesService,
    /// A folder of EU revocation batches (`<batchId>.json`), trusted by configuration.
    RevocationFolder,
    /// The EU gateway's revocation listing and CMS-signed batches.
    EuRevocation,
    /// An NZ COVID Pass issuer's DID document (`did.json`): NZCP issuer keys, not DSCs.
    NzcpDid,
    /// A SMART Health Card issuer's JWKS (`/.well-known/jwks.json`, with `issuer` set): SHC
    /// issuer keys, not DSCs.
    ShcJwks,
    /// A PEM bundle of one ICAO issuing state's CSCAs (`issuer` = its code, e.g. `AUS`): the
    /// anchors of VDS-NC barcode signers, not DSCs.
    IcaoCsca,
    /// A SMART Health Card issuer's revocation list for one key (`/.well-known/crl/<kid>.json`,
    /// with `issuer` set): revoked `rid`s, not DSCs.
    ShcCrl,
    /// X.509 CRLs of one ICAO issuing state's CSCAs (`issuer` = its code): revoked barcode
    /// signers, not DSCs.
    IcaoCrl,
    /// A PEM bundle of the public keys (RSA or Ed25519 SPKI) of one DIVOC `verificationMethod`
    /// (`issuer` = it, e.g. `did:india`): DIVOC issuer keys, not DSCs.
    DivocKey,
}

impl Format {
    /// Every format, in the order of the docs.
    pub const ALL: [Format; 14] = [
        Format::EuJson,
        Format::DeSigned,
        Format::SeJws,
        Format::WhoDid,
        Format::Pem,
        Format::RulesService,
        Format::RevocationFolder,
        Format::EuRevocation,
        Format::NzcpDid,
        Format::ShcJwks,
        Format::ShcCrl,
        Format::IcaoCsca,
        Format::IcaoCrl,
        Format::DivocKey,
    ];

    /// Whether the format carries issuer keys of non-EU passes ([`crate::passes`]).
    pub const fn carries_pass_keys(self) -> bool {
        matches!(
            self,
            Format::NzcpDid
                | Format::ShcJwks
                | Format::ShcCrl
                | Format::IcaoCsca
                | Format::IcaoCrl
                | Format::DivocKey
        )
    }

    /// Whether the format carries business rules (else keys).
    pub const fn carries_rules(self) -> bool {
        matches!(self, Format::RulesService)
    }

    /// The format named `name` (case-insensitive), as configuration and the CLI spell it.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The name used in configuration and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Format::EuJson => "eu-json",
            Format::DeSigned => "de-signed",
            Format::SeJws => "se-jws",
            Format::WhoDid => "who-did",
            Format::Pem => "pem",
            Format::RulesService => "rules-service",
            Format::RevocationFolder => "revocation-folder",
            Format::EuRevocation => "eu-revocation",
            Format::NzcpDid => "nzcp-did",
            Format::ShcJwks => "shc-jwks",
            Format::ShcCrl => "shc-crl",
            Format::IcaoCsca => "icao-csca",
            Format::IcaoCrl => "icao-crl",
            Format::DivocKey => "divoc-key",
        }
    }
}

/// Why one entry of a list was rejected. The code is stable (logs, metrics, CLI).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectReason {
    /// The entry's CMS signature is malformed or does not verify.
    BadCms,
    /// The entry (or its CMS) is signed by someone other than the required signer.
    WrongSigner,
    /// The DSC does not chain to a CSCA of its country.
    NoCscaChain,
    /// The certificate's validity ended longer ago than the source keeps expired DSCs.
    Expired,
    /// The key is not one the gateway can verify HC1 signatures with (not P-256 or RSA, or an
    /// RSA modulus outside 2048–4096 bits).
    UnsupportedKey,
    /// The stated kid is not SHA-256(DER)[..8].
    KidMismatch,
    /// The same certificate appears twice in the list.
    Duplicate,
    /// The entry is not well formed (bad Base64, not X.509, missing fields).
    Malformed,
    /// The certificate's country differs from the entry's country.
    CountryMismatch,
    /// The entry's CMS uses SHA-1 (refused: SHA-1 collisions are practical, and the CMS is
    /// the only thing vouching for the entry).
    WeakDigest,
    /// A CA certificate (cA=TRUE), or one whose key usage excludes digitalSignature: never a
    /// document signer, whatever list carries it.
    NotASigner,
    /// The entry is in the JSON but not in what the list's signature covers (a Linked Data
    /// proof signs the RDF; members its contexts do not map are unsigned).
    NotSigned,
}

impl RejectReason {
    pub const fn code(self) -> &'static str {
        match self {
            RejectReason::BadCms => "BAD_CMS",
            RejectReason::WrongSigner => "WRONG_SIGNER",
            RejectReason::NoCscaChain => "NO_CSCA_CHAIN",
            RejectReason::Expired => "EXPIRED",
            RejectReason::UnsupportedKey => "UNSUPPORTED_KEY",
            RejectReason::KidMismatch => "KID_MISMATCH",
            RejectReason::Duplicate => "DUPLICATE",
            RejectReason::Malformed => "MALFORMED",
            RejectReason::CountryMismatch => "COUNTRY_MISMATCH",
            RejectReason::NotASigner => "NOT_A_SIGNER",
            RejectReason::WeakDigest => "WEAK_DIGEST",
            RejectReason::NotSigned => "NOT_SIGNED",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One rejected entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The entry as the list names it: its kid if it has one, else `#<index>`.
    pub entry: String,
    pub country: Option<String>,
    pub reason: RejectReason,
}

/// Why a list as a whole was refused. Nothing of a refused list is used.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("the list is malformed: {0}")]
    Malformed(String),
    #[error("the list signature does not verify")]
    BadSignature,
    #[error("the list is not signed by the pinned anchor")]
    WrongSigner,
    #[error("this format needs a pinned anchor")]
    AnchorRequired,
    #[error("the list has expired")]
    Expired,
    #[error("the list is not valid yet")]
    NotYetValid,
    #[error("the list has no acceptable keys")]
    Empty,
    #[error("the list has more than {0} entries")]
    TooManyEntries(usize),
}

impl ListError {
    /// Stable code for logs, metrics and the CLI.
    pub const fn code(&self) -> &'static str {
        match self {
            ListError::Malformed(_) => "LIST_MALFORMED",
            ListError::BadSignature => "LIST_SIGNATURE_INVALID",
            ListError::WrongSigner => "LIST_WRONG_SIGNER",
            ListError::AnchorRequired => "LIST_ANCHOR_REQUIRED",
            ListError::Expired => "LIST_EXPIRED",
            ListError::NotYetValid => "LIST_NOT_YET_VALID",
            ListError::Empty => "LIST_EMPTY",
            ListError::TooManyEntries(_) => "LIST_TOO_MANY_ENTRIES",
        }
    }
}

/// Replay-protection metadata a signed list may carry inside its signed content (Vietnam's own
/// publications: [`de_signed`], [`who_did`]). Callers refuse a list whose `version` is lower
/// than the one they already hold; `expires` is enforced by the adapters themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListMeta {
    /// Monotonic list version, if stated.
    pub version: Option<u64>,
    /// The instant after which the list must not be used, if stated.
    pub expires: Option<OffsetDateTime>,
}

impl ListMeta {
    /// Reads the top-level `version` (unsigned integer) and `expires` (RFC 3339 string) members
    /// of a list object; a member of the wrong type is malformed.
    pub fn from_object(
        object: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ListMeta, ListError> {
        let version = match object.get("version") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                ListError::Malformed("version is not an unsigned integer".into())
            })?),
        };
        let expires =
            match object.get("expires") {
                None => None,
                Some(v) => Some(v.as_str().and_then(crate::util::parse_rfc3339).ok_or_else(
                    || ListError::Malformed("expires is not an RFC 3339 instant".into()),
                )?),
            };
        Ok(ListMeta { version, expires })
    }

    /// [`ListError::Expired`] at and after `expires`.
    pub fn check(&self, now: OffsetDateTime) -> Result<(), ListError> {
        match self.expires {
            Some(expires) if now >= expires => Err(ListError::Expired),
            _ => Ok(()),
        }
    }
}

/// How long after its `notAfter` a DSC is still kept (verification at past instants): the
/// default of a source's `keep_expired_days`.
pub const KEEP_EXPIRED: time::Duration = time::Duration::days(365);

/// Most characters of an upstream string (a kid, a country, an entry name) echoed into reports
/// and logs.
pub const MAX_ECHO: usize = 64;

/// `s` cut to [`MAX_ECHO`] characters (with `…` when cut): upstream text is never echoed whole.
pub fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_ECHO {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_ECHO).collect();
        out.push('…');
        out
    }
}

/// Most entries one list may hold (bounds work on hostile input).
pub const MAX_ENTRIES: usize = 100_000;

/// What an adapter needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The pinned anchor of the source (may be empty: see each format).
    pub anchor: &'a Anchor,
    /// The instant validity is judged at.
    pub now: OffsetDateTime,
    /// The source id, recorded in each accepted DSC.
    pub source: &'a str,
    /// DSCs whose `notAfter` is further than this before `now` are refused (`EXPIRED`); more
    /// recent ones, and DSCs not valid yet, are kept: the trust timeline (verification checks
    /// the DSC's validity at its own instant).
    pub keep_expired: time::Duration,
}

/// The outcome of reading one list.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    /// Accepted DSCs (each with `source` set to the context's source).
    pub dscs: Vec<Dsc>,
    /// Entries not accepted, with the reason.
    pub rejected: Vec<Rejected>,
    /// Kids the list explicitly deletes (EU delta entries with `rawData: null`).
    pub deleted: Vec<Kid>,
    /// UPLOAD certificates the list vouches for, by country (EU lists: the signers of
    /// revocation batches).
    pub uploads: Vec<(String, Vec<u8>)>,
    /// DER of every accepted certificate, for duplicate detection.
    seen: std::collections::HashSet<std::sync::Arc<[u8]>>,
}

impl Ingested {
    /// Countries of the accepted DSCs.
    pub fn countries(&self) -> BTreeSet<String> {
        self.dscs.iter().filter_map(|d| d.country.clone()).collect()
    }

    /// Refuses a list that yields no key at all (an empty or wholly rejected list never
    /// replaces a good one).
    pub fn non_empty(self) -> Result<Ingested, ListError> {
        if self.dscs.is_empty() {
            Err(ListError::Empty)
        } else {
            Ok(self)
        }
    }

    /// Number of rejected entries per reason code.
    pub fn rejected_by_reason(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut out = std::collections::BTreeMap::new();
        for r in &self.rejected {
            *out.entry(r.reason.code()).or_insert(0) += 1;
        }
        out
    }
}

/// Reads a list of `format` (not yet checked for emptiness: see [`Ingested::non_empty`]).
pub fn ingest(format: Format, bytes: &[u8], ctx: &Context<'_>) -> Result<Ingested, ListError> {
    match format {
        Format::EuJson => eu_json::ingest(bytes, ctx),
        Format::DeSigned => de_signed::ingest(bytes, ctx),
        Format::SeJws => se_jws::ingest(bytes, ctx),
        Format::WhoDid => who_did::ingest(bytes, ctx),
        Format::Pem => pem::ingest(bytes, ctx),
        Format::RulesService
        | Format::RevocationFolder
        | Format::EuRevocation
        | Format::NzcpDid
        | Format::ShcJwks
        | Format::ShcCrl
        | Format::IcaoCsca
        | Format::IcaoCrl
        | Format::DivocKey => Err(ListError::Malformed(
            "this source holds rules, revocations or pass issuer keys, not DSCs".into(),
        )),
    }
}

/// Shared per-entry checks once an entry's certificate is trusted by its format: kid, validity
/// and key type. Returns the DSC or the reason it is rejected.
pub fn admit(der: &[u8], stated_kid: Option<&str>, ctx: &Context<'_>) -> Result<Dsc, RejectReason> {
    if let Some(kid) = stated_kid
        && Kid::of_der(der).to_base64() != kid
    {
        return Err(RejectReason::KidMismatch);
    }
    let dsc = Dsc::from_der(der, ctx.source).map_err(|_| RejectReason::Malformed)?;
    if !dsc.may_sign {
        return Err(RejectReason::NotASigner);
    }
    if ctx.now > dsc.not_after + ctx.keep_expired {
        return Err(RejectReason::Expired);
    }
    if !dsc.key.supported() {
        return Err(RejectReason::UnsupportedKey);
    }
    Ok(dsc)
}

/// Pushes `dsc` unless the same certificate was already accepted (then records a duplicate).
pub fn push_unique(out: &mut Ingested, dsc: Dsc, entry: String) {
    if out.seen.insert(std::sync::Arc::clone(&dsc.der)) {
        out.dscs.push(dsc);
    } else {
        out.rejected.push(Rejected {
            entry,
            country: dsc.country.clone(),
            reason: RejectReason::Duplicate,
        });
    }
}
