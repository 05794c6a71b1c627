//! Step 3: zlib inflate with a hard cap (hcert spec §4.2.1, RFC 1950/1951).
//!
//! The CWT must be zlib-compressed: a valid zlib header (CM = 8, window ≤ 32 KiB, header
//! checksum, no preset dictionary) is required, so raw COSE is rejected with
//! `DECOMPRESS_FAILED` rather than passed through as lenient readers do. Inflation writes into a
//! buffer of at most `Limits::max_inflated_bytes + 1` bytes and stops there: a decompression
//! bomb costs at most that much memory and the time to fill it. The Adler-32 trailer is checked
//! (a truncated stream is an error).

use flate2::{Decompress, FlushDecompress, Status};

use super::error::DecodeError;
use super::limits::Limits;

thread_local! {
    /// One inflater per thread, reset for each stream: allocating and zeroing a fresh 32 KiB
    /// window per certificate cost ≈ 100 000 instructions, a tenth of a whole verification.
    static INFLATER: std::cell::RefCell<Decompress> = std::cell::RefCell::new(Decompress::new(true));
}

/// Inflates a zlib stream, refusing output larger than the limit.
pub fn inflate(data: &[u8], limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    check_header(data)?;
    INFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut z) => {
            z.reset(true);
            inflate_with(&mut z, data, limits)
        }
        // Re-entrancy cannot happen here, but never panic on it either.
        Err(_) => inflate_with(&mut Decompress::new(true), data, limits),
    })
}

fn inflate_with(z: &mut Decompress, data: &[u8], limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    let cap = limits.max_inflated_bytes;
    // A QR code holds < 3 KiB; typical DCCs inflate to < 1 KiB. Start small, grow to the cap.
    let mut out: Vec<u8> = Vec::with_capacity(cap.min(4 * 1024).saturating_add(1));
    loop {
        let consumed = usize::try_from(z.total_in()).map_err(|_| DecodeError::Inflate)?;
        let input = data.get(consumed..).ok_or(DecodeError::Inflate)?;
        if out.len() == out.capacity() {
            if out.len() > cap {
                return Err(DecodeError::TooLarge { limit: cap });
            }
            let grow = out.capacity().min(cap.saturating_add(1) - out.len()).max(1);
            out.reserve_exact(grow);
        }
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|_| DecodeError::Inflate)?;
        if out.len() > cap {
            return Err(DecodeError::TooLarge { limit: cap });
        }
        match status {
            Status::StreamEnd => {
                let used = usize::try_from(z.total_in()).map_err(|_| DecodeError::Inflate)?;
                return if used == data.len() {
                    Ok(out)
                } else {
                    Err(DecodeError::Inflate)
                };
            }
            Status::Ok | Status::BufError => {
                let progressed = (z.total_in(), z.total_out()) != before;
                if !progressed && out.len() < out.capacity() {
                    // No progress with room left: the input ended before the stream did.
                    return Err(DecodeError::Inflate);
                }
            }
        }
    }
}

fn check_header(data: &[u8]) -> Result<(), DecodeError> {
    let [cmf, flg, ..] = data else {
        return Err(DecodeError::NotZlib);
    };
    let method_ok = cmf & 0x0F == 8 && cmf >> 4 <= 7;
    let check_ok = (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0;
    let no_dict = flg & 0x20 == 0;
    if method_ok && check_ok && no_dict {
        Ok(())
    } else {
        Err(DecodeError::NotZlib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::ZlibEncoder};
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_valid_streams_of_any_size_up_to_the_cap() {
        let l = Limits::default();
        for size in [0usize, 1, 100, 4096, 4097, 20_000, 64 * 1024] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            assert_eq!(inflate(&zlib(&data), &l).unwrap(), data, "size {size}");
        }
    }

    #[test]
    fn rejects_output_one_byte_over_the_cap() {
        let l = Limits::default();
        let data = vec![7u8; 64 * 1024 + 1];
        assert_eq!(
            inflate(&zlib(&data), &l),
            Err(DecodeError::TooLarge { limit: 64 * 1024 })
        );
    }

    #[test]
    fn rejects_a_16_mib_bomb_without_inflating_it() {
        let bomb = zlib(&vec![0u8; 16 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024, "the bomb itself is small");
        let err = inflate(&bomb, &Limits::default()).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { limit: 64 * 1024 });
    }

    #[test]
    fn rejects_non_zlib_truncated_and_trailing_data() {
        let l = Limits::default();
        let good = zlib(b"hello hello hello");
        assert_eq!(inflate(&[], &l), Err(DecodeError::NotZlib));
        assert_eq!(
            inflate(&[0xD2, 0x84], &l),
            Err(DecodeError::NotZlib),
            "raw COSE"
        );
        assert_eq!(
            inflate(&good[..good.len() - 3], &l),
            Err(DecodeError::Inflate)
        );
        assert_eq!(inflate(&good[..2], &l), Err(DecodeError::Inflate));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(inflate(&trailing, &l), Err(DecodeError::Inflate));
        let mut bad_adler = good.clone();
        *bad_adler.last_mut().unwrap() ^= 1;
        assert_eq!(inflate(&bad_adler, &l), Err(DecodeError::Inflate));
    }
}
