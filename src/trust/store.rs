//! Where trust state lives beyond one process: each source's last good raw copy, the merged
//! snapshot and its version.
//!
//! Three layers, always written together and read best-first:
//! * **Redis** (when configured): shared by every instance. Keys, under the configured prefix:
//!   `{p}:trust:snapshot` (JSON [`SnapshotRecord`]), `{p}:trust:current` (its version),
//!   `{p}:trust:version` (the version counter), `{p}:trust:source:{id}`
//!   (JSON [`SourceRecord`] with the raw bytes), `{p}:trust:lock` (sync lock),
//!   `{p}:trust:confirmed` (hash: source id → Unix seconds of its last successful refresh). Every new
//!   snapshot is announced on the pub/sub channel `{p}:trust:updates` (payload: the version).
//! * **local disk** (`<data_dir>/trust/`): so a restart without Redis still has its keys.
//! * **memory**: the embedded default with neither.
//!
//! Redis errors are never fatal: writes still land on disk and in memory, reads fall back, and
//! the caller learns whether Redis took part. Reads pick the highest snapshot version found.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::trust::model::{Dsc, TrustSnapshot};
use crate::util::{base64_decode, base64_encode};

/// One DSC of a stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    pub source: String,
    /// Unix seconds.
    pub fetched_at: Option<i64>,
    /// Base64 DER, exactly as received.
    pub der: String,
}

/// A business rule of a stored snapshot (the rule JSON as the gateway holds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRecord {
    pub source: String,
    pub raw: String,
}

/// A value set of a rule source in a stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSetRecord {
    pub source: String,
    pub id: String,
    pub codes: Vec<String>,
}

/// A stored merged snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub version: u64,
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    pub entries: Vec<EntryRecord>,
    /// Business rules from rule sources (instance-local rules are not shared).
    #[serde(default)]
    pub rules: Vec<RuleRecord>,
    #[serde(default)]
    pub value_sets: Vec<ValueSetRecord>,
    /// Revocation batches in force (EU batch JSON).
    #[serde(default)]
    pub revocations: Vec<BatchRecord>,
    /// Issuer keys of non-EU passes in force.
    #[serde(default)]
    pub pass_keys: Vec<crate::passes::PassKey>,
}

/// A revocation batch of a stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub source: String,
    pub id: String,
    pub json: String,
}

impl SnapshotRecord {
    pub fn from_snapshot(snapshot: &TrustSnapshot, created_at: i64) -> SnapshotRecord {
        let mut entries: Vec<EntryRecord> = snapshot
            .iter()
            .map(|d| EntryRecord {
                source: d.source.clone(),
                fetched_at: d.fetched_at.map(|t| t.unix_timestamp()),
                der: base64_encode(&d.der),
            })
            .collect();
        entries.sort_by(|a, b| (&a.source, &a.der).cmp(&(&b.source, &b.der)));
        let rules = snapshot
            .rules
            .rules
            .iter()
            .filter(|r| r.source != crate::rules::source::LOCAL)
            .filter_map(|r| {
                Some(RuleRecord {
                    source: r.source.clone(),
                    raw: serde_json::to_string(&r.rule).ok()?,
                })
            })
            .collect();
        let value_sets = snapshot
            .rules
            .extra_value_sets
            .iter()
            .filter(|(source, _, _)| source != crate::rules::source::LOCAL)
            .map(|(source, id, codes)| ValueSetRecord {
                source: source.clone(),
                id: id.clone(),
                codes: codes.clone(),
            })
            .collect();
        let revocations = snapshot
            .batches
            .iter()
            .map(|b| BatchRecord {
                source: b.source.clone(),
                id: b.id.clone(),
                json: crate::revocation::to_json(b),
            })
            .collect();
        SnapshotRecord {
            version: snapshot.version,
            id: snapshot.id.clone(),
            created_at,
            entries,
            rules,
            value_sets,
            revocations,
            pass_keys: snapshot.pass_keys.all().to_vec(),
        }
    }

    /// The DSCs of the record (entries that no longer parse are dropped and counted).
    pub fn dscs(&self) -> (Vec<Dsc>, usize) {
        let mut bad = 0;
        let mut out = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let parsed = base64_decode(&e.der).and_then(|der| Dsc::from_der(&der, &e.source).ok());
            match parsed {
                Some(mut dsc) => {
                    dsc.fetched_at = e
                        .fetched_at
                        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
                    out.push(dsc);
                }
                None => bad += 1,
            }
        }
        (out, bad)
    }

    /// The rules of the record (entries that no longer parse are dropped).
    pub fn rules(&self) -> Vec<crate::rules::Checked> {
        self.rules
            .iter()
            .filter_map(|r| crate::rules::parse(r.raw.as_bytes(), &r.source).ok())
            .collect()
    }

    /// The value sets of the record: (source, id, codes).
    pub fn value_sets(&self) -> Vec<crate::rules::SourcedValueSet> {
        self.value_sets
            .iter()
            .map(|v| (v.source.clone(), v.id.clone(), v.codes.clone()))
            .collect()
    }

    /// The revocation batches of the record still in force at `now`.
    pub fn batches(&self, now: time::OffsetDateTime) -> Vec<crate::revocation::Batch> {
        self.revocations
            .iter()
            .filter_map(|b| crate::revocation::parse(&b.id, b.json.as_bytes(), &b.source, now).ok())
            .collect()
    }

    pub fn to_snapshot(&self) -> TrustSnapshot {
        TrustSnapshot::new(self.version, self.dscs().0)
            .with_rules(crate::rules::RuleSet::new(self.rules(), self.value_sets()))
            .with_revocations(self.batches(crate::clock::now()))
            .with_pass_keys(self.pass_keys.clone())
    }
}

/// A source's last good copy and what was learnt from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub id: String,
    /// Base64 of the raw bytes as fetched.
    pub bytes: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Unix seconds.
    pub fetched_at: i64,
    /// Kids (Base64) accepted from this copy.
    pub kids: Vec<String>,
}

/// The outcome of trying the cluster-wide sync lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lock {
    /// This instance holds the lock (release with the token).
    Acquired(String),
    /// Another instance holds it.
    Held,
    /// No Redis: this instance is on its own and may sync.
    Solo,
}

/// The layered store.
pub struct Store {
    redis: Arc<OnceLock<crate::redis::Conn>>,
    prefix: String,
    disk: Option<PathBuf>,
    memory: Mutex<Memory>,
    /// After a Redis failure, Redis is skipped until this instant (no pile-up of timeouts).
    down: crate::redis::Pause,
}

/// Budget of one Redis command of the store.
const REDIS_BUDGET: std::time::Duration = std::time::Duration::from_millis(1000);
/// How long Redis is skipped after a failure.
const REDIS_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Default)]
struct Memory {
    snapshot: Option<SnapshotRecord>,
    sources: std::collections::HashMap<String, SourceRecord>,
}

const VERSION_SCRIPT: &str = r"
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
local c = tonumber(ARGV[1])
if c <= v then c = v + 1 end
redis.call('SET', KEYS[1], c)
return c";

const UNLOCK_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

impl Store {
    /// `redis` may be empty (not configured, or not connected yet); `disk` is the directory
    /// for local copies (`None`: memory only).
    pub fn new(
        redis: Arc<OnceLock<crate::redis::Conn>>,
        prefix: &str,
        disk: Option<PathBuf>,
    ) -> Store {
        Store {
            redis,
            prefix: prefix.to_owned(),
            disk,
            memory: Mutex::new(Memory::default()),
            down: crate::redis::Pause::default(),
        }
    }

    /// Every key of the shared trust state carries the hash tag `{prefix}`: on a Redis
    /// Cluster they live in one slot, so the snapshot's `MULTI` (snapshot, version, announce)
    /// and the scripts that touch several keys work there as on one server.
    fn key(&self, name: &str) -> String {
        format!("{{{}}}:trust:{name}", self.prefix)
    }

    /// The pub/sub channel announcing new snapshots.
    pub fn channel(&self) -> String {
        self.key("updates")
    }

    fn conn(&self) -> Option<crate::redis::Conn> {
        if self.down.active() {
            return None;
        }
        self.redis.get().cloned()
    }

    /// Runs one Redis call within [`REDIS_BUDGET`]; a failure pauses Redis use briefly.
    async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(REDIS_BUDGET, fut).await {
            Ok(Ok(v)) => Some(v),
            _ => {
                self.down.start(REDIS_PAUSE);
                None
            }
        }
    }

    /// Whether a Redis connection has been established.
    pub fn has_redis(&self) -> bool {
        self.redis.get().is_some()
    }

    /// Stores a snapshot everywhere and announces it; returns whether Redis took it.
    pub async fn save_snapshot(&self, record: &SnapshotRecord) -> bool {
        if let Ok(mut m) = self.memory.lock() {
            m.snapshot = Some(record.clone());
        }
        let Ok(json) = serde_json::to_vec(record) else {
            return false;
        };
        self.write_disk("snapshot.json", &json);
        let Some(mut conn) = self.conn() else {
            return false;
        };
        self.call(
            redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(self.key("snapshot"))
                .arg(&json)
                .ignore()
                .cmd("SET")
                .arg(self.key("current"))
                .arg(record.version)
                .ignore()
                .cmd("PUBLISH")
                .arg(self.channel())
                .arg(record.version)
                .ignore()
                .query_async::<()>(&mut conn),
        )
        .await
        .is_some()
    }

    /// The newest snapshot among Redis, disk and memory.
    pub async fn load_snapshot(&self) -> Option<SnapshotRecord> {
        let mut best: Option<SnapshotRecord> =
            self.memory.lock().ok().and_then(|m| m.snapshot.clone());
        let mut consider = |r: Option<SnapshotRecord>| {
            if let Some(r) = r
                && best.as_ref().is_none_or(|b| r.version > b.version)
            {
                best = Some(r);
            }
        };
        consider(
            self.read_disk("snapshot.json")
                .and_then(|b| serde_json::from_slice(&b).ok()),
        );
        if let Some(mut conn) = self.conn() {
            let got = self
                .call(
                    redis::cmd("GET")
                        .arg(self.key("snapshot"))
                        .query_async::<Option<Vec<u8>>>(&mut conn),
                )
                .await;
            consider(got.flatten().and_then(|b| serde_json::from_slice(&b).ok()));
        }
        best
    }

    /// The snapshot version in Redis (None without Redis or on error).
    pub async fn remote_version(&self) -> Option<u64> {
        let mut conn = self.conn()?;
        // `current` is written in the same MULTI as the snapshot, so it never runs ahead of it.
        self.call(
            redis::cmd("GET")
                .arg(self.key("current"))
                .query_async::<Option<u64>>(&mut conn),
        )
        .await
        .flatten()
    }

    /// The snapshot version in Redis, distinguishing "Redis answered: no snapshot" (`Some(None)`)
    /// from "Redis unreachable" (`None`).
    pub async fn remote_version_answer(&self) -> Option<Option<u64>> {
        let mut conn = self.conn()?;
        self.call(
            redis::cmd("GET")
                .arg(self.key("current"))
                .query_async::<Option<u64>>(&mut conn),
        )
        .await
    }

    /// A version above `candidate` and above every version the cluster has handed out.
    pub async fn next_version(&self, candidate: u64) -> u64 {
        if let Some(mut conn) = self.conn() {
            let script = redis::Script::new(VERSION_SCRIPT);
            if let Some(v) = self
                .call(
                    script
                        .key(self.key("version"))
                        .arg(candidate)
                        .invoke_async::<u64>(&mut conn),
                )
                .await
            {
                return v.max(candidate);
            }
        }
        candidate
    }

    /// Stores a source's last good copy.
    pub async fn save_source(&self, record: &SourceRecord) -> bool {
        if let Ok(mut m) = self.memory.lock() {
            m.sources.insert(record.id.clone(), record.clone());
        }
        let Ok(json) = serde_json::to_vec(record) else {
            return false;
        };
        self.write_disk(&format!("source-{}.json", record.id), &json);
        let Some(mut conn) = self.conn() else {
            return false;
        };
        self.call(
            redis::cmd("SET")
                .arg(self.key(&format!("source:{}", record.id)))
                .arg(&json)
                .query_async::<()>(&mut conn),
        )
        .await
        .is_some()
    }

    /// A source's last good copy (Redis, then disk, then memory).
    pub async fn load_source(&self, id: &str) -> Option<SourceRecord> {
        if let Some(mut conn) = self.conn() {
            let got = self
                .call(
                    redis::cmd("GET")
                        .arg(self.key(&format!("source:{id}")))
                        .query_async::<Option<Vec<u8>>>(&mut conn),
                )
                .await;
            if let Some(r) = got.flatten().and_then(|b| serde_json::from_slice(&b).ok()) {
                return Some(r);
            }
        }
        if let Some(r) = self
            .read_disk(&format!("source-{id}.json"))
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            return Some(r);
        }
        self.memory.lock().ok()?.sources.get(id).cloned()
    }

    /// The cluster-wide app-sync ledger (thumbprint → entry), `None` without Redis.
    pub async fn ledger_entries(
        &self,
    ) -> Option<std::collections::BTreeMap<String, crate::trust::ledger::Entry>> {
        let mut conn = self.conn()?;
        let raw = self
            .call(
                redis::cmd("HGETALL")
                    .arg(self.key("ledger"))
                    .query_async::<std::collections::HashMap<String, String>>(&mut conn),
            )
            .await?;
        Some(
            raw.into_iter()
                .filter_map(|(k, v)| serde_json::from_str(&v).ok().map(|e| (k, e)))
                .collect(),
        )
    }

    /// Claims a token for a DSC new to the cluster: `INCR` then `HSETNX`, so tokens only go up
    /// and the first instance to claim a thumbprint wins; returns the entry in force.
    pub async fn ledger_claim(
        &self,
        thumb: &str,
        mut entry: crate::trust::ledger::Entry,
    ) -> Option<crate::trust::ledger::Entry> {
        entry.token = self.next_ledger_token().await?;
        let mut conn = self.conn()?;
        let json = serde_json::to_string(&entry).ok()?;
        let set = self
            .call(
                redis::cmd("HSETNX")
                    .arg(self.key("ledger"))
                    .arg(thumb)
                    .arg(&json)
                    .query_async::<i64>(&mut conn),
            )
            .await?;
        if set == 1 {
            return Some(entry);
        }
        let current = self
            .call(
                redis::cmd("HGET")
                    .arg(self.key("ledger"))
                    .arg(thumb)
                    .query_async::<Option<String>>(&mut conn),
            )
            .await??;
        serde_json::from_str(&current).ok()
    }

    /// The next app-sync token (`INCR`: cluster-wide, only goes up).
    async fn next_ledger_token(&self) -> Option<u64> {
        let mut conn = self.conn()?;
        self.call(
            redis::cmd("INCR")
                .arg(self.key("ledger-next"))
                .query_async::<u64>(&mut conn),
        )
        .await
    }

    /// Gives a DSC that comes back after a deletion a new, higher token (`INCR` + `HSET`).
    pub async fn ledger_reinsert(
        &self,
        thumb: &str,
        mut entry: crate::trust::ledger::Entry,
    ) -> Option<crate::trust::ledger::Entry> {
        entry.token = self.next_ledger_token().await?;
        self.ledger_put(thumb, &entry).await.then_some(entry)
    }

    /// Overwrites one ledger entry (marking a deletion, or re-inserting a returning DSC).
    pub async fn ledger_put(&self, thumb: &str, entry: &crate::trust::ledger::Entry) -> bool {
        let (Some(mut conn), Ok(json)) = (self.conn(), serde_json::to_string(entry)) else {
            return false;
        };
        self.call(
            redis::cmd("HSET")
                .arg(self.key("ledger"))
                .arg(thumb)
                .arg(&json)
                .query_async::<i64>(&mut conn),
        )
        .await
        .is_some()
    }

    /// Records that source `id` was confirmed (a successful refresh, changed or not) at `at`
    /// (Unix seconds), for every instance's staleness check. Only ever moves forward.
    pub async fn mark_confirmed(&self, id: &str, at: i64) -> bool {
        let Some(mut conn) = self.conn() else {
            return false;
        };
        let script = redis::Script::new(
            "local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') \
             if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end \
             return 1",
        );
        self.call(
            script
                .key(self.key("confirmed"))
                .arg(id)
                .arg(at)
                .invoke_async::<i64>(&mut conn),
        )
        .await
        .is_some()
    }

    /// When each source was last confirmed by any instance (Unix seconds); `None` without
    /// Redis.
    pub async fn confirmed(&self) -> Option<std::collections::BTreeMap<String, i64>> {
        let mut conn = self.conn()?;
        let raw = self
            .call(
                redis::cmd("HGETALL")
                    .arg(self.key("confirmed"))
                    .query_async::<std::collections::HashMap<String, i64>>(&mut conn),
            )
            .await?;
        Some(raw.into_iter().collect())
    }

    /// Tries the cluster-wide sync lock for `ttl_ms`.
    pub async fn try_lock(&self, ttl_ms: u64) -> Lock {
        let Some(mut conn) = self.conn() else {
            return Lock::Solo;
        };
        let token = crate::util::hex(&rand_bytes());
        let got = self
            .call(
                redis::cmd("SET")
                    .arg(self.key("lock"))
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async::<Option<String>>(&mut conn),
            )
            .await;
        match got {
            Some(Some(_)) => Lock::Acquired(token),
            Some(None) => Lock::Held,
            // Redis unreachable: behave as a lone instance rather than stop syncing.
            None => Lock::Solo,
        }
    }

    /// Releases the lock if this token still holds it.
    pub async fn unlock(&self, lock: &Lock) {
        let (Lock::Acquired(token), Some(mut conn)) = (lock, self.conn()) else {
            return;
        };
        let script = redis::Script::new(UNLOCK_SCRIPT);
        let _ = self
            .call(
                script
                    .key(self.key("lock"))
                    .arg(token)
                    .invoke_async::<i64>(&mut conn),
            )
            .await;
    }

    fn write_disk(&self, name: &str, bytes: &[u8]) {
        let Some(dir) = &self.disk else {
            return;
        };
        let path = dir.join(name);
        let written = crate::util::write_atomic(&path, bytes);
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "trust state not written to disk");
        }
    }

    fn read_disk(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.disk.as_ref()?.join(name)).ok()
    }
}

fn rand_bytes() -> [u8; 16] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_disk_layers_return_the_newest_snapshot() {
        let dir = std::env::temp_dir().join(format!("dccgw-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = Store::new(Arc::new(OnceLock::new()), "t", Some(dir.clone()));
            assert!(store.load_snapshot().await.is_none());
            assert_eq!(store.try_lock(1000).await, Lock::Solo);
            assert_eq!(store.next_version(7).await, 7);
            let rec = SnapshotRecord {
                version: 3,
                id: "x".into(),
                created_at: 1,
                entries: vec![EntryRecord {
                    source: "s".into(),
                    fetched_at: Some(5),
                    der: "MAA=".into(),
                }],
                rules: Vec::new(),
                value_sets: Vec::new(),
                revocations: Vec::new(),
                pass_keys: Vec::new(),
            };
            assert!(!store.save_snapshot(&rec).await);
            // A fresh store over the same directory (a restart) finds it on disk.
            let again = Store::new(Arc::new(OnceLock::new()), "t", Some(dir.clone()));
            assert_eq!(again.load_snapshot().await, Some(rec.clone()));
            // The unparseable DER entry is dropped and counted, never trusted.
            assert_eq!(rec.dscs().1, 1);
            let src = SourceRecord {
                id: "s".into(),
                bytes: "AA==".into(),
                etag: Some("\"e\"".into()),
                last_modified: None,
                fetched_at: 9,
                kids: vec![],
            };
            store.save_source(&src).await;
            assert_eq!(again.load_source("s").await, Some(src));
            assert_eq!(again.load_source("other").await, None);
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
