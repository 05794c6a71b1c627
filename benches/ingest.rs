//! Criterion benchmark of EU gateway list ingestion: 10,000 DSC entries, each with a detached
//! CMS by the UPLOAD certificate and issued by the CSCA (two ECDSA P-256 verifications per
//! entry). The list is generated once, outside the timed loop.
//! Run: `cargo bench --bench ingest`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dcc_gateway::trust::formats::{self, Context, Format, eu_testkit};

const DSCS: usize = 10_000;

fn bench(c: &mut Criterion) {
    let sample = eu_testkit::sample(DSCS).expect("sample list");
    let json = sample.json();
    let anchor = sample.trust_anchor().expect("anchor");
    let ctx = Context {
        anchor: &anchor,
        now: eu_testkit::T0,
        source: "eu-gateway",
        keep_expired: dcc_gateway::trust::formats::KEEP_EXPIRED,
    };
    let out = formats::ingest(Format::EuJson, &json, &ctx).expect("ingest");
    assert_eq!(out.dscs.len(), DSCS, "{:?}", out.rejected_by_reason());
    c.bench_function("eu_json/ingest_10k_dscs", |b| {
        b.iter(|| formats::ingest(Format::EuJson, black_box(&json), &ctx))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(20)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
