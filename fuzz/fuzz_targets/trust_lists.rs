//! The five trust-list adapters (`trust::formats::ingest`) on arbitrary bytes, against the fixed
//! anchor of `dcc_gateway_fuzz::MATERIAL` so that lists it signed reach the entry checks.
//!
//! Input: the first byte picks the format (`(b & 0x7f) % 5`: EuJson, DeSigned, SeJws, WhoDid,
//! Pem) and, with its top bit set, ingests without an anchor; the rest is the list body.
#![no_main]

use dcc_gateway::trust::formats::{self, Format, de_signed, who_did};
use dcc_gateway_fuzz::context;
use libfuzzer_sys::fuzz_target;

const FORMATS: [Format; 5] = [
    Format::EuJson,
    Format::DeSigned,
    Format::SeJws,
    Format::WhoDid,
    Format::Pem,
];

fuzz_target!(|data: &[u8]| {
    dcc_gateway_fuzz::init();
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(selector & 0x7f) % FORMATS.len()];
    let ctx = context(selector & 0x80 == 0);
    match formats::ingest(format, body, &ctx) {
        Ok(ingested) => {
            for dsc in &ingested.dscs {
                assert_eq!(dsc.source, "fuzz");
            }
            let _ = ingested.countries();
            let _ = ingested.rejected_by_reason();
            let _ = ingested.non_empty();
        }
        Err(e) => {
            let _ = e.code();
            let _ = e.to_string();
        }
    }
    match format {
        Format::DeSigned => {
            let _ = de_signed::list_meta(body);
        }
        Format::WhoDid => {
            let _ = who_did::list_meta(body);
        }
        _ => {}
    }
});
