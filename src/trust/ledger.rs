//! The app-sync ledger: a stable, increasing resume token for every DSC ever published, and
//! the deletion time of those no longer trusted (DGCA verifier-service protocol semantics).
//!
//! Tokens are assigned at first sight in increasing order and persisted, so they survive
//! restarts: an app resuming from an old token still receives every DSC added since. A DSC is
//! identified by its SHA-256 thumbprint (kids may collide); a DSC that disappears is marked
//! deleted with the time, and one that comes back gets a new, higher token (as the reference
//! service re-inserts changed rows). Pure: the caller passes `now` and does the file I/O.
//!
//! Cluster-wide tokens: with Redis, `Live::sync_ledger_shared` keeps the ledger in a Redis
//! hash (tokens from `INCR`, first claim wins with `HSETNX`), so every instance and every restart
//! hands out the same increasing token for the same DSC; this pure ledger is then only the local
//! copy (also persisted in `<data_dir>/sync-ledger.json`). Without Redis it is the ledger.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::trust::model::TrustSnapshot;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub token: u64,
    pub kid: String,
    pub country: Option<String>,
    /// Unix seconds when the token was assigned.
    pub since: i64,
    /// Unix seconds when the DSC left the trust snapshot.
    pub deleted: Option<i64>,
}

/// Thumbprint (hex SHA-256 of the DER) → entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub next: u64,
    pub entries: BTreeMap<String, Entry>,
}

/// Every DSC of `snapshot` valid at `now`, in the order tokens are handed out (notBefore, then
/// kid), as its thumbprint and the entry it gets when it needs a token (`token` still 0). App
/// sync publishes only DSCs valid now: one kept for past instants is not offered to apps, and
/// one not valid yet arrives when its validity begins.
pub fn arrivals(snapshot: &TrustSnapshot, now: i64) -> Vec<(String, Entry)> {
    let at = OffsetDateTime::from_unix_timestamp(now).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut dscs: Vec<_> = snapshot.iter().filter(|d| d.valid_at(at)).collect();
    dscs.sort_by_key(|d| (d.not_before, d.kid));
    dscs.into_iter()
        .map(|dsc| {
            let entry = Entry {
                token: 0,
                kid: dsc.kid.to_base64(),
                country: dsc.country.clone(),
                since: now,
                deleted: None,
            };
            (crate::util::sha256_hex(&dsc.der), entry)
        })
        .collect()
}

/// Whether the DSC of `thumb` needs a (new) token: never seen, or back after a deletion.
pub fn needs_token(entries: &BTreeMap<String, Entry>, thumb: &str) -> bool {
    entries.get(thumb).is_none_or(|e| e.deleted.is_some())
}

/// Marks deleted at `now` every live entry whose DSC is not in `present`; returns their
/// thumbprints.
pub fn mark_departed(
    entries: &mut BTreeMap<String, Entry>,
    present: &BTreeSet<String>,
    now: i64,
) -> Vec<String> {
    let mut departed = Vec::new();
    for (thumb, e) in entries.iter_mut() {
        if e.deleted.is_none() && !present.contains(thumb) {
            e.deleted = Some(now);
            departed.push(thumb.clone());
        }
    }
    departed
}

impl Ledger {
    /// Brings the ledger in line with `snapshot`; returns whether anything changed.
    pub fn sync(&mut self, snapshot: &TrustSnapshot, now: OffsetDateTime) -> bool {
        let now = now.unix_timestamp();
        let arrivals = arrivals(snapshot, now);
        let present: BTreeSet<String> = arrivals.iter().map(|(t, _)| t.clone()).collect();
        let mut changed = false;
        for (thumb, mut entry) in arrivals {
            if needs_token(&self.entries, &thumb) {
                self.next += 1;
                entry.token = self.next;
                self.entries.insert(thumb, entry);
                changed = true;
            }
        }
        !mark_departed(&mut self.entries, &present, now).is_empty() || changed
    }

    /// The live entry with the smallest token above `after`, and its thumbprint.
    pub fn next_after(&self, after: u64) -> Option<(&String, &Entry)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.deleted.is_none() && e.token > after)
            .min_by_key(|(_, e)| e.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_snapshot_changes_nothing() {
        let mut l = Ledger::default();
        assert!(!l.sync(&TrustSnapshot::default(), OffsetDateTime::UNIX_EPOCH));
        assert!(l.next_after(0).is_none());
    }
}
