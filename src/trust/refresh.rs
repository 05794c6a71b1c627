//! Keeping the trust snapshot current: per-source refresh, the last-good rule, merging, and
//! sharing through the [`Store`].
//!
//! A refresh of one source is fetch → parse/validate ([`formats::ingest`]) → guard → store →
//! merge → swap. The **last-good rule**: on any failure — network error, timeout, HTTP error,
//! a body over the cap, a bad list signature, a parse error, an empty list, or a list that
//! would remove more than `max_removal_share` of the source's keys at once — the source's
//! keys in force stay exactly as they were, the failure is recorded in the source's
//! [`SourceStatus`] and logged, and the next attempt backs off exponentially (from 5 s up to the
//! refresh interval). A successful refresh logs the diff (kids added / removed).
//!
//! Cluster behaviour: one instance at a time syncs upstreams (a Redis lock with a token and an
//! expiry); it stores the merged snapshot with a cluster-wide increasing version and announces
//! it on pub/sub. Every instance adopts a newer stored snapshot on the announcement, and also
//! polls the version every second, so a snapshot published while an instance was cut off from
//! Redis reaches it when Redis is back. The hot path only ever reads the in-memory snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use crate::rules::{Checked, RuleSet};
use crate::trust::formats::{self, Anchor, Context, Format, ListError};
use crate::trust::live::Live;
use crate::trust::material::{Diff, Material, Shelf};
use crate::trust::model::{Dsc, TrustSnapshot};
use crate::trust::sources::{self, FetchError, Fetched, SourceConfig, SourcesFile, Validators};
use crate::trust::store::{Lock, SnapshotRecord, SourceRecord, Store};

/// The last failure of a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SourceError {
    /// Stable code: `FETCH_*`, `LIST_*` or `LIST_DROPS_TOO_MANY_KEYS`.
    pub code: String,
    pub message: String,
    /// RFC 3339.
    pub at: String,
}

/// Health of one source, as `/v1/trust/summary` and the admin API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SourceStatus {
    pub id: String,
    pub format: String,
    pub enabled: bool,
    /// `ok`, `failing` (keys of the last good copy in force), `empty` (a local folder that holds
    /// no certificate yet, by design on a fresh install), or `pending` (never refreshed).
    pub status: String,
    /// DSCs of this source in force.
    pub dscs: usize,
    /// Business rules of this source in force (rule sources).
    pub rules: usize,
    /// Revocation batches of this source in force (revocation sources).
    pub batches: usize,
    /// Issuer keys of non-EU passes of this source in force (`nzcp-did`, `shc-jwks`).
    pub pass_keys: usize,
    /// Not confirmed for longer than the source's `max_age`: verdicts using its keys carry
    /// `TRUST_STALE`.
    pub stale: bool,
    /// RFC 3339 of the last attempt and the last success.
    pub last_attempt: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<SourceError>,
    pub consecutive_failures: u32,
    /// Rejected entries of the last accepted copy, by reason code.
    pub rejected: BTreeMap<String, usize>,
    /// Kids added and removed by the last successful refresh.
    pub last_added: usize,
    pub last_removed: usize,
    /// Counters since start: refreshes that succeeded / failed, kids added / removed.
    pub refreshes_ok: u64,
    pub refreshes_failed: u64,
    pub added_total: u64,
    pub removed_total: u64,
}

/// Why a refresh did not change the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    List(#[from] ListError),
    #[error("the list would remove {removed} of {had} keys (more than the allowed share)")]
    DropsTooMany { removed: usize, had: usize },
    #[error("the anchor file {} cannot be used: {cause}", path.display())]
    Anchor {
        path: std::path::PathBuf,
        cause: AnchorUnusable,
    },
}

/// Why a source's anchor file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorUnusable {
    #[error("cannot be read: {0}")]
    Read(std::io::ErrorKind),
    #[error("{0}")]
    Content(#[from] crate::trust::validate::AnchorError),
}

impl RefreshError {
    pub fn code(&self) -> &'static str {
        match self {
            RefreshError::Fetch(e) => e.code(),
            RefreshError::List(e) => e.code(),
            RefreshError::DropsTooMany { .. } => "LIST_DROPS_TOO_MANY_KEYS",
            RefreshError::Anchor { .. } => "ANCHOR_INVALID",
        }
    }
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// New copy accepted; kids added and removed.
    Updated { added: usize, removed: usize },
    /// The upstream copy is the one in force (304 or same content).
    Unchanged,
    /// Another instance holds the sync lock.
    Skipped,
    /// A local folder without any certificate file, and no key of the source in force: empty
    /// by design (a fresh install's `VN/dsc` and `partners`), not a failure.
    Empty,
}

/// Counts the rejected items of a copy by code, logging each (name cut, no content).
fn tally<'a>(
    source: &str,
    rejected: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (name, code) in rejected {
        tracing::warn!(source, item = %crate::trust::formats::clip(name), reason = code, "trust material item rejected");
        *out.entry(code.to_owned()).or_insert(0) += 1;
    }
    out
}

impl From<Diff> for Outcome {
    fn from(d: Diff) -> Outcome {
        Outcome::Updated {
            added: d.added,
            removed: d.removed,
        }
    }
}

/// What a refreshed copy leaves besides its items.
struct Landing<'a> {
    rejected: BTreeMap<String, usize>,
    bytes: &'a [u8],
    digest: String,
    now: OffsetDateTime,
}

struct Runtime {
    config: SourceConfig,
    anchor: Result<Anchor, RefreshError>,
}

#[derive(Default)]
struct Inner {
    /// Each source's DSCs in force (its last good copy).
    current: Shelf<Dsc>,
    /// Each rule source's business rules in force, and its value sets.
    rules: Shelf<Checked>,
    /// Each revocation source's batches in force.
    batches: Shelf<crate::revocation::Batch>,
    /// Each pass-key source's issuer keys in force.
    pass_keys: Shelf<crate::passes::PassKey>,
    /// UPLOAD certificates vouched for by each EU trust-list source (revocation signers).
    uploads: BTreeMap<String, Vec<(String, Vec<u8>)>>,
    /// Each gateway revocation source's `If-Modified-Since` to resume from.
    revocation_since: BTreeMap<String, String>,
    value_sets: BTreeMap<String, Vec<crate::rules::SourcedValueSet>>,
    status: BTreeMap<String, SourceStatus>,
    validators: HashMap<String, Validators>,
    /// Source id → Unix seconds it was last confirmed by any instance (shared through Redis).
    confirmed: BTreeMap<String, i64>,
    /// Content hash of each source's copy in force (skip identical re-downloads).
    content: HashMap<String, String>,
}

/// The trust manager of one instance.
pub struct Trust {
    sources: Vec<Runtime>,
    pub store: Store,
    inner: Mutex<Inner>,
    /// Instance-local DSCs merged into every snapshot (development VN keys).
    local: Mutex<Vec<Dsc>>,
    /// Instance-local business rules and value sets (the rules folder), merged into every
    /// snapshot.
    local_rules: Mutex<(Vec<Checked>, Vec<crate::rules::SourcedValueSet>)>,
    client: Mutex<Option<reqwest::Client>>,
    /// Serialises refreshes within this instance.
    refresh_lock: tokio::sync::Mutex<()>,
}

impl Trust {
    /// A manager for `sources` (anchors are loaded now; a bad anchor fails that source only).
    pub fn new(sources: Vec<SourceConfig>, store: Store) -> Trust {
        let mut inner = Inner::default();
        let sources: Vec<Runtime> = sources
            .into_iter()
            .map(|config| {
                let anchor = match &config.anchor {
                    None => Ok(Anchor::none()),
                    Some(path) => std::fs::read(path)
                        .map_err(|e| AnchorUnusable::Read(e.kind()))
                        .and_then(|b| Anchor::from_bytes(&b).map_err(AnchorUnusable::Content))
                        .map_err(|cause| RefreshError::Anchor {
                            path: path.clone(),
                            cause,
                        }),
                };
                inner.status.insert(
                    config.id.clone(),
                    SourceStatus {
                        id: config.id.clone(),
                        format: config.format.name().to_owned(),
                        enabled: config.enabled,
                        status: "pending".into(),
                        dscs: 0,
                        rules: 0,
                        batches: 0,
                        pass_keys: 0,
                        stale: false,
                        last_attempt: None,
                        last_success: None,
                        last_error: None,
                        consecutive_failures: 0,
                        rejected: BTreeMap::new(),
                        last_added: 0,
                        last_removed: 0,
                        refreshes_ok: 0,
                        refreshes_failed: 0,
                        added_total: 0,
                        removed_total: 0,
                    },
                );
                Runtime { config, anchor }
            })
            .collect();
        Trust {
            sources,
            store,
            inner: Mutex::new(inner),
            local: Mutex::new(Vec::new()),
            local_rules: Mutex::new((Vec::new(), Vec::new())),
            client: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The sources of `settings`: `sources_file` if it exists, else one PEM source per
    /// `trust_dir` (the behaviour before sources existed).
    pub fn sources_from_settings(
        settings: &crate::config::Settings,
    ) -> Result<Vec<SourceConfig>, sources::SourcesError> {
        let path = settings
            .sources_file
            .clone()
            .unwrap_or_else(|| settings.trust_dir.join("sources.toml"));
        let mut sources = match SourcesFile::load(&path)? {
            Some(file) => file.sources,
            None if settings.trust_dir.is_dir() => {
                vec![SourceConfig::local_pem("local", settings.trust_dir.clone())]
            }
            None => Vec::new(),
        };
        // Vietnam's own revocations (`dcc-gateway revoke`), unless configured otherwise.
        if !sources.iter().any(|s| s.id == "vn-revocations") {
            let mut own = SourceConfig::local_pem(
                "vn-revocations",
                crate::revocation::own::dir(&settings.data_dir),
            );
            own.format = Format::RevocationFolder;
            own.refresh = "1m".into();
            sources.push(own);
        }
        Ok(sources)
    }

    /// Sets the instance-local DSCs (development keys) merged into every snapshot.
    pub fn set_local(&self, dscs: Vec<Dsc>) {
        if let Ok(mut l) = self.local.lock() {
            *l = dscs;
        }
    }

    /// Sets the instance-local business rules and value sets merged into every snapshot.
    pub fn set_local_rules(
        &self,
        rules: Vec<Checked>,
        value_sets: Vec<crate::rules::SourcedValueSet>,
    ) {
        if let Ok(mut l) = self.local_rules.lock() {
            *l = (rules, value_sets);
        }
    }

    /// The rules in force: the local ones and every rule source's, with their value sets.
    pub fn rule_set(&self) -> RuleSet {
        let (mut rules, mut sets) = self
            .local_rules
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        if let Ok(i) = self.inner.lock() {
            rules.extend(i.rules.all().cloned());
            sets.extend(i.value_sets.values().flatten().cloned());
        }
        RuleSet::new(rules, sets)
    }

    /// Every issuer key of non-EU passes in force.
    pub fn pass_keys(&self) -> Vec<crate::passes::PassKey> {
        self.inner
            .lock()
            .map(|i| i.pass_keys.all().cloned().collect())
            .unwrap_or_default()
    }

    /// Every revocation batch in force.
    pub fn batches(&self) -> Vec<crate::revocation::Batch> {
        self.inner
            .lock()
            .map(|i| i.batches.all().cloned().collect())
            .unwrap_or_default()
    }

    /// The configured sources.
    pub fn configs(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().map(|r| &r.config)
    }

    /// Health of every source, by id.
    pub fn statuses(&self) -> Vec<SourceStatus> {
        self.inner
            .lock()
            .map(|i| i.status.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Refreshes source `id` now (the scheduled loops and the admin endpoint call this).
    pub async fn refresh(&self, state: &Live, id: &str) -> Result<Outcome, RefreshError> {
        self.refresh_waiting(state, id, Duration::ZERO).await
    }

    /// [`Trust::refresh`], waiting up to `wait` for another instance's sync lock instead of
    /// skipping at once (start-up: an instance must not publish without a source only because
    /// a peer was syncing it at that moment).
    async fn refresh_waiting(
        &self,
        state: &Live,
        id: &str,
        wait: Duration,
    ) -> Result<Outcome, RefreshError> {
        let Some(rt) = self.sources.iter().find(|r| r.config.id == id) else {
            return Ok(Outcome::Unchanged);
        };
        let _serial = self.refresh_lock.lock().await;
        let ttl = (rt.config.timeout_secs + 30) * 1000;
        let lock = self.lock_waiting(ttl, wait).await;
        if lock == Lock::Held {
            return Ok(Outcome::Skipped);
        }
        // Start from the newest shared state so a merge never undoes another instance's work.
        self.adopt_newer(state).await;
        let now = crate::clock::now();
        let result = self.refresh_locked(state, rt, now).await;
        if matches!(result, Ok(Outcome::Updated { .. } | Outcome::Unchanged)) {
            self.store
                .mark_confirmed(&rt.config.id, now.unix_timestamp())
                .await;
        }
        self.store.unlock(&lock).await;
        self.record(&rt.config.id, now, &result);
        result
    }

    async fn refresh_locked(
        &self,
        state: &Live,
        rt: &Runtime,
        now: OffsetDateTime,
    ) -> Result<Outcome, RefreshError> {
        let cfg = &rt.config;
        let anchor = rt.anchor.clone()?;
        if cfg.format.carries_rules() {
            return self.refresh_rules(state, cfg, &anchor, now).await;
        }
        if cfg.format == Format::RevocationFolder {
            return self.refresh_revocations(state, cfg, now).await;
        }
        if cfg.format.carries_pass_keys() {
            return self.refresh_pass_keys(state, cfg, now).await;
        }
        if cfg.format == Format::EuRevocation {
            return self
                .refresh_gateway_revocations(state, cfg, &anchor, now)
                .await;
        }
        let fetched = self.fetch(cfg).await?;
        let (bytes, validators) = match fetched {
            Fetched::NotModified => return Ok(Outcome::Unchanged),
            Fetched::Body { bytes, validators } => (bytes, validators),
        };
        let holds_keys = self
            .inner
            .lock()
            .ok()
            .is_some_and(|i| i.current.count(&cfg.id) > 0);
        if cfg.path.is_some() && !holds_keys && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Outcome::Empty);
        }
        let digest = crate::util::sha256_hex(&bytes);
        if self.holds_copy(&cfg.id, &digest, |i| i.current.has(&cfg.id)) {
            return Ok(Outcome::Unchanged);
        }
        let format = cfg.format;
        let source = cfg.id.clone();
        let keep_expired = cfg.keep_expired();
        let raw = bytes.clone();
        let ingested = tokio::task::spawn_blocking(move || {
            let ctx = Context {
                anchor: &anchor,
                now,
                source: &source,
                keep_expired,
            };
            formats::ingest(format, &raw, &ctx).and_then(formats::Ingested::non_empty)
        })
        .await
        .map_err(|_| RefreshError::List(ListError::Malformed("ingest task failed".into())))??;
        let Diff { added, removed } = self
            .inner
            .lock()
            .map_err(|_| RefreshError::List(ListError::Malformed("trust state".into())))?
            .current
            .check_removal(&cfg.id, &ingested.dscs, cfg.max_removal_share, now)
            .map_err(|e| RefreshError::DropsTooMany {
                removed: e.removed,
                had: e.had,
            })?;
        let rejected: BTreeMap<String, usize> = ingested
            .rejected_by_reason()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        for r in &ingested.rejected {
            tracing::warn!(source = %cfg.id, entry = %r.entry, country = r.country.as_deref().unwrap_or("?"), reason = r.reason.code(), "trust-list entry rejected");
        }
        let kids: BTreeSet<String> = ingested.dscs.iter().map(Material::identity).collect();
        let keys = kids.len();
        let record = SourceRecord {
            id: cfg.id.clone(),
            bytes: crate::util::base64_encode(&bytes),
            etag: validators.etag.clone(),
            last_modified: validators.last_modified.clone(),
            fetched_at: now.unix_timestamp(),
            kids: kids.into_iter().collect(),
        };
        self.store.save_source(&record).await;
        if let Ok(mut i) = self.inner.lock() {
            i.current.replace(&cfg.id, ingested.dscs, now);
            i.uploads.insert(cfg.id.clone(), ingested.uploads);
            i.validators.insert(cfg.id.clone(), validators);
            i.content.insert(cfg.id.clone(), digest);
            if let Some(s) = i.status.get_mut(&cfg.id) {
                s.rejected = rejected;
                s.last_added = added;
                s.last_removed = removed;
                s.added_total += added as u64;
                s.removed_total += removed as u64;
            }
        }
        tracing::info!(source = %cfg.id, added, removed, keys, "trust source refreshed");
        self.publish(state).await;
        Ok(Outcome::Updated { added, removed })
    }

    /// A business-rule service: fetch and check ([`crate::rules::service::fetch`]), parse
    /// each item, guard, store, merge — the same last-good path as keys.
    async fn refresh_rules(
        &self,
        state: &Live,
        cfg: &SourceConfig,
        anchor: &Anchor,
        now: OffsetDateTime,
    ) -> Result<Outcome, RefreshError> {
        use crate::rules::service::{self, ServiceError};
        if anchor.is_empty() {
            return Err(ListError::AnchorRequired.into());
        }
        let Some(url) = &cfg.url else {
            return Err(FetchError::Io("a rules-service source needs a url".into()).into());
        };
        let client = self.client(cfg)?;
        let timeout = Duration::from_secs(cfg.timeout_secs);
        let bundle = service::fetch(&client, url, anchor, cfg.max_bytes, timeout)
            .await
            .map_err(|e| match e {
                ServiceError::Fetch(f) => RefreshError::Fetch(f),
                ServiceError::ListSignature(_) => RefreshError::List(ListError::BadSignature),
                ServiceError::TooManyItems(_) => {
                    RefreshError::List(ListError::TooManyEntries(service::MAX_ITEMS))
                }
                ServiceError::ListMalformed(what) => {
                    RefreshError::List(ListError::Malformed(format!("the {what} list")))
                }
            })?;
        let bytes = serde_json::to_vec(&bundle)
            .map_err(|e| RefreshError::List(ListError::Malformed(e.to_string())))?;
        let digest = crate::util::sha256_hex(&bytes);
        if self.holds_copy(&cfg.id, &digest, |i| i.rules.has(&cfg.id)) {
            return Ok(Outcome::Unchanged);
        }
        let ingested = service::ingest(&bundle, &cfg.id);
        let rejected = tally(
            &cfg.id,
            ingested
                .rejected
                .iter()
                .map(|(name, code)| (name.as_str(), code.as_str())),
        );
        if ingested.rules.is_empty() && ingested.value_sets.is_empty() {
            return Err(ListError::Empty.into());
        }
        let sets: Vec<crate::rules::SourcedValueSet> = ingested
            .value_sets
            .into_iter()
            .map(|(id, codes)| (cfg.id.clone(), id, codes))
            .collect();
        let diff = self
            .install(
                state,
                cfg,
                |i| &mut i.rules,
                ingested.rules,
                Landing {
                    rejected,
                    bytes: &bytes,
                    digest,
                    now,
                },
                |i| {
                    i.value_sets.insert(cfg.id.clone(), sets);
                },
            )
            .await?;
        Ok(diff.into())
    }

    /// A pass trust source (NZCP DID document, SHC JWKS or revocation list, ICAO CSCAs or
    /// CRLs, DIVOC keys): fetch, read each entry, guard, store, merge.
    async fn refresh_pass_keys(
        &self,
        state: &Live,
        cfg: &SourceConfig,
        now: OffsetDateTime,
    ) -> Result<Outcome, RefreshError> {
        let (bytes, validators) = match self.fetch(cfg).await? {
            Fetched::NotModified => return Ok(Outcome::Unchanged),
            Fetched::Body { bytes, validators } => (bytes, validators),
        };
        let digest = crate::util::sha256_hex(&bytes);
        if self.holds_copy(&cfg.id, &digest, |i| i.pass_keys.has(&cfg.id)) {
            return Ok(Outcome::Unchanged);
        }
        let (keys, refused) =
            crate::passes::ingest(cfg.format, &bytes, cfg.issuer.as_deref(), &cfg.id)
                .map_err(|why| RefreshError::List(ListError::Malformed(why)))?;
        if keys.is_empty() {
            return Err(ListError::Empty.into());
        }
        let rejected = tally(
            &cfg.id,
            refused.iter().map(|(name, code)| (name.as_str(), *code)),
        );
        let diff = self
            .install(
                state,
                cfg,
                |i| &mut i.pass_keys,
                keys,
                Landing {
                    rejected,
                    bytes: &bytes,
                    digest,
                    now,
                },
                |i| {
                    i.validators.insert(cfg.id.clone(), validators);
                },
            )
            .await?;
        Ok(diff.into())
    }

    /// A folder of revocation batches: read, check each batch, guard, store, merge.
    async fn refresh_revocations(
        &self,
        state: &Live,
        cfg: &SourceConfig,
        now: OffsetDateTime,
    ) -> Result<Outcome, RefreshError> {
        let Some(dir) = cfg.path.clone() else {
            return Err(FetchError::Io("a revocation-folder source needs a path".into()).into());
        };
        let max = cfg.max_bytes;
        let bundle = tokio::task::spawn_blocking(move || crate::revocation::read_dir(&dir, max))
            .await
            .map_err(|_| FetchError::Io("read task failed".into()))??;
        let bytes = serde_json::to_vec(&bundle)
            .map_err(|e| RefreshError::List(ListError::Malformed(e.to_string())))?;
        let digest = crate::util::sha256_hex(&bytes);
        if self.holds_copy(&cfg.id, &digest, |i| i.batches.has(&cfg.id)) {
            return Ok(Outcome::Unchanged);
        }
        let (batches, refused) = crate::revocation::ingest(&bundle, &cfg.id, now);
        let rejected = tally(
            &cfg.id,
            refused.iter().map(|(id, code)| (id.as_str(), *code)),
        );
        let count = batches.len();
        let diff = self
            .install(
                state,
                cfg,
                |i| &mut i.batches,
                batches,
                Landing {
                    rejected,
                    bytes: &bytes,
                    digest,
                    now,
                },
                |_| {},
            )
            .await?;
        Ok(if count == 0 && diff.removed == 0 {
            Outcome::Empty
        } else {
            diff.into()
        })
    }

    /// The EU gateway's revocation listing: the changes since the last refresh applied to the
    /// source's batches in force, each batch checked against an UPLOAD certificate of its
    /// country (the source's anchor, or the UPLOAD entries of EU lists in force).
    async fn refresh_gateway_revocations(
        &self,
        state: &Live,
        cfg: &SourceConfig,
        anchor: &Anchor,
        now: OffsetDateTime,
    ) -> Result<Outcome, RefreshError> {
        use crate::revocation::gateway::{self, GatewayError, Request};
        let Some(url) = &cfg.url else {
            return Err(FetchError::Io("an eu-revocation source needs a url".into()).into());
        };
        let mut uploads = gateway::uploads_of(anchor);
        let (current, since) = {
            let i = self
                .inner
                .lock()
                .map_err(|_| RefreshError::List(ListError::Malformed("trust state".into())))?;
            for (country, der) in i.uploads.values().flatten() {
                uploads
                    .entry(country.clone())
                    .or_default()
                    .push(der.clone());
            }
            (
                i.batches.of(&cfg.id).to_vec(),
                i.revocation_since
                    .get(&cfg.id)
                    .cloned()
                    .unwrap_or_else(|| "2021-01-01T00:00:00Z".to_owned()),
            )
        };
        let client = self.client(cfg)?;
        let refreshed = gateway::refresh(Request {
            http: &client,
            url,
            since: &since,
            uploads: &uploads,
            current: &current,
            source: &cfg.id,
            timeout: Duration::from_secs(cfg.timeout_secs),
            now,
        })
        .await
        .map_err(|e| match e {
            GatewayError::Fetch(f) => RefreshError::Fetch(f),
            GatewayError::Malformed => {
                RefreshError::List(ListError::Malformed("the revocation listing".into()))
            }
        })?;
        let rejected = tally(
            &cfg.id,
            refreshed
                .rejected
                .iter()
                .map(|(id, code)| (id.as_str(), *code)),
        );
        let copy: Vec<(String, String)> = refreshed
            .batches
            .iter()
            .map(|b| (b.id.clone(), crate::revocation::to_json(b)))
            .collect();
        let bytes = serde_json::to_vec(&copy)
            .map_err(|e| RefreshError::List(ListError::Malformed(e.to_string())))?;
        let digest = crate::util::sha256_hex(&bytes);
        if let (Ok(mut i), Some(s)) = (self.inner.lock(), refreshed.since) {
            i.revocation_since.insert(cfg.id.clone(), s);
        }
        if self.holds_copy(&cfg.id, &digest, |i| i.batches.has(&cfg.id)) {
            return Ok(Outcome::Unchanged);
        }
        let diff = self
            .install(
                state,
                cfg,
                |i| &mut i.batches,
                refreshed.batches,
                Landing {
                    rejected,
                    bytes: &bytes,
                    digest,
                    now,
                },
                |_| {},
            )
            .await?;
        Ok(diff.into())
    }

    /// Whether `digest` is the copy of source `id` in force (`has`: the source has a copy on
    /// its kind's shelf): an identical re-download changes nothing.
    fn holds_copy(&self, id: &str, digest: &str, has: impl Fn(&Inner) -> bool) -> bool {
        self.inner
            .lock()
            .ok()
            .is_some_and(|i| i.content.get(id).is_some_and(|d| d == digest) && has(&i))
    }

    /// The shared last-good path of every kind of trust material: the removal guard on the
    /// source's shelf, the copy stored as the source's last good one, the items put in force
    /// (with `also`, the kind's extra state, under the same lock), the source's counters, the
    /// log line, and a new snapshot.
    async fn install<M: Material>(
        &self,
        state: &Live,
        cfg: &SourceConfig,
        shelf: impl Fn(&mut Inner) -> &mut Shelf<M>,
        items: Vec<M>,
        landing: Landing<'_>,
        also: impl FnOnce(&mut Inner),
    ) -> Result<Diff, RefreshError> {
        let diff = {
            let mut i = self
                .inner
                .lock()
                .map_err(|_| RefreshError::List(ListError::Malformed("trust state".into())))?;
            shelf(&mut i)
                .check_removal(&cfg.id, &items, cfg.max_removal_share, landing.now)
                .map_err(|e| RefreshError::DropsTooMany {
                    removed: e.removed,
                    had: e.had,
                })?
        };
        let record = SourceRecord {
            id: cfg.id.clone(),
            bytes: crate::util::base64_encode(landing.bytes),
            etag: None,
            last_modified: None,
            fetched_at: landing.now.unix_timestamp(),
            kids: items.iter().map(Material::identity).collect(),
        };
        self.store.save_source(&record).await;
        let count = items.len();
        if let Ok(mut i) = self.inner.lock() {
            shelf(&mut i).replace(&cfg.id, items, landing.now);
            also(&mut i);
            i.content.insert(cfg.id.clone(), landing.digest);
            if let Some(s) = i.status.get_mut(&cfg.id) {
                s.rejected = landing.rejected;
                s.last_added = diff.added;
                s.last_removed = diff.removed;
                s.added_total += diff.added as u64;
                s.removed_total += diff.removed as u64;
            }
        }
        tracing::info!(source = %cfg.id, kind = M::KIND, added = diff.added, removed = diff.removed, items = count, "trust material refreshed");
        self.publish(state).await;
        Ok(diff)
    }

    /// The shared HTTP client (made once).
    fn client(&self, cfg: &SourceConfig) -> Result<reqwest::Client, FetchError> {
        let mut guard = self
            .client
            .lock()
            .map_err(|_| FetchError::Io("client".into()))?;
        match guard.as_ref() {
            Some(c) => Ok(c.clone()),
            None => {
                let c = sources::http_client(Duration::from_secs(cfg.connect_timeout_secs))?;
                *guard = Some(c.clone());
                Ok(c)
            }
        }
    }

    async fn fetch(&self, cfg: &SourceConfig) -> Result<Fetched, FetchError> {
        if let Some(path) = &cfg.path {
            let path = path.clone();
            let max = cfg.max_bytes;
            let bytes = tokio::task::spawn_blocking(move || sources::read_local(&path, max))
                .await
                .map_err(|_| FetchError::Io("read task failed".into()))??;
            return Ok(Fetched::Body {
                bytes,
                validators: Validators::default(),
            });
        }
        let Some(url) = &cfg.url else {
            return Err(FetchError::Io("no url or path".into()));
        };
        let client = self.client(cfg)?;
        let mut validators = self
            .inner
            .lock()
            .ok()
            .and_then(|i| i.validators.get(&cfg.id).cloned())
            .unwrap_or_default();
        if cfg.format == Format::EuJson {
            // On the EU gateway API `If-Modified-Since` asks for a *delta* (only newer entries
            // and deletions), which is not a full list: only the ETag is sent there.
            validators.last_modified = None;
        }
        sources::fetch_url(
            &client,
            url,
            &validators,
            cfg.max_bytes,
            Duration::from_secs(cfg.timeout_secs),
        )
        .await
    }

    fn record(&self, id: &str, now: OffsetDateTime, result: &Result<Outcome, RefreshError>) {
        let Ok(mut i) = self.inner.lock() else {
            return;
        };
        let dscs = i.current.count(id);
        let rules = i.rules.count(id);
        let batches = i.batches.count(id);
        let pass_keys = i.pass_keys.count(id);
        let Some(s) = i.status.get_mut(id) else {
            return;
        };
        s.rules = rules;
        s.batches = batches;
        s.pass_keys = pass_keys;
        let at = crate::util::rfc3339(now);
        match result {
            Ok(Outcome::Skipped) => {}
            Ok(outcome) => {
                let status = if *outcome == Outcome::Empty {
                    "empty"
                } else {
                    "ok"
                };
                if status == "empty" && s.status != "empty" {
                    tracing::info!(source = id, "trust source folder holds no certificate yet");
                }
                s.last_attempt = Some(at.clone());
                s.last_success = Some(at);
                s.last_error = None;
                s.consecutive_failures = 0;
                s.refreshes_ok += 1;
                s.status = status.into();
                s.dscs = dscs;
            }
            Err(e) => {
                s.last_attempt = Some(at.clone());
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                s.refreshes_failed += 1;
                s.status = "failing".into();
                s.dscs = dscs;
                tracing::warn!(source = id, code = e.code(), error = %e, keys_in_force = dscs, "trust source refresh failed; last good copy stays in force");
                s.last_error = Some(SourceError {
                    code: e.code().to_owned(),
                    message: e.to_string(),
                    at,
                });
            }
        }
    }

    /// Takes the sync lock, retrying every 100 ms for up to `wait` while another instance
    /// holds it; [`Lock::Held`] only when the wait ran out.
    async fn lock_waiting(&self, ttl_ms: u64, wait: Duration) -> Lock {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let lock = self.store.try_lock(ttl_ms).await;
            if lock != Lock::Held || std::time::Instant::now() >= deadline {
                return lock;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Publishes outside a refresh (start-up, local keys): under the sync lock (after
    /// `BOOTSTRAP_WAIT` without it, rather than not at all), on top of the newest shared snapshot, so that a snapshot computed from a stale view never replaces a
    /// peer's newer one (which would drop the peer's keys from every instance following it).
    async fn publish_shared(&self, state: &Live) {
        let lock = self
            .lock_waiting(BOOTSTRAP_LOCK_TTL_MS, BOOTSTRAP_WAIT)
            .await;
        self.adopt_newer(state).await;
        self.publish(state).await;
        self.store.unlock(&lock).await;
    }

    /// Merges every source's keys in force (and the local keys) into a new snapshot, stores
    /// and announces it, and swaps it in — unless the content is unchanged.
    async fn publish(&self, state: &Live) {
        let mut dscs: Vec<Dsc> = self
            .inner
            .lock()
            .map(|i| i.current.all().cloned().collect())
            .unwrap_or_default();
        dscs.extend(self.local.lock().map(|l| l.clone()).unwrap_or_default());
        let rules = self.rule_set();
        let batches = self.batches();
        let pass_keys = self.pass_keys();
        let draft = TrustSnapshot::new(0, dscs.clone())
            .with_rules(rules.clone())
            .with_revocations(batches.clone())
            .with_pass_keys(pass_keys.clone());
        let current = state.snapshot.load_full();
        if current.as_ref().is_some_and(|c| c.id == draft.id) {
            return;
        }
        let now = crate::clock::now();
        let floor = current.as_ref().map_or(0, |c| c.version) + 1;
        let candidate = floor.max(u64::try_from(now.unix_timestamp()).unwrap_or(0));
        let version = self.store.next_version(candidate).await;
        let snapshot = TrustSnapshot::new(version, dscs)
            .with_rules(rules)
            .with_revocations(batches)
            .with_pass_keys(pass_keys);
        let record = SnapshotRecord::from_snapshot(&snapshot, now.unix_timestamp());
        let shared = self.store.save_snapshot(&record).await;
        tracing::info!(version, snapshot = %snapshot.id, dscs = snapshot.len(), shared, "trust snapshot published");
        state.swap_snapshot(snapshot);
        state.sync_ledger_shared().await;
    }

    /// After a Redis outage (or a Redis that lost its data), pushes this instance's snapshot
    /// back when Redis holds an older one or none, so a snapshot published during the outage
    /// reaches every instance. Returns whether it pushed.
    pub async fn republish_if_newer(&self, state: &Live) -> bool {
        let Some(local) = state.snapshot.load_full() else {
            return false;
        };
        let Some(remote) = self.store.remote_version_answer().await else {
            return false;
        };
        if remote.is_some_and(|v| v >= local.version) {
            return false;
        }
        let now = crate::clock::now().unix_timestamp();
        let record = SnapshotRecord::from_snapshot(&local, now);
        // Keep the cluster's version counter above what is now in force.
        let _ = self.store.next_version(local.version).await;
        let pushed = self.store.save_snapshot(&record).await;
        if pushed {
            tracing::info!(
                version = local.version,
                "trust snapshot re-published after a Redis outage"
            );
        }
        pushed
    }

    /// Adopts the stored snapshot if it is newer than the one in force; returns whether it did.
    pub async fn adopt_newer(&self, state: &Live) -> bool {
        let local_version = state.snapshot.load_full().map_or(0, |s| s.version);
        // Without Redis there is no other instance to follow.
        match self.store.remote_version().await {
            Some(v) if v > local_version => {}
            _ => return false,
        }
        let Some(record) = self.store.load_snapshot().await else {
            return false;
        };
        if record.version <= local_version {
            return false;
        }
        self.adopt(state, &record);
        state.sync_ledger_shared().await;
        true
    }

    fn adopt(&self, state: &Live, record: &SnapshotRecord) {
        let (mut dscs, bad) = record.dscs();
        if bad > 0 {
            tracing::warn!(
                bad,
                "stored snapshot entries that no longer parse were dropped"
            );
        }
        let local = self.local.lock().map(|l| l.clone()).unwrap_or_default();
        let local_sources: BTreeSet<String> = local.iter().map(|d| d.source.clone()).collect();
        if let Ok(mut i) = self.inner.lock() {
            // Sources absent from the record have no keys in force any more.
            i.current.reset(
                dscs.iter()
                    .filter(|d| !local_sources.contains(&d.source))
                    .cloned(),
                |d| d.source.clone(),
            );
            i.rules.reset(record.rules(), |r| r.source.clone());
            i.batches
                .reset(record.batches(crate::clock::now()), |b| b.source.clone());
            i.pass_keys
                .reset(record.pass_keys.iter().cloned(), |k| k.source.clone());
            i.value_sets.clear();
            for set in record.value_sets() {
                i.value_sets.entry(set.0.clone()).or_default().push(set);
            }
            let counts = i.current.counts();
            let rule_counts = i.rules.counts();
            for s in i.status.values_mut() {
                s.dscs = counts.get(&s.id).copied().unwrap_or(0);
                s.rules = rule_counts.get(&s.id).copied().unwrap_or(0);
            }
        }
        dscs.extend(local);
        let snapshot = TrustSnapshot::new(record.version, dscs)
            .with_rules(self.rule_set())
            .with_revocations(self.batches())
            .with_pass_keys(self.pass_keys());
        tracing::info!(version = record.version, snapshot = %snapshot.id, dscs = snapshot.len(), "trust snapshot adopted from the store");
        state.swap_snapshot(snapshot);
    }

    /// Start-up: the stored snapshot first (before any upstream answers), then one refresh of
    /// every enabled source; finally a snapshot exists even if every source failed.
    pub async fn bootstrap(&self, state: &Live) {
        if let Some(record) = self.store.load_snapshot().await {
            self.adopt(state, &record);
            state.sync_ledger_shared().await;
        }
        let ids: Vec<String> = self
            .configs()
            .filter(|c| c.enabled)
            .map(|c| c.id.clone())
            .collect();
        for id in ids {
            let _ = self.refresh_waiting(state, &id, BOOTSTRAP_WAIT).await;
        }
        if state.snapshot.load_full().is_none() || self.local_changed(state) {
            self.publish_shared(state).await;
        }
    }

    /// Publishes a snapshot with the local keys set after [`Trust::bootstrap`].
    pub async fn bootstrap_local(&self, state: &Live) {
        if self.local_changed(state) {
            self.publish_shared(state).await;
        }
    }

    fn local_changed(&self, state: &Live) -> bool {
        let Some(snap) = state.snapshot.load_full() else {
            return true;
        };
        let local = self.local.lock().map(|l| l.clone()).unwrap_or_default();
        local
            .iter()
            .any(|d| !snap.candidates(&d.kid.0).iter().any(|c| c.der == d.der))
    }

    /// Reads when each source was last confirmed by any instance (followers never refresh
    /// themselves while a peer holds the sync lock).
    pub async fn follow_confirmations(&self) {
        if let Some(shared) = self.store.confirmed().await
            && let Ok(mut i) = self.inner.lock()
        {
            for (id, at) in shared {
                let slot = i.confirmed.entry(id).or_insert(0);
                *slot = (*slot).max(at);
            }
        }
    }

    /// The enabled sources not confirmed for longer than their `max_age` at `now`: the last
    /// successful refresh here, by a peer (Redis), or the fetch time of the keys in force,
    /// whichever is latest. A source that holds nothing is never stale.
    pub fn stale_sources(&self, now: OffsetDateTime) -> BTreeSet<String> {
        let Ok(i) = self.inner.lock() else {
            return BTreeSet::new();
        };
        let mut out = BTreeSet::new();
        for cfg in self.configs().filter(|c| c.enabled) {
            if i.current.count(&cfg.id) == 0
                && i.rules.count(&cfg.id) == 0
                && i.batches.count(&cfg.id) == 0
            {
                continue;
            }
            let local = i
                .status
                .get(&cfg.id)
                .and_then(|s| s.last_success.as_deref())
                .and_then(crate::util::parse_rfc3339)
                .map(OffsetDateTime::unix_timestamp);
            let fetched = i
                .current
                .of(&cfg.id)
                .iter()
                .filter_map(|d| d.fetched_at.map(OffsetDateTime::unix_timestamp))
                .max();
            let shared = i.confirmed.get(&cfg.id).copied();
            let last = [local, fetched, shared].into_iter().flatten().max();
            let limit = now.unix_timestamp() - cfg.max_age().whole_seconds();
            if last.is_none_or(|t| t < limit) {
                out.insert(cfg.id.clone());
            }
        }
        out
    }

    /// Whether any source (or the local keys) provides a DSC of `country`.
    pub fn has_country(&self, country: &str) -> bool {
        self.inner.lock().is_ok_and(|i| {
            i.current
                .all()
                .any(|d| d.country.as_deref() == Some(country))
        })
    }
}

/// How long start-up waits for a peer's sync lock before going on alone.
const BOOTSTRAP_WAIT: Duration = Duration::from_secs(10);
/// Expiry of the lock taken by [`Trust::publish_shared`] (released as soon as it is done).
const BOOTSTRAP_LOCK_TTL_MS: u64 = 30_000;

/// The delay before the next attempt: the interval after a success (±10 % jitter), else
/// exponential backoff from 5 s, capped at the interval.
pub fn next_delay(interval: Duration, failures: u32, jitter_unit: f64) -> Duration {
    let base = if failures == 0 {
        interval
    } else {
        let backoff =
            Duration::from_secs(5).saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        backoff.min(interval)
    };
    let factor = 0.9 + 0.2 * jitter_unit.clamp(0.0, 1.0);
    base.mul_f64(factor)
}

pub(crate) fn jitter() -> f64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 2];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    f64::from(u16::from_be_bytes(b)) / f64::from(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps_and_jitter_stays_within_ten_percent() {
        let hour = Duration::from_secs(3600);
        assert_eq!(next_delay(hour, 0, 0.5), hour);
        assert_eq!(next_delay(hour, 1, 0.5), Duration::from_secs(5));
        assert_eq!(next_delay(hour, 2, 0.5), Duration::from_secs(10));
        assert_eq!(next_delay(hour, 4, 0.5), Duration::from_secs(40));
        assert_eq!(next_delay(hour, 30, 0.5), hour);
        assert_eq!(
            next_delay(Duration::from_secs(2), 3, 0.5),
            Duration::from_secs(2)
        );
        assert!(next_delay(hour, 0, 0.0) >= hour.mul_f64(0.9));
        assert!(next_delay(hour, 0, 1.0) <= hour.mul_f64(1.1));
        assert_eq!(Format::parse("de-signed"), Some(Format::DeSigned));
        assert_eq!(Format::parse("x"), None);
        assert_eq!(Format::parse("WHO-DID"), Some(Format::WhoDid));
        for f in Format::ALL {
            assert_eq!(Format::parse(f.name()), Some(f));
        }
    }
}
