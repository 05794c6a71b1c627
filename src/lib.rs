//! dcc-gateway: trust-list and verification gateway for EU Digital COVID Certificates.
//!
//! The library holds everything; `main.rs` only parses the command line. See `README.md` for the
//! architecture and `hcert` for the verification pipeline.

pub mod app;
pub mod certlogic;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod hcert;
pub mod http;
pub mod keys;
pub mod ld;
pub mod passes;
pub mod qr;
pub mod redis;
pub mod revocation;
pub mod rules;
pub mod serve;
pub mod trust;
pub mod util;
