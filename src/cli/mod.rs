//! Command-line interface (DESIGN.md §4, "CLI"): one file per command, each owning its
//! arguments (`verify`, `issue`, `keys`, `trust_list`, `rules`: `certlogic` and `rules`); this file holds the command enum, the
//! exit codes, `serve`'s overrides, `healthcheck` and the argument parsers they share.
//!
//! `verify` is offline and one-shot: it trusts exactly the certificates and lists given with
//! `--trust` / `--trust-list`. Exit status: 0 valid, 1 invalid, 2 usage or I/O error. With
//! `--json`, stdout is exactly one `VerificationResult` object, valid or not; diagnostics about
//! the trust files go to stderr.

pub mod issue;
pub mod keys;
pub mod revocation;
pub mod rules;
pub mod trust_list;
pub mod verify;

pub use issue::IssueArgs;
pub use keys::KeysCommand;
pub use trust_list::TrustListCommand;
pub use verify::VerifyArgs;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use time::OffsetDateTime;

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
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at start-up; `verify` has many repeatable trust flags"
)]
pub enum Command {
    /// Run the HTTP gateway (embedded defaults: 127.0.0.1:8080, state under ./data, dev VN keys).
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
    /// Evaluate or validate CertLogic expressions.
    #[command(subcommand)]
    Certlogic(rules::CertlogicCommand),
    /// Evaluate a business rule on a DCC payload.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Revocation tools: the hashes of a certificate.
    #[command(subcommand)]
    Revocation(revocation::RevocationCommand),
    /// Revoke a certificate Vietnam issued (or list / undo revocations).
    Revoke(revocation::RevokeArgs),
    /// Write the OpenAPI document (default: openapi/openapi.json; `-` for stdout).
    Openapi {
        #[arg(long, default_value = "openapi/openapi.json")]
        out: PathBuf,
    },
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

pub(crate) fn parse_at(s: &str) -> Result<OffsetDateTime, String> {
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
        Command::Issue(args) => issue::issue(&args).map(ok),
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
        Command::Keys(command) => keys::keys(&command).map(ok),
        Command::TrustList(TrustListCommand::Check(args)) => trust_list::check(&args),
        Command::TrustList(TrustListCommand::Export(args)) => trust_list::export(&args).map(ok),
        Command::Verify(args) => verify::verify(&args),
        Command::Certlogic(command) => rules::certlogic(&command),
        Command::Rules(command) => rules::rules(&command),
        Command::Revocation(command) => revocation::revocation(&command),
        Command::Revoke(args) => revocation::revoke(&args),
    };
    match status {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
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

/// Writes `text` and a newline to stdout. A reader that closed early (`… | head`) is not an
/// error: the command still exits by its verdict.
pub(crate) fn emit(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(|e| format!("stdout: {e}")),
    }
}

pub(crate) fn read_file(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}
