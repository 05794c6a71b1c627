//! COSE container parsing and CWT claim reading on arbitrary (already inflated) bytes.
#![no_main]

use dcc_gateway::hcert::{Limits, cose};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(msg) = cose::parse(data, &limits) {
        let _ = msg.kid();
        let _ = msg.alg();
        let _ = msg.to_be_signed();
    }
    let _ = dcc_gateway::hcert::claims::parse_unverified_for_fuzzing(data, &limits);
});
