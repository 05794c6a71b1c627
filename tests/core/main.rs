//! Integration tests of the verification core: one binary, modules by topic.

mod cli;
mod pipeline;
mod robustness;
mod support;
