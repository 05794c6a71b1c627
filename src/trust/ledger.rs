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

use std::collections::BTreeMap;

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

impl Ledger {
    /// Brings the ledger in line with `snapshot`; returns whether anything changed.
    pub fn sync(&mut self, snapshot: &TrustSnapshot, now: OffsetDateTime) -> bool {
        let now = now.unix_timestamp();
        let mut present = std::collections::BTreeSet::new();
        let mut changed = false;
        let mut dscs: Vec<_> = snapshot.iter().collect();
        dscs.sort_by_key(|d| (d.not_before, d.kid));
        for dsc in dscs {
            let thumb = crate::util::sha256_hex(&dsc.der);
            present.insert(thumb.clone());
            let fresh = match self.entries.get(&thumb) {
                Some(e) => e.deleted.is_some(),
                None => true,
            };
            if fresh {
                self.next += 1;
                self.entries.insert(
                    thumb,
                    Entry {
                        token: self.next,
                        kid: dsc.kid.to_base64(),
                        country: dsc.country.clone(),
                        since: now,
                        deleted: None,
                    },
                );
                changed = true;
            }
        }
        for (thumb, e) in &mut self.entries {
            if e.deleted.is_none() && !present.contains(thumb) {
                e.deleted = Some(now);
                changed = true;
            }
        }
        changed
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
