//! One instance, assembled: settings → trust sources → application state → listeners → trust
//! bring-up → HTTP servers. [`Application::build`] is the production start-up path; `serve`
//! runs it, and the API tests build their servers with it too (with
//! [`TrustSetup::Fixed`] or [`TrustSetup::Sources`]), so what is tested is what runs.
//!
//! Business rules are read from `rules_dir` when the application is built, for every setup.
//!
//! Trust bring-up ([`bring_up_trust`]): Redis (bounded wait), the stored snapshot, one refresh
//! of every source, development keys when no source provides a VN DSC, then the background
//! loops ([`crate::trust::live::spawn`]).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use crate::config::Settings;
use crate::http::AppState;
use crate::trust::model::{Dsc, TrustSnapshot};
use crate::trust::sources::{SourceConfig, SourcesError};

/// Why an instance cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("trust sources: {0}")]
    Sources(#[from] SourcesError),
    #[error("bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("development key set: {0}")]
    KeySet(#[from] crate::keys::store::KeyError),
    #[error("development keys: {0}")]
    DevelopmentKeys(#[from] crate::keys::dev::DevKeyError),
    #[error("HTTP server: {0}")]
    Server(std::io::Error),
}

/// Where the instance's trust comes from.
#[derive(Debug, Clone)]
pub enum TrustSetup {
    /// `sources.toml` (or the trust directory) named by the settings: production.
    FromSettings,
    /// These sources, brought up exactly as in production.
    Sources(Vec<SourceConfig>),
    /// A snapshot fixed by the caller; no source, no refresh loop, no development keys.
    Fixed(Option<TrustSnapshot>),
}

/// An instance whose listeners are bound and whose state is built, not yet serving.
pub struct Application {
    state: Arc<AppState>,
    listener: TcpListener,
    admin: Option<TcpListener>,
    bring_up: bool,
}

impl Application {
    /// The production instance of `settings`.
    pub fn build(settings: Settings) -> Result<Application, StartError> {
        Application::build_with(settings, TrustSetup::FromSettings)
    }

    /// An instance of `settings` with the trust of `trust`.
    pub fn build_with(settings: Settings, trust: TrustSetup) -> Result<Application, StartError> {
        let (snapshot, sources, bring_up) = match trust {
            TrustSetup::FromSettings => (
                None,
                crate::trust::refresh::Trust::sources_from_settings(&settings)?,
                true,
            ),
            TrustSetup::Sources(sources) => (None, sources, true),
            TrustSetup::Fixed(snapshot) => (snapshot, Vec::new(), false),
        };
        let bind = |addr: &str| {
            TcpListener::bind(addr).map_err(|source| StartError::Bind {
                addr: addr.to_owned(),
                source,
            })
        };
        let listener = bind(&settings.bind)?;
        let admin = match (settings.admin.enabled(), &settings.admin.bind) {
            (true, Some(addr)) => Some(bind(addr)?),
            _ => None,
        };
        let state = Arc::new(AppState::with_sources(settings, snapshot, None, sources));
        state.trust.load_rules(&state.settings.rules_dir());
        Ok(Application {
            state,
            listener,
            admin,
            bring_up,
        })
    }

    /// The shared state (tests inspect it).
    pub fn state(&self) -> Arc<AppState> {
        Arc::clone(&self.state)
    }

    /// The address the public listener is bound to.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The address the admin listener is bound to, when it is enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Brings trust up and starts the servers (call inside the actix system); the returned
    /// public server runs until it is awaited to completion or stopped through its handle.
    pub async fn start(self) -> Result<actix_web::dev::Server, StartError> {
        if self.bring_up {
            bring_up_trust(&self.state).await?;
        }
        if let Some(snap) = self.state.trust.snapshot.load_full() {
            tracing::info!(dscs = snap.len(), snapshot = %snap.id, version = snap.version, "trust snapshot in force");
        }
        if let Some(admin) = self.admin {
            if let Ok(addr) = admin.local_addr() {
                tracing::info!(%addr, "admin listener on");
            }
            let server = crate::http::admin::start(Arc::clone(&self.state), admin)
                .map_err(StartError::Server)?;
            actix_web::rt::spawn(server);
        }
        crate::http::start(self.state, self.listener).map_err(StartError::Server)
    }

    /// [`Application::start`], then serves until the server stops (SIGTERM/SIGINT: in-flight
    /// requests complete, up to 30 s).
    pub async fn run(self) -> Result<(), StartError> {
        self.start().await?.await.map_err(StartError::Server)
    }
}

/// Brings an instance's trust up: see the module docs.
pub async fn bring_up_trust(state: &Arc<AppState>) -> Result<(), StartError> {
    if let Some(deployment) = crate::redis::Deployment::from_settings(&state.settings)
        && state.redis.get().is_none()
    {
        crate::redis::connect_once(&deployment, &state.redis, std::time::Duration::from_secs(2))
            .await;
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

/// Vietnam's DSCs when no configured source provides one: the key set in the data directory
/// (created on first start as a PS256 *development* key set, logged loudly), or the older
/// development layout (CSCA + DSC only; publication then answers 503).
fn development_keys(
    settings: &Settings,
    trust: &crate::trust::refresh::Trust,
) -> Result<Vec<Dsc>, StartError> {
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
                Err(e) => return Err(e.into()),
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
            .filter_map(|d| Dsc::from_der(&d.cert.der, "VN-dev").ok())
            .collect());
    }
    let (dsc, _) = crate::keys::dev::ensure(&settings.data_dir, now)?;
    Ok(vec![dsc])
}
