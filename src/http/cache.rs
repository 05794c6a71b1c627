//! The result cache: SHA-256(QR text) + trust snapshot id → the instant-independent outcome
//! ([`SignedOutcome`]); the time policy is recomputed for each request's `at`, so cached and
//! uncached answers are identical. A new snapshot changes the key, which invalidates by
//! construction.
//!
//! Bounded and cheap: 16 shards, each two generations of hash maps; when the young generation
//! of a shard is full, the old one is dropped and the young one becomes old. Memory is at most
//! `capacity` entries plus one generation; hits on the old generation are promoted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::hcert::SignedOutcome;

const SHARDS: usize = 16;

type Key = [u8; 32];

#[derive(Default)]
struct Shard {
    young: HashMap<Key, Arc<SignedOutcome>>,
    old: HashMap<Key, Arc<SignedOutcome>>,
}

/// Bounded in-process cache of verification outcomes.
pub struct ResultCache {
    shards: Vec<Mutex<Shard>>,
    per_generation: usize,
}

impl ResultCache {
    pub fn new(capacity: usize) -> ResultCache {
        ResultCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_generation: capacity / SHARDS / 2,
        }
    }

    /// The cache key of a QR text under a snapshot.
    pub fn key(qr: &str, snapshot_id: &str) -> Key {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(snapshot_id.as_bytes());
        ctx.update(&[0]);
        ctx.update(qr.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        key
    }

    fn shard(&self, key: &Key) -> Option<&Mutex<Shard>> {
        self.shards.get(usize::from(key[0]) % SHARDS)
    }

    pub fn get(&self, key: &Key) -> Option<Arc<SignedOutcome>> {
        if self.per_generation == 0 {
            return None;
        }
        let mut shard = self.shard(key)?.lock().ok()?;
        if let Some(v) = shard.young.get(key) {
            return Some(Arc::clone(v));
        }
        let v = shard.old.remove(key)?;
        Self::insert_into(&mut shard, *key, Arc::clone(&v), self.per_generation);
        Some(v)
    }

    pub fn insert(&self, key: Key, value: Arc<SignedOutcome>) {
        if self.per_generation == 0 {
            return;
        }
        if let Some(Ok(mut shard)) = self.shard(&key).map(Mutex::lock) {
            Self::insert_into(&mut shard, key, value, self.per_generation);
        }
    }

    fn insert_into(shard: &mut Shard, key: Key, value: Arc<SignedOutcome>, per_generation: usize) {
        if shard.young.len() >= per_generation {
            shard.old = std::mem::take(&mut shard.young);
        }
        shard.young.insert(key, value);
    }

    /// Entries currently held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| s.young.len() + s.old.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hcert::{ErrorCode, Finding};

    fn outcome() -> Arc<SignedOutcome> {
        Arc::new(Err(Finding::new(ErrorCode::PrefixInvalid, "x")))
    }

    #[test]
    fn bounded_and_keyed_by_snapshot() {
        let cache = ResultCache::new(320);
        for i in 0..10_000 {
            cache.insert(ResultCache::key(&format!("qr{i}"), "s1"), outcome());
        }
        assert!(cache.len() <= 320, "{}", cache.len());
        let k1 = ResultCache::key("same", "s1");
        let k2 = ResultCache::key("same", "s2");
        assert_ne!(k1, k2);
        cache.insert(k1, outcome());
        assert!(cache.get(&k1).is_some());
        assert!(cache.get(&k2).is_none());
        assert!(ResultCache::new(0).get(&k1).is_none());
    }
}
