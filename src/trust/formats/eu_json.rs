//! EU DCC Gateway `/trustList` JSON (TrustListItem: `kid`, `timestamp`, `country`,
//! `certificateType`, `thumbprint`, `signature`, `rawData`).
//!
//! This module reads the entries; it does not check the detached CMS `signature` (that is the
//! ingestion pipeline's job, see the trust-ingestion issue). The offline `verify --trust-list`
//! command trusts the file the operator hands it, exactly as it trusts `--trust` certificates.
//! Still, every DSC entry must parse as X.509, and its `kid` must equal SHA-256(rawData)[..8];
//! entries with `rawData: null` (deletions) and non-DSC entries are skipped.

use serde::Deserialize;

use crate::trust::model::{Dsc, Kid};
use crate::util::base64_decode;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustListItem {
    pub kid: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    pub certificate_type: String,
    #[serde(default)]
    pub thumbprint: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub raw_data: Option<String>,
}

/// Why an entry was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("rawData is not Base64")]
    NotBase64,
    #[error("rawData is not an X.509 certificate")]
    NotX509,
    #[error("kid does not equal SHA-256(rawData)[..8]")]
    KidMismatch,
}

/// The whole file is not a trust list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an EU trust list (a JSON array of TrustListItem objects)")]
pub struct NotATrustList;

/// Parsed DSCs and per-entry rejections (index into the list, reason).
#[derive(Debug, Default)]
pub struct Parsed {
    pub dscs: Vec<Dsc>,
    pub rejected: Vec<(usize, EntryError)>,
}

/// Parses a trust list and loads its DSC entries.
pub fn parse_dscs(json: &[u8], source: &str) -> Result<Parsed, NotATrustList> {
    let items: Vec<TrustListItem> = serde_json::from_slice(json).map_err(|_| NotATrustList)?;
    let mut parsed = Parsed::default();
    for (i, item) in items.iter().enumerate() {
        if item.certificate_type != "DSC" {
            continue;
        }
        let Some(raw) = item.raw_data.as_deref() else {
            continue;
        };
        match load(item, raw, source) {
            Ok(dsc) => parsed.dscs.push(dsc),
            Err(e) => parsed.rejected.push((i, e)),
        }
    }
    Ok(parsed)
}

fn load(item: &TrustListItem, raw: &str, source: &str) -> Result<Dsc, EntryError> {
    let der = base64_decode(raw).ok_or(EntryError::NotBase64)?;
    if Kid::of_der(&der).to_base64() != item.kid {
        return Err(EntryError::KidMismatch);
    }
    let mut dsc = Dsc::from_der(&der, source).map_err(|_| EntryError::NotX509)?;
    if dsc.country.is_none() {
        dsc.country.clone_from(&item.country);
    }
    Ok(dsc)
}

/// Reads and validates an EU gateway list (placeholder: being implemented).
pub fn ingest(
    _bytes: &[u8],
    _ctx: &super::Context<'_>,
) -> Result<super::Ingested, super::ListError> {
    Err(super::ListError::Malformed(
        "format not implemented yet".into(),
    ))
}
