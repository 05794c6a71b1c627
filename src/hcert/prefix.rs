//! Step 1: the context identifier (hcert spec §4.2.2).
//!
//! Exactly `HC1:` (case-sensitive) is accepted. `HC2:`…`HC9:` and `HCA:`…`HCZ:` are reserved for
//! later, incompatible versions and get their own message; anything else is `PREFIX_INVALID`.
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
        _ => Err(DecodeError::MissingPrefix),
    }
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
    fn rejects_overlong_text_before_any_work() {
        let l = Limits {
            max_qr_chars: 8,
            ..Limits::default()
        };
        assert_eq!(strip("HC1:ABCDE", &l), Err(DecodeError::QrTooLong));
        assert_eq!(strip("HC1:ABCD", &l), Ok("ABCD"));
    }
}
