//! The two slice encodings of the EU revocation distribution protocol, byte-compatible with the
//! readers in the verifier apps (the reference `dgc-bloomfilter` and
//! `dgca-partialvarhashfilter` libraries; written from their specification and checked against
//! vectors their Java code produced).
//!
//! **Bloom filter** (`BLOOMFILTER`), big-endian: `version: i16 = 1`, `k: i8`, `hash function:
//! i8 = 0` (SHA-256), `p: f32`, `n: i32` (elements the filter was sized for), `added: i32`,
//! `words: i32`, then `words` 32-bit words. Bit `j` is bit `31 - j % 32` of word `j / 32`
//! (most significant first). The `k` indexes of an element `e` are
//! `SHA-256(e ‖ i as u8)` read as a **signed** big-endian integer, mod `m = 32 · words`.
//! Sizing follows the reference exactly, its rounding quirk included
//! (`bits = ⌈n·ln p / ln(2^-ln 2)⌉`, `bytes = bits / 8 + 1`, `words = bytes / 4 + bytes % 4`,
//! `k = round(m / n · ln 2)`), so `m` and `k` match what apps expect.
//!
//! **Partial variable hash list** (`VARHASHLIST`), big-endian: `version: i16 = 1`, `p: f32`,
//! `n: i32`, `size: i8`, then the `size`-byte prefixes of the hashes in signed order. `size`
//! follows the reference formula (at least 4 bytes, fewer for deeper partitions). One
//! deliberate difference: the reference writer pads prefixes starting `FF` followed by a byte
//! ≥ `0x80` with `00` (its minimal two's-complement encoding), so apps never find those hashes
//! (a revoked certificate passes, about one hash in 512). We write the prefix itself, which
//! the same readers find: correct verdicts over byte-identity in that corner.

use ring::digest::{SHA256, digest};

use crate::hcert::revocation::Hash;

/// The false-positive rate the reference service uses (`1e-12` as an `f32`).
pub const PROBABILITY: f32 = 1e-12;
/// Shortest prefix of a hash list.
pub const MIN_PREFIX: u8 = 4;

/// Bloom filter parameters for `n` elements: (words, k).
fn bloom_params(n: usize, p: f32) -> (usize, u8) {
    let n_f = n.max(1) as f64;
    let p = f64::from(p);
    let denominator = (1.0 / 2f64.powf(std::f64::consts::LN_2)).ln();
    let bits = ((n_f * p.ln()) / denominator).ceil().max(0.0) as u64;
    let bytes = bits / 8 + 1;
    let words = (bytes / 4 + bytes % 4) as usize;
    let m = (words * 32) as f64;
    let k = ((m / n_f * std::f64::consts::LN_2) + 0.5)
        .floor()
        .clamp(1.0, 127.0) as u8;
    (words, k)
}

/// Index arithmetic of one filter of `m` bits: `v mod m` of a big-endian 256-bit digest read
/// as the reference's **signed** `BigInteger` (`m` < 2³², so 32-bit limbs keep it in `u64`).
#[derive(Clone, Copy)]
struct Modulus {
    m: u64,
    /// 2²⁵⁶ mod m: what a negative value is shifted by.
    wrap: u64,
}

impl Modulus {
    fn new(m: u64) -> Modulus {
        let m = m.clamp(1, u64::from(u32::MAX));
        let mut wrap = 1 % m;
        for _ in 0..256 {
            wrap = (wrap * 2) % m;
        }
        Modulus { m, wrap }
    }

    fn reduce(self, digest: &[u8]) -> u64 {
        let mut r: u64 = 0;
        for limb in digest.chunks(4) {
            let mut word = [0u8; 4];
            if let Some(dst) = word.get_mut(..limb.len()) {
                dst.copy_from_slice(limb);
            }
            r = ((r << 32) | u64::from(u32::from_be_bytes(word))) % self.m;
        }
        if digest.first().is_some_and(|b| b & 0x80 != 0) {
            // The value is v - 2^256.
            r = (r + self.m - self.wrap) % self.m;
        }
        r
    }

    /// The `i`-th bit index of `element`: `SHA-256(element ‖ i)` reduced.
    fn index(self, element: &[u8], i: u8) -> u64 {
        let mut input = [0u8; 33];
        let n = element.len().min(32);
        if let (Some(dst), Some(src)) = (input.get_mut(..n), element.get(..n)) {
            dst.copy_from_slice(src);
        }
        if let Some(last) = input.get_mut(n) {
            *last = i;
        }
        if element.len() > 32 {
            let mut long = element.to_vec();
            long.push(i);
            return self.reduce(digest(&SHA256, &long).as_ref());
        }
        self.reduce(digest(&SHA256, input.get(..=n).unwrap_or_default()).as_ref())
    }
}

#[cfg(test)]
fn bloom_index(element: &[u8], i: u8, m: u64) -> u64 {
    Modulus::new(m).index(element, i)
}

/// A Bloom filter holding `elements`, sized for their number.
pub fn bloom(elements: &[Hash]) -> Vec<u8> {
    bloom_with(elements, PROBABILITY)
}

/// [`bloom`] with a chosen false-positive rate.
pub fn bloom_with(elements: &[Hash], p: f32) -> Vec<u8> {
    let n = elements.len();
    let (words, k) = bloom_params(n, p);
    let modulus = Modulus::new((words * 32) as u64);
    let mut data = vec![0u8; words * 4];
    for e in elements {
        for i in 0..k {
            let j = modulus.index(e, i);
            if let Some(byte) = data.get_mut((j / 8) as usize) {
                *byte |= 0x80 >> (j % 8);
            }
        }
    }
    let mut out = Vec::with_capacity(20 + data.len());
    out.extend_from_slice(&1i16.to_be_bytes());
    out.push(k);
    out.push(0);
    out.extend_from_slice(&p.to_be_bytes());
    let count = i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes();
    out.extend_from_slice(&count);
    out.extend_from_slice(&count);
    out.extend_from_slice(&i32::try_from(words).unwrap_or(i32::MAX).to_be_bytes());
    out.extend_from_slice(&data);
    out
}

/// Whether a serialized Bloom filter may contain `element` (false for a malformed filter).
pub fn bloom_might_contain(filter: &[u8], element: &[u8]) -> bool {
    let (Some(&k), Some(words)) = (
        filter.get(2),
        filter.get(16..20).and_then(|w| <[u8; 4]>::try_from(w).ok()),
    ) else {
        return false;
    };
    let words = u32::from_be_bytes(words) as usize;
    let Some(data) = filter.get(20..20 + words * 4) else {
        return false;
    };
    if words == 0 {
        return false;
    }
    let modulus = Modulus::new((words * 32) as u64);
    (0..k).all(|i| {
        let j = modulus.index(element, i);
        data.get((j / 8) as usize)
            .is_some_and(|b| b & (0x80 >> (j % 8)) != 0)
    })
}

/// The prefix length of a hash list of `n` hashes in a partition of depth `offset`
/// (0 POINT, 1 VECTOR, 2 COORDINATE), by the reference formula.
pub fn prefix_size(n: usize, offset: u8, p: f32) -> u8 {
    let num = (n.max(1) as f64).log10() / 2f64.log10();
    let num = num.ceil();
    let rounded = num / 8.0 + num % 8.0;
    let actual = (rounded - f64::from(offset) + f64::from(p)).ceil();
    let actual = actual.clamp(-128.0, 127.0) as i8;
    if actual < MIN_PREFIX as i8 {
        MIN_PREFIX
    } else {
        actual.unsigned_abs().min(16)
    }
}

/// A partial variable hash list holding `hashes` (see the module docs).
pub fn hash_list(hashes: &[Hash], offset: u8) -> Vec<u8> {
    let size = usize::from(prefix_size(hashes.len(), offset, PROBABILITY));
    let mut prefixes: Vec<&[u8]> = hashes.iter().filter_map(|h| h.get(..size)).collect();
    // Signed big-endian order: flip the sign bit of the first byte, then compare bytes.
    prefixes.sort_by(|a, b| {
        let key = |x: &[u8]| (x.first().map(|f| f ^ 0x80), x.get(1..).map(<[u8]>::to_vec));
        key(a).cmp(&key(b))
    });
    let mut out = Vec::with_capacity(11 + prefixes.len() * size);
    out.extend_from_slice(&1i16.to_be_bytes());
    out.extend_from_slice(&PROBABILITY.to_be_bytes());
    out.extend_from_slice(
        &i32::try_from(hashes.len())
            .unwrap_or(i32::MAX)
            .to_be_bytes(),
    );
    out.push(size as u8);
    for prefix in prefixes {
        out.extend_from_slice(prefix);
    }
    out
}

/// Whether a serialized hash list holds `hash` (its prefix).
pub fn hash_list_contains(list: &[u8], hash: &[u8]) -> bool {
    let Some(&size) = list.get(10) else {
        return false;
    };
    let size = usize::from(size);
    let (Some(prefix), Some(entries)) = (hash.get(..size), list.get(11..)) else {
        return false;
    };
    size > 0 && entries.chunks_exact(size).any(|e| e == prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;

    fn h(s: &str) -> Hash {
        let bytes: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    /// Hashes of `URN:UVCI:01:AT:A`, `…B`, `…C` (first 16 bytes of SHA-256).
    fn three() -> Vec<Hash> {
        vec![
            h("9798e5f7d0380f08e67000dc4c84856b"),
            h("692a9dc6ca5e384bd65e354737bf03f3"),
            h("a6b853c278e54030456a79431a4c1f3b"),
        ]
    }

    // Vectors produced by the reference Java libraries (dgc-bloomfilter 29d785a,
    // dgca-partialvarhashfilter 613ab9b) with p = 1e-12f.
    #[test]
    fn bloom_filters_match_the_reference_bytes() {
        let one = [h("00112233445566778899aabbccddeeff")];
        assert_eq!(
            hex(&bloom(&one)),
            "00012c002b8cbccc000000010000000100000002dc1c757460a37466"
        );
        assert_eq!(
            hex(&bloom(&three())),
            "000134002b8cbccc000000030000000300000007e7ab6e0bc1df8731ac6d4678d65c53d51763b289a3666399274d11fb"
        );
        for (n, m, k) in [
            (1, 64, 44),
            (10, 608, 42),
            (100, 5760, 40),
            (1000, 57536, 40),
        ] {
            let (words, got_k) = bloom_params(n, PROBABILITY);
            assert_eq!((words * 32, got_k), (m, k), "n = {n}");
        }
        // The reference's unit test parameters.
        let (words, k) = bloom_params(10_000, 1e-5);
        assert_eq!((words * 32, k), (239_680, 17));
    }

    #[test]
    fn signed_index_matches_biginteger_mod() {
        // calcIndex([11], 1, 100) == 75 and calcIndex([1], 1, 1) == 0 in the reference.
        assert_eq!(bloom_index(&[11], 1, 100), 75);
        assert_eq!(bloom_index(&[1], 1, 1), 0);
    }

    #[test]
    fn bloom_membership_has_no_false_negatives() {
        let hashes: Vec<Hash> = (0u32..2000)
            .map(|i| {
                let d = digest(&SHA256, &i.to_be_bytes());
                d.as_ref()[..16].try_into().unwrap()
            })
            .collect();
        let filter = bloom(&hashes[..1000]);
        assert!(
            hashes[..1000]
                .iter()
                .all(|x| bloom_might_contain(&filter, x))
        );
        let false_positives = hashes[1000..]
            .iter()
            .filter(|x| bloom_might_contain(&filter, *x))
            .count();
        assert_eq!(false_positives, 0);
        assert!(!bloom_might_contain(&filter[..10], &hashes[0]));
        assert!(!bloom_might_contain(b"", &hashes[0]));
    }

    #[test]
    fn hash_lists_match_the_reference_bytes() {
        assert_eq!(
            hex(&hash_list(&[h("00112233445566778899aabbccddeeff")], 0)),
            "00012b8cbccc000000010400112233"
        );
        assert_eq!(
            hex(&hash_list(&three(), 0)),
            "00012b8cbccc00000003049798e5f7a6b853c2692a9dc6"
        );
        for (n, sizes) in [
            (1, [4, 4, 4]),
            (16, [5, 4, 4]),
            (100, [8, 7, 6]),
            (256, [4, 4, 4]),
            (5000, [7, 6, 5]),
            (1_600_000, [8, 7, 6]),
        ] {
            for offset in 0..3u8 {
                assert_eq!(
                    prefix_size(n, offset, PROBABILITY),
                    sizes[offset as usize],
                    "n = {n}, offset {offset}"
                );
            }
        }
        assert_eq!(prefix_size(10, 0, PROBABILITY), 5);
    }

    #[test]
    fn hash_list_membership_including_the_reference_padding_corner() {
        let corner = h("ff800102030405060708090a0b0c0d0e");
        let list = hash_list(&[corner, three()[0]], 0);
        assert!(hash_list_contains(&list, &corner));
        assert!(hash_list_contains(&list, &three()[0]));
        assert!(!hash_list_contains(&list, &three()[1]));
        assert!(!hash_list_contains(&list[..5], &corner));
    }
}
