//! Pure parsers for trust-list formats.

pub mod eu_json;
