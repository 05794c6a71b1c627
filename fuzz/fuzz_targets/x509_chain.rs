//! Anchor loading (`trust::validate::Anchor::from_bytes`: PEM blocks, DER certificate or SPKI)
//! and one-level chain checks (`trust::validate::issued_by`, `Anchor::chains`) on split input.
//!
//! Input: 2 bytes (little-endian) give the child's length `n` (taken modulo the rest's length
//! + 1); the next `n` bytes are the child certificate, the remainder the issuer / anchor bytes.
#![no_main]

use dcc_gateway::trust::validate::{Anchor, issued_by};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dcc_gateway_fuzz::init();
    if data.len() < 2 {
        return;
    }
    let rest = &data[2..];
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])) % (rest.len() + 1);
    let (child, issuer) = rest.split_at(n);
    let by = issued_by(child, issuer);
    if let Ok(anchor) = Anchor::from_bytes(issuer) {
        assert!(!anchor.is_empty());
        let chains = anchor.chains(child);
        let vouches = anchor.vouches_for_cert(child);
        assert!(!vouches || chains);
        // A DER issuer certificate is the anchor's only certificate: issued_by implies chains.
        if by && issuer.first() == Some(&0x30) {
            assert!(chains);
        }
    }
    let _ = Anchor::from_bytes(rest);
});
