//! Signer keys and certificates (rcgen + ring).
//!
//! [`mint`] creates key pairs and CSCA/DSC certificates; it backs `keys init`/`issue` and the
//! test and load-test corpora, which all sign with freshly generated keys (no key material is
//! committed). PS256 keys are RSA-2048 generated with the `rsa` crate (ring cannot generate
//! RSA keys) and then used only through ring.

pub mod dev;
pub mod issue;
pub mod mint;
