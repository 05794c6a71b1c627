//! The EU DCC gateway's revocation distribution, as a client (`format = "eu-revocation"`,
//! `url` = the gateway's `…/revocation-list`):
//!
//! * `GET {url}` with `If-Modified-Since` (required by the gateway) → `{"more": bool,
//!   "batches": [{"batchId", "country", "date", "deleted"}]}`, or 204 when nothing is new;
//!   `more` asks for the next page (`If-Modified-Since` = the last `date` seen).
//! * `GET {url}/{batchId}` → the batch as a CMS SignedData embedding the batch JSON (Base64
//!   text as the gateway serves it, or DER), signed by an UPLOAD certificate of the batch's
//!   country; 410 when the batch was deleted.
//!
//! The signer must be an UPLOAD certificate of the batch's country: pinned in the source's
//! `anchor` file, or an UPLOAD entry of an EU trust list in force. A batch that fails is
//! rejected alone (`BATCH_WRONG_SIGNER`, `BATCH_BAD_CMS`, `BATCH_COUNTRY_MISMATCH`, or the
//! codes of [`super::parse`]); deletions remove the batch. Bounded: [`MAX_PAGES`] listing
//! pages, [`super::MAX_BATCHES`] batches, each [`super::MAX_BATCH_BYTES`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use super::Batch;
use crate::trust::sources::FetchError;

/// Most listing pages read in one refresh.
pub const MAX_PAGES: usize = 100;

#[derive(Debug, Deserialize)]
struct Listing {
    #[serde(default)]
    more: bool,
    #[serde(default)]
    batches: Vec<Listed>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    batch_id: String,
    country: String,
    date: String,
    #[serde(default)]
    deleted: bool,
}

/// UPLOAD certificates (DER) by country.
pub type Uploads = BTreeMap<String, Vec<Vec<u8>>>;

/// The batches in force after a refresh, the rejected ones, and the `date` to resume from.
#[derive(Debug, Default)]
pub struct Refreshed {
    pub batches: Vec<Batch>,
    pub rejected: Vec<(String, &'static str)>,
    pub since: Option<String>,
}

/// Why a listing could not be read (the last good batches stay).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("the revocation listing is not valid JSON of the protocol")]
    Malformed,
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    since: Option<&str>,
    max: u64,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), FetchError> {
    let send = async {
        let mut req = http.get(url);
        if let Some(since) = since {
            req = req.header("If-Modified-Since", since);
        }
        let mut res = req
            .send()
            .await
            .map_err(|e| FetchError::Network(e.to_string()))?;
        let status = res.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| FetchError::Network(e.to_string()))?
        {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    };
    tokio::time::timeout(timeout, send)
        .await
        .map_err(|_| FetchError::Timeout)?
}

/// One refresh of a gateway source.
pub struct Request<'a> {
    pub http: &'a reqwest::Client,
    /// The listing URL (`…/revocation-list`).
    pub url: &'a str,
    /// `If-Modified-Since` of the first page.
    pub since: &'a str,
    pub uploads: &'a Uploads,
    /// The source's batches in force.
    pub current: &'a [Batch],
    pub source: &'a str,
    pub timeout: Duration,
    pub now: OffsetDateTime,
}

/// Applies the gateway's changes since `req.since` to the source's batches in force.
pub async fn refresh(req: Request<'_>) -> Result<Refreshed, GatewayError> {
    let Request {
        http,
        url,
        since,
        uploads,
        current,
        source,
        timeout,
        now,
    } = req;
    let base = url.trim_end_matches('/');
    let mut in_force: BTreeMap<String, Batch> =
        current.iter().map(|b| (b.id.clone(), b.clone())).collect();
    let mut rejected = Vec::new();
    let mut since = since.to_owned();
    for _ in 0..MAX_PAGES {
        let (status, body) = get(http, base, Some(&since), 4 * 1024 * 1024, timeout).await?;
        if status == 204 || status == 304 {
            break;
        }
        if status != 200 {
            return Err(FetchError::Http(status).into());
        }
        let listing: Listing =
            serde_json::from_slice(&body).map_err(|_| GatewayError::Malformed)?;
        for listed in &listing.batches {
            let id = listed.batch_id.chars().take(64).collect::<String>();
            if listed.deleted {
                in_force.remove(&id);
                continue;
            }
            if in_force.len() >= super::MAX_BATCHES {
                rejected.push((id, "BATCH_TOO_MANY"));
                continue;
            }
            let safe = !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !safe {
                rejected.push((id, "BATCH_MALFORMED"));
                continue;
            }
            let url = format!("{base}/{id}");
            match get(http, &url, None, super::MAX_BATCH_BYTES * 2, timeout).await {
                Ok((410, _)) => {
                    in_force.remove(&id);
                }
                Ok((200, cms)) => match check(&id, &cms, listed, uploads, source, now) {
                    Ok(batch) => {
                        in_force.insert(id, batch);
                    }
                    Err(code) => rejected.push((id, code)),
                },
                Ok(_) | Err(_) => rejected.push((id, "BATCH_UNREACHABLE")),
            }
        }
        if let Some(last) = listing.batches.last() {
            since = last.date.chars().take(40).collect();
        }
        if !listing.more || listing.batches.is_empty() {
            break;
        }
    }
    Ok(Refreshed {
        batches: in_force.into_values().collect(),
        rejected,
        since: Some(since),
    })
}

fn check(
    id: &str,
    body: &[u8],
    listed: &Listed,
    uploads: &Uploads,
    source: &str,
    now: OffsetDateTime,
) -> Result<Batch, &'static str> {
    let der = if body.first() == Some(&0x30) {
        body.to_vec()
    } else {
        let text = std::str::from_utf8(body).map_err(|_| "BATCH_BAD_CMS")?;
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        crate::util::base64_decode(&compact).ok_or("BATCH_BAD_CMS")?
    };
    let (content, signer) = crate::trust::cms::verify_embedded(&der).map_err(|e| match e {
        crate::trust::cms::CmsError::WeakDigest => "BATCH_WEAK_DIGEST",
        _ => "BATCH_BAD_CMS",
    })?;
    let batch = super::parse(id, &content, source, now).map_err(|e| e.code())?;
    if batch.country != listed.country {
        return Err("BATCH_COUNTRY_MISMATCH");
    }
    let signed_by_upload = uploads
        .get(&batch.country)
        .is_some_and(|certs| certs.contains(&signer));
    if !signed_by_upload {
        return Err("BATCH_WRONG_SIGNER");
    }
    Ok(batch)
}

/// UPLOAD certificates of an anchor file: every certificate, by its subject country.
pub fn uploads_of(anchor: &crate::trust::validate::Anchor) -> Uploads {
    let mut out = Uploads::new();
    for der in &anchor.certs {
        if let Ok(cert) = crate::trust::model::Dsc::from_der(der, "anchor")
            && let Some(c) = cert.country
        {
            out.entry(c).or_default().push(der.clone());
        }
    }
    out
}
