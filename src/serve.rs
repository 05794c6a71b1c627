//! `dcc-gateway serve`: settings → logging → trust snapshot → HTTP server, with graceful
//! shutdown on SIGTERM/SIGINT (in-flight requests complete, up to 30 s).

use std::net::TcpListener;
use std::sync::Arc;

use crate::cli::ServeArgs;
use crate::config::Settings;
use crate::http::AppState;
use crate::trust::model::TrustSnapshot;

/// Builds the initial snapshot from the local trust tree and the development VN keys.
pub fn initial_snapshot(settings: &Settings) -> Result<TrustSnapshot, String> {
    let (mut dscs, skipped) = crate::trust::local::load_dir(&settings.trust_dir);
    for s in &skipped {
        tracing::warn!(path = %s.path.display(), reason = %s.reason, "trust file skipped");
    }
    let has_vn = dscs.iter().any(|d| d.country.as_deref() == Some("VN"));
    if !has_vn {
        let (dsc, created) = crate::keys::dev::ensure(&settings.data_dir, crate::clock::now())
            .map_err(|e| format!("development keys: {e}"))?;
        if created {
            tracing::warn!(dir = %settings.data_dir.join("keys").display(), "created DEVELOPMENT VN signing keys: not for production");
        } else {
            tracing::warn!("using DEVELOPMENT VN signing keys from the data directory");
        }
        dscs.push(dsc);
    }
    let version = u64::try_from(crate::clock::now().unix_timestamp()).unwrap_or(1);
    Ok(TrustSnapshot::new(version, dscs))
}

fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("DCCGW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs the server until it is stopped.
pub fn run(args: &ServeArgs) -> Result<(), String> {
    let mut settings = Settings::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(bind) = &args.bind {
        settings.bind.clone_from(bind);
    }
    if let Some(dir) = &args.data_dir {
        settings.data_dir.clone_from(dir);
    }
    init_logging(&settings.log_format);
    let snapshot = initial_snapshot(&settings)?;
    tracing::info!(dscs = snapshot.len(), snapshot = %snapshot.id, "trust snapshot loaded");
    let listener =
        TcpListener::bind(&settings.bind).map_err(|e| format!("bind {}: {e}", settings.bind))?;
    tracing::info!(addr = %settings.bind, redis = settings.redis_url.is_some(), "listening");
    actix_web::rt::System::new().block_on(async move {
        let state = Arc::new(AppState::new(settings, Some(snapshot), None));
        let server = crate::http::start(state, listener).map_err(|e| e.to_string())?;
        server.await.map_err(|e| e.to_string())
    })
}
