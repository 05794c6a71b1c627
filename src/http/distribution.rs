//! The EU revocation distribution service protocol, as the verifier apps' clients speak it
//! (paths, headers and status codes of the reference service), over every revocation batch in
//! force ([`crate::revocation::distribution`] lays them out):
//!
//! * `GET /lists` → `[{kid, mode, hashTypes, expires, lastUpdated}]`, `ETag` = the dataset
//!   version; `If-None-Match` with it → 304.
//! * `GET /lists/{kid}/partitions`, `GET /lists/{kid}/partitions/{id}` → partition JSON
//!   (`{kid, id, x, y, lastUpdated, expired, chunks: {cid: {expiry: {type, version, hash}}}}`).
//! * `POST /lists/{kid}/partitions/{id}/slices` (body: chunk ids, optional),
//!   `GET /lists/{kid}/partitions/{id}/chunks/{cid}/slices`,
//!   `POST …/chunks/{cid}/slices` (body: slice hashes, optional),
//!   `GET …/chunks/{cid}/slices/{sid}` → `application/gzip`: a tar of the slices, entries named
//!   `<kid>/<id>/<cid>/<sid>` (no `Content-Encoding`: apps un-gzip the file themselves).
//!
//! Every endpoint but `/lists` requires `If-Match` with the dataset version (quotes optional;
//! missing → 400, another version → 412, so an app never mixes two datasets).
//! `X-SLICE-FILTER-TYPE` picks `BLOOMFILTER` (default) or `VARHASHLIST` (else 400).
//! `If-Modified-Since` (ISO-8601, seconds optional as apps send it, or RFC 1123) keeps what was
//! updated after it: nothing newer → 304; no such data → 404. `{kid}` is Base64url (as apps
//! send it) or Base64; `{id}` is `null` for `POINT` lists. Public like the other publications:
//! no API key, no personal data (hashes only).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::revocation::distribution::{self, Distribution, Partition, Slice, SliceType};

/// The layout of the revocations of one snapshot.
pub struct Cached {
    snapshot_id: String,
    pub distribution: Arc<Distribution>,
}

/// Largest POST body (a list of ids).
const MAX_BODY: usize = 64 * 1024;
/// Most ids in a POST body.
const MAX_IDS: usize = 4096;

async fn current(state: &web::Data<AppState>) -> Result<Arc<Distribution>, ApiError> {
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let fresh = |c: &Option<Arc<Cached>>| {
        c.as_ref()
            .filter(|c| c.snapshot_id == snapshot.id)
            .map(|c| Arc::clone(&c.distribution))
    };
    if let Some(d) = fresh(&state.distribution.load_full()) {
        return Ok(d);
    }
    // One build at a time; whoever waited finds the result.
    let _building = state.distribution_build.lock().await;
    let previous = state.distribution.load_full();
    if let Some(d) = fresh(&previous) {
        return Ok(d);
    }
    let snap = Arc::clone(&snapshot);
    let built = web::block(move || {
        let mut country_kids: std::collections::BTreeMap<String, Vec<[u8; 8]>> = Default::default();
        for dsc in snap.iter() {
            if let Some(c) = &dsc.country {
                country_kids.entry(c.clone()).or_default().push(dsc.kid.0);
            }
        }
        distribution::build(
            &snap.batches,
            &country_kids,
            crate::clock::now(),
            previous.as_ref().map(|c| c.distribution.as_ref()),
        )
    })
    .await
    .map_err(|e| ApiError::internal("revocation distribution layout", e))?;
    let built = Arc::new(built);
    state.distribution.store(Some(Arc::new(Cached {
        snapshot_id: snapshot.id.clone(),
        distribution: Arc::clone(&built),
    })));
    Ok(built)
}

fn unquote(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag)
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// `If-Modified-Since` as apps send it: ISO-8601 with or without seconds, or RFC 1123.
pub fn parse_since(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Some(t) = crate::http::sync::parse_http_date(s) {
        return Some(t);
    }
    // `2022-05-13T14:35Z` / `…T14:35+02:00`: Java omits zero seconds.
    let (date, time) = s.split_once('T')?;
    let zone_at = time.find(['Z', '+', '-'])?;
    let (hm, zone) = time.split_at(zone_at);
    if hm.len() != 5 {
        return None;
    }
    crate::util::parse_rfc3339(&format!("{date}T{hm}:00{zone}"))
}

/// What every request but `/lists` states: the dataset version, the slice type, the instant.
struct Ask {
    slice_type: SliceType,
    since: Option<OffsetDateTime>,
}

enum Refusal {
    Http(Box<HttpResponse>),
    Api(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::Api(e)
    }
}

fn ask(req: &HttpRequest, d: &Distribution) -> Result<Ask, Refusal> {
    let h = req.headers();
    let text = |name: &str| h.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let if_match = text("if-match").ok_or(ApiError::BadRequest(
        "If-Match with the dataset version (the ETag of /lists) is required",
    ))?;
    if unquote(if_match) != d.etag {
        return Err(Refusal::Http(Box::new(
            HttpResponse::PreconditionFailed()
                .insert_header((header::ETAG, quoted(&d.etag)))
                .finish(),
        )));
    }
    let slice_type = match text("x-slice-filter-type") {
        None => SliceType::BloomFilter,
        Some(v) => SliceType::parse(v.trim()).ok_or(ApiError::BadRequest(
            "X-SLICE-FILTER-TYPE must be BLOOMFILTER or VARHASHLIST",
        ))?,
    };
    let since = match text("if-modified-since") {
        None => None,
        Some(v) => Some(parse_since(v).ok_or(ApiError::BadRequest(
            "If-Modified-Since must be an ISO-8601 instant or an HTTP date",
        ))?),
    };
    Ok(Ask { slice_type, since })
}

/// The standard Base64 kid of a path segment (Base64url or Base64 of 8 bytes).
fn kid_of(segment: &str) -> Option<String> {
    if segment.len() > 16 {
        return None;
    }
    let standard = segment.replace('-', "+").replace('_', "/");
    let padded = format!("{standard}{}", "=".repeat((4 - standard.len() % 4) % 4));
    let bytes = crate::util::base64_decode(&padded)?;
    (bytes.len() == 8).then(|| crate::util::base64_encode(&bytes))
}

fn newer(since: Option<OffsetDateTime>, t: OffsetDateTime) -> bool {
    since.is_none_or(|s| t > s)
}

fn not_modified(d: &Distribution) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, quoted(&d.etag)))
        .finish()
}

fn json(d: &Distribution, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, quoted(&d.etag)))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(body)
}

fn respond(r: Result<HttpResponse, Refusal>) -> Result<HttpResponse, ApiError> {
    match r {
        Ok(res) => Ok(res),
        Err(Refusal::Http(res)) => Ok(*res),
        Err(Refusal::Api(e)) => Err(e),
    }
}

/// `GET /lists`
#[utoipa::path(get, path = "/lists", tag = "revocation",
    params(("If-None-Match" = Option<String>, Header, description = "the dataset version held")),
    responses((status = 200, description = "[{kid, mode, hashTypes, expires, lastUpdated}], ETag = dataset version"),
              (status = 304, description = "the dataset is unchanged")))]
pub async fn lists(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let d = current(&state).await?;
    let held = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| unquote(t) == d.etag));
    if held {
        return Ok(not_modified(&d));
    }
    let items: Vec<serde_json::Value> = d.lists.values().map(|l| l.to_json()).collect();
    Ok(json(&d, &serde_json::Value::Array(items)))
}

/// `GET /lists/{kid}/partitions`
#[utoipa::path(get, path = "/lists/{kid}/partitions", tag = "revocation",
    params(("kid" = String, Path), ("If-Match" = String, Header), ("X-SLICE-FILTER-TYPE" = Option<String>, Header),
           ("If-Modified-Since" = Option<String>, Header)),
    responses((status = 200, description = "the kid's partitions"), (status = 304), (status = 400), (status = 404), (status = 412)))]
pub async fn partitions(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = current(&state).await?;
    respond((|| {
        let a = ask(&req, &d)?;
        let kid = kid_of(&path).ok_or(ApiError::NotFound)?;
        let list = d.lists.get(&kid).ok_or(ApiError::NotFound)?;
        let items: Vec<serde_json::Value> = list
            .partitions
            .iter()
            .filter(|p| newer(a.since, p.last_updated))
            .map(|p| p.to_json(&list.kid, a.slice_type))
            .collect();
        if items.is_empty() {
            return Ok(not_modified(&d));
        }
        Ok(json(&d, &serde_json::Value::Array(items)))
    })())
}

/// `GET /lists/{kid}/partitions/{id}`
#[utoipa::path(get, path = "/lists/{kid}/partitions/{id}", tag = "revocation",
    params(("kid" = String, Path), ("id" = String, Path, description = "`null` for POINT lists"), ("If-Match" = String, Header)),
    responses((status = 200, description = "one partition"), (status = 304), (status = 404), (status = 412)))]
pub async fn partition(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let d = current(&state).await?;
    respond((|| {
        let a = ask(&req, &d)?;
        let (kid, p) = find(&d, &path.0, &path.1)?;
        if !newer(a.since, p.last_updated) {
            return Ok(not_modified(&d));
        }
        Ok(json(&d, &p.to_json(&kid, a.slice_type)))
    })())
}

fn find<'a>(d: &'a Distribution, kid: &str, id: &str) -> Result<(String, &'a Partition), Refusal> {
    let kid = kid_of(kid).ok_or(ApiError::NotFound)?;
    let list = d.lists.get(&kid).ok_or(ApiError::NotFound)?;
    let p = list.partition(id).ok_or(ApiError::NotFound)?;
    Ok((kid, p))
}

/// An optional JSON array of ids.
fn ids(body: &[u8]) -> Result<Option<Vec<String>>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if body.len() > MAX_BODY {
        return Err(ApiError::TooLarge.into());
    }
    let ids: Vec<String> = serde_json::from_slice(body)
        .map_err(|_| ApiError::BadRequest("the body must be a JSON array of ids"))?;
    if ids.len() > MAX_IDS {
        return Err(ApiError::BatchTooLarge.into());
    }
    Ok(Some(ids))
}

/// The tar of `slices` (those updated after `since`): 304 when some exist but none is newer,
/// 404 when there are none.
fn slices_answer(
    d: &Distribution,
    kid: &str,
    p: &Partition,
    slices: Vec<(char, &Slice)>,
    a: &Ask,
) -> Result<HttpResponse, Refusal> {
    if slices.is_empty() {
        return Err(ApiError::NotFound.into());
    }
    let fresh: Vec<(char, &Slice)> = slices
        .into_iter()
        .filter(|(_, s)| newer(a.since, s.last_updated))
        .collect();
    if fresh.is_empty() {
        return Ok(not_modified(d));
    }
    let body = distribution::tar_gz(kid, p, fresh, a.slice_type)
        .map_err(|e| ApiError::internal("slice archive", e))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, quoted(&d.etag)))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("application/gzip")
        .body(body))
}

/// `POST /lists/{kid}/partitions/{id}/slices`
#[utoipa::path(post, path = "/lists/{kid}/partitions/{id}/slices", tag = "revocation",
    params(("kid" = String, Path), ("id" = String, Path), ("If-Match" = String, Header)),
    request_body(content = Vec<String>, description = "chunk ids (all when absent)"),
    responses((status = 200, description = "application/gzip tar of the slices"), (status = 304), (status = 404), (status = 412)))]
pub async fn partition_slices(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let d = current(&state).await?;
    respond((|| {
        let a = ask(&req, &d)?;
        let (kid, p) = find(&d, &path.0, &path.1)?;
        let chunks = ids(&body)?;
        let slices = p
            .slices()
            .filter(|(c, _)| {
                chunks
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|id| id.chars().eq(std::iter::once(*c))))
            })
            .collect();
        slices_answer(&d, &kid, p, slices, &a)
    })())
}

fn chunk_of(p: &Partition, cid: &str) -> Result<char, Refusal> {
    let mut chars = cid.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if p.chunks.contains_key(&c) => Ok(c),
        _ => Err(ApiError::NotFound.into()),
    }
}

/// `GET /lists/{kid}/partitions/{id}/chunks/{cid}/slices`
#[utoipa::path(get, path = "/lists/{kid}/partitions/{id}/chunks/{cid}/slices", tag = "revocation",
    params(("kid" = String, Path), ("id" = String, Path), ("cid" = String, Path), ("If-Match" = String, Header)),
    responses((status = 200, description = "application/gzip tar of the chunk's slices"), (status = 304), (status = 404), (status = 412)))]
pub async fn chunk_slices(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    chunk(req, state, path.into_inner(), None).await
}

/// `POST /lists/{kid}/partitions/{id}/chunks/{cid}/slices`
#[utoipa::path(post, path = "/lists/{kid}/partitions/{id}/chunks/{cid}/slices", tag = "revocation",
    params(("kid" = String, Path), ("id" = String, Path), ("cid" = String, Path), ("If-Match" = String, Header)),
    request_body(content = Vec<String>, description = "slice hashes (all when absent)"),
    responses((status = 200, description = "application/gzip tar of the slices asked for"), (status = 304), (status = 404), (status = 412)))]
pub async fn chunk_slices_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    chunk(req, state, path.into_inner(), Some(body)).await
}

/// `GET /lists/{kid}/partitions/{id}/chunks/{cid}/slices/{sid}`
#[utoipa::path(get, path = "/lists/{kid}/partitions/{id}/chunks/{cid}/slices/{sid}", tag = "revocation",
    params(("kid" = String, Path), ("id" = String, Path), ("cid" = String, Path), ("sid" = String, Path), ("If-Match" = String, Header)),
    responses((status = 200, description = "application/gzip tar of one slice"), (status = 304), (status = 404), (status = 412)))]
pub async fn slice(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kid, id, cid, sid) = path.into_inner();
    let body = web::Bytes::from(serde_json::to_vec(&[sid]).unwrap_or_default());
    chunk(req, state, (kid, id, cid), Some(body)).await
}

async fn chunk(
    req: HttpRequest,
    state: web::Data<AppState>,
    (kid, id, cid): (String, String, String),
    body: Option<web::Bytes>,
) -> Result<HttpResponse, ApiError> {
    let d = current(&state).await?;
    respond((|| {
        let a = ask(&req, &d)?;
        let (kid, p) = find(&d, &kid, &id)?;
        let c = chunk_of(p, &cid)?;
        let wanted = match &body {
            Some(b) => ids(b)?,
            None => None,
        };
        let slices = p
            .chunks
            .get(&c)
            .into_iter()
            .flatten()
            .filter(|s| {
                wanted
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|id| *id == s.blob(a.slice_type).sid))
            })
            .map(|s| (c, s))
            .collect();
        slices_answer(&d, &kid, p, slices, &a)
    })())
}
