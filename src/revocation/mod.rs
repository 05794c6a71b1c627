//! Revocation batches as trust material: the EU DCC revocation batch (`{country, expires, kid
//! | "UNKNOWN_KID", hashType, entries: [{hash}]}`), checked and bounded, and a local folder of
//! batch files trusted by configuration (`format = "revocation-folder"`, one `<batchId>.json`
//! per batch). Batches flow like keys and rules: last good copy per source, removal guard,
//! shared through Redis inside the snapshot, an index in the snapshot in force
//! ([`crate::hcert::revocation::Index`]) that the policy stage reads (`REVOKED`).

pub mod distribution;
pub mod filters;
pub mod gateway;
pub mod own;

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::hcert::revocation::{Hash, HashType, Index, Scope};
use crate::trust::sources::FetchError;

/// Most entries of one batch (the EU gateway's limit).
pub const MAX_ENTRIES: usize = 1000;
/// Largest batch file.
pub const MAX_BATCH_BYTES: u64 = 1024 * 1024;
/// Most batch files of one folder.
pub const MAX_BATCHES: usize = 10_000;

/// One revocation batch in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: String,
    pub country: String,
    pub expires: OffsetDateTime,
    /// `None`: `UNKNOWN_KID` (every certificate of the country).
    pub kid: Option<[u8; 8]>,
    pub hash_type: HashType,
    pub hashes: Vec<Hash>,
    pub source: String,
}

impl crate::trust::material::Material for Batch {
    const KIND: &'static str = "revocation";

    fn identity(&self) -> String {
        self.id.clone()
    }

    fn in_force(&self, now: OffsetDateTime) -> bool {
        now < self.expires
    }
}

/// The EU batch JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchJson {
    country: String,
    expires: String,
    kid: String,
    hash_type: HashType,
    entries: Vec<EntryJson>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryJson {
    hash: String,
}

/// Why a batch is not used (it alone; the others stay).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the batch is larger than {MAX_BATCH_BYTES} bytes")]
    TooLarge,
    #[error("not a revocation batch: {0}")]
    Malformed(String),
    #[error("the batch id must be 1 to 64 letters, digits, '-' or '_'")]
    BadId,
    #[error("country {0:?} is not two upper-case letters")]
    BadCountry(String),
    #[error("kid is neither UNKNOWN_KID nor 8 bytes of Base64")]
    BadKid,
    #[error("a batch holds 1 to {MAX_ENTRIES} entries, this one {0}")]
    EntryCount(usize),
    #[error("entry {0} is not 16 bytes of Base64")]
    BadHash(usize),
    #[error("the batch expired")]
    Expired,
}

impl BatchError {
    pub fn code(&self) -> &'static str {
        match self {
            BatchError::TooLarge => "BATCH_TOO_LARGE",
            BatchError::Expired => "BATCH_EXPIRED",
            _ => "BATCH_MALFORMED",
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Parses and checks one batch `id` (a batch past its `expires` at `now` is not used: every
/// certificate it names has expired).
pub fn parse(
    id: &str,
    bytes: &[u8],
    source: &str,
    now: OffsetDateTime,
) -> Result<Batch, BatchError> {
    if bytes.len() as u64 > MAX_BATCH_BYTES {
        return Err(BatchError::TooLarge);
    }
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(BatchError::BadId);
    }
    let json: BatchJson =
        serde_json::from_slice(bytes).map_err(|e| BatchError::Malformed(clip(&e.to_string())))?;
    if !(json.country.len() == 2 && json.country.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(BatchError::BadCountry(clip(&json.country)));
    }
    let expires = crate::util::parse_rfc3339(&json.expires)
        .ok_or_else(|| BatchError::Malformed("expires is not an RFC 3339 instant".into()))?;
    let kid = if json.kid == "UNKNOWN_KID" {
        None
    } else {
        Some(
            crate::util::base64_decode(&json.kid)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .ok_or(BatchError::BadKid)?,
        )
    };
    if json.entries.is_empty() || json.entries.len() > MAX_ENTRIES {
        return Err(BatchError::EntryCount(json.entries.len()));
    }
    let hashes = json
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            crate::util::base64_decode(&e.hash)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .ok_or(BatchError::BadHash(i))
        })
        .collect::<Result<Vec<Hash>, _>>()?;
    if expires <= now {
        return Err(BatchError::Expired);
    }
    Ok(Batch {
        id: id.to_owned(),
        country: json.country,
        expires,
        kid,
        hash_type: json.hash_type,
        hashes,
        source: source.to_owned(),
    })
}

/// The batch as EU JSON (how the snapshot record carries it).
pub fn to_json(batch: &Batch) -> String {
    let json = BatchJson {
        country: batch.country.clone(),
        expires: crate::util::rfc3339(batch.expires),
        kid: batch.kid.map_or_else(
            || "UNKNOWN_KID".to_owned(),
            |k| crate::util::base64_encode(&k),
        ),
        hash_type: batch.hash_type,
        entries: batch
            .hashes
            .iter()
            .map(|h| EntryJson {
                hash: crate::util::base64_encode(h),
            })
            .collect(),
    };
    serde_json::to_string(&json).unwrap_or_default()
}

/// The index of `batches` for the policy stage.
pub fn index(batches: &[Batch]) -> Index {
    let mut index = Index::default();
    for b in batches {
        let scope = match b.kid {
            Some(kid) => Scope::Kid(kid),
            None => match Scope::country(&b.country) {
                Some(s) => s,
                None => continue,
            },
        };
        index.add(scope, b.hash_type, &b.hashes, &b.id, &b.source);
    }
    index
}

/// A folder read as one copy: `(batch id, text)` of every `*.json`, sorted by id (`None`: a
/// file over [`MAX_BATCH_BYTES`], not read).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Bundle {
    pub batches: Vec<(String, Option<String>)>,
}

/// Reads `<dir>/*.json` (bounded: [`MAX_BATCHES`] files, each [`MAX_BATCH_BYTES`], all
/// together `max_bytes`).
pub fn read_dir(dir: &Path, max_bytes: u64) -> Result<Bundle, FetchError> {
    let io = |e: std::io::Error| FetchError::Io(format!("{}: {e}", dir.display()));
    if !dir.exists() {
        // Vietnam's own folder before the first `revoke`: no batch yet.
        return Ok(Bundle::default());
    }
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut total = 0u64;
    let mut bundle = Bundle::default();
    for path in paths.into_iter().take(MAX_BATCHES) {
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let len = std::fs::metadata(&path).map_err(io)?.len();
        total = total.saturating_add(len.min(MAX_BATCH_BYTES + 1));
        if total > max_bytes {
            return Err(FetchError::TooLarge(max_bytes));
        }
        let text = if len > MAX_BATCH_BYTES {
            None
        } else {
            Some(std::fs::read_to_string(&path).map_err(io)?)
        };
        bundle.batches.push((id, text));
    }
    Ok(bundle)
}

/// The batches of a copy, each bad one rejected alone: `(batches, [(batch id, code)])`.
pub fn ingest(
    bundle: &Bundle,
    source: &str,
    now: OffsetDateTime,
) -> (Vec<Batch>, Vec<(String, &'static str)>) {
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    for (id, text) in &bundle.batches {
        let parsed = match text {
            Some(text) => parse(id, text.as_bytes(), source, now),
            None => Err(BatchError::TooLarge),
        };
        match parsed {
            Ok(b) => ok.push(b),
            Err(e) => rejected.push((clip(id), e.code())),
        }
    }
    (ok, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

    #[test]
    fn batches_are_checked_and_each_bad_one_refused_alone() {
        let good = br#"{"country":"DE","expires":"2027-01-01T00:00:00Z","kid":"AAECAwQFBgc=","hashType":"UCI","entries":[{"hash":"AAECAwQFBgcICQoLDA0ODw=="}]}"#;
        let b = parse("b-1", good, "s", NOW).unwrap();
        assert_eq!(
            (b.kid, b.hash_type, b.hashes.len()),
            (Some([0, 1, 2, 3, 4, 5, 6, 7]), HashType::Uci, 1)
        );
        let round = parse("b-1", to_json(&b).as_bytes(), "s", NOW).unwrap();
        assert_eq!(round, b);
        let text = std::str::from_utf8(good).unwrap();
        let cases = [
            (text.replace("2027", "2025"), "BATCH_EXPIRED"),
            (
                text.replace("AAECAwQFBgcICQoLDA0ODw==", "AAEC"),
                "BATCH_MALFORMED",
            ),
            (text.replace("AAECAwQFBgc=", "x"), "BATCH_MALFORMED"),
            (text.replace("\"DE\"", "\"Germany\""), "BATCH_MALFORMED"),
            (text.replace("UCI", "MD5"), "BATCH_MALFORMED"),
            (
                text.replace("[{\"hash\":\"AAECAwQFBgcICQoLDA0ODw==\"}]", "[]"),
                "BATCH_MALFORMED",
            ),
        ];
        for (bad, code) in cases {
            assert_eq!(
                parse("b", bad.as_bytes(), "s", NOW).unwrap_err().code(),
                code,
                "{bad}"
            );
        }
        assert_eq!(
            parse("../x", good, "s", NOW).unwrap_err(),
            BatchError::BadId
        );
        let unknown = text.replace("AAECAwQFBgc=", "UNKNOWN_KID");
        assert_eq!(parse("u", unknown.as_bytes(), "s", NOW).unwrap().kid, None);
    }
}
