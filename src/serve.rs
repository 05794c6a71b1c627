//! `dcc-gateway serve`: settings (file, environment, command line) → logging →
//! [`crate::app::Application`], with graceful shutdown on SIGTERM/SIGINT (in-flight requests
//! complete, up to 30 s).

use crate::app::Application;
use crate::config::Settings;

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
    let app = Application::build(settings).map_err(|e| e.to_string())?;
    if let Some(addr) = app.local_addr() {
        tracing::info!(%addr, redis = app.state().settings.redis_url.is_some(), "listening");
    }
    actix_web::rt::System::new().block_on(async move { app.run().await.map_err(|e| e.to_string()) })
}
