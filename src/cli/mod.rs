//! Command-line interface (DESIGN.md §4, "CLI").
//!
//! `verify` is offline and one-shot: it trusts exactly the certificates and lists given with
//! `--trust` / `--trust-list`. Exit status: 0 valid, 1 invalid, 2 usage or I/O error. With
//! `--json`, stdout is exactly one `VerificationResult` object, valid or not; diagnostics about
//! the trust files go to stderr.

pub mod trust_list;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;

use crate::crypto::default_verifier;
use crate::hcert::{self, Detail, Finding, Limits, VerificationResult, VerifyOptions};
use crate::trust::formats::eu_json;
use crate::trust::model::{Dsc, TrustSnapshot};
use crate::util::parse_rfc3339;

/// Exit status for a valid certificate.
pub const EXIT_VALID: u8 = 0;
/// Exit status for an invalid certificate.
pub const EXIT_INVALID: u8 = 1;
/// Exit status for usage or I/O errors.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "dcc-gateway",
    version,
    about = "EU Digital COVID Certificate trust-list and verification gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP gateway (embedded defaults: 127.0.0.1:8080, in-memory state, dev VN keys).
    Serve(ServeArgs),
    /// Verify one HC1 certificate offline against the given trust material.
    Verify(VerifyArgs),
    /// Exit 0 if the local gateway answers `/healthz` (for container HEALTHCHECKs).
    Healthcheck {
        /// Address of the gateway; default from `DCCGW_BIND` or 127.0.0.1:8080.
        #[arg(long)]
        addr: Option<String>,
    },
    /// Sign a DCC payload with the VN DSC in the data directory and print the HC1 text.
    Issue(IssueArgs),
    /// Vietnam's key set: create it, rotate the DSC, list the DSCs.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check a trust list, or export the merged trust snapshot.
    #[command(subcommand, name = "trust-list")]
    TrustList(TrustListCommand),
    /// Write the OpenAPI document (default: openapi/openapi.json; `-` for stdout).
    Openapi {
        #[arg(long, default_value = "openapi/openapi.json")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the VN CSCA, UPLOAD, list-signer and first DSC, and publish the certificates.
    /// Refuses if a key set exists (keys are never overwritten).
    Init(KeysInitArgs),
    /// Issue a new DSC and make it current; the old one stays published until it expires,
    /// expired DSCs are removed from the publication directory.
    Rotate(KeysRotateArgs),
    /// List the DSCs: serial, kid, algorithm, validity, current/published/expired.
    List(KeysListArgs),
}

/// A DSC signature algorithm on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgArg {
    /// RSASSA-PSS, RSA-2048 (Vietnam's production algorithm).
    #[value(name = "PS256")]
    Ps256,
    /// ECDSA P-256.
    #[value(name = "ES256")]
    Es256,
}

impl From<AlgArg> for crate::crypto::Alg {
    fn from(alg: AlgArg) -> Self {
        match alg {
            AlgArg::Ps256 => crate::crypto::Alg::Ps256,
            AlgArg::Es256 => crate::crypto::Alg::Es256,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct KeysInitArgs {
    /// Algorithm of the CSCA, UPLOAD and DSC keys (the list signer is always ES256).
    #[arg(long, value_enum, ignore_case = true, default_value = "PS256")]
    pub alg: AlgArg,
    /// Data directory; keys go to `<DIR>/keys/`.
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Where the public certificates are published (DSCs in `<DIR>/dsc/`).
    #[arg(long, value_name = "DIR", default_value = "trust-lists/VN")]
    pub publish_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct KeysRotateArgs {
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "trust-lists/VN")]
    pub publish_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct KeysListArgs {
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
}

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

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The DCC JSON payload (schema-validated before signing).
    #[arg(long, value_name = "FILE")]
    pub payload: PathBuf,
    /// Validity after issue, e.g. 365d (default: 12 months).
    #[arg(long, default_value = "365d")]
    pub valid_for: String,
    /// Also write the QR code as a PNG.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Data directory holding keys/dsc.pem and keys/dsc.key.pem (development keys are created
    /// there if absent).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (then `DCCGW_*` environment variables override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen address, e.g. 0.0.0.0:8080.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Data directory (development keys, local state).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetailArg {
    Minimal,
    Full,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A trusted DSC: PEM (one or a bundle) or DER certificate file. Repeatable.
    #[arg(long = "trust", value_name = "FILE")]
    pub trust: Vec<PathBuf>,
    /// An EU-gateway-format trust list (JSON array of TrustListItem). Repeatable.
    #[arg(long = "trust-list", value_name = "FILE")]
    pub trust_list: Vec<PathBuf>,
    /// Verify at this instant (RFC 3339, e.g. 2021-06-01T00:00:00Z); default now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_at)]
    pub at: Option<OffsetDateTime>,
    /// Print the VerificationResult JSON.
    #[arg(long)]
    pub json: bool,
    /// How much of the certificate to show.
    #[arg(long, value_enum, default_value = "minimal")]
    pub detail: DetailArg,
    /// Treat codes outside the EU value sets as errors rather than warnings.
    #[arg(long)]
    pub strict_valuesets: bool,
    /// Read the QR code from a PNG or JPEG image.
    #[arg(long, value_name = "FILE", conflicts_with = "qr")]
    pub image: Option<PathBuf>,
    /// The QR text (`HC1:…`), or `-` to read it from stdin.
    #[arg(value_name = "QR", required_unless_present = "image")]
    pub qr: Option<String>,
}

fn parse_at(s: &str) -> Result<OffsetDateTime, String> {
    parse_rfc3339(s).ok_or_else(|| format!("not an RFC 3339 instant: {s}"))
}

/// Runs the parsed command and returns the process exit code: the command's own status, or
/// [`EXIT_USAGE`] with its message on stderr when it fails.
pub fn run(cli: Cli) -> ExitCode {
    let ok = |()| EXIT_VALID;
    let status: Result<u8, String> = match cli.command {
        Command::Serve(args) => crate::serve::run(&crate::serve::Overrides {
            config: args.config,
            bind: args.bind,
            data_dir: args.data_dir,
        })
        .map(ok),
        Command::Healthcheck { addr } => {
            let addr = addr
                .or_else(|| std::env::var("DCCGW_BIND").ok())
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
                .replace("0.0.0.0", "127.0.0.1");
            Ok(if healthcheck(&addr) {
                EXIT_VALID
            } else {
                EXIT_INVALID
            })
        }
        Command::Issue(args) => issue(&args).map(ok),
        Command::Openapi { out } => {
            let doc = crate::http::openapi::json();
            if out.as_os_str() == "-" {
                writeln!(std::io::stdout(), "{doc}").map_err(|e| e.to_string())
            } else {
                std::fs::write(&out, format!("{doc}\n"))
                    .map_err(|e| format!("{}: {e}", out.display()))
            }
            .map(ok)
        }
        Command::Keys(command) => keys(&command).map(ok),
        Command::TrustList(TrustListCommand::Check(args)) => trust_list::check(&args),
        Command::TrustList(TrustListCommand::Export(args)) => trust_list::export(&args).map(ok),
        Command::Verify(args) => verify(&args),
    };
    match status {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
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

/// Loads the trust material named on the command line into a snapshot.
pub fn load_trust(trust: &[PathBuf], trust_lists: &[PathBuf]) -> Result<TrustSnapshot, String> {
    let mut dscs = Vec::new();
    for path in trust {
        let bytes = read_file(path)?;
        let loaded =
            Dsc::from_pem_or_der(&bytes, "cli").map_err(|e| format!("{}: {e}", path.display()))?;
        dscs.extend(loaded);
    }
    for path in trust_lists {
        let bytes = read_file(path)?;
        let parsed = eu_json::parse_dscs(&bytes, "cli-trust-list")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        for (index, reason) in &parsed.rejected {
            eprintln!(
                "warning: {}: entry {index} skipped: {reason}",
                path.display()
            );
        }
        dscs.extend(parsed.dscs);
    }
    Ok(TrustSnapshot::new(0, dscs))
}

/// A minimal HTTP/1.1 GET /healthz with a 2 s budget.
fn healthcheck(addr: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let Some(sock) = addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&sock, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn issue(args: &IssueArgs) -> Result<(), String> {
    let valid_for = crate::keys::issue::parse_duration(&args.valid_for)
        .ok_or("--valid-for takes e.g. 365d, 12h")?;
    let payload: serde_json::Value = serde_json::from_slice(&read_file(&args.payload)?)
        .map_err(|e| format!("{}: {e}", args.payload.display()))?;
    crate::keys::dev::ensure(&args.data_dir, crate::clock::now()).map_err(|e| e.to_string())?;
    let (dsc, key) = crate::keys::issue::load_signer(&args.data_dir).map_err(|e| e.to_string())?;
    let (hc1, warnings) =
        crate::keys::issue::issue(&payload, &dsc, &key, crate::clock::now(), valid_for)
            .map_err(|e| e.to_string())?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if let Some(path) = &args.png {
        let png = crate::keys::issue::qr_png(&hc1).map_err(|e| e.to_string())?;
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    writeln!(std::io::stdout(), "{hc1}").map_err(|e| e.to_string())
}

fn keys(command: &KeysCommand) -> Result<(), String> {
    use crate::keys::store::KeySet;
    let now = crate::clock::now();
    let mut out = std::io::stdout().lock();
    match command {
        KeysCommand::Init(args) => {
            let alg = args.alg.into();
            let set = KeySet::init(&args.data_dir, &args.publish_dir, alg, now)
                .map_err(|e| e.to_string())?;
            let dsc = set.current_entry().map_err(|e| e.to_string())?;
            writeln!(
                out,
                "created the VN key set in {} ({}; list signer ES256)\n\
                 current DSC {} kid {} valid until {}\n\
                 published to {}",
                set.dir.display(),
                crate::crypto::Alg::name(alg),
                dsc.serial,
                dsc.cert.kid(),
                crate::util::rfc3339(dsc.not_after),
                args.publish_dir.display()
            )
            .map_err(|e| e.to_string())
        }
        KeysCommand::Rotate(args) => {
            let mut set = KeySet::load(&args.data_dir).map_err(|e| e.to_string())?;
            let serial = set
                .rotate(&args.publish_dir, now)
                .map_err(|e| e.to_string())?;
            let dsc = set.current_entry().map_err(|e| e.to_string())?;
            let published: Vec<String> = set
                .published_dscs(now)
                .iter()
                .map(|d| d.serial.to_string())
                .collect();
            writeln!(
                out,
                "current DSC {serial} kid {} valid until {}\npublished DSCs: {}",
                dsc.cert.kid(),
                crate::util::rfc3339(dsc.not_after),
                published.join(", ")
            )
            .map_err(|e| e.to_string())
        }
        KeysCommand::List(args) => {
            #[derive(serde::Serialize)]
            struct Row {
                serial: u64,
                kid: String,
                alg: &'static str,
                not_before: String,
                not_after: String,
                /// `current`, `published` or `expired`.
                status: &'static str,
                current: bool,
            }
            let set = KeySet::load(&args.data_dir).map_err(|e| e.to_string())?;
            let mut rows = Vec::new();
            for dsc in &set.dscs {
                let current = dsc.serial == set.current;
                rows.push(Row {
                    serial: dsc.serial,
                    kid: dsc.cert.kid().to_base64(),
                    alg: dsc.cert.alg().map_err(|e| e.to_string())?.name(),
                    not_before: crate::util::rfc3339(dsc.not_before),
                    not_after: crate::util::rfc3339(dsc.not_after),
                    status: match (dsc.expired(now), current) {
                        (true, _) => "expired",
                        (false, true) => "current",
                        (false, false) => "published",
                    },
                    current,
                });
            }
            if args.json {
                let text = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
                return writeln!(out, "{text}").map_err(|e| e.to_string());
            }
            writeln!(
                out,
                "{:>6}  {:<12}  {:<5}  {:<20}  {:<20}  status",
                "serial", "kid", "alg", "not_before", "not_after"
            )
            .map_err(|e| e.to_string())?;
            for r in &rows {
                writeln!(
                    out,
                    "{:>6}  {:<12}  {:<5}  {:<20}  {:<20}  {}",
                    r.serial, r.kid, r.alg, r.not_before, r.not_after, r.status
                )
                .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn verify(args: &VerifyArgs) -> Result<u8, String> {
    let snapshot = load_trust(&args.trust, &args.trust_list)?;
    let limits = Limits::default();
    let opts = VerifyOptions {
        at: args.at.unwrap_or_else(crate::clock::now),
        detail: match args.detail {
            DetailArg::Minimal => Detail::Minimal,
            DetailArg::Full => Detail::Full,
        },
        strict_valuesets: args.strict_valuesets,
    };
    let qr = match (&args.image, args.qr.as_deref()) {
        (Some(path), _) => {
            let bytes = read_file(path)?;
            crate::qr::decode_image(&bytes, &limits).map_err(|e| Finding::from_error(&e))
        }
        (None, Some("-")) => {
            let mut text = String::new();
            std::io::stdin()
                .take(limits.max_qr_chars as u64 + 2)
                .read_to_string(&mut text)
                .map_err(|e| format!("stdin: {e}"))?;
            // A trailing newline is a shell artefact, not part of the QR payload.
            let trimmed = text.strip_suffix('\n').unwrap_or(&text);
            Ok(trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned())
        }
        (None, Some(qr)) => Ok(qr.to_owned()),
        (None, None) => return Err("give a QR text, `-` or --image FILE".to_owned()),
    };
    let result = match qr {
        Ok(qr) => hcert::verify(&qr, &snapshot, default_verifier(), &limits, &opts),
        Err(finding) => hcert::rejected(finding, &snapshot, &opts),
    };
    print_result(&result, args.json)?;
    Ok(if result.valid {
        EXIT_VALID
    } else {
        EXIT_INVALID
    })
}

fn print_result(result: &VerificationResult, json: bool) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let write = |out: &mut std::io::StdoutLock<'_>, text: String| {
        writeln!(out, "{text}").map_err(|e| format!("stdout: {e}"))
    };
    if json {
        let text = serde_json::to_string_pretty(result).map_err(|e| format!("json: {e}"))?;
        return write(&mut out, text);
    }
    write(
        &mut out,
        format!("{:?} at {}", result.status, result.checked_at).to_uppercase(),
    )?;
    for f in &result.errors {
        write(&mut out, format!("  error   {}: {}", f.code, f.message))?;
    }
    for f in &result.warnings {
        write(&mut out, format!("  warning {}: {}", f.code, f.message))?;
    }
    if let Some(c) = &result.certificate {
        let kind = c.cert_type.map_or("unknown", |t| t.name());
        let name = [&c.holder.given_name, &c.holder.family_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        write(
            &mut out,
            format!(
                "  {kind} certificate for {name} (born {})",
                c.holder.date_of_birth.as_deref().unwrap_or("?")
            ),
        )?;
        write(
            &mut out,
            format!(
                "  issued by {} kid {} ({}), expires {}",
                c.issuer_country.as_deref().unwrap_or("?"),
                c.kid,
                c.alg.name(),
                c.expires_at
            ),
        )?;
    }
    Ok(())
}
