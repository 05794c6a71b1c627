//! Cacheable answers for published resources: a strong `ETag` over the body (`If-None-Match`
//! → 304), `Cache-Control: public, max-age=300` and, when known, `Last-Modified`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use time::OffsetDateTime;

use crate::util::hex;

/// `Last-Modified` form (RFC 1123).
pub fn http_date(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A cacheable answer: strong ETag over the body, `If-None-Match` → 304.
pub fn conditional(
    req: &HttpRequest,
    body: Vec<u8>,
    content_type: &str,
    last_modified: Option<OffsetDateTime>,
) -> HttpResponse {
    let tag = format!(
        "\"{}\"",
        hex(ring::digest::digest(&ring::digest::SHA256, &body)
            .as_ref()
            .get(..16)
            .unwrap_or_default())
    );
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut res = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    if let Some(at) = last_modified {
        res.insert_header((header::LAST_MODIFIED, http_date(at)));
    }
    if matches {
        res.finish()
    } else {
        res.content_type(content_type.to_owned()).body(body)
    }
}
