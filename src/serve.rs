//! `dcc-gateway serve`: settings → logging → trust snapshot → HTTP server, with graceful
//! shutdown on SIGTERM/SIGINT (in-flight requests complete, up to 30 s).

use std::net::TcpListener;
use std::sync::Arc;

use crate::config::Settings;
use crate::http::AppState;

/// Vietnam's DSCs when no configured source provides one: the key set in the data directory
/// (created on first start as a PS256 *development* key set, logged loudly), or the older
/// development layout (CSCA + DSC only; publication then answers 503).
fn development_keys(
    settings: &Settings,
    trust: &crate::trust::refresh::Trust,
) -> Result<Vec<crate::trust::model::Dsc>, String> {
    use crate::keys::store::{KeyError, KeySet};
    if trust.has_country("VN") {
        return Ok(Vec::new());
    }
    let now = crate::clock::now();
    let keys = match KeySet::load(&settings.data_dir) {
        Ok(keys) => {
            tracing::warn!(dir = %settings.data_dir.join("keys").display(), "no source provides a VN DSC: using the key set of the data directory");
            Some(keys)
        }
        Err(KeyError::Missing(_)) => {
            let public = settings.data_dir.join("keys").join("public");
            match KeySet::init(&settings.data_dir, &public, crate::crypto::Alg::Ps256, now) {
                Ok(keys) => {
                    tracing::warn!(dir = %settings.data_dir.join("keys").display(), "created DEVELOPMENT VN key set (CSCA, DSC, upload, list signer): not for production");
                    Some(keys)
                }
                // Another instance sharing the data directory won the race: load its keys.
                Err(KeyError::Exists(_)) => KeySet::load(&settings.data_dir).ok(),
                Err(e) => return Err(format!("development keys: {e}")),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "no usable VN key set; falling back to the development DSC (publication unavailable)");
            None
        }
    };
    if let Some(keys) = keys {
        return Ok(keys
            .published_dscs(now)
            .into_iter()
            .filter_map(|d| crate::trust::model::Dsc::from_der(&d.cert.der, "VN-dev").ok())
            .collect());
    }
    let (dsc, _) = crate::keys::dev::ensure(&settings.data_dir, now)
        .map_err(|e| format!("development keys: {e}"))?;
    Ok(vec![dsc])
}

/// Brings an instance's trust up: Redis (bounded wait), the stored snapshot, one refresh of
/// every source, development keys if no source has a VN DSC, then the background loops.
pub async fn start_trust(state: &Arc<AppState>) -> Result<(), String> {
    if let Some(url) = state.settings.redis_url.clone()
        && state.redis.get().is_none()
    {
        crate::redis::connect_once(&url, &state.redis, std::time::Duration::from_secs(2)).await;
    }
    state.trust.bootstrap().await;
    let local = development_keys(&state.settings, &state.trust.sources)?;
    if !local.is_empty() {
        state.trust.sources.set_local(local);
        state.trust.bootstrap_local().await;
    }
    crate::trust::live::spawn(Arc::clone(&state.trust));
    Ok(())
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("DCCGW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: redirected logs (files, journald, docker) stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_target(false);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// What the command line may override in the settings.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// TOML configuration file (then `DCCGW_*` environment variables override it).
    pub config: Option<std::path::PathBuf>,
    pub bind: Option<String>,
    pub data_dir: Option<std::path::PathBuf>,
}

/// Runs the server until it is stopped.
pub fn run(args: &Overrides) -> Result<(), String> {
    let mut settings = Settings::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(bind) = &args.bind {
        settings.bind.clone_from(bind);
    }
    if let Some(dir) = &args.data_dir {
        settings.data_dir.clone_from(dir);
    }
    init_logging(&settings.log_format);
    let sources = crate::trust::refresh::Trust::sources_from_settings(&settings)?;
    let listener =
        TcpListener::bind(&settings.bind).map_err(|e| format!("bind {}: {e}", settings.bind))?;
    tracing::info!(addr = %settings.bind, redis = settings.redis_url.is_some(), "listening");
    actix_web::rt::System::new().block_on(async move {
        let state = Arc::new(AppState::with_sources(settings, None, None, sources));
        start_trust(&state).await?;
        if let Some(snap) = state.trust.snapshot.load_full() {
            tracing::info!(dscs = snap.len(), snapshot = %snap.id, version = snap.version, "trust snapshot in force");
        }
        if let (true, Some(bind)) = (
            state.settings.admin.enabled(),
            state.settings.admin.bind.clone(),
        ) {
            let admin = TcpListener::bind(&bind).map_err(|e| format!("bind admin {bind}: {e}"))?;
            tracing::info!(addr = %bind, "admin listener on");
            let server = crate::http::admin::start(Arc::clone(&state), admin)
                .map_err(|e| e.to_string())?;
            actix_web::rt::spawn(server);
        }
        let server = crate::http::start(state, listener).map_err(|e| e.to_string())?;
        server.await.map_err(|e| e.to_string())
    })
}
