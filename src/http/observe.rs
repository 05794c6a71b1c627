//! Per-request observability: a request id (taken from a sane `X-Request-Id` or generated),
//! a tracing span carrying it, one structured log line per response (route pattern, status,
//! latency — never the body, the query values or headers), and the `requests by route and
//! status` counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static PREFIX: LazyLock<String> = LazyLock::new(|| {
    let mut bytes = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    crate::util::hex(&bytes)
});

/// Requests by (route pattern, status). Bounded: route patterns are the configured routes
/// plus `unmatched`, statuses are HTTP codes.
pub static BY_ROUTE: LazyLock<Mutex<HashMap<(String, u16), u64>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(
            || format!("{}-{}", *PREFIX, NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            str::to_owned,
        )
}

/// The middleware.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    if let Ok(mut map) = BY_ROUTE.lock() {
        *map.entry((route, status)).or_default() += 1;
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "response"
        );
    });
    Ok(res)
}
