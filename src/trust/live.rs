//! The trust runtime of one instance, below HTTP: the snapshot in force and its age, the trust
//! sources with their health ([`Trust`]), the shared store (Redis, disk, memory), and the
//! app-sync ledger. Everything that changes what is trusted goes through here; the HTTP layer
//! holds an `Arc<Live>` and only reads (the admin refresh calls [`Live::refresh`]).
//!
//! The start-up walk: [`Live::bootstrap`] (stored snapshot, then one refresh per source) →
//! development keys if needed ([`Live::bootstrap_local`]) → [`spawn`] (refresh loops, the
//! one-second follower and the pub/sub subscriber). Every method takes `&self`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use time::OffsetDateTime;

use crate::trust::ledger::Ledger;
use crate::trust::model::TrustSnapshot;
use crate::trust::refresh::{self, Outcome, RefreshError, SourceStatus, Trust, next_delay};
use crate::trust::sources::SourceConfig;
use crate::trust::store::Store;

/// The trust runtime: see the module docs.
pub struct Live {
    /// The trust snapshot the hot path reads; swapped atomically on refresh.
    pub snapshot: ArcSwapOption<TrustSnapshot>,
    /// When the current snapshot was swapped in (for its age in `/readyz` and `/metrics`).
    loaded_at: Mutex<Option<OffsetDateTime>>,
    /// App-sync resume tokens and deletions, persisted in `<data_dir>/sync-ledger.json`.
    pub ledger: Mutex<Ledger>,
    /// Trust sources, their health, and the shared store of snapshots.
    pub sources: Trust,
    /// Sources whose keys are stale (see [`Trust::stale_sources`]), recomputed every second.
    pub stale: arc_swap::ArcSwap<BTreeSet<String>>,
    /// Files of the local rules folder refused by the last load, with their reasons.
    pub rules_rejected: Mutex<Vec<crate::rules::source::Rejected>>,
    data_dir: PathBuf,
    redis: Option<crate::redis::Deployment>,
}

impl Live {
    /// A runtime over `sources`, its store in `<data_dir>/trust` and Redis (`redis`, possibly
    /// connected later) under `redis_prefix`.
    pub fn new(
        data_dir: &Path,
        deployment: Option<crate::redis::Deployment>,
        redis_prefix: &str,
        redis: Arc<OnceLock<crate::redis::Conn>>,
        snapshot: Option<TrustSnapshot>,
        sources: Vec<SourceConfig>,
    ) -> Live {
        let store = Store::new(redis, redis_prefix, Some(data_dir.join("trust")));
        Live {
            loaded_at: Mutex::new(snapshot.as_ref().map(|_| crate::clock::now())),
            snapshot: ArcSwapOption::new(snapshot.map(Arc::new)),
            ledger: Mutex::new(load_ledger(data_dir)),
            sources: Trust::new(sources, store),
            rules_rejected: Mutex::new(Vec::new()),
            stale: arc_swap::ArcSwap::from_pointee(BTreeSet::new()),
            data_dir: data_dir.to_path_buf(),
            redis: deployment,
        }
    }

    /// Refreshes source `id` now (the scheduled loops and the admin endpoint call this).
    pub async fn refresh(&self, id: &str) -> Result<Outcome, RefreshError> {
        self.sources.refresh(self, id).await
    }

    /// Loads the instance-local business rules of the folder `dir` (`<CC>/*.json`): each bad
    /// file is refused alone and logged. They are merged into every snapshot this instance
    /// publishes or adopts (and into the one in force now, if any).
    pub fn load_rules(&self, dir: &Path) {
        let loaded = crate::rules::source::load_dir(dir, crate::rules::source::LOCAL);
        tracing::info!(dir = %dir.display(), rules = loaded.set.rules.len(), rejected = loaded.rejected.len(), "business rules loaded");
        self.sources
            .set_local_rules(loaded.set.rules, loaded.value_sets);
        if let Ok(mut r) = self.rules_rejected.lock() {
            *r = loaded.rejected;
        }
        if let Some(current) = self.snapshot.load_full() {
            let with = (*current).clone().with_rules(self.sources.rule_set());
            self.snapshot.store(Some(Arc::new(with)));
        }
    }

    /// Start-up: the stored snapshot, then one refresh of every enabled source.
    pub async fn bootstrap(&self) {
        self.sources.bootstrap(self).await;
    }

    /// Publishes a snapshot with the local keys set after [`Live::bootstrap`].
    pub async fn bootstrap_local(&self) {
        self.sources.bootstrap_local(self).await;
    }

    /// Adopts the stored snapshot if it is newer than the one in force.
    pub async fn adopt_newer(&self) -> bool {
        self.sources.adopt_newer(self).await
    }

    /// Pushes the snapshot in force back to a Redis that holds an older one or none.
    pub async fn republish_if_newer(&self) -> bool {
        self.sources.republish_if_newer(self).await
    }

    /// When the snapshot in force was swapped in.
    pub fn loaded_at(&self) -> Option<OffsetDateTime> {
        *self.loaded_at.lock().ok()?
    }

    /// Health of every source.
    pub fn statuses(&self) -> Vec<SourceStatus> {
        let stale = self.stale.load();
        let mut all = self.sources.statuses();
        for s in &mut all {
            s.stale = stale.contains(&s.id);
        }
        all
    }

    /// Assigns app-sync tokens to new DSCs, marks vanished ones deleted, and persists the ledger.
    pub fn sync_ledger(&self) {
        let Some(snapshot) = self.snapshot.load_full() else {
            return;
        };
        let Ok(mut ledger) = self.ledger.lock() else {
            return;
        };
        if ledger.sync(&snapshot, crate::clock::now()) {
            drop(ledger);
            self.persist_ledger();
        }
    }

    fn persist_ledger(&self) {
        let Ok(ledger) = self.ledger.lock() else {
            return;
        };
        let path = ledger_path(&self.data_dir);
        let written = serde_json::to_vec(&*ledger)
            .map_err(std::io::Error::other)
            .and_then(|bytes| crate::util::write_atomic(&path, &bytes));
        if let Err(e) = written {
            tracing::warn!(error = %e, "app-sync ledger not persisted");
        }
    }

    /// Makes the app-sync ledger cluster-wide: tokens come from Redis (`INCR` + `HSETNX`), so
    /// every instance hands out the same, increasing token for the same DSC, across restarts.
    /// Without Redis (or while it is down) the local ledger stands and is reconciled later.
    pub async fn sync_ledger_shared(&self) {
        use crate::trust::ledger::{arrivals, mark_departed, needs_token};
        let Some(snapshot) = self.snapshot.load_full() else {
            return;
        };
        let store = &self.sources.store;
        let Some(mut shared) = store.ledger_entries().await else {
            return;
        };
        let now = crate::clock::now().unix_timestamp();
        let arrivals = arrivals(&snapshot, now);
        let present: BTreeSet<String> = arrivals.iter().map(|(t, _)| t.clone()).collect();
        for (thumb, fresh) in arrivals {
            if !needs_token(&shared, &thumb) {
                continue;
            }
            let claimed = if shared.contains_key(&thumb) {
                // Back after a deletion: a new, higher token (as the reference service does).
                store.ledger_reinsert(&thumb, fresh).await
            } else {
                store.ledger_claim(&thumb, fresh).await
            };
            match claimed {
                Some(e) => {
                    shared.insert(thumb, e);
                }
                None => return,
            }
        }
        // Only an instance whose snapshot is the cluster's newest may record deletions.
        let newest = store
            .remote_version()
            .await
            .is_none_or(|v| snapshot.version >= v);
        if newest {
            for thumb in mark_departed(&mut shared, &present, now) {
                if let Some(e) = shared.get(&thumb) {
                    store.ledger_put(&thumb, e).await;
                }
            }
        }
        if let Ok(mut ledger) = self.ledger.lock() {
            ledger.next = shared.values().map(|e| e.token).max().unwrap_or(0);
            ledger.entries = shared;
        }
        self.persist_ledger();
    }

    /// Swaps in a new trust snapshot atomically; cached results of the old one stop matching.
    pub fn swap_snapshot(&self, snapshot: TrustSnapshot) {
        self.snapshot.store(Some(Arc::new(snapshot)));
        // With Redis, tokens are assigned cluster-wide by `sync_ledger_shared` only.
        if !self.sources.store.has_redis() {
            self.sync_ledger();
        }
        if let Ok(mut at) = self.loaded_at.lock() {
            *at = Some(crate::clock::now());
        }
    }

    /// Recomputes which sources are stale; logs each change.
    pub fn update_staleness(&self) {
        let now_stale = self.sources.stale_sources(crate::clock::now());
        let before = self.stale.load();
        if **before != now_stale {
            for id in now_stale.difference(&before) {
                tracing::warn!(source = %id, "trust source is stale: verdicts using its keys carry TRUST_STALE");
            }
            for id in before.difference(&now_stale) {
                tracing::info!(source = %id, "trust source confirmed again; no longer stale");
            }
            self.stale.store(Arc::new(now_stale));
        }
    }

    /// Seconds since the current snapshot was loaded.
    pub fn snapshot_age_secs(&self) -> Option<i64> {
        let at = self.loaded_at()?;
        Some((crate::clock::now() - at).whole_seconds())
    }
}

fn ledger_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("sync-ledger.json")
}

fn load_ledger(data_dir: &std::path::Path) -> crate::trust::ledger::Ledger {
    std::fs::read(ledger_path(data_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Spawns the refresh loop of every enabled source and the snapshot follower (pub/sub and a
/// one-second version poll). Call from within the actix/tokio runtime.
pub fn spawn(state: std::sync::Arc<Live>) {
    let ids: Vec<(String, Duration)> = state
        .sources
        .configs()
        .filter(|c| c.enabled)
        .map(|c| (c.id.clone(), c.refresh_interval()))
        .collect();
    for (id, interval) in ids {
        let state = std::sync::Arc::clone(&state);
        tokio::task::spawn_local(async move {
            let mut failures = 0u32;
            loop {
                tokio::time::sleep(next_delay(interval, failures, refresh::jitter())).await;
                match state.refresh(&id).await {
                    Ok(Outcome::Skipped) => {}
                    Ok(_) => failures = 0,
                    Err(_) => failures = failures.saturating_add(1),
                }
            }
        });
    }
    let poller = std::sync::Arc::clone(&state);
    tokio::task::spawn_local(async move {
        let mut ticks = 0u64;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let adopted = poller.adopt_newer().await;
            if !adopted {
                poller.republish_if_newer().await;
            }
            if ticks.is_multiple_of(10) {
                poller.sources.follow_confirmations().await;
            }
            poller.update_staleness();
            if !adopted && ticks.is_multiple_of(10) {
                // Reconcile the app-sync ledger now and then: catches up after outages, and
                // DSCs entering or leaving their validity window with no new snapshot.
                if poller.sources.store.has_redis() {
                    poller.sync_ledger_shared().await;
                } else {
                    poller.sync_ledger();
                }
            }
            ticks = ticks.wrapping_add(1);
        }
    });
    if let Some(deployment) = state.redis.clone() {
        let follower = std::sync::Arc::clone(&state);
        tokio::task::spawn_local(async move { follow(follower, deployment).await });
    }
}

/// Subscribes to snapshot announcements, reconnecting forever.
async fn follow(state: std::sync::Arc<Live>, deployment: crate::redis::Deployment) {
    use futures_util::StreamExt;
    let channel = state.sources.store.channel();
    let mut attempt = 0usize;
    loop {
        let subscribed = crate::redis::subscribe(&deployment, &channel, attempt).await;
        attempt = attempt.wrapping_add(1);
        if let Some(mut pubsub) = subscribed {
            let mut messages = pubsub.on_message();
            while messages.next().await.is_some() {
                state.adopt_newer().await;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
