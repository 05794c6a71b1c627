//! The QR image path (PNG/JPEG decoding, QR detection) on arbitrary bytes.
#![no_main]

use dcc_gateway::hcert::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_image_pixels: 1 << 20, ..Limits::default() };
    let _ = dcc_gateway::qr::decode_image(data, &limits);
});
