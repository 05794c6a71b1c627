//! `dcc-gateway issue`: sign a certificate with the development (or configured) VN key.

use std::io::Write;
use std::path::PathBuf;

use super::read_file;

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

pub fn issue(args: &IssueArgs) -> Result<(), String> {
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
