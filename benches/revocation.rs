//! Criterion benchmark of revocation at scale: one million revoked hashes (1 000 batches of
//! 1 000 entries, the EU maximum), parsed from batch JSON and indexed (`load_1m`), the memory
//! the index holds per hash (printed once), the lookup a verification adds (`lookup_*`), and
//! the distribution-service layout of the million (Bloom filters and hash lists of every slice:
//! `distribution_1m_50_kids`, and one kid holding all of them, `distribution_1m_one_kid`).
//! Run: `cargo bench --bench revocation`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "bench code"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dcc_gateway::hcert::revocation::Keys;
use dcc_gateway::revocation::{self, Bundle};

fn hash(i: u64) -> [u8; 16] {
    let d = ring::digest::digest(&ring::digest::SHA256, &i.to_be_bytes());
    let mut h = [0u8; 16];
    h.copy_from_slice(&d.as_ref()[..16]);
    h
}

fn bundle() -> Bundle {
    let batches = (0..1000u64)
        .map(|b| {
            let entries: Vec<serde_json::Value> = (0..1000u64)
                .map(|e| serde_json::json!({"hash": dcc_gateway::util::base64_encode(&hash(b * 1000 + e))}))
                .collect();
            let kid = dcc_gateway::util::base64_encode(&(b % 50).to_be_bytes());
            let json = serde_json::json!({"country": "DE", "expires": "2099-01-01T00:00:00Z",
                "kid": kid, "hashType": "SIGNATURE", "entries": entries});
            (format!("batch-{b}"), Some(json.to_string()))
        })
        .collect();
    Bundle { batches }
}

fn bench(c: &mut Criterion) {
    let bundle = bundle();
    let now = dcc_gateway::clock::now();
    let (batches, rejected) = revocation::ingest(&bundle, "bench", now);
    assert!(rejected.is_empty());
    let index = revocation::index(&batches);
    assert_eq!(index.len(), 1_000_000);
    eprintln!(
        "revocation index: {} hashes, {:.1} bytes per hash",
        index.len(),
        index.approx_bytes() as f64 / index.len() as f64
    );
    let mut group = c.benchmark_group("revocation");
    group.sample_size(10);
    group.bench_function("load_1m", |b| {
        b.iter(|| {
            let (batches, _) = revocation::ingest(black_box(&bundle), "bench", now);
            revocation::index(&batches)
        })
    });
    let kids = std::collections::BTreeMap::new();
    group.bench_function("distribution_1m_50_kids", |b| {
        b.iter(|| revocation::distribution::build(black_box(&batches), &kids, now, None))
    });
    let one_kid: Vec<_> = batches
        .iter()
        .cloned()
        .map(|mut b| {
            b.kid = Some([1; 8]);
            b
        })
        .collect();
    let d = revocation::distribution::build(&one_kid, &kids, now, None);
    let list = d.lists.values().next().unwrap();
    let bytes: usize = list
        .partitions
        .iter()
        .flat_map(|p| p.slices())
        .map(|(_, s)| s.bloom.bytes.len() + s.hash_list.bytes.len())
        .sum();
    eprintln!(
        "distribution, one kid: {} hashes, mode {}, {} partitions, {} bytes of slices",
        d.hashes,
        list.mode.name(),
        list.partitions.len(),
        bytes
    );
    group.bench_function("distribution_1m_one_kid", |b| {
        b.iter(|| revocation::distribution::build(black_box(&one_kid), &kids, now, None))
    });
    group.finish();
    let kid = 7u64.to_be_bytes();
    let miss = Keys {
        uci: Some(hash(u64::MAX)),
        country_uci: vec![hash(u64::MAX - 1)],
        signature: Some(hash(u64::MAX - 2)),
    };
    let hit = Keys {
        signature: Some(hash(7 * 1000 + 5)),
        ..miss.clone()
    };
    assert!(index.lookup(&kid, Some("DE"), &hit).is_some());
    c.bench_function("revocation/lookup_miss_1m", |b| {
        b.iter(|| index.lookup(black_box(&kid), Some("DE"), black_box(&miss)))
    });
    c.bench_function("revocation/lookup_hit_1m", |b| {
        b.iter(|| index.lookup(black_box(&kid), Some("DE"), black_box(&hit)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
