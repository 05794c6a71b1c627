//! `revocation hashes`: the revocation hashes of a certificate, for operators preparing a
//! batch: `{"uci", "countrycodeuci", "signature"}` as lower-case hex (16 bytes each; with
//! `countrycodeuci_iss` too when the CWT `iss` differs from the entry's `co`). The signature
//! is not checked here (the hashes identify a certificate, they do not vouch for it).

use std::io::Read;

use super::{EXIT_INVALID, EXIT_VALID, emit};
use crate::hcert::{self, Limits};

#[derive(Debug, clap::Subcommand)]
pub enum RevocationCommand {
    /// Print the revocation hashes of one HC1 certificate (QR text, or `-` for stdin).
    Hashes {
        #[arg(value_name = "QR")]
        qr: String,
    },
}

pub fn revocation(command: &RevocationCommand) -> Result<u8, String> {
    let RevocationCommand::Hashes { qr } = command;
    let limits = Limits::default();
    let qr = if qr == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(limits.max_qr_chars as u64 + 2)
            .read_to_string(&mut text)
            .map_err(|e| format!("stdin: {e}"))?;
        text.trim_end().to_owned()
    } else {
        qr.clone()
    };
    match hcert::revocation_hashes(&qr, &limits) {
        Ok(h) => {
            let hex = |b: &[u8; 16]| crate::util::hex(b);
            let mut out = serde_json::json!({
                "uci": h.keys.uci.as_ref().map(hex),
                "countrycodeuci": h.keys.country_uci.first().map(hex),
                "signature": h.keys.signature.as_ref().map(hex),
            });
            if let (Some(second), Some(map)) = (h.keys.country_uci.get(1), out.as_object_mut()) {
                map.insert("countrycodeuci_iss".into(), hex(second).into());
            }
            emit(&out.to_string())?;
            Ok(EXIT_VALID)
        }
        Err(f) => {
            eprintln!("{}: {}", f.code, f.message);
            Ok(EXIT_INVALID)
        }
    }
}

/// `dcc-gateway revoke`: Vietnam revokes what it mis-issued (see
/// [`crate::revocation::own`]). `serve` picks the batches up within a minute (source
/// `vn-revocations`) and publishes them at `/revocation-list`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// Data directory of the gateway (its `revocations/` folder and key set).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_dir: std::path::PathBuf,
    /// The certificate to revoke (its UCI, country+UCI and signature hashes are recorded).
    #[arg(long, value_name = "HC1", conflicts_with_all = ["uvci", "list", "undo"])]
    pub qr: Option<String>,
    /// A UVCI to revoke when the certificate itself is not at hand (UCI and country+UCI hashes,
    /// every VN certificate with it; kept for two years).
    #[arg(long, value_name = "UVCI", conflicts_with_all = ["list", "undo"])]
    pub uvci: Option<String>,
    /// Why (recorded in the audit log; required to revoke).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Who (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// List the revocations recorded.
    #[arg(long, conflicts_with = "undo")]
    pub list: bool,
    /// Undo revocation ID (its batches are withdrawn and listed as deleted to partners).
    #[arg(long, value_name = "ID")]
    pub undo: Option<String>,
}

pub fn revoke(args: &RevokeArgs) -> Result<u8, String> {
    use crate::revocation::own;
    let now = crate::clock::now();
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    if args.list {
        let all = own::list(&args.data_dir)?;
        emit(&serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?)?;
        return Ok(EXIT_VALID);
    }
    if let Some(id) = &args.undo {
        own::undo(&args.data_dir, id, &by, now)?;
        emit(&format!("undone {id}"))?;
        return Ok(EXIT_VALID);
    }
    let reason = args
        .reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .ok_or("--reason is required to revoke")?;
    let req = match (&args.qr, &args.uvci) {
        (Some(qr), _) => {
            let h = hcert::revocation_hashes(qr, &Limits::default())
                .map_err(|f| format!("{}: {}", f.code, f.message))?;
            own::Request {
                keys: h.keys,
                kid: h.kid,
                // A pass that states no expiry (a WHO DDCC data set) is revoked for 5 years.
                expires: h
                    .exp
                    .unwrap_or(now + time::Duration::days(5 * 365))
                    .max(now + time::Duration::days(1)),
                reason,
                by,
            }
        }
        (None, Some(uvci)) => {
            let hash = |b: &[u8]| {
                let d = ring::digest::digest(&ring::digest::SHA256, b);
                let mut h = [0u8; 16];
                h.copy_from_slice(d.as_ref().get(..16).unwrap_or(&[0; 16]));
                h
            };
            own::Request {
                keys: crate::hcert::revocation::Keys {
                    uci: Some(hash(uvci.as_bytes())),
                    country_uci: vec![hash(format!("VN{uvci}").as_bytes())],
                    signature: None,
                },
                kid: None,
                expires: now + time::Duration::days(730),
                reason,
                by,
            }
        }
        (None, None) => return Err("give --qr HC1, --uvci UVCI, --list or --undo ID".into()),
    };
    let id = own::revoke(&args.data_dir, &req, now)?;
    emit(&id)?;
    Ok(EXIT_VALID)
}
