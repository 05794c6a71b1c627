//! The actix-web gateway: application state, routes, server setup. Only this module imports
//! actix; errors become HTTP in `error.rs` alone.

pub mod admin;
pub mod auth;
pub mod cache;
pub mod conditional;
pub mod conn_limit;
pub mod dto;
pub mod error;
pub mod metrics;
pub mod observe;
pub mod publish;
pub mod rate_limit;
pub mod routes;
pub mod sync;

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};
use arc_swap::ArcSwapOption;

use crate::config::Settings;
use crate::hcert::Limits;
use crate::trust::model::TrustSnapshot;

/// Shared state of one instance.
pub struct AppState {
    pub settings: Settings,
    pub limits: Limits,
    /// The trust snapshot the hot path reads; swapped atomically on refresh.
    pub snapshot: ArcSwapOption<TrustSnapshot>,
    pub clients: auth::Clients,
    pub limiter: rate_limit::Limiter,
    pub cache: cache::ResultCache,
    /// Set once the first Redis connection succeeds (the manager reconnects by itself).
    pub redis: Arc<OnceLock<redis::aio::ConnectionManager>>,
    /// When the current snapshot was swapped in (for its age in `/readyz` and `/metrics`).
    pub snapshot_loaded_at: std::sync::Mutex<Option<time::OffsetDateTime>>,
    /// App-sync resume tokens and deletions, persisted in `<data_dir>/sync-ledger.json`.
    pub ledger: std::sync::Mutex<crate::trust::ledger::Ledger>,
    /// Trust sources, their health, and the shared store of snapshots.
    pub trust: crate::trust::refresh::Trust,
    /// Rendered publication of the current snapshot (EU list, signed lists, DID documents).
    pub publication: arc_swap::ArcSwapOption<publish::Published>,
}

impl AppState {
    /// Builds the state; `redis` may still be empty (connected later in the background).
    pub fn new(
        settings: Settings,
        snapshot: Option<TrustSnapshot>,
        redis: Option<redis::aio::ConnectionManager>,
    ) -> AppState {
        AppState::with_sources(settings, snapshot, redis, Vec::new())
    }

    /// Builds the state with trust `sources` (refreshed by [`crate::trust::refresh`]).
    pub fn with_sources(
        settings: Settings,
        snapshot: Option<TrustSnapshot>,
        redis: Option<redis::aio::ConnectionManager>,
        sources: Vec<crate::trust::sources::SourceConfig>,
    ) -> AppState {
        let limits = Limits {
            max_image_bytes: settings.http.max_image_bytes,
            ..Limits::default()
        };
        let cell = Arc::new(OnceLock::new());
        if let Some(r) = redis.clone() {
            let _ = cell.set(r);
        }
        let loaded_at = snapshot.as_ref().map(|_| crate::clock::now());
        let ledger = load_ledger(&settings.data_dir);
        let store = crate::trust::store::Store::new(
            Arc::clone(&cell),
            &settings.redis_prefix,
            Some(settings.data_dir.join("trust")),
        );
        AppState {
            trust: crate::trust::refresh::Trust::new(sources, store),
            publication: arc_swap::ArcSwapOption::empty(),
            ledger: std::sync::Mutex::new(ledger),
            snapshot_loaded_at: std::sync::Mutex::new(loaded_at),
            clients: auth::Clients::from_settings(&settings),
            limiter: rate_limit::Limiter::new(
                &settings.tiers,
                Arc::clone(&cell),
                &settings.redis_prefix,
            ),
            cache: cache::ResultCache::new(settings.cache_capacity),
            snapshot: ArcSwapOption::new(snapshot.map(Arc::new)),
            limits,
            settings,
            redis: cell,
        }
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

impl AppState {
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
        let path = ledger_path(&self.settings.data_dir);
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec(&*ledger)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                std::fs::create_dir_all(&self.settings.data_dir)?;
                std::fs::write(&tmp, bytes)?;
                std::fs::rename(&tmp, &path)
            });
        if let Err(e) = written {
            tracing::warn!(error = %e, "app-sync ledger not persisted");
        }
    }

    /// Makes the app-sync ledger cluster-wide: tokens come from Redis (`INCR` + `HSETNX`), so
    /// every instance hands out the same, increasing token for the same DSC, across restarts.
    /// Without Redis (or while it is down) the local ledger stands and is reconciled later.
    pub async fn sync_ledger_shared(&self) {
        use crate::trust::ledger::Entry;
        let Some(snapshot) = self.snapshot.load_full() else {
            return;
        };
        let Some(mut shared) = self.trust.store.ledger_entries().await else {
            return;
        };
        let now = crate::clock::now().unix_timestamp();
        let mut present = std::collections::BTreeSet::new();
        let mut dscs: Vec<_> = snapshot.iter().collect();
        dscs.sort_by_key(|d| (d.not_before, d.kid));
        for dsc in dscs {
            let thumb =
                crate::util::hex(ring::digest::digest(&ring::digest::SHA256, &dsc.der).as_ref());
            present.insert(thumb.clone());
            let live = shared.get(&thumb).is_some_and(|e| e.deleted.is_none());
            if live {
                continue;
            }
            let fresh = Entry {
                token: 0,
                kid: dsc.kid.to_base64(),
                country: dsc.country.clone(),
                since: now,
                deleted: None,
            };
            let claimed = if shared.contains_key(&thumb) {
                // Back after a deletion: a new, higher token (as the reference service does).
                self.trust.store.ledger_reinsert(&thumb, fresh).await
            } else {
                self.trust.store.ledger_claim(&thumb, fresh).await
            };
            match claimed {
                Some(e) => {
                    shared.insert(thumb, e);
                }
                None => return,
            }
        }
        // Only an instance whose snapshot is the cluster's newest may record deletions.
        let newest = self
            .trust
            .store
            .remote_version()
            .await
            .is_none_or(|v| snapshot.version >= v);
        if newest {
            for (thumb, e) in shared.iter_mut() {
                if e.deleted.is_none() && !present.contains(thumb) {
                    e.deleted = Some(now);
                    self.trust.store.ledger_put(thumb, e).await;
                }
            }
        }
        if let Ok(mut ledger) = self.ledger.lock() {
            ledger.next = shared.values().map(|e| e.token).max().unwrap_or(0);
            ledger.entries = shared.into_iter().collect();
        }
        self.persist_ledger();
    }

    /// Swaps in a new trust snapshot atomically; cached results of the old one stop matching.
    pub fn swap_snapshot(&self, snapshot: TrustSnapshot) {
        self.snapshot.store(Some(Arc::new(snapshot)));
        // With Redis, tokens are assigned cluster-wide by `sync_ledger_shared` only.
        if !self.trust.store.has_redis() {
            self.sync_ledger();
        }
        if let Ok(mut at) = self.snapshot_loaded_at.lock() {
            *at = Some(crate::clock::now());
        }
    }

    /// Seconds since the current snapshot was loaded.
    pub fn snapshot_age_secs(&self) -> Option<i64> {
        let at = (*self.snapshot_loaded_at.lock().ok()?)?;
        Some((crate::clock::now() - at).whole_seconds())
    }
}

/// Routes of the public API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, content_type, body) in routes::EMBEDDED {
        cfg.route(
            path,
            web::get().to(move || async move { routes::embedded(content_type, body) }),
        );
    }
    cfg.route("/v1/verify", web::post().to(routes::verify))
        .route("/v1/verify/batch", web::post().to(routes::batch))
        .route("/v1/verify/image", web::post().to(routes::image))
        .route("/v1/trust/summary", web::get().to(routes::trust_summary))
        .route("/trustList", web::get().to(publish::all))
        .route("/trustList/{type}", web::get().to(publish::by_type))
        .route(
            "/trustList/{type}/{country}",
            web::get().to(publish::by_type_country),
        )
        .route("/de/trustList/DSC/", web::get().to(publish::de_list))
        .route(
            "/v2/trustlist/-/VNM/{kind}/did.json",
            web::get().to(publish::did),
        )
        .route("/signercertificateUpdate", web::get().to(sync::update))
        .route("/signercertificateUpdate", web::post().to(sync::lookup))
        .route("/signercertificateStatus", web::get().to(sync::status))
        .route("/signercertificateStatus/delta", web::get().to(sync::delta))
        .route("/healthz", web::get().to(routes::healthz))
        .route("/readyz", web::get().to(routes::readyz))
        .route("/metrics", web::get().to(routes::metrics))
        .route("/openapi.json", web::get().to(routes::openapi))
        .default_service(web::to(routes::not_found));
}

/// One bounded attempt to connect to Redis (start-up: the stored snapshot comes first).
pub async fn connect_redis_once(
    url: &str,
    cell: &OnceLock<redis::aio::ConnectionManager>,
    budget: Duration,
) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(500)));
    match tokio::time::timeout(budget, client.get_connection_manager_with_config(config)).await {
        Ok(Ok(manager)) => {
            let _ = cell.set(manager);
            tracing::info!("redis connected");
            true
        }
        _ => false,
    }
}

/// Connects to Redis in the background, retrying until it answers.
pub fn connect_redis_in_background(
    url: String,
    cell: Arc<OnceLock<redis::aio::ConnectionManager>>,
) {
    actix_web::rt::spawn(async move {
        loop {
            if let Ok(client) = redis::Client::open(url.as_str()) {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(Duration::from_millis(200)));
                let attempt = tokio::time::timeout(
                    Duration::from_secs(2),
                    client.get_connection_manager_with_config(config),
                )
                .await;
                if let Ok(Ok(manager)) = attempt {
                    let _ = cell.set(manager);
                    tracing::info!("redis connected");
                    return;
                }
            }
            tracing::warn!("redis not reachable yet; local rate limits only, retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// Headers on every answer of the public listener (also on the refusal written by
/// [`conn_limit`] outside actix).
pub const SECURITY_HEADERS: [(&str, &str); 3] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
];

/// Starts the server on `listener`; returns the server handle to await or stop.
pub fn start(
    state: Arc<AppState>,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let http = state.settings.http.clone();
    let workers = state
        .settings
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    if let Some(url) = state.settings.redis_url.clone()
        && state.redis.get().is_none()
    {
        connect_redis_in_background(url, Arc::clone(&state.redis));
    }
    let housekeeping = Arc::clone(&state);
    actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            housekeeping.limiter.housekeeping();
        }
    });
    state.sync_ledger();
    let per_ip = conn_limit::ConnLimiter::new(http.max_connections_per_ip);
    let data = web::Data::from(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(
                SECURITY_HEADERS
                    .iter()
                    .fold(DefaultHeaders::new(), |h, &pair| h.add(pair)),
            )
            .wrap(actix_web::middleware::from_fn(observe::observe))
            .configure(configure)
    })
    .workers(workers)
    .client_request_timeout(Duration::from_secs(http.client_request_timeout_secs))
    .client_disconnect_timeout(Duration::from_secs(2))
    .keep_alive(Duration::from_secs(http.keep_alive_secs))
    .max_connections(http.max_connections_per_worker)
    .on_connect(move |conn, ext| per_ip.on_connect(conn, ext))
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
