//! Publication of Vietnam's keys (and the partner DSCs in force) in the formats partners read.
//!
//! * `GET /trustList`, `/trustList/{type}`, `/trustList/{type}/{country}` — EU gateway
//!   TrustListItem JSON, sorted by kid. `signature` is a detached CMS over the certificate DER:
//!   DSC entries of Vietnam by VN's UPLOAD certificate; CSCA and UPLOAD entries by the VN
//!   list-signing certificate, which plays the gateway's *trust anchor* role (partners pin
//!   `trust-lists/VN/list-signer.pem`). Partner DSCs in force are listed with their country and a
//!   CMS by the same anchor: the VN gateway vouches that it trusts them; they do not chain to a
//!   published CSCA, so a strict EU-connector ingesting this list keeps only Vietnam's entries.
//!   `If-Modified-Since` (ISO-8601, RFC 1123 or `yyyyMMdd`) returns entries created after it and
//!   deleted DSCs as entries whose `signature` and `rawData` are null; `page` / `pagesize`
//!   (0-based, default size 100 when `page` is given).
//! * `GET /de/trustList/DSC/` — German-style signed DSC list (first line base64 raw `r‖s`
//!   ECDSA-P256 over the JSON that follows) signed with the list-signing key.
//! * `GET /v2/trustlist/-/VNM/DSC/did.json`, `/v2/trustlist/-/VNM/SCA/did.json` — WHO DID v2
//!   documents with a JsonWebSignature2020 proof by the list-signing key.
//!
//! The signed lists carry `version` (the trust snapshot version, which only goes up) and
//! `expires` (7 days after rendering) inside the signed content, so a client can refuse an
//! older list replayed at it. Rendering is [`crate::trust::publish`]; this module serves,
//! filters and caches it. Every response has a strong `ETag` (`If-None-Match` → 304),
//! `Last-Modified` and `Cache-Control: public, max-age=300`. Renderings are cached per snapshot
//! and key set, and renewed daily.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;

use crate::http::AppState;
use crate::http::conditional::conditional;
use crate::http::error::ApiError;
use crate::keys::store::KeySet;
use crate::trust::publish::{Entry, Published, RENEW_AFTER, build};

/// The current publication, rebuilt when the snapshot changed or it is a day old.
async fn current(state: &web::Data<AppState>) -> Result<Arc<Published>, ApiError> {
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let now = crate::clock::now();
    if let Some(p) = state.publication.load_full()
        && p.snapshot_id == snapshot.id
        && now - p.created < RENEW_AFTER
    {
        return Ok(p);
    }
    let st = state.clone();
    let built = web::block(move || {
        let keys =
            KeySet::load(&st.settings.data_dir).map_err(|_| ApiError::PublicationUnavailable)?;
        let ledger = st
            .trust
            .ledger
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        build(&snapshot, &ledger, &keys, crate::clock::now()).map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::internal("publication rendering task", e))??;
    let renewal = state
        .publication
        .load_full()
        .is_some_and(|p| p.snapshot_id == built.snapshot_id);
    let built = Published {
        modified: match state.trust.loaded_at() {
            Some(at) if !renewal && at <= built.created => at,
            _ => built.created,
        },
        ..built
    };
    let built = Arc::new(built);
    state.publication.store(Some(Arc::clone(&built)));
    Ok(built)
}

/// Parses the EU gateway's `If-Modified-Since`: ISO-8601 / RFC 3339, RFC 1123, or `yyyyMMdd`.
pub fn parse_since(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Some(t) = crate::http::sync::parse_http_date(s) {
        return Some(t);
    }
    let ymd = time::macros::format_description!("[year][month][day]");
    time::Date::parse(s, ymd)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

#[derive(Debug, serde::Deserialize)]
pub struct Paging {
    pub page: Option<usize>,
    pub pagesize: Option<usize>,
}

const TYPES: [&str; 3] = ["CSCA", "DSC", "UPLOAD"];

async fn trust_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    kind: Option<String>,
    country: Option<String>,
    paging: Paging,
) -> Result<HttpResponse, ApiError> {
    if let Some(k) = &kind
        && !TYPES.contains(&k.as_str())
    {
        return Err(ApiError::BadRequest("type must be CSCA, DSC or UPLOAD"));
    }
    if let Some(c) = &country
        && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(ApiError::BadRequest(
            "country must be two upper-case letters (ISO 3166-1 alpha-2)",
        ));
    }
    let since = match req.headers().get(header::IF_MODIFIED_SINCE) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(parse_since)
                .ok_or(ApiError::BadRequest(
                    "If-Modified-Since must be ISO-8601, RFC 1123 or yyyyMMdd",
                ))?,
        ),
    };
    let published = current(&state).await?;
    let keep = |e: &&Entry| {
        kind.as_deref().is_none_or(|k| e.item.certificate_type == k)
            && country
                .as_deref()
                .is_none_or(|c| e.item.country.as_deref() == Some(c))
            && since.is_none_or(|s| e.at > s)
    };
    let mut list: Vec<&Entry> = published.items.iter().filter(keep).collect();
    if since.is_some() {
        list.extend(published.deleted.iter().filter(keep));
        list.sort_by(|a, b| a.item.kid.cmp(&b.item.kid));
    }
    if paging.page.is_some() || paging.pagesize.is_some() {
        let size = paging.pagesize.unwrap_or(100).clamp(1, 1000);
        let page = paging.page.unwrap_or(0);
        list = list
            .into_iter()
            .skip(page.saturating_mul(size))
            .take(size)
            .collect();
    }
    let body = serde_json::to_vec(&list).map_err(|e| ApiError::internal("EU list JSON", e))?;
    Ok(conditional(
        &req,
        body,
        "application/json",
        Some(published.modified),
    ))
}

/// `GET /trustList`
#[utoipa::path(get, path = "/trustList", tag = "publication",
    params(("page" = Option<usize>, Query), ("pagesize" = Option<usize>, Query),
           ("If-Modified-Since" = Option<String>, Header, description = "ISO-8601, RFC 1123 or yyyyMMdd")),
    responses((status = 200, description = "TrustListItem array sorted by kid"), (status = 304), (status = 400)))]
pub async fn all(
    req: HttpRequest,
    state: web::Data<AppState>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    trust_list(req, state, None, None, paging.into_inner()).await
}

/// `GET /trustList/{type}`
#[utoipa::path(get, path = "/trustList/{type}", tag = "publication",
    params(("type" = String, Path, description = "CSCA, DSC or UPLOAD")),
    responses((status = 200), (status = 304), (status = 400)))]
pub async fn by_type(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    trust_list(
        req,
        state,
        Some(path.into_inner()),
        None,
        paging.into_inner(),
    )
    .await
}

/// `GET /trustList/{type}/{country}`
#[utoipa::path(get, path = "/trustList/{type}/{country}", tag = "publication",
    params(("type" = String, Path), ("country" = String, Path)),
    responses((status = 200), (status = 304), (status = 400)))]
pub async fn by_type_country(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (kind, country) = path.into_inner();
    trust_list(req, state, Some(kind), Some(country), paging.into_inner()).await
}

/// `GET /de/trustList/DSC/` — German-style signed DSC list.
#[utoipa::path(get, path = "/de/trustList/DSC/", tag = "publication",
    responses((status = 200, description = "signature line + JSON"), (status = 304)))]
pub async fn de_list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = current(&state).await?;
    Ok(conditional(
        &req,
        p.de_list.clone(),
        "text/plain; charset=utf-8",
        Some(p.modified),
    ))
}

/// `GET /v2/trustlist/-/VNM/{kind}/did.json` — WHO DID v2 document (`DSC` or `SCA`).
#[utoipa::path(get, path = "/v2/trustlist/-/VNM/{kind}/did.json", tag = "publication",
    params(("kind" = String, Path, description = "DSC or SCA")),
    responses((status = 200), (status = 304), (status = 404)))]
pub async fn did(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = current(&state).await?;
    let body = match path.as_str() {
        "DSC" => p.did_dsc.clone(),
        "SCA" => p.did_sca.clone(),
        _ => return Err(ApiError::NotFound),
    };
    Ok(conditional(
        &req,
        body,
        "application/did+json",
        Some(p.modified),
    ))
}
