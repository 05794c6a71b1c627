//! Criterion benchmark of business rules: one CertLogic rule (the shipped example VR-VN-0001,
//! two `plusTime`, a comparison and a date comparison) on a vaccination payload, and the whole
//! VN rule set assessed for one certificate (selection + context + every applicable rule).
//! Run: `cargo bench --bench rules`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "bench code: a failed unwrap is a failed bench"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dcc_gateway::hcert::payload::{CertType, value_sets_by_id};
use dcc_gateway::rules::{self, External, Outcome};
use serde_json::json;

fn bench(c: &mut Criterion) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/trust-lists/rules");
    let set = rules::source::load_dir(std::path::Path::new(dir), "bench").set;
    let rule = set
        .rules
        .iter()
        .find(|r| r.rule.identifier == "VR-VN-0001")
        .expect("shipped rule");
    let payload = json!({
        "ver": "1.3.0",
        "nam": {"fn": "Nguyen", "fnt": "NGUYEN", "gn": "Lan", "gnt": "LAN"},
        "dob": "1985-03-14",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
               "dn": 2, "sd": 2, "dt": "2021-05-01", "co": "VN", "is": "MoH", "ci": "URN:UVCI:01:VN:X"}]
    });
    let external = External {
        validation_clock: dcc_gateway::util::parse_rfc3339("2021-06-01T00:00:00Z").unwrap(),
        value_sets: value_sets_by_id(),
        country_code: "VN",
        region: None,
        exp: None,
        iat: None,
        issuer_country_code: "VN",
        kid: "AAAAAAAAAAA=",
    };
    let data = external.context(&payload);
    assert_eq!(rules::outcome(rule, &data, Some("1.3.0")), Outcome::Passed);
    c.bench_function("rules/one_rule_VR-VN-0001", |b| {
        b.iter(|| rules::outcome(black_box(rule), black_box(&data), Some("1.3.0")))
    });
    c.bench_function("rules/assess_vn_rule_set", |b| {
        b.iter(|| set.assess(black_box(&payload), &external, Some(CertType::Vaccination)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
