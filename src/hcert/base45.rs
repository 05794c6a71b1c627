//! Step 2: strict Base45 decoding (RFC 9285 §4, §6).
//!
//! The `base45` crate (used for encoding in `issue` and the tests) silently truncates a final
//! two-character group above 255, so decoding is done here: every character must be in the
//! 45-character alphabet (space included, nothing trimmed), every three-character group must
//! be ≤ 65 535, a final two-character group ≤ 255, and `len mod 3 == 1` is rejected.
//! Output size is exactly `2·⌊n/3⌋ + (n mod 3 == 2)`, allocated once.

use super::error::DecodeError;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#[expect(
    clippy::indexing_slicing,
    reason = "const construction: i < 45 and every u8 indexes a 256-entry table"
)]
const fn build_table() -> [u8; 256] {
    let mut table = [0xFF_u8; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
}

static TABLE: [u8; 256] = build_table();

fn value(byte: u8, offset: usize) -> Result<u32, DecodeError> {
    match TABLE.get(usize::from(byte)).copied().unwrap_or(0xFF) {
        0xFF => Err(DecodeError::Base45Char { offset }),
        v => Ok(u32::from(v)),
    }
}

/// Decodes strict Base45.
pub fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let input = text.as_bytes();
    let (chunks, rest) = input.as_chunks::<3>();
    let mut out = Vec::with_capacity(chunks.len() * 2 + 1);
    for (i, [c, d, e]) in chunks.iter().enumerate() {
        let offset = i * 3;
        let n = value(*c, offset)? + 45 * value(*d, offset + 1)? + 45 * 45 * value(*e, offset + 2)?;
        let n = u16::try_from(n).map_err(|_| DecodeError::Base45Overflow { offset })?;
        out.extend_from_slice(&n.to_be_bytes());
    }
    let offset = chunks.len() * 3;
    match rest {
        [] => {}
        [c, d] => {
            let n = value(*c, offset)? + 45 * value(*d, offset + 1)?;
            out.push(u8::try_from(n).map_err(|_| DecodeError::Base45Overflow { offset })?);
        }
        _ => {
            // A dangling single character: report a bad character first if it is one.
            for (k, b) in rest.iter().enumerate() {
                value(*b, offset + k)?;
            }
            return Err(DecodeError::Base45Length);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc9285_vectors() {
        assert_eq!(decode("BB8").unwrap(), b"AB");
        assert_eq!(decode("%69 VD92EX0").unwrap(), b"Hello!!");
        assert_eq!(decode("UJCLQE7W581").unwrap(), b"base-45");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(decode("").unwrap(), b"");
    }

    #[test]
    fn rejects_out_of_range_groups() {
        assert_eq!(
            decode("GGW"),
            Err(DecodeError::Base45Overflow { offset: 0 })
        );
        assert_eq!(
            decode(":::"),
            Err(DecodeError::Base45Overflow { offset: 0 })
        );
        assert_eq!(
            decode("BB8::"),
            Err(DecodeError::Base45Overflow { offset: 3 })
        );
        // 255 is the largest final pair: "U5" = 30 + 45*5 = 255, "V5" = 256.
        assert_eq!(decode("U5").unwrap(), [255]);
        assert_eq!(decode("V5"), Err(DecodeError::Base45Overflow { offset: 0 }));
        // 65535 is the largest triple: "FGW".
        assert_eq!(decode("FGW").unwrap(), [255, 255]);
    }

    #[test]
    fn rejects_bad_characters_and_lengths() {
        assert_eq!(decode("bb8"), Err(DecodeError::Base45Char { offset: 0 }));
        assert_eq!(decode("BB="), Err(DecodeError::Base45Char { offset: 2 }));
        assert_eq!(decode("BB8\n"), Err(DecodeError::Base45Char { offset: 3 }));
        assert_eq!(decode("BB8B"), Err(DecodeError::Base45Length));
        assert_eq!(decode("B"), Err(DecodeError::Base45Length));
        assert_eq!(decode("é"), Err(DecodeError::Base45Char { offset: 0 }));
    }

    proptest! {
        #[test]
        fn roundtrips_with_the_base45_crate(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let text = base45::encode(&bytes);
            prop_assert_eq!(decode(&text).unwrap(), bytes);
        }

        #[test]
        fn never_panics_on_arbitrary_text(text in "[0-9A-Z $%*+\\-./:a-z=]{0,64}") {
            let _ = decode(&text);
        }
    }
}
