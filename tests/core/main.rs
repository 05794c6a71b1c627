//! Integration tests of the verification core: one binary, modules by topic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]

mod certlogic;
mod cli;
mod ddcc;
mod divoc;
mod field;
mod gdhcn;
#[path = "../common/passes.rs"]
mod make_passes;
mod passes;
#[path = "../common/photo.rs"]
mod photo;
mod photos;
mod pipeline;
mod rdf_canon;
mod robustness;
mod stages;
mod support;
