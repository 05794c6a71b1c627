//! Just enough of the ZIP format (APPNOTE 6.3) to take one named member out of a DIVOC QR code:
//! the end-of-central-directory record, the central directory, the member's local header,
//! then the member's bytes, stored (method 0) or DEFLATE (method 8), CRC-32 checked.
//!
//! Bounded: the archive is at most what a QR code holds (the caller checks), at most
//! [`MAX_ENTRIES`] entries are looked at, and the member is inflated to at most the caller's
//! cap (a bomb is [`ZipError::TooLarge`] after cap + 1 bytes). Encrypted members, ZIP64, split
//! archives and other methods are refused; sizes come from the central directory, so members
//! written with a data descriptor (bit 3, as India's codes are) are read like any other.

use std::io::Read;

/// Most central-directory entries read.
pub const MAX_ENTRIES: usize = 16;

const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
const CENTRAL: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
const LOCAL: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];

/// Why no member came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("not a ZIP archive (no end of central directory record)")]
    NotZip,
    #[error("the ZIP archive is malformed")]
    Malformed,
    #[error("the ZIP archive has no member named as expected")]
    Missing,
    #[error("the ZIP member is encrypted, ZIP64, or compressed with a method other than DEFLATE")]
    Unsupported,
    #[error("the ZIP member is larger than allowed")]
    TooLarge,
    #[error("the ZIP member does not inflate or fails its CRC-32")]
    Corrupt,
}

fn u16_at(b: &[u8], at: usize) -> Result<usize, ZipError> {
    let s = b.get(at..at + 2).ok_or(ZipError::Malformed)?;
    Ok(usize::from(u16::from_le_bytes([
        s.first().copied().unwrap_or(0),
        s.get(1).copied().unwrap_or(0),
    ])))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ZipError> {
    let s = b.get(at..at + 4).ok_or(ZipError::Malformed)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Ok(u32::from_le_bytes(a))
}

fn usize_at(b: &[u8], at: usize) -> Result<usize, ZipError> {
    usize::try_from(u32_at(b, at)?).map_err(|_| ZipError::Malformed)
}

/// The bytes of the member called `name`, inflated to at most `cap` bytes.
pub fn member(archive: &[u8], name: &str, cap: usize) -> Result<Vec<u8>, ZipError> {
    // The EOCD record is 22 bytes plus a comment of up to 65 535 bytes, at the very end.
    let min_start = archive.len().saturating_sub(22 + 0xffff);
    let eocd = (min_start..=archive.len().saturating_sub(22))
        .rev()
        .find(|&i| archive.get(i..i + 4) == Some(&EOCD[..]))
        .ok_or(ZipError::NotZip)?;
    if u16_at(archive, eocd + 4)? != 0 || u16_at(archive, eocd + 6)? != 0 {
        return Err(ZipError::Unsupported); // split archive
    }
    let entries = u16_at(archive, eocd + 10)?;
    let cd_offset = u32_at(archive, eocd + 16)?;
    if entries == 0xffff || cd_offset == u32::MAX {
        return Err(ZipError::Unsupported); // ZIP64
    }
    let mut at = usize::try_from(cd_offset).map_err(|_| ZipError::Malformed)?;
    for _ in 0..entries.min(MAX_ENTRIES) {
        if archive.get(at..at + 4) != Some(&CENTRAL[..]) {
            return Err(ZipError::Malformed);
        }
        let flags = u16_at(archive, at + 8)?;
        let method = u16_at(archive, at + 10)?;
        let crc = u32_at(archive, at + 16)?;
        let compressed = usize_at(archive, at + 20)?;
        let size = u32_at(archive, at + 24)?;
        let name_len = u16_at(archive, at + 28)?;
        let extra_len = u16_at(archive, at + 30)?;
        let comment_len = u16_at(archive, at + 32)?;
        let local = usize_at(archive, at + 42)?;
        let entry_name = archive
            .get(at + 46..at + 46 + name_len)
            .ok_or(ZipError::Malformed)?;
        at += 46 + name_len + extra_len + comment_len;
        if entry_name != name.as_bytes() {
            continue;
        }
        if flags & 1 != 0 || size == u32::MAX || compressed == u32::MAX as usize {
            return Err(ZipError::Unsupported);
        }
        if usize::try_from(size).map_or(true, |s| s > cap) {
            return Err(ZipError::TooLarge);
        }
        if archive.get(local..local + 4) != Some(&LOCAL[..]) {
            return Err(ZipError::Malformed);
        }
        let data_at = local + 30 + u16_at(archive, local + 26)? + u16_at(archive, local + 28)?;
        let data = archive
            .get(data_at..data_at + compressed)
            .ok_or(ZipError::Malformed)?;
        let out = match method {
            0 => data.to_vec(),
            8 => inflate(data, cap)?,
            _ => return Err(ZipError::Unsupported),
        };
        if out.len() > cap {
            return Err(ZipError::TooLarge);
        }
        let mut check = flate2::Crc::new();
        check.update(&out);
        if check.sum() != crc || u32::try_from(out.len()).ok() != Some(size) {
            return Err(ZipError::Corrupt);
        }
        return Ok(out);
    }
    Err(ZipError::Missing)
}

/// Raw DEFLATE, stopping after `cap` + 1 bytes.
fn inflate(data: &[u8], cap: usize) -> Result<Vec<u8>, ZipError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(3).min(cap));
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::DeflateDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| ZipError::Corrupt)?;
    if out.len() > cap {
        return Err(ZipError::TooLarge);
    }
    Ok(out)
}
