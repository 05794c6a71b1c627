//! Vietnam's own revocations published as the EU gateway publishes batches, so partners'
//! `eu-revocation` sources (this very gateway's included) ingest them:
//!
//! * `GET /revocation-list` with `If-Modified-Since` (required, as on the gateway; ISO-8601,
//!   RFC 1123 or `yyyyMMdd`) → `{"more": false, "batches": [{"batchId", "country", "date",
//!   "deleted"}]}` for the batches recorded or undone after it, 204 when there is none;
//! * `GET /revocation-list/{batchId}` → the batch JSON embedded in a CMS signed with VN's
//!   UPLOAD key, Base64 (`application/cms-text`); 410 for an undone batch, 404 for none.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::keys::store::KeySet;
use crate::revocation::own;

const OWN_SOURCE: &str = "vn-revocations";

/// When a batch of `vn-<unix ms>-<type>` was recorded.
fn recorded_at(id: &str) -> Option<OffsetDateTime> {
    let ms: i128 = id.strip_prefix("vn-")?.split('-').next()?.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()
}

/// `GET /revocation-list`
#[utoipa::path(get, path = "/revocation-list", tag = "revocation",
    params(("If-Modified-Since" = String, Header, description = "required: ISO-8601, RFC 1123 or yyyyMMdd")),
    responses((status = 200, description = "batches recorded or undone since"), (status = 204), (status = 400)))]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let since = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::http::publish::parse_since)
        .ok_or(ApiError::BadRequest(
            "If-Modified-Since is required (ISO-8601, RFC 1123 or yyyyMMdd)",
        ))?;
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let mut entries: Vec<(OffsetDateTime, serde_json::Value)> = snapshot
        .batches
        .iter()
        .filter(|b| b.source == OWN_SOURCE)
        .filter_map(|b| {
            let at = recorded_at(&b.id)?;
            Some((
                at,
                serde_json::json!({"batchId": b.id, "country": b.country,
                    "date": crate::util::rfc3339(at), "deleted": false}),
            ))
        })
        .collect();
    for (id, at) in own::deleted(&state.settings.data_dir) {
        entries.push((
            at,
            serde_json::json!({"batchId": id, "country": "VN",
                "date": crate::util::rfc3339(at), "deleted": true}),
        ));
    }
    entries.retain(|(at, _)| *at > since);
    if entries.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    entries.sort_by_key(|(at, _)| *at);
    let batches: Vec<serde_json::Value> = entries.into_iter().map(|(_, v)| v).collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(serde_json::json!({"more": false, "batches": batches})))
}

/// `GET /revocation-list/{batchId}`
#[utoipa::path(get, path = "/revocation-list/{batchId}", tag = "revocation",
    params(("batchId" = String, Path)),
    responses((status = 200, description = "Base64 CMS embedding the batch JSON, signed with VN's UPLOAD key"), (status = 404), (status = 410)))]
pub async fn batch(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if own::deleted(&state.settings.data_dir)
        .iter()
        .any(|(d, _)| *d == id)
    {
        return Ok(HttpResponse::Gone().finish());
    }
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let found = snapshot
        .batches
        .iter()
        .find(|b| b.source == OWN_SOURCE && b.id == id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let st = state.clone();
    let body = web::block(move || {
        let keys =
            KeySet::load(&st.settings.data_dir).map_err(|_| ApiError::PublicationUnavailable)?;
        let json = crate::revocation::to_json(&found);
        crate::trust::cms::sign_embedded(json.as_bytes(), &keys.upload.der, &keys.upload_key)
            .map_err(|e| ApiError::internal("revocation batch signature", e))
    })
    .await
    .map_err(|e| ApiError::internal("revocation batch task", e))??;
    Ok(HttpResponse::Ok()
        .content_type("application/cms-text")
        .body(crate::util::base64_encode(&body)))
}
