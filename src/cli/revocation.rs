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
