//! Signer keys and certificates (rcgen + ring).
//!
//! [`mint`] creates key pairs and CSCA/DSC certificates; it backs `keys init`/`issue` and the
//! test and load-test corpora, which all sign with freshly generated keys (no key material is
//! committed). PS256 keys are RSA-2048 generated with the `rsa` crate (ring cannot generate
//! RSA keys) and then used only through ring.

pub mod dev;
pub mod issue;
pub mod mint;
pub mod store;

/// PEM armour (`-----BEGIN {label}-----`, 64-column Base64).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = crate::util::base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
