//! Key sync for domestic verifier apps: the DGCA verifier-service protocol, so the existing
//! open-source apps work unchanged.
//!
//! * `GET /signercertificateUpdate` — one DSC per call (base64 DER, `text/plain`), headers
//!   `X-RESUME-TOKEN` (send it back to get the next one) and `X-KID`; `204` when done.
//! * `POST /signercertificateUpdate` — body `["kid", …]` (≤ 1 000) →
//!   `{"CC": [{"kid", "rawData"}]}` grouped by country.
//! * `GET /signercertificateStatus` — JSON array of the kids valid now.
//! * `GET /signercertificateStatus/delta` — `{"updated": [...], "deleted": [...]}` since
//!   `If-Modified-Since` (RFC 3339 / ISO-8601 or RFC 1123; 400 on anything else).
//!
//! Status answers carry a strong `ETag` (`If-None-Match` → 304) and `Cache-Control`.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use time::OffsetDateTime;

use super::AppState;
use super::error::ApiError;

const MAX_LOOKUP_KIDS: usize = 1000;
const MAX_LOOKUP_BODY: usize = 64 * 1024;

fn resume_token(req: &HttpRequest) -> Result<u64, ApiError> {
    match req.headers().get("x-resume-token") {
        None => Ok(0),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or(ApiError::BadRequest(
                "X-RESUME-TOKEN must be a non-negative integer",
            )),
    }
}

/// One DSC per call (base64 DER); send back `X-RESUME-TOKEN` for the next; 204 when done.
#[utoipa::path(get, path = "/signercertificateUpdate", tag = "sync",
    params(("X-RESUME-TOKEN" = Option<u64>, Header, description = "token of the last DSC received")),
    responses((status = 200, content_type = "text/plain", description = "base64 DER; headers X-RESUME-TOKEN, X-KID"),
              (status = 204, description = "no more DSCs"), (status = 400, body = super::error::ErrorBody)))]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let after = resume_token(&req)?;
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let ledger = state
        .trust
        .ledger
        .lock()
        .map_err(|e| ApiError::internal("app-sync ledger lock", e))?;
    // The next live ledger entry whose DSC is in the snapshot.
    let mut cursor = after;
    while let Some((thumb, entry)) = ledger.next_after(cursor) {
        cursor = entry.token;
        let kid = crate::util::base64_decode(&entry.kid).unwrap_or_default();
        let found = snapshot
            .candidates(&kid)
            .iter()
            .find(|d| crate::util::sha256_hex(&d.der) == *thumb);
        if let Some(dsc) = found {
            return Ok(HttpResponse::Ok()
                .insert_header(("X-RESUME-TOKEN", entry.token.to_string()))
                .insert_header(("X-KID", entry.kid.clone()))
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .content_type("text/plain")
                .body(crate::util::base64_encode(&dsc.der)));
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Look certificates up by kid (≤ 1 000 kids); grouped by country.
#[utoipa::path(post, path = "/signercertificateUpdate", tag = "sync",
    request_body(content = Vec<String>, content_type = "application/json"),
    responses((status = 200, description = "{\"CC\": [{\"kid\", \"rawData\"}]}"), (status = 400, body = super::error::ErrorBody)))]
pub async fn lookup(
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body =
        super::routes::read_body(payload, MAX_LOOKUP_BODY, state.settings.http.body_timeout())
            .await?;
    let kids: Vec<String> = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("expected a JSON array of kids"))?;
    if kids.len() > MAX_LOOKUP_KIDS {
        return Err(ApiError::BatchTooLarge);
    }
    #[derive(Serialize)]
    struct Item {
        kid: String,
        #[serde(rename = "rawData")]
        raw_data: String,
    }
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let mut by_country: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for kid in kids.iter().collect::<BTreeSet<_>>() {
        let Some(raw) = crate::util::base64_decode(kid) else {
            continue;
        };
        for dsc in snapshot.candidates(&raw) {
            by_country
                .entry(dsc.country.clone().unwrap_or_default())
                .or_default()
                .push(Item {
                    kid: kid.clone(),
                    raw_data: crate::util::base64_encode(&dsc.der),
                });
        }
    }
    Ok(HttpResponse::Ok().json(by_country))
}

fn etag_response(req: &HttpRequest, body: String) -> HttpResponse {
    super::conditional::conditional(req, body.into_bytes(), "application/json", None)
}

/// Kids of the DSCs valid now (`ETag`, `If-None-Match` → 304).
#[utoipa::path(get, path = "/signercertificateStatus", tag = "sync",
    responses((status = 200, body = Vec<String>), (status = 304, description = "not modified")))]
pub async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let now = crate::clock::now();
    let kids: BTreeSet<String> = snapshot
        .iter()
        .filter(|d| d.valid_at(now))
        .map(|d| d.kid.to_base64())
        .collect();
    let body =
        serde_json::to_string(&kids).map_err(|e| ApiError::internal("app-sync status JSON", e))?;
    Ok(etag_response(&req, body))
}

/// Parses `If-Modified-Since` in RFC 3339 / ISO-8601 or RFC 1123 form.
pub fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Some(t) = crate::util::parse_rfc3339(s) {
        return Some(t);
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(s, format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// Kids updated and deleted since `If-Modified-Since` (RFC 3339 or RFC 1123).
#[utoipa::path(get, path = "/signercertificateStatus/delta", tag = "sync",
    params(("If-Modified-Since" = Option<String>, Header, description = "RFC 3339 or RFC 1123")),
    responses((status = 200, description = "{\"updated\": [kid], \"deleted\": [kid]}"), (status = 304, description = "not modified"),
              (status = 400, body = super::error::ErrorBody)))]
pub async fn delta(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let since = match req.headers().get(header::IF_MODIFIED_SINCE) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(parse_http_date)
                .ok_or(ApiError::BadRequest(
                    "If-Modified-Since must be RFC 3339 or RFC 1123",
                ))?
                .unix_timestamp(),
        ),
    };
    let ledger = state
        .trust
        .ledger
        .lock()
        .map_err(|e| ApiError::internal("app-sync ledger lock", e))?;
    let after = |t: i64| since.is_none_or(|s| t >= s);
    let updated: BTreeSet<&str> = ledger
        .entries
        .values()
        .filter(|e| e.deleted.is_none() && after(e.since))
        .map(|e| e.kid.as_str())
        .collect();
    let live: BTreeSet<&str> = ledger
        .entries
        .values()
        .filter(|e| e.deleted.is_none())
        .map(|e| e.kid.as_str())
        .collect();
    let deleted: BTreeSet<&str> = ledger
        .entries
        .values()
        .filter(|e| e.deleted.is_some_and(after) && !live.contains(e.kid.as_str()))
        .map(|e| e.kid.as_str())
        .collect();
    let body = serde_json::json!({"updated": updated, "deleted": deleted}).to_string();
    Ok(etag_response(&req, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Tue, 24 Nov 2026 20:00:00 GMT").map(|t| t.unix_timestamp()),
            Some(1_795_550_400)
        );
        assert_eq!(
            parse_http_date("2026-11-24T20:00:00Z").map(|t| t.unix_timestamp()),
            Some(1_795_550_400)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
