//! The QR decoder evaluation: renders the generated photo corpus (`tests/common/photo.rs`) from
//! freshly signed certificates, decodes every picture with the gateway's image path and prints
//! recall per distortion class, the pass that found each code, and CPU per picture (p50/p99).
//! With a directory argument it also writes every picture and an `index.tsv` (class, variant,
//! file, expected text) there, with each picture's upright pixels as `<file>.pgm`, so other
//! decoders can be measured on the same pixels.
//!
//! `cargo run --release --example qr_corpus [-- DIR]`; the numbers are in
//! `load-tests/QR-RESULTS.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a measurement tool: a failed unwrap is a failed run"
)]

#[path = "../tests/common/photo.rs"]
mod photo;
#[allow(dead_code, reason = "shared test support; the tool uses a part")]
#[path = "../tests/core/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use dcc_gateway::crypto::Alg;
use dcc_gateway::hcert::Limits;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let out_dir = std::env::args().nth(1);
    let es = support::signer(Alg::Es256);
    let texts = vec![
        support::hc1(&es, &support::vaccination()),
        support::hc1(&es, &support::test_cert()),
        support::hc1(&es, &support::recovery()),
    ];
    let corpus = photo::corpus(&texts);
    let mut index = String::new();
    let mut per_class: BTreeMap<&str, (usize, usize, Vec<f64>)> = BTreeMap::new();
    let mut per_pass: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in corpus.iter().enumerate() {
        if let Some(dir) = &out_dir {
            let ext = match dcc_gateway::qr::load::sniff(&p.bytes) {
                Some(dcc_gateway::qr::load::Kind::Jpeg) => "jpg",
                Some(dcc_gateway::qr::load::Kind::Webp) => "webp",
                _ => "png",
            };
            let name = format!("{i:03}-{}.{ext}", p.class);
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(format!("{dir}/{name}"), &p.bytes).unwrap();
            // The decoded, upright pixels too (binary PGM), for decoders without our loaders.
            let img = dcc_gateway::qr::load::load(&p.bytes, &Limits::default()).unwrap();
            let mut pgm = format!("P5\n{} {}\n255\n", img.w, img.h).into_bytes();
            pgm.extend_from_slice(&img.px);
            std::fs::write(format!("{dir}/{name}.pgm"), pgm).unwrap();
            index.push_str(&format!("{}\t{}\t{name}\t{}\n", p.class, p.variant, p.text));
        }
        let start = Instant::now();
        let img = dcc_gateway::qr::load::load(&p.bytes, &Limits::default()).unwrap();
        let (got, pass) = dcc_gateway::qr::find_traced(&img);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let hit = got.as_deref() == Ok(p.text.as_str());
        let e = per_class.entry(p.class).or_default();
        e.1 += 1;
        e.2.push(ms);
        if hit {
            e.0 += 1;
            *per_pass.entry(pass.unwrap_or("-")).or_default() += 1;
        } else {
            println!("MISS {} / {} ({ms:.1} ms)", p.class, p.variant);
        }
    }
    if let Some(dir) = &out_dir {
        std::fs::write(format!("{dir}/index.tsv"), index).unwrap();
    }
    println!("| class | recall | CPU p50 ms | CPU p99 ms |");
    println!("|---|---|---|---|");
    let (mut hits, mut total, mut all) = (0, 0, Vec::new());
    for (class, (hit, n, mut ms)) in per_class {
        ms.sort_by(f64::total_cmp);
        println!(
            "| {class} | {hit}/{n} | {:.1} | {:.1} |",
            percentile(&ms, 0.5),
            percentile(&ms, 0.99)
        );
        hits += hit;
        total += n;
        all.extend(ms);
    }
    all.sort_by(f64::total_cmp);
    println!(
        "| **all** | {hits}/{total} | {:.1} | {:.1} |",
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    println!("found by pass: {per_pass:?}");
    // The worst case: pictures with no code run every pass (bounded by the pixel budget).
    for (name, w, h) in [
        ("no code, 2 Mpx noise", 1600, 1200),
        ("no code, 12 Mpx noise", 4000, 3000),
    ] {
        let mut c = photo::Canvas::new(w, h, 128.0);
        photo::noise(&mut c, 120.0, 99);
        let img = dcc_gateway::qr::load::Grey {
            w,
            h,
            px: c.to_u8(),
        };
        let mut ms = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let (got, _) = dcc_gateway::qr::find_traced(&img);
            assert!(got.is_err());
            ms.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{name}: p50 {:.0} ms, max {:.0} ms",
            percentile(&ms, 0.5),
            ms[ms.len() - 1]
        );
    }
}
