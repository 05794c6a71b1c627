//! dcc-gateway: trust-list and verification gateway for EU Digital COVID Certificates.
//!
//! The library holds everything; `main.rs` only parses the command line. See `README.md` for the
//! architecture and `hcert` for the verification pipeline.

pub mod cli;
pub mod clock;
pub mod crypto;
pub mod hcert;
pub mod keys;
pub mod qr;
pub mod trust;
pub mod util;
