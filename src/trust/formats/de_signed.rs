//! Placeholder: being implemented.

use super::{Context, Ingested, ListError};

/// Reads a list of this format.
pub fn ingest(_bytes: &[u8], _ctx: &Context<'_>) -> Result<Ingested, ListError> {
    Err(ListError::Malformed("format not implemented yet".into()))
}
