//! Small shared helpers: encodings and RFC 3339 formatting.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Standard Base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

/// Standard Base64 with padding; surrounding whitespace is not accepted.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64.decode(text.as_bytes()).ok()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// RFC 3339 in UTC, e.g. `2021-06-01T00:00:00Z`. Instants outside years 0–9999 (possible in
/// Lower-case hex SHA-256 of `bytes`: the certificate thumbprint of the EU gateway, the ledger
/// key, content digests.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// hostile certificates) fall back to the Unix timestamp in seconds.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Parses an RFC 3339 instant (`2021-06-01T00:00:00Z`, `…+07:00`, fractions allowed).
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Replaces `path` atomically: the bytes go to a hidden temporary file beside it (created with
/// its parent directory if needed), which is then renamed over `path`, so a reader sees the
/// old content or the new one, never half of it.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = parse_rfc3339("2021-06-01T07:00:00+07:00").unwrap();
        assert_eq!(rfc3339(t), "2021-06-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2021-06-01"), None);
        assert_eq!(
            base64_decode(&base64_encode(b"kid12345")).unwrap(),
            b"kid12345"
        );
        assert_eq!(hex(&[0xAB, 0x01]), "ab01");
    }

    #[test]
    fn write_atomic_replaces_whole_files_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("dccgw-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("f.json")]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
