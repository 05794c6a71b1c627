//! One struct that bounds all work done on attacker-controlled input.
//!
//! Every stage of the pipeline takes `&Limits`; nothing allocates or loops in proportion to the
//! input without checking one of these numbers first.

/// Bounds on the work the pipeline does for one QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted QR text, prefix included. A version-40 QR code holds at most 4 296
    /// alphanumeric characters, so 8 192 leaves room and stops nothing real.
    pub max_qr_chars: usize,
    /// Largest inflated CWT in bytes. Inflation stops as soon as this is passed (zip bombs).
    pub max_inflated_bytes: usize,
    /// Deepest CBOR nesting accepted anywhere (COSE container, claims, DCC).
    pub max_cbor_depth: usize,
    /// Most candidate signer certificates tried for one kid.
    pub max_candidates_per_kid: usize,
    /// Largest image accepted by the QR image path, in bytes.
    pub max_image_bytes: usize,
    /// Largest image accepted by the QR image path, in pixels (width × height).
    pub max_image_pixels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_qr_chars: 8 * 1024,
            max_inflated_bytes: 64 * 1024,
            max_cbor_depth: 16,
            max_candidates_per_kid: 8,
            max_image_bytes: 2 * 1024 * 1024,
            max_image_pixels: 16 * 1024 * 1024,
        }
    }
}
