//! The verify API handlers. Order of checks for every verify endpoint: authenticate (401/403),
//! rate limit (429), read the body within its bound (413), media type (415), parse (400),
//! trust snapshot present (503), then verify (200 with the verdict, valid or not).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use time::OffsetDateTime;

use super::AppState;
use super::dto::{
    BatchRequest, BatchResponse, CountryKeys, Destination, ImageQuery, Readiness, SourceHealth,
    TrustSummary, Verdict, VerifyRequest,
};
use super::error::{ApiError, payload_error};
use super::metrics::METRICS;
use super::rate_limit::Allowance;
use crate::config::Endpoint;
use crate::hcert::{self, Detail, Finding, VerificationResult, VerifyOptions};
use crate::trust::model::TrustSnapshot;

/// Reads a request body, refusing more than `limit` bytes without buffering them, and a body
/// that is still arriving after `deadline` (`http.body_timeout_secs`: a slow client trickling
/// its body would otherwise hold the connection; actix's own timeout covers the headers only).
pub(super) async fn read_body(
    mut payload: web::Payload,
    limit: usize,
    deadline: Duration,
) -> Result<web::BytesMut, ApiError> {
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(payload_error)?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    within(deadline, read).await
}

/// Runs a body read under the body deadline.
async fn within<T>(
    deadline: Duration,
    read: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(deadline, read).await.map_err(|_| {
        METRICS.body_timeouts.inc();
        ApiError::BodyTimeout
    })?
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn parse_at(at: Option<&str>) -> Result<OffsetDateTime, ApiError> {
    match at {
        None => Ok(crate::clock::now()),
        Some(s) => crate::util::parse_rfc3339(s)
            .ok_or(ApiError::BadRequest("`at` must be an RFC 3339 instant")),
    }
}

/// The answer of an admitted verify request, error or not, with the caller's quota headers
/// (a client that sent a bad body still learns what it has left).
fn with_limits(answer: Result<HttpResponse, ApiError>, a: Allowance) -> HttpResponse {
    use actix_web::ResponseError;
    use actix_web::http::header::{HeaderName, HeaderValue};
    let mut res = answer.unwrap_or_else(|e| e.error_response());
    let h = res.headers_mut();
    h.insert(
        HeaderName::from_static("ratelimit-limit"),
        HeaderValue::from(a.limit),
    );
    h.insert(
        HeaderName::from_static("ratelimit-remaining"),
        HeaderValue::from(a.remaining),
    );
    h.insert(
        HeaderName::from_static("ratelimit-reset"),
        HeaderValue::from(a.reset_secs),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn admit(
    req: &HttpRequest,
    state: &AppState,
    endpoint: Endpoint,
) -> Result<Allowance, ApiError> {
    let caller = state.clients.authenticate(req, endpoint)?;
    state.limiter.check(&caller).await
}

fn snapshot(state: &AppState) -> Result<Arc<TrustSnapshot>, ApiError> {
    state.trust.snapshot.load_full().ok_or(ApiError::NotReady)
}

/// Verifies one QR text through the result cache; the verdict and the instant-independent
/// outcome it came from (for the business rules).
pub fn verify_cached(
    state: &AppState,
    snap: &TrustSnapshot,
    qr: &str,
    opts: &VerifyOptions,
) -> (VerificationResult, Arc<hcert::SignedOutcome>) {
    let key = super::cache::ResultCache::key(qr, &snap.id);
    let outcome = match state.cache.get(&key) {
        Some(hit) => {
            METRICS.cache_hits.inc();
            hit
        }
        None => {
            METRICS.cache_misses.inc();
            let outcome = Arc::new(hcert::check_signed(
                qr,
                snap,
                crate::crypto::default_verifier(),
                &state.limits,
            ));
            state.cache.insert(key, Arc::clone(&outcome));
            outcome
        }
    };
    let mut result = hcert::evaluate(&outcome, snap, opts);
    if let Some(source) = &result.provenance.dsc_source
        && result.certificate.is_some()
        && state.trust.stale.load().contains(source)
    {
        METRICS.stale_verdicts.inc();
        result.warnings.push(Finding::new(
            hcert::ErrorCode::TrustStale,
            format!(
                "the signer's trust source {source:?} has not been refreshed successfully within its max_age; its keys may be outdated"
            ),
        ));
    }
    METRICS.verdict(&result);
    (result, outcome)
}

/// The verdict of one QR text, with `destination`'s business rules when one is named (only a
/// technically valid certificate is assessed: nothing of an unverified pass reaches a rule).
pub fn verdict(
    state: &AppState,
    snap: &TrustSnapshot,
    qr: &str,
    opts: &VerifyOptions,
    destination: Option<&Destination>,
) -> Verdict {
    let format = crate::passes::detect(qr);
    if format != crate::hcert::PassFormat::EuDcc {
        // Other pass families: verified against their issuer keys, never cached; business
        // rules are written for the EU DCC, so a destination's rules cannot admit them.
        METRICS.cache_misses.inc();
        let result = crate::passes::verify(format, qr, snap, opts.at, opts.detail);
        return plain(result, destination);
    }
    let (result, outcome) = verify_cached(state, snap, qr, opts);
    let Some(dest) = destination else {
        return Verdict {
            result,
            rules: None,
            admissible: None,
        };
    };
    let signed = match outcome.as_ref() {
        // Business rules are written for the EU DCC payload: a WHO DDCC is not assessed.
        Ok(signed) if result.valid && signed.claims.format == crate::hcert::PassFormat::EuDcc => {
            signed
        }
        _ => {
            return Verdict {
                result,
                rules: None,
                admissible: Some(Some(false)),
            };
        }
    };
    let assessment = crate::rules::assess_certificate(
        &snap.rules,
        signed,
        opts.at,
        &dest.country,
        dest.region.as_deref(),
    );
    Verdict {
        result,
        admissible: Some(assessment.admissible),
        rules: Some(assessment),
    }
}

/// A verdict without business rules (a request that named no destination, or an image
/// without a QR code).
fn plain(result: VerificationResult, destination: Option<&Destination>) -> Verdict {
    Verdict {
        admissible: destination.map(|_| Some(false)),
        result,
        rules: None,
    }
}

/// A 200 with `value` as JSON, serialised into one buffer of `capacity` bytes to start with
/// (a verdict is 0.5–1 KiB: no regrowth on the hot path).
fn json_ok<T: serde::Serialize>(value: &T, capacity: usize) -> HttpResponse {
    use actix_web::ResponseError;
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => HttpResponse::Ok()
            .insert_header(actix_web::http::header::ContentType::json())
            .body(body),
        Err(_) => ApiError::Internal.error_response(),
    }
}

fn log_verdict(endpoint: &str, r: &VerificationResult, started: Instant) {
    if !tracing::enabled!(tracing::Level::INFO) {
        return;
    }
    // kid, country, codes and latency only: never names, dates of birth, UVCIs or QR text.
    let codes: Vec<&str> = r.errors.iter().map(|f| f.code.as_str()).collect();
    tracing::info!(
        endpoint,
        valid = r.valid,
        codes = ?codes,
        kid = r.certificate.as_ref().map(|c| c.kid.as_str()),
        country = r.certificate.as_ref().and_then(|c| c.issuer_country.as_deref()),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "verdict"
    );
}

/// Verify one QR code.
#[utoipa::path(
    post, path = "/v1/verify", tag = "verify",
    request_body(content(
        (VerifyRequest = "application/json"),
        (String = "text/plain", example = "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IUKRG*I.I7BGSCT"),
        (Vec<u8> = "application/octet-stream"),
    )),
    responses(
        (status = 200, description = "The verdict, valid or not", body = Verdict),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody), (status = 415, body = super::error::ErrorBody),
        (status = 429, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody),
    ),
    security((), ("bearer" = []), ("api_key" = []))
)]
pub async fn verify(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    METRICS.requests_verify.inc();
    let allowance = admit(&req, &state, Endpoint::Verify).await?;
    let answer: Result<HttpResponse, ApiError> = async {
        let body = read_body(
            payload,
            state.settings.http.max_body_bytes,
            state.settings.http.body_timeout(),
        )
        .await?;
        let (qr, opts, dest) = match content_type(&req).as_str() {
            "application/json" => {
                let r: VerifyRequest = serde_json::from_slice(&body)
                    .map_err(|_| ApiError::BadRequest("JSON does not match VerifyRequest"))?;
                let opts = VerifyOptions {
                    at: parse_at(r.at.as_deref())?,
                    detail: r.detail.unwrap_or_default(),
                    strict_valuesets: r
                        .strict_valuesets
                        .unwrap_or(state.settings.strict_valuesets),
                };
                let dest = r
                    .destination
                    .map(Destination::checked)
                    .transpose()
                    .map_err(ApiError::BadRequest)?;
                (r.qr, opts, dest)
            }
            "text/plain" => {
                let text = std::str::from_utf8(&body)
                    .map_err(|_| ApiError::BadRequest("the text body is not UTF-8"))?;
                let text = text.strip_suffix('\n').unwrap_or(text);
                let text = text.strip_suffix('\r').unwrap_or(text);
                let opts = VerifyOptions {
                    strict_valuesets: state.settings.strict_valuesets,
                    ..VerifyOptions::at(crate::clock::now())
                };
                (text.to_owned(), opts, None)
            }
            // A scanner's raw byte-mode payload (India's DIVOC codes are a ZIP archive): taken
            // byte for byte as the image path takes it.
            "application/octet-stream" | "application/zip" => {
                let opts = VerifyOptions {
                    strict_valuesets: state.settings.strict_valuesets,
                    ..VerifyOptions::at(crate::clock::now())
                };
                (crate::qr::payload_text(body.to_vec()), opts, None)
            }
            _ => {
                return Err(ApiError::UnsupportedMediaType(
                    "use application/json, text/plain or application/octet-stream",
                ));
            }
        };
        let snap = snapshot(&state)?;
        let answer = verdict(&state, &snap, &qr, &opts, dest.as_ref());
        METRICS.observe_latency(started.elapsed());
        log_verdict("verify", &answer.result, started);
        Ok(json_ok(&answer, 1024))
    }
    .await;
    Ok(with_limits(answer, allowance))
}

/// Verify up to 100 QR codes; results in input order.
#[utoipa::path(
    post, path = "/v1/verify/batch", tag = "verify",
    request_body(content = BatchRequest, content_type = "application/json"),
    responses(
        (status = 200, body = BatchResponse),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody), (status = 415, body = super::error::ErrorBody),
        (status = 429, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody),
    ),
    security((), ("bearer" = []), ("api_key" = []))
)]
pub async fn batch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    METRICS.requests_batch.inc();
    let allowance = admit(&req, &state, Endpoint::Batch).await?;
    let answer: Result<HttpResponse, ApiError> = async {
        let body = read_body(
            payload,
            state.settings.http.max_batch_body_bytes,
            state.settings.http.body_timeout(),
        )
        .await?;
        if content_type(&req) != "application/json" {
            return Err(ApiError::UnsupportedMediaType("use application/json"));
        }
        let r: BatchRequest = serde_json::from_slice(&body)
            .map_err(|_| ApiError::BadRequest("JSON does not match BatchRequest"))?;
        if r.items.len() > state.settings.http.max_batch_items {
            return Err(ApiError::BatchTooLarge);
        }
        let detail = r.detail.unwrap_or_default();
        let dest = r
            .destination
            .map(Destination::checked)
            .transpose()
            .map_err(ApiError::BadRequest)?;
        let strict = r
            .strict_valuesets
            .unwrap_or(state.settings.strict_valuesets);
        let mut jobs = Vec::with_capacity(r.items.len());
        for item in r.items {
            let opts = VerifyOptions {
                at: parse_at(item.at.as_deref())?,
                detail,
                strict_valuesets: strict,
            };
            jobs.push((item.qr, opts));
        }
        let snap = snapshot(&state)?;
        let state2 = state.clone();
        let results = web::block(move || {
            jobs.iter()
                .map(|(qr, opts)| verdict(&state2, &snap, qr, opts, dest.as_ref()))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| ApiError::internal("batch verification task", e))?;
        METRICS.observe_latency(started.elapsed());
        for r in &results {
            log_verdict("batch", &r.result, started);
        }
        Ok(HttpResponse::Ok().json(BatchResponse { results }))
    }
    .await;
    Ok(with_limits(answer, allowance))
}

/// Verify the QR code in a photo or screenshot (multipart form field, or a raw PNG, JPEG or
/// WebP body; ≤ 2 MiB). The format is read from the bytes, not from the declared type.
#[utoipa::path(
    post, path = "/v1/verify/image", tag = "verify",
    params(ImageQuery),
    request_body(content(
        (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"),
        (Vec<u8> = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The verdict; QR_NOT_FOUND when the image holds no QR code", body = Verdict),
        (status = 401, body = super::error::ErrorBody), (status = 413, body = super::error::ErrorBody),
        (status = 415, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody),
    ),
    security((), ("bearer" = []), ("api_key" = []))
)]
pub async fn image(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<ImageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    METRICS.requests_image.inc();
    let allowance = admit(&req, &state, Endpoint::Image).await?;
    let answer: Result<HttpResponse, ApiError> = async {
        let limit = state.settings.http.max_image_bytes;
        let deadline = state.settings.http.body_timeout();
        let kind = content_type(&req);
        let bytes = match kind.as_str() {
            // Any image type: the bytes decide (a JPEG named .png is common in the field).
            t if t.starts_with("image/") || t == "application/octet-stream" => {
                read_body(payload, limit, deadline).await?.to_vec()
            }
            "multipart/form-data" => {
                within(deadline, first_multipart_file(&req, payload, limit)).await?
            }
            _ => {
                return Err(ApiError::UnsupportedMediaType(
                    "use image/png, image/jpeg, image/webp or multipart/form-data",
                ));
            }
        };
        let opts = VerifyOptions {
            at: parse_at(query.at.as_deref())?,
            detail: query.detail.unwrap_or(Detail::Minimal),
            strict_valuesets: query
                .strict_valuesets
                .unwrap_or(state.settings.strict_valuesets),
        };
        let dest = query
            .destination
            .clone()
            .map(|country| {
                Destination {
                    country,
                    region: query.region.clone(),
                }
                .checked()
            })
            .transpose()
            .map_err(ApiError::BadRequest)?;
        let snap = snapshot(&state)?;
        let state2 = state.clone();
        let answer = web::block(
            move || match crate::qr::decode_image(&bytes, &state2.limits) {
                Ok(qr) => verdict(&state2, &snap, &qr, &opts, dest.as_ref()),
                Err(e) => {
                    let r = hcert::rejected(Finding::from_error(&e), &snap, &opts);
                    METRICS.verdict(&r);
                    plain(r, dest.as_ref())
                }
            },
        )
        .await
        .map_err(|e| ApiError::internal("image verification task", e))?;
        METRICS.observe_latency(started.elapsed());
        log_verdict("image", &answer.result, started);
        Ok(HttpResponse::Ok().json(answer))
    }
    .await;
    Ok(with_limits(answer, allowance))
}

async fn first_multipart_file(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| ApiError::BadRequest("malformed multipart body"))?;
        let is_file = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .is_some()
            || field.name() == Some("image");
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| ApiError::BadRequest("malformed multipart body"))?;
            total += chunk.len();
            if total > limit {
                return Err(ApiError::TooLarge);
            }
            data.extend_from_slice(&chunk);
        }
        if is_file {
            return Ok(data);
        }
    }
    Err(ApiError::BadRequest("the form has no image field"))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(r#"{"status":"ok"}"#)
}

/// Readiness: a trust snapshot is loaded.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.trust.snapshot.load_full();
    let redis = match (&state.settings.redis_url, state.redis.get()) {
        (None, _) => "disabled",
        (Some(_), Some(_)) => "connected",
        (Some(_), None) => "connecting",
    };
    let body = Readiness {
        status: if snap.is_some() { "ready" } else { "not_ready" },
        trust_snapshot: snap.as_ref().map(|s| s.id.clone()),
        snapshot_version: snap.as_ref().map(|s| s.version),
        dscs: snap.as_ref().map_or(0, |s| s.len()),
        snapshot_age_secs: state.trust.snapshot_age_secs(),
        redis,
        redis_deployment: state
            .settings
            .redis_url
            .as_deref()
            .and_then(|u| crate::redis::Target::parse(u).ok())
            .map(|t| t.kind()),
        stale_sources: state.trust.stale.load().iter().cloned().collect(),
    };
    if snap.is_some() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// What the gateway trusts: countries, key counts, sources and their last refresh.
#[utoipa::path(get, path = "/v1/trust/summary", tag = "trust", responses((status = 200, body = TrustSummary)))]
pub async fn trust_summary(state: web::Data<AppState>) -> HttpResponse {
    use std::collections::BTreeMap;
    let snap = state.trust.snapshot.load_full();
    let loaded_at = state.trust.loaded_at().map(crate::util::rfc3339);
    let mut countries: BTreeMap<String, usize> = BTreeMap::new();
    let mut sources: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(s) = &snap {
        for dsc in s.iter() {
            *countries
                .entry(dsc.country.clone().unwrap_or_else(|| "??".into()))
                .or_default() += 1;
            *sources.entry(dsc.source.clone()).or_default() += 1;
        }
    }
    let body = TrustSummary {
        trust_snapshot: snap.as_ref().map(|s| s.id.clone()),
        snapshot_version: snap.as_ref().map(|s| s.version),
        snapshot_age_secs: state.trust.snapshot_age_secs(),
        dscs: snap.as_ref().map_or(0, |s| s.len()),
        countries: countries
            .into_iter()
            .map(|(country, dscs)| CountryKeys { country, dscs })
            .collect(),
        sources: source_health(&state, sources, loaded_at.as_ref()),
        loaded_at,
        rules: rules_summary(&state, snap.as_deref()),
        revocations: revocation_summary(snap.as_deref()),
    };
    with_cache(HttpResponse::Ok()).json(body)
}

fn revocation_summary(snap: Option<&TrustSnapshot>) -> super::dto::RevocationSummary {
    let mut by_source = std::collections::BTreeMap::new();
    for b in snap.map(|s| s.batches.as_slice()).unwrap_or_default() {
        *by_source.entry(b.source.clone()).or_insert(0) += 1;
    }
    super::dto::RevocationSummary {
        batches: snap.map_or(0, |s| s.batches.len()),
        hashes: snap.map_or(0, |s| s.revocations.len()),
        by_source,
    }
}

fn rules_summary(state: &AppState, snap: Option<&TrustSnapshot>) -> super::dto::RulesSummary {
    let mut by_source = std::collections::BTreeMap::new();
    let (total, destinations) = snap.map_or((0, Vec::new()), |s| {
        for r in &s.rules.rules {
            *by_source.entry(r.source.clone()).or_insert(0) += 1;
        }
        (
            s.rules.rules.len(),
            s.rules.countries().into_iter().collect(),
        )
    });
    let rejected = state
        .trust
        .rules_rejected
        .lock()
        .map(|r| {
            r.iter()
                .map(|x| super::dto::RejectedRule {
                    file: x.file.clone(),
                    code: x.error.code(),
                })
                .collect()
        })
        .unwrap_or_default();
    super::dto::RulesSummary {
        total,
        destinations,
        by_source,
        rejected,
    }
}

/// Configured sources with their health; DSCs of unconfigured sources (ad-hoc snapshots, local
/// development keys) are listed as `ok`.
fn source_health(
    state: &AppState,
    mut counts: std::collections::BTreeMap<String, usize>,
    loaded_at: Option<&String>,
) -> Vec<SourceHealth> {
    let mut out: Vec<SourceHealth> = state
        .trust
        .statuses()
        .into_iter()
        .map(|s| SourceHealth {
            dscs: counts.remove(&s.id).unwrap_or(0),
            pass_keys: s.pass_keys,
            status: if s.enabled {
                s.status
            } else {
                "disabled".to_owned()
            },
            last_refresh: s.last_success,
            last_error: s.last_error.map(|e| e.code),
            stale: s.stale,
            source: s.id,
        })
        .collect();
    out.extend(counts.into_iter().map(|(source, dscs)| SourceHealth {
        source,
        dscs,
        pass_keys: 0,
        status: "ok".to_owned(),
        last_refresh: loaded_at.cloned(),
        last_error: None,
        stale: false,
    }));
    out
}

fn with_cache(mut res: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    res
}

const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' blob: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Pages and assets embedded in the binary (no CDN, no framework): path, content type, body.
/// The verifier page at `/` uses only the public API; `/docs` renders `/openapi.json`.
pub const EMBEDDED: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("web/index.html"),
    ),
    (
        "/assets/app.js",
        "text/javascript; charset=utf-8",
        include_str!("web/app.js"),
    ),
    (
        "/assets/app.css",
        "text/css; charset=utf-8",
        include_str!("web/app.css"),
    ),
    (
        "/docs",
        "text/html; charset=utf-8",
        include_str!("docs.html"),
    ),
    (
        "/docs/docs.js",
        "text/javascript; charset=utf-8",
        include_str!("docs.js"),
    ),
    (
        "/docs/docs.css",
        "text/css; charset=utf-8",
        include_str!("docs.css"),
    ),
];

/// Serves one embedded file; HTML pages carry the strict Content-Security-Policy.
pub fn embedded(content_type: &'static str, body: &'static str) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if content_type.starts_with("text/html") {
        res.insert_header(("Content-Security-Policy", PAGE_CSP));
    }
    res.content_type(content_type).body(body)
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.trust.snapshot.load_full();
    let mut text = METRICS.render(
        snap.as_ref().map_or(0, |s| s.len()),
        snap.as_ref().map_or(0, |s| s.version),
        state.cache.len(),
    );
    super::metrics::render_extra(
        &mut text,
        snap.as_deref(),
        state.trust.snapshot_age_secs(),
        &state.trust.statuses(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

/// The OpenAPI document.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(crate::http::openapi::json())
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
