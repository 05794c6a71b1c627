//! Detached CMS SignedData verification (`trust::cms::verify_detached`, including the BER to
//! DER rewrite) on arbitrary bytes over a fixed content: the DER of the fixed anchor
//! certificate, which the seed CMSs (`examples/seed.rs`) sign.
#![no_main]

use dcc_gateway::trust::cms;
use dcc_gateway_fuzz::MATERIAL;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dcc_gateway_fuzz::init();
    let content = &MATERIAL.cert_der;
    match cms::verify_detached(data, content) {
        Ok(signer) => {
            // What eu_json does next with the signer certificate.
            let _ = MATERIAL.anchor.vouches_for_cert(&signer);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
