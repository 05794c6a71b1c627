//! The actix-web gateway: application state, routes, server setup. Only this module imports
//! actix; errors become HTTP in `error.rs` alone.

pub mod admin;
pub mod auth;
pub mod cache;
pub mod conditional;
pub mod conn_limit;
pub mod distribution;
pub mod dto;
pub mod error;
pub mod metrics;
pub mod observe;
pub mod openapi;
pub mod publish;
pub mod rate_limit;
pub mod revocation;
pub mod routes;
pub mod rules;
pub mod sync;

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};

use crate::config::Settings;
use crate::hcert::Limits;
use crate::trust::model::TrustSnapshot;

/// Shared state of one instance.
pub struct AppState {
    pub settings: Settings,
    pub limits: Limits,
    pub clients: auth::Clients,
    pub limiter: rate_limit::Limiter,
    pub cache: cache::ResultCache,
    /// Set once the first Redis connection succeeds (the manager reconnects by itself).
    pub redis: Arc<OnceLock<crate::redis::Conn>>,
    /// The trust runtime (snapshot in force, sources, store, app-sync ledger); HTTP only
    /// reads it.
    pub trust: Arc<crate::trust::live::Live>,
    /// Rendered publication of the current snapshot (EU list, signed lists, DID documents).
    pub publication: arc_swap::ArcSwapOption<crate::trust::publish::Published>,
    /// The business rules in force in the business-rule service protocol, signed.
    pub rules_publication: arc_swap::ArcSwapOption<rules::RulesPublication>,
    /// The revocations in force laid out for the distribution service protocol.
    pub distribution: arc_swap::ArcSwapOption<distribution::Cached>,
    /// Held while that layout is built (one build at a time).
    pub distribution_build: tokio::sync::Mutex<()>,
}

impl AppState {
    /// Builds the state; `redis` may still be empty (connected later in the background).
    pub fn new(
        settings: Settings,
        snapshot: Option<TrustSnapshot>,
        redis: Option<crate::redis::Conn>,
    ) -> AppState {
        AppState::with_sources(settings, snapshot, redis, Vec::new())
    }

    /// Builds the state with trust `sources` (refreshed by [`crate::trust::refresh`]).
    pub fn with_sources(
        settings: Settings,
        snapshot: Option<TrustSnapshot>,
        redis: Option<crate::redis::Conn>,
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
        let trust = crate::trust::live::Live::new(
            &settings.data_dir,
            crate::redis::Deployment::from_settings(&settings),
            &settings.redis_prefix,
            Arc::clone(&cell),
            snapshot,
            sources,
        );
        AppState {
            trust: Arc::new(trust),
            publication: arc_swap::ArcSwapOption::empty(),
            rules_publication: arc_swap::ArcSwapOption::empty(),
            distribution: arc_swap::ArcSwapOption::empty(),
            distribution_build: tokio::sync::Mutex::new(()),
            clients: auth::Clients::from_settings(&settings),
            limiter: rate_limit::Limiter::new(
                &settings.tiers,
                Arc::clone(&cell),
                &settings.redis_prefix,
            ),
            cache: cache::ResultCache::new(settings.cache_capacity),
            limits,
            settings,
            redis: cell,
        }
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
        .route("/revocation-list", web::get().to(revocation::list))
        .route(
            "/revocation-list/{batch_id}",
            web::get().to(revocation::batch),
        )
        .route("/lists", web::get().to(distribution::lists))
        .route(
            "/lists/{kid}/partitions",
            web::get().to(distribution::partitions),
        )
        .route(
            "/lists/{kid}/partitions/{id}",
            web::get().to(distribution::partition),
        )
        .route(
            "/lists/{kid}/partitions/{id}/slices",
            web::post().to(distribution::partition_slices),
        )
        .route(
            "/lists/{kid}/partitions/{id}/chunks/{cid}/slices",
            web::get().to(distribution::chunk_slices),
        )
        .route(
            "/lists/{kid}/partitions/{id}/chunks/{cid}/slices",
            web::post().to(distribution::chunk_slices_post),
        )
        .route(
            "/lists/{kid}/partitions/{id}/chunks/{cid}/slices/{sid}",
            web::get().to(distribution::slice),
        )
        .route("/rules", web::get().to(rules::list))
        .route("/rules/{country}", web::get().to(rules::by_country))
        .route("/rules/{country}/{hash}", web::get().to(rules::rule))
        .route("/valuesets", web::get().to(rules::value_sets))
        .route("/valuesets/{hash}", web::get().to(rules::value_set))
        .route("/countrylist", web::get().to(rules::countries))
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
    if let Some(deployment) = crate::redis::Deployment::from_settings(&state.settings)
        && state.redis.get().is_none()
    {
        crate::redis::connect_in_background(deployment, Arc::clone(&state.redis));
    }
    let housekeeping = Arc::clone(&state);
    actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            housekeeping.limiter.housekeeping();
        }
    });
    state.trust.sync_ledger();
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
