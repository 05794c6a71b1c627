//! `dcc-gateway trust-list check|export`.
//!
//! `check` runs exactly the adapter and rules ingestion uses (see [`crate::trust::formats`]) on
//! one list and reports countries, accepted keys and every rejected entry with its reason; a
//! list is accepted as a whole when it parses, its signature checks out and at least one key is
//! accepted. `export` writes the merged snapshot in force, read from the store (Redis when
//! configured, else `<data_dir>/trust/`).

use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use time::OffsetDateTime;

use super::{EXIT_INVALID, EXIT_VALID, parse_at};
use crate::trust::formats::{self, Anchor, Context, Rejected};
use crate::trust::sources::{self, Fetched, Validators};

#[derive(Debug, Subcommand)]
pub enum TrustListCommand {
    /// Parse and validate a list: countries, accepted keys, every rejected entry with its
    /// reason. Exit 0 if the list as a whole is accepted, 1 if rejected, 2 usage or I/O error.
    Check(CheckArgs),
    /// Write the merged snapshot in force (from Redis if configured, else the data directory).
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[arg(long, value_parser = parse_format_arg)]
    pub format: crate::trust::formats::Format,
    /// Pinned anchor: certificate(s) or public key (PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub anchor: Option<PathBuf>,
    /// Judge validity at this instant (RFC 3339); default now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_at)]
    pub at: Option<OffsetDateTime>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Largest body accepted.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_bytes: u64,
    /// The list: a file, a directory (pem), or an http(s) URL.
    #[arg(value_name = "FILE|URL")]
    pub input: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// EU gateway TrustListItem JSON (DSC entries; `signature` null: an unsigned dump).
    EuJson,
    /// PEM bundle.
    Pem,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// TOML configuration file (for `redis_url`, `data_dir`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Output file (default stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--format`: the domain enum stays free of clap; the CLI maps names to it here.
fn parse_format_arg(name: &str) -> Result<crate::trust::formats::Format, String> {
    crate::trust::formats::Format::parse(name).ok_or_else(|| {
        let names: Vec<&str> = crate::trust::formats::Format::ALL
            .iter()
            .map(|f| f.name())
            .collect();
        format!("unknown format {name:?}; one of {}", names.join(", "))
    })
}

/// The report `check --json` prints.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub format: &'static str,
    pub accepted: bool,
    /// The list-level error code, when the list as a whole is refused.
    pub error: Option<&'static str>,
    pub message: Option<String>,
    pub countries: Vec<String>,
    pub keys: usize,
    pub kids: Vec<String>,
    pub rejected: Vec<Rejected>,
    pub deleted: Vec<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn read_input(input: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
    if input.starts_with("http://") || input.starts_with("https://") {
        let rt = runtime()?;
        return rt.block_on(async {
            let client = sources::http_client(Duration::from_secs(5)).map_err(|e| e.to_string())?;
            match sources::fetch_url(
                &client,
                input,
                &Validators::default(),
                max_bytes,
                Duration::from_secs(30),
            )
            .await
            {
                Ok(Fetched::Body { bytes, .. }) => Ok(bytes),
                Ok(Fetched::NotModified) => Err("unexpected 304".to_owned()),
                Err(e) => Err(format!("{input}: {e}")),
            }
        });
    }
    sources::read_local(std::path::Path::new(input), max_bytes).map_err(|e| e.to_string())
}

/// Builds the report for `bytes` (pure: the CLI and tests share it).
pub fn report(
    format: formats::Format,
    bytes: &[u8],
    anchor: &Anchor,
    now: time::OffsetDateTime,
) -> CheckReport {
    let ctx = Context {
        anchor,
        now,
        source: "check",
        keep_expired: crate::trust::formats::KEEP_EXPIRED,
    };
    let mut out = CheckReport {
        format: format.name(),
        accepted: false,
        error: None,
        message: None,
        countries: Vec::new(),
        keys: 0,
        kids: Vec::new(),
        rejected: Vec::new(),
        deleted: Vec::new(),
    };
    match formats::ingest(format, bytes, &ctx) {
        Err(e) => {
            out.error = Some(e.code());
            out.message = Some(e.to_string());
        }
        Ok(ingested) => {
            out.countries = ingested.countries().into_iter().collect();
            out.keys = ingested.dscs.len();
            out.kids = ingested.dscs.iter().map(|d| d.kid.to_base64()).collect();
            out.deleted = ingested.deleted.iter().map(|k| k.to_base64()).collect();
            out.rejected.clone_from(&ingested.rejected);
            match ingested.non_empty() {
                Ok(_) => out.accepted = true,
                Err(e) => {
                    out.error = Some(e.code());
                    out.message = Some(e.to_string());
                }
            }
        }
    }
    out
}

/// `trust-list check`.
pub fn check(args: &CheckArgs) -> Result<u8, String> {
    let anchor = match &args.anchor {
        None => Anchor::none(),
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Anchor::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    let bytes = read_input(&args.input, args.max_bytes)?;
    let now = args.at.unwrap_or_else(crate::clock::now);
    let r = report(args.format, &bytes, &anchor, now);
    let text = if args.json {
        serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
    } else {
        let mut t = format!(
            "{} list {}: {} key(s) accepted, {} rejected\n",
            r.format,
            if r.accepted { "ACCEPTED" } else { "REJECTED" },
            r.keys,
            r.rejected.len()
        );
        if let (Some(code), Some(msg)) = (r.error, &r.message) {
            t.push_str(&format!("  error {code}: {msg}\n"));
        }
        t.push_str(&format!("  countries: {}\n", r.countries.join(", ")));
        for rej in &r.rejected {
            t.push_str(&format!(
                "  rejected {} ({}): {}\n",
                rej.entry,
                rej.country.as_deref().unwrap_or("?"),
                rej.reason.code()
            ));
        }
        for kid in &r.deleted {
            t.push_str(&format!("  deleted {kid}\n"));
        }
        t.trim_end().to_owned()
    };
    super::emit(&text)?;
    Ok(if r.accepted { EXIT_VALID } else { EXIT_INVALID })
}

/// `trust-list export`.
pub fn export(args: &ExportArgs) -> Result<(), String> {
    let mut settings =
        crate::config::Settings::load(args.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(dir) = &args.data_dir {
        settings.data_dir.clone_from(dir);
    }
    let rt = runtime()?;
    let record = rt.block_on(async {
        let cell = std::sync::Arc::new(std::sync::OnceLock::new());
        if let Some(deployment) = crate::redis::Deployment::from_settings(&settings) {
            crate::redis::connect_once(&deployment, &cell, Duration::from_secs(2)).await;
        }
        let store = crate::trust::store::Store::new(
            cell,
            &settings.redis_prefix,
            Some(settings.data_dir.join("trust")),
        );
        store.load_snapshot().await
    });
    let record = record.ok_or("no trust snapshot stored yet (start `serve` once)")?;
    let (mut dscs, _) = record.dscs();
    dscs.sort_by_key(|d| d.kid);
    let body = match args.format {
        ExportFormat::Pem => dscs
            .iter()
            .map(|d| crate::keys::pem_encode("CERTIFICATE", &d.der))
            .collect::<String>(),
        ExportFormat::EuJson => {
            let items: Vec<serde_json::Value> = dscs
                .iter()
                .map(|d| {
                    let at = d.fetched_at.unwrap_or_else(crate::clock::now);
                    serde_json::json!({
                        "kid": d.kid.to_base64(),
                        "timestamp": crate::util::rfc3339(at),
                        "country": d.country,
                        "certificateType": "DSC",
                        "thumbprint": crate::util::sha256_hex(&d.der),
                        "signature": null,
                        "rawData": crate::util::base64_encode(&d.der),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&items).map_err(|e| e.to_string())?
        }
    };
    match &args.out {
        Some(path) => std::fs::write(path, body).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(body.as_bytes())
            .map_err(|e| e.to_string()),
    }
}
