//! Step 1: the context identifier (hcert spec §4.2.2).
//!
//! Exactly `HC1:` (case-sensitive) is accepted. `HC2:`…`HC9:` and `HCA:`…`HCZ:` are reserved for
//! later, incompatible versions and get their own message; so do the framings of the other
//! health-pass families travellers carry (NZ COVID Pass, SMART Health Cards, ICAO VDS-NC,
//! DIVOC), which this pipeline recognises but does not decode ([`crate::passes`] verifies them;
//! the verify paths route them there first), so the caller learns what was scanned; anything
//! else is `PREFIX_INVALID` too.
//! No trimming: leading/trailing whitespace is not part of a QR payload.

use super::error::DecodeError;
use super::limits::Limits;

pub const PREFIX: &str = "HC1:";

/// Returns the Base45 text after the prefix.
pub fn strip<'a>(qr: &'a str, limits: &Limits) -> Result<&'a str, DecodeError> {
    if qr.len() > limits.max_qr_chars {
        return Err(DecodeError::QrTooLong);
    }
    if let Some(rest) = qr.strip_prefix(PREFIX) {
        return Ok(rest);
    }
    match qr.as_bytes() {
        [b'H', b'C', v, b':', ..] if v.is_ascii_digit() || v.is_ascii_uppercase() => {
            Err(DecodeError::UnsupportedVersion)
        }
        _ => Err(other_pass(qr).map_or(DecodeError::MissingPrefix, DecodeError::OtherPass)),
    }
}

/// The family of a non-HC1 health pass, by its framing only: `NZCP:/` (NZ COVID Pass), `shc:/`
/// (SMART Health Card), a JSON object with `data` and `sig` (ICAO VDS-NC), `B64:` or a ZIP
/// signature (DIVOC). Looks at the first bytes and, for JSON, at most 4 KiB.
pub fn other_pass(qr: &str) -> Option<&'static str> {
    if qr.starts_with("NZCP:/") {
        return Some("an NZ COVID Pass (NZCP:/)");
    }
    if qr.starts_with("shc:/") {
        return Some("a SMART Health Card (shc:/)");
    }
    if qr.starts_with("B64:") || qr.starts_with("PK\u{3}\u{4}") {
        return Some("a DIVOC credential (ZIP)");
    }
    let head = qr.get(..qr.len().min(4096)).unwrap_or("");
    if head.trim_start().starts_with('{') && head.contains("\"sig\"") && head.contains("\"data\"") {
        return Some("an ICAO Visible Digital Seal (VDS-NC)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exact_prefix_only() {
        let l = Limits::default();
        assert_eq!(strip("HC1:ABC", &l), Ok("ABC"));
        assert_eq!(strip("HC1:", &l), Ok(""));
        assert_eq!(strip("hc1:ABC", &l), Err(DecodeError::MissingPrefix));
        assert_eq!(strip("HL0:ABC", &l), Err(DecodeError::MissingPrefix));
        assert_eq!(strip(" HC1:ABC", &l), Err(DecodeError::MissingPrefix));
        assert_eq!(strip("ABC", &l), Err(DecodeError::MissingPrefix));
        assert_eq!(strip("", &l), Err(DecodeError::MissingPrefix));
        assert_eq!(strip("HC2:ABC", &l), Err(DecodeError::UnsupportedVersion));
        assert_eq!(strip("HCZ:ABC", &l), Err(DecodeError::UnsupportedVersion));
    }

    #[test]
    fn other_pass_families_are_named_not_decoded() {
        let l = Limits::default();
        let family = |qr: &str| match strip(qr, &l) {
            Err(DecodeError::OtherPass(f)) => Some(f),
            _ => None,
        };
        assert!(family("NZCP:/1/2KCEVIQEIVVWK6JNGEASNICZAEP2KALYDZSGSZB2O5SWEOTOPJRXALTDN53GSZBRHEXGQZLBNR2GQLTOPI").unwrap().contains("NZ COVID Pass"));
        assert!(family("shc:/5676290952432060346029243740446031222959532654603460292540772804336028702864716745222809286133314564376531415906402203064504590856435503414245413640370636654171372412363803043756220467374075323239254334433260573601064529380726").unwrap().contains("SMART Health Card"));
        assert!(
            family(r#"{"data":{"hdr":{"is":"AUS","t":"icao.vacc","v":1}},"sig":{"alg":"ES256"}}"#)
                .unwrap()
                .contains("ICAO")
        );
        assert!(family("B64:UEsDBBQAAAAIAA").unwrap().contains("DIVOC"));
        assert!(family("PK\u{3}\u{4}rest").unwrap().contains("DIVOC"));
        for not_a_pass in ["nzcp:/1/x", "SHC:/1", "{\"data\":1}", "hello", ""] {
            assert_eq!(
                strip(not_a_pass, &l),
                Err(DecodeError::MissingPrefix),
                "{not_a_pass}"
            );
        }
        let message = DecodeError::OtherPass("an NZ COVID Pass (NZCP:/)").to_string();
        assert!(message.contains("HC1"), "{message}");
    }

    #[test]
    fn rejects_overlong_text_before_any_work() {
        let l = Limits {
            max_qr_chars: 8,
            ..Limits::default()
        };
        assert_eq!(strip("HC1:ABCDE", &l), Err(DecodeError::QrTooLong));
        assert_eq!(strip("HC1:ABCD", &l), Ok("ABCD"));
    }
}
