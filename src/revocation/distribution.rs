//! The revocations in force, laid out as the EU revocation distribution service serves them to
//! verifier apps (kid → partition → chunk → slice; see `crate::http::distribution` for the
//! endpoints). Pure: built from the snapshot's batches, rendered once per revocation content.
//!
//! **Layout.** Every kid with revoked hashes is one list. Its mode follows the reference
//! service's thresholds on its hash count: `POINT` (≤ 100 000: one partition, id `null`,
//! chunk = first hex digit of the hash), `VECTOR` (≤ 1 600 000: partition = first hex digit,
//! chunk = second) or `COORDINATE` (partition = first two, chunk = third). Within a chunk there
//! is one slice per batch expiry (to the minute), holding the distinct hashes of every hash
//! type; each slice exists as a Bloom filter and as a hash list ([`super::filters`]), named by
//! the SHA-256 of its bytes. `UNKNOWN_KID` batches apply to every DSC of their country in the
//! snapshot, so they are listed under each of those kids (apps look slices up by kid). Only
//! batches in force (not expired) are laid out.
//!
//! **Versions.** The dataset's ETag is a hash of its content, so every instance on one
//! snapshot answers with the same one. `lastUpdated` of a slice is carried over from the
//! previous layout when the slice is unchanged, else it is the build instant; a partition's is
//! the latest of its slices' (or the build instant when a slice went away), a list's the latest
//! of its partitions'. Apps asking with `If-Modified-Since` therefore fetch changed slices only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::Arc;

use time::OffsetDateTime;

use super::Batch;
use super::filters;
use crate::hcert::revocation::{Hash, HashType};
use crate::util::{base64_encode, hex};

/// Lists up to this many hashes are `POINT`, up to [`VECTOR_MAX`] `VECTOR`.
pub const POINT_MAX: usize = 100_000;
pub const VECTOR_MAX: usize = 1_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Point,
    Vector,
    Coordinate,
}

impl Mode {
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Point => "POINT",
            Mode::Vector => "VECTOR",
            Mode::Coordinate => "COORDINATE",
        }
    }

    fn for_count(n: usize) -> Mode {
        if n <= POINT_MAX {
            Mode::Point
        } else if n <= VECTOR_MAX {
            Mode::Vector
        } else {
            Mode::Coordinate
        }
    }

    /// Hex digits of the partition id.
    const fn depth(self) -> usize {
        match self {
            Mode::Point => 0,
            Mode::Vector => 1,
            Mode::Coordinate => 2,
        }
    }
}

/// The slice encoding an app asks for (`X-SLICE-FILTER-TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceType {
    BloomFilter,
    VarHashList,
}

impl SliceType {
    pub const fn name(self) -> &'static str {
        match self {
            SliceType::BloomFilter => "BLOOMFILTER",
            SliceType::VarHashList => "VARHASHLIST",
        }
    }

    pub fn parse(s: &str) -> Option<SliceType> {
        match s {
            "BLOOMFILTER" => Some(SliceType::BloomFilter),
            "VARHASHLIST" => Some(SliceType::VarHashList),
            _ => None,
        }
    }
}

/// One encoded slice.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Lowercase hex SHA-256 of `bytes` (the slice id).
    pub sid: String,
    pub bytes: Arc<[u8]>,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Blob {
        Blob {
            sid: crate::util::sha256_hex(&bytes),
            bytes: bytes.into(),
        }
    }
}

/// The hashes of one (kid, partition, chunk, expiry).
#[derive(Debug, Clone)]
pub struct Slice {
    pub expires: OffsetDateTime,
    pub last_updated: OffsetDateTime,
    pub bloom: Blob,
    pub hash_list: Blob,
    /// The hashes (sorted, distinct): what changes a slice.
    hashes: Vec<Hash>,
}

impl Slice {
    pub fn blob(&self, t: SliceType) -> &Blob {
        match t {
            SliceType::BloomFilter => &self.bloom,
            SliceType::VarHashList => &self.hash_list,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Partition {
    /// None for `POINT` (`null` in JSON and URLs).
    pub id: Option<String>,
    pub x: Option<char>,
    pub y: Option<char>,
    pub last_updated: OffsetDateTime,
    pub expires: OffsetDateTime,
    /// Chunk id (one hex digit) → slices by expiry.
    pub chunks: BTreeMap<char, Vec<Slice>>,
}

impl Partition {
    /// The slices of this partition, with their chunk.
    pub fn slices(&self) -> impl Iterator<Item = (char, &Slice)> {
        self.chunks
            .iter()
            .flat_map(|(c, slices)| slices.iter().map(move |s| (*c, s)))
    }
}

#[derive(Debug, Clone)]
pub struct List {
    /// Standard Base64 of the 8-byte kid.
    pub kid: String,
    pub mode: Mode,
    pub hash_types: BTreeSet<HashType>,
    pub expires: OffsetDateTime,
    pub last_updated: OffsetDateTime,
    pub partitions: Vec<Partition>,
}

/// The whole dataset.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// Content hash (hex, 32 chars), the ETag.
    pub etag: String,
    pub lists: BTreeMap<String, List>,
    /// Total hashes laid out (per kid, so an `UNKNOWN_KID` batch counts once per kid).
    pub hashes: usize,
}

/// Minute precision, as the reference groups slices.
fn minute(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(t)
}

fn nibble(h: &Hash, i: usize) -> char {
    let byte = h.get(i / 2).copied().unwrap_or_default();
    let v = if i.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    };
    char::from_digit(u32::from(v), 16).unwrap_or('0')
}

/// Builds the layout of `batches` in force at `now`. `country_kids` maps a country to the kids
/// of its DSCs (for `UNKNOWN_KID` batches); `previous` is the layout this one replaces.
pub fn build(
    batches: &[Batch],
    country_kids: &BTreeMap<String, Vec<[u8; 8]>>,
    now: OffsetDateTime,
    previous: Option<&Distribution>,
) -> Distribution {
    // kid → (expiry minute → hashes), hash types, expiry.
    type PerKid = (BTreeMap<OffsetDateTime, Vec<Hash>>, BTreeSet<HashType>);
    let mut by_kid: BTreeMap<[u8; 8], PerKid> = BTreeMap::new();
    for batch in batches.iter().filter(|b| b.expires > now) {
        let kids: Vec<[u8; 8]> = match batch.kid {
            Some(kid) => vec![kid],
            None => country_kids
                .get(&batch.country)
                .cloned()
                .unwrap_or_default(),
        };
        for kid in kids {
            let (slices, types) = by_kid.entry(kid).or_default();
            slices
                .entry(minute(batch.expires))
                .or_default()
                .extend_from_slice(&batch.hashes);
            types.insert(batch.hash_type);
        }
    }
    let old: HashMap<(&str, Option<&str>, char, &str), OffsetDateTime> = previous
        .into_iter()
        .flat_map(|d| d.lists.values())
        .flat_map(|l| {
            l.partitions.iter().flat_map(move |p| {
                p.slices().map(move |(c, s)| {
                    (
                        (l.kid.as_str(), p.id.as_deref(), c, s.bloom.sid.as_str()),
                        s.last_updated,
                    )
                })
            })
        })
        .collect();
    let old_sids: HashMap<(&str, Option<&str>), BTreeSet<&str>> = previous
        .into_iter()
        .flat_map(|d| d.lists.values())
        .flat_map(|l| {
            l.partitions.iter().map(move |p| {
                (
                    (l.kid.as_str(), p.id.as_deref()),
                    p.slices().map(|(_, s)| s.bloom.sid.as_str()).collect(),
                )
            })
        })
        .collect();
    let mut etag = ring::digest::Context::new(&ring::digest::SHA256);
    let mut lists = BTreeMap::new();
    let mut total = 0;
    for (kid, (mut by_expiry, hash_types)) in by_kid {
        for hashes in by_expiry.values_mut() {
            hashes.sort_unstable();
            hashes.dedup();
        }
        let count: usize = by_expiry.values().map(Vec::len).sum();
        total += count;
        let mode = Mode::for_count(count);
        let kid_b64 = base64_encode(&kid);
        // partition id → chunk → expiry → hashes
        let mut grouped: BTreeMap<String, BTreeMap<char, BTreeMap<OffsetDateTime, Vec<Hash>>>> =
            BTreeMap::new();
        for (expires, hashes) in &by_expiry {
            for h in hashes {
                let id: String = (0..mode.depth()).map(|i| nibble(h, i)).collect();
                grouped
                    .entry(id)
                    .or_default()
                    .entry(nibble(h, mode.depth()))
                    .or_default()
                    .entry(*expires)
                    .or_default()
                    .push(*h);
            }
        }
        let jobs: Vec<&[Hash]> = grouped
            .values()
            .flat_map(|chunks| chunks.values().flat_map(|slices| slices.values()))
            .map(Vec::as_slice)
            .collect();
        let mut rendered = render(&jobs, mode.depth() as u8).into_iter();
        let mut partitions = Vec::new();
        for (id, chunks) in grouped {
            let id = (mode != Mode::Point).then_some(id);
            let mut out_chunks = BTreeMap::new();
            let mut sids = BTreeSet::new();
            for (cid, slices) in chunks {
                let mut out = Vec::new();
                for (expires, hashes) in slices {
                    let Some((bloom, hash_list)) = rendered.next() else {
                        break;
                    };
                    let key = (kid_b64.as_str(), id.as_deref(), cid, bloom.sid.as_str());
                    let last_updated = old.get(&key).copied().unwrap_or(now);
                    etag.update(kid_b64.as_bytes());
                    etag.update(bloom.sid.as_bytes());
                    etag.update(hash_list.sid.as_bytes());
                    sids.insert(bloom.sid.clone());
                    out.push(Slice {
                        expires,
                        last_updated,
                        bloom,
                        hash_list,
                        hashes,
                    });
                }
                out_chunks.insert(cid, out);
            }
            let removed = old_sids
                .get(&(kid_b64.as_str(), id.as_deref()))
                .is_some_and(|before| before.iter().any(|s| !sids.contains(*s)));
            let latest = out_chunks
                .values()
                .flatten()
                .map(|s| s.last_updated)
                .max()
                .unwrap_or(now);
            let expires = out_chunks
                .values()
                .flatten()
                .map(|s| s.expires)
                .max()
                .unwrap_or(now);
            let mut digits = id.as_deref().unwrap_or_default().chars();
            partitions.push(Partition {
                x: digits.next(),
                y: digits.next(),
                id,
                last_updated: if removed { now } else { latest },
                expires,
                chunks: out_chunks,
            });
        }
        let last_updated = partitions
            .iter()
            .map(|p| p.last_updated)
            .max()
            .unwrap_or(now);
        let expires = partitions.iter().map(|p| p.expires).max().unwrap_or(now);
        lists.insert(
            kid_b64.clone(),
            List {
                kid: kid_b64,
                mode,
                hash_types,
                expires,
                last_updated,
                partitions,
            },
        );
    }
    Distribution {
        etag: hex(etag.finish().as_ref().get(..16).unwrap_or_default()),
        lists,
        hashes: total,
    }
}

/// Both encodings of every slice, in order, on every core (a million hashes are some forty
/// million SHA-256 computations for the Bloom filters).
fn render(jobs: &[&[Hash]], depth: u8) -> Vec<(Blob, Blob)> {
    let one = |hashes: &[Hash]| {
        (
            Blob::new(filters::bloom(hashes)),
            Blob::new(filters::hash_list(hashes, depth)),
        )
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let total: usize = jobs.iter().map(|j| j.len()).sum();
    if threads < 2 || jobs.len() < 2 || total < 10_000 {
        return jobs.iter().map(|j| one(j)).collect();
    }
    let per = jobs.len().div_ceil(threads);
    let out: Vec<(Blob, Blob)> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(|j| one(j)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    // A lost worker never loses a slice: render again on this thread.
    if out.len() == jobs.len() {
        out
    } else {
        jobs.iter().map(|j| one(j)).collect()
    }
}

/// `yyyy-MM-ddTHH:mm:ssZ`.
pub fn seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `yyyy-MM-ddTHH:mm:ss.SSSSSSZ` (the partitions' `lastUpdated`).
pub fn micros(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let s = seconds(t);
    format!(
        "{}.{:06}Z",
        s.strip_suffix('Z').unwrap_or(&s),
        t.microsecond()
    )
}

impl List {
    /// The `/lists` item: exactly the five members apps read.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kid": self.kid,
            "mode": self.mode.name(),
            "hashTypes": self.hash_types.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "expires": seconds(self.expires),
            "lastUpdated": seconds(self.last_updated),
        })
    }

    /// The partition named `id` (`null` for `POINT`, any case).
    pub fn partition(&self, id: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| match &p.id {
            None => id.eq_ignore_ascii_case("null"),
            Some(p) => p == id,
        })
    }
}

impl Partition {
    /// The partition JSON of the reference service, with the slices of type `t` (those
    /// updated after `since` only, when given).
    pub fn to_json(&self, kid: &str, t: SliceType) -> serde_json::Value {
        let chunks: serde_json::Map<String, serde_json::Value> = self
            .chunks
            .iter()
            .map(|(cid, slices)| {
                let by_expiry: serde_json::Map<String, serde_json::Value> = slices
                    .iter()
                    .map(|s| {
                        (
                            seconds(s.expires),
                            serde_json::json!({"type": t.name(), "version": "1.0",
                                "hash": s.blob(t).sid}),
                        )
                    })
                    .collect();
                (cid.to_string(), serde_json::Value::Object(by_expiry))
            })
            .collect();
        serde_json::json!({
            "kid": kid,
            "id": self.id,
            "x": self.x.map(String::from),
            "y": self.y.map(String::from),
            "lastUpdated": micros(self.last_updated),
            "expired": seconds(self.expires),
            "chunks": chunks,
        })
    }
}

/// A gzip'd tar of slices, each named `<kid>/<partition id or null>/<cid>/<sid>` (what apps
/// read: the chunk and slice ids are the last two segments).
pub fn tar_gz<'a>(
    kid: &str,
    partition: &Partition,
    slices: impl IntoIterator<Item = (char, &'a Slice)>,
    t: SliceType,
) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let id = partition.id.as_deref().unwrap_or("null");
    for (cid, slice) in slices {
        let blob = slice.blob(t);
        let name = format!("{kid}/{id}/{cid}/{}", blob.sid);
        gz.write_all(&tar_header(
            &name,
            blob.bytes.len(),
            slice.last_updated.unix_timestamp(),
        ))?;
        gz.write_all(&blob.bytes)?;
        let pad = (512 - blob.bytes.len() % 512) % 512;
        gz.write_all(&vec![0u8; pad])?;
    }
    gz.write_all(&[0u8; 1024])?;
    gz.finish()
}

/// A ustar header for a regular file (names here are under 100 bytes).
fn tar_header(name: &str, size: usize, mtime: i64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let mut put = |at: usize, bytes: &[u8]| {
        if let Some(dst) = h.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    };
    put(0, name.as_bytes().get(..100).unwrap_or(name.as_bytes()));
    put(100, b"0000644\0");
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, format!("{:011o}\0", mtime.max(0)).as_bytes());
    put(148, b"        ");
    put(156, b"0");
    put(257, b"ustar\0");
    put(263, b"00");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let checksum = format!("{sum:06o}\0 ");
    if let Some(dst) = h.get_mut(148..156) {
        dst.copy_from_slice(checksum.as_bytes());
    }
    h
}

impl Slice {
    /// Whether this slice holds `hash` (tests and the CLI).
    pub fn holds(&self, hash: &Hash) -> bool {
        self.hashes.binary_search(hash).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

    fn hash(i: u32) -> Hash {
        let d = ring::digest::digest(&ring::digest::SHA256, &i.to_be_bytes());
        d.as_ref()[..16].try_into().unwrap()
    }

    fn batch(id: &str, kid: Option<[u8; 8]>, range: std::ops::Range<u32>, days: i64) -> Batch {
        Batch {
            id: id.into(),
            country: "VN".into(),
            expires: NOW + time::Duration::days(days) + time::Duration::seconds(17),
            kid,
            hash_type: HashType::Uci,
            hashes: range.map(hash).collect(),
            source: "test".into(),
        }
    }

    #[test]
    fn point_layout_with_slices_per_expiry_and_unknown_kid_batches() {
        let k1 = [1u8; 8];
        let k2 = [2u8; 8];
        let kids = BTreeMap::from([("VN".to_owned(), vec![k1, k2])]);
        let d = build(
            &[
                batch("a", Some(k1), 0..50, 30),
                batch("b", Some(k1), 50..60, 60),
                batch("c", None, 100..103, 30),
                batch("old", Some(k1), 200..210, -1),
            ],
            &kids,
            NOW,
            None,
        );
        assert_eq!(d.lists.len(), 2);
        let l1 = &d.lists[&base64_encode(&k1)];
        assert_eq!(l1.mode, Mode::Point);
        assert_eq!(l1.partitions.len(), 1);
        let p = &l1.partitions[0];
        assert_eq!((p.id.as_deref(), p.x, p.y), (None, None, None));
        // Every in-force hash is in the slice of its first hex digit; expired ones are not.
        for i in (0..60).chain(100..103) {
            let h = hash(i);
            let slices = &p.chunks[&nibble(&h, 0)];
            assert!(slices.iter().any(|s| s.holds(&h)
                && filters::bloom_might_contain(&s.bloom.bytes, &h)
                && filters::hash_list_contains(&s.hash_list.bytes, &h)));
        }
        for i in 200..210 {
            assert!(!p.slices().any(|(_, s)| s.holds(&hash(i))));
        }
        // Two expiries → slices of two expiry minutes, seconds dropped.
        let expiries: BTreeSet<OffsetDateTime> = p.slices().map(|(_, s)| s.expires).collect();
        assert_eq!(expiries.len(), 2);
        assert!(expiries.iter().all(|e| e.second() == 0));
        // The UNKNOWN_KID batch is listed under k2 as well.
        let l2 = &d.lists[&base64_encode(&k2)];
        assert!(l2.partitions[0].slices().any(|(_, s)| s.holds(&hash(100))));
        assert_eq!(d.hashes, 63 + 3);
        let json = l1.to_json();
        assert_eq!(json.as_object().unwrap().len(), 5);
        assert_eq!(json["mode"], "POINT");
        assert_eq!(json["hashTypes"], serde_json::json!(["UCI"]));
    }

    #[test]
    fn etag_and_last_updated_follow_content() {
        let k = [7u8; 8];
        let none = BTreeMap::new();
        let first = build(&[batch("a", Some(k), 0..40, 30)], &none, NOW, None);
        let later = NOW + time::Duration::hours(1);
        let same = build(
            &[batch("a", Some(k), 0..40, 30)],
            &none,
            later,
            Some(&first),
        );
        assert_eq!(first.etag, same.etag);
        assert_eq!(same.lists[&base64_encode(&k)].last_updated, NOW);
        // One more hash: only the slice of its chunk is new.
        let grown = build(&[batch("a", Some(k), 0..41, 30)], &none, later, Some(&same));
        assert_ne!(grown.etag, same.etag);
        let p = &grown.lists[&base64_encode(&k)].partitions[0];
        let changed: Vec<char> = p
            .slices()
            .filter(|(_, s)| s.last_updated == later)
            .map(|(c, _)| c)
            .collect();
        assert_eq!(changed, [nibble(&hash(40), 0)]);
        assert_eq!(p.last_updated, later);
    }

    #[test]
    fn vector_mode_above_the_point_threshold() {
        let k = [9u8; 8];
        let d = build(
            &[batch("big", Some(k), 0..(POINT_MAX as u32 + 1), 30)],
            &BTreeMap::new(),
            NOW,
            None,
        );
        let l = &d.lists[&base64_encode(&k)];
        assert_eq!(l.mode, Mode::Vector);
        assert_eq!(l.partitions.len(), 16);
        for p in &l.partitions {
            let id = p.id.clone().unwrap();
            assert_eq!(p.x, id.chars().next());
            assert_eq!(p.y, None);
            for (cid, s) in p.slices() {
                let h = s.hashes[0];
                assert_eq!((nibble(&h, 0), nibble(&h, 1)), (p.x.unwrap(), cid));
            }
        }
    }

    #[test]
    fn tar_entries_name_kid_partition_chunk_and_slice() {
        let k = [3u8; 8];
        let d = build(
            &[batch("a", Some(k), 0..20, 30)],
            &BTreeMap::new(),
            NOW,
            None,
        );
        let l = &d.lists[&base64_encode(&k)];
        let p = &l.partitions[0];
        let gz = tar_gz(&l.kid, p, p.slices(), SliceType::VarHashList).unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut tar).unwrap();
        let mut at = 0;
        let mut names = Vec::new();
        while at + 512 <= tar.len() && tar[at] != 0 {
            let header = &tar[at..at + 512];
            let name = String::from_utf8(header[..100].split(|b| *b == 0).next().unwrap().to_vec())
                .unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&header[124..135]).unwrap(), 8).unwrap();
            let sum: u32 = header
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        u32::from(*b)
                    }
                })
                .sum();
            let stated =
                u32::from_str_radix(std::str::from_utf8(&header[148..154]).unwrap(), 8).unwrap();
            assert_eq!(sum, stated);
            let body = &tar[at + 512..at + 512 + size];
            let sid = name.rsplit('/').next().unwrap();
            assert_eq!(crate::util::sha256_hex(body), sid);
            names.push(name);
            at += 512 + size.div_ceil(512) * 512;
        }
        assert_eq!(names.len(), p.slices().count());
        assert!(
            names
                .iter()
                .all(|n| n.starts_with(&format!("{}/null/", l.kid)))
        );
    }
}
