//! Integration tests of the HTTP gateway: real HTTP over loopback, real redis-server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

mod abuse;
mod distribution;
mod faults;
mod ha;
mod helpers;
mod limits;
#[path = "../common/passes.rs"]
mod make_passes;
mod openapi;
mod passes;
#[path = "../common/photo.rs"]
mod photo;
mod privacy;
mod publish;
mod revocation;
mod rules;
#[path = "../core/support.rs"]
#[allow(
    dead_code,
    reason = "shared with the core tests; not every helper is used here"
)]
mod support;
mod sync;
mod trust;
mod vectors;
mod verify;
