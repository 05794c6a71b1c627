//! `dcc-gateway keys init|rotate|list`: Vietnam's key set.

use std::io::Write;
use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

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

pub fn keys(command: &KeysCommand) -> Result<(), String> {
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
