//! Rendering of what the gateway publishes for one trust snapshot and key set: the EU gateway
//! TrustListItem entries (live and deleted), the German-style signed DSC list and the WHO DID
//! documents. Pure: the caller passes the snapshot, the app-sync ledger (for entry timestamps
//! and deletions), the key set and the time; HTTP serving, filtering and caching live in
//! `http/publish.rs`. Every failure is a typed [`PublishError`], mapped to HTTP once in
//! `http/error.rs` with a log line carrying the cause.
//!
//! What is signed by whom: DSC entries of Vietnam by VN's UPLOAD certificate; CSCA and UPLOAD
//! entries, and partner DSCs in force, by the VN list-signing certificate (the *trust anchor*
//! role: partners pin `trust-lists/VN/list-signer.pem`). The signed lists carry `version` (the
//! snapshot version, which only goes up) and `expires` (7 days after rendering).

use time::OffsetDateTime;

use crate::keys::mint::SignerKey;
use crate::keys::store::KeySet;
use crate::trust::cms::{self, CmsError};
use crate::trust::formats::eu_json::{self, TrustListItem};
use crate::trust::formats::{ListMeta, de_signed, who_did};
use crate::trust::jose::RenderError;
use crate::trust::ledger::Ledger;
use crate::trust::model::{Dsc, TrustSnapshot};
use crate::util::rfc3339;

/// Why a publication could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("CMS signature of a trust-list entry: {0}")]
    EntrySignature(#[from] CmsError),
    #[error("German signed list: {0}")]
    GermanList(RenderError),
    #[error("DID document: {0}")]
    DidDocument(RenderError),
}

/// One published TrustListItem and the instant `If-Modified-Since` compares with.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(transparent)]
pub struct Entry {
    pub item: TrustListItem,
    #[serde(skip)]
    pub at: OffsetDateTime,
}

/// Everything published for one snapshot and key set.
pub struct Published {
    pub snapshot_id: String,
    pub version: u64,
    pub created: OffsetDateTime,
    /// `Last-Modified` of every published resource: when the snapshot came in force for its
    /// first rendering (not the moment of rendering, which can be seconds later), the
    /// rendering time for a renewal of the same snapshot (new signed expiry, new bytes).
    pub modified: OffsetDateTime,
    /// Live entries, sorted by kid.
    pub items: Vec<Entry>,
    /// Deleted DSC entries (signature and rawData null), sorted by kid.
    pub deleted: Vec<Entry>,
    pub de_list: Vec<u8>,
    pub did_dsc: Vec<u8>,
    pub did_sca: Vec<u8>,
}

/// How long a rendering is served before it is renewed (the signed expiry is 7 days).
pub const RENEW_AFTER: time::Duration = time::Duration::hours(24);
const EXPIRES_AFTER: time::Duration = time::Duration::days(7);

fn signed_entry(
    der: &[u8],
    cert_type: &str,
    country: &str,
    at: OffsetDateTime,
    signer: (&[u8], &SignerKey),
) -> Result<Entry, CmsError> {
    let signature = cms::sign_detached(der, signer.0, signer.1)?;
    Ok(Entry {
        item: eu_json::item(der, cert_type, country, &rfc3339(at), Some(&signature)),
        at,
    })
}

fn not_before(der: &[u8]) -> OffsetDateTime {
    Dsc::from_der(der, "publish")
        .map(|d| d.not_before)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Renders the publication (CPU-heavy: one CMS signature per entry; call off the workers).
pub fn build(
    snapshot: &TrustSnapshot,
    ledger: &Ledger,
    keys: &KeySet,
    now: OffsetDateTime,
) -> Result<Published, PublishError> {
    let anchor = (keys.list_signer.der.as_slice(), &keys.list_key);
    let upload = (keys.upload.der.as_slice(), &keys.upload_key);
    let mut items = vec![
        signed_entry(
            &keys.csca.der,
            "CSCA",
            "VN",
            not_before(&keys.csca.der),
            anchor,
        )?,
        signed_entry(
            &keys.upload.der,
            "UPLOAD",
            "VN",
            not_before(&keys.upload.der),
            anchor,
        )?,
    ];
    let ledger_since = |der: &[u8]| {
        ledger
            .entries
            .get(&crate::util::sha256_hex(der))
            .and_then(|e| OffsetDateTime::from_unix_timestamp(e.since).ok())
    };
    let own: Vec<&[u8]> = keys
        .published_dscs(now)
        .into_iter()
        .map(|d| d.cert.der.as_slice())
        .collect();
    let mut vn_dscs: Vec<Vec<u8>> = Vec::new();
    for der in &own {
        let at = ledger_since(der).unwrap_or_else(|| not_before(der));
        items.push(signed_entry(der, "DSC", "VN", at, upload)?);
        vn_dscs.push(der.to_vec());
    }
    let mut partner_ders: Vec<Vec<u8>> = Vec::new();
    for dsc in snapshot.iter() {
        // Kept for verification at past (or future) instants, not published.
        if own.iter().any(|d| *d == &*dsc.der) || !dsc.valid_at(now) {
            continue;
        }
        let country = dsc.country.clone().unwrap_or_default();
        let at = ledger_since(&dsc.der).unwrap_or(dsc.not_before);
        if country == "VN" {
            // Development or configured VN DSCs outside the key set: vouched by the anchor.
            vn_dscs.push(dsc.der.to_vec());
        }
        items.push(signed_entry(&dsc.der, "DSC", &country, at, anchor)?);
        partner_ders.push(dsc.der.to_vec());
    }
    items.sort_by(|a, b| (&a.item.kid, &a.item.thumbprint).cmp(&(&b.item.kid, &b.item.thumbprint)));
    items.dedup_by(|a, b| a.item.thumbprint == b.item.thumbprint);
    let mut deleted: Vec<Entry> = ledger
        .entries
        .iter()
        .filter_map(|(thumb, e)| {
            let at = OffsetDateTime::from_unix_timestamp(e.deleted?).ok()?;
            Some(Entry {
                item: TrustListItem {
                    kid: e.kid.clone(),
                    timestamp: Some(rfc3339(at)),
                    country: Some(e.country.clone().unwrap_or_default()),
                    certificate_type: "DSC".into(),
                    thumbprint: Some(thumb.clone()),
                    signature: None,
                    raw_data: None,
                },
                at,
            })
        })
        .collect();
    deleted.sort_by(|a, b| a.item.kid.cmp(&b.item.kid));
    let meta = ListMeta {
        version: Some(snapshot.version),
        expires: Some(now + EXPIRES_AFTER),
    };
    let mut all_dscs = vn_dscs.clone();
    for der in own.iter().map(|d| d.to_vec()).chain(partner_ders) {
        if !all_dscs.contains(&der) {
            all_dscs.push(der);
        }
    }
    let de_items = de_signed::items_for(&all_dscs, now).map_err(PublishError::GermanList)?;
    let de_list =
        de_signed::render(&de_items, meta, &keys.list_key).map_err(PublishError::GermanList)?;
    let did = |kind: &str, ders: &[Vec<u8>]| {
        who_did::render(
            &format!("did:web:dcc-gateway:v2:trustlist:-:VNM:{kind}"),
            ders,
            &keys.list_key,
            now,
            snapshot.version,
            now + EXPIRES_AFTER,
        )
        .map_err(PublishError::DidDocument)
    };
    let did_dsc = did("DSC", &vn_dscs)?;
    let did_sca = did("SCA", std::slice::from_ref(&keys.csca.der))?;
    Ok(Published {
        snapshot_id: snapshot.id.clone(),
        version: snapshot.version,
        created: now,
        modified: now,
        items,
        deleted,
        de_list,
        did_dsc,
        did_sca,
    })
}
