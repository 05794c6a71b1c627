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
//! older list replayed at it. Every response has a strong `ETag` (`If-None-Match` → 304),
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
use crate::trust::formats::{ListMeta, de_signed, who_did};
use crate::trust::model::Kid;
use crate::util::{base64_encode, rfc3339};

/// One TrustListItem, before filtering.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub kid: String,
    pub timestamp: String,
    pub country: String,
    pub certificate_type: &'static str,
    pub thumbprint: String,
    pub signature: Option<String>,
    pub raw_data: Option<String>,
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
    pub items: Vec<Item>,
    /// Deleted DSC entries (signature and rawData null), sorted by kid.
    pub deleted: Vec<Item>,
    pub de_list: Vec<u8>,
    pub did_dsc: Vec<u8>,
    pub did_sca: Vec<u8>,
}

/// How long a rendering is served before it is renewed (the signed expiry is 7 days).
const RENEW_AFTER: time::Duration = time::Duration::hours(24);
const EXPIRES_AFTER: time::Duration = time::Duration::days(7);

fn signed_item(
    der: &[u8],
    cert_type: &'static str,
    country: &str,
    at: OffsetDateTime,
    signer: (&[u8], &crate::keys::mint::SignerKey),
) -> Result<Item, ApiError> {
    let cms = crate::trust::cms::sign_detached(der, signer.0, signer.1)
        .map_err(|e| ApiError::internal("publication CMS signature", e))?;
    Ok(Item {
        kid: Kid::of_der(der).to_base64(),
        timestamp: rfc3339(at),
        country: country.to_owned(),
        certificate_type: cert_type,
        thumbprint: crate::util::sha256_hex(der),
        signature: Some(base64_encode(&cms)),
        raw_data: Some(base64_encode(der)),
        at,
    })
}

fn not_before(der: &[u8]) -> OffsetDateTime {
    crate::trust::model::Dsc::from_der(der, "publish")
        .map(|d| d.not_before)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Builds the publication (CPU-heavy: one CMS signature per entry; call off the workers).
pub fn build(state: &AppState, keys: &KeySet, now: OffsetDateTime) -> Result<Published, ApiError> {
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    let anchor = (keys.list_signer.der.as_slice(), &keys.list_key);
    let upload = (keys.upload.der.as_slice(), &keys.upload_key);
    let mut items = vec![
        signed_item(
            &keys.csca.der,
            "CSCA",
            "VN",
            not_before(&keys.csca.der),
            anchor,
        )?,
        signed_item(
            &keys.upload.der,
            "UPLOAD",
            "VN",
            not_before(&keys.upload.der),
            anchor,
        )?,
    ];
    let ledger_since = |der: &[u8]| {
        state
            .trust
            .ledger
            .lock()
            .ok()
            .and_then(|l| {
                l.entries
                    .get(&crate::util::sha256_hex(der))
                    .map(|e| e.since)
            })
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
    };
    let own: Vec<&[u8]> = keys
        .published_dscs(now)
        .into_iter()
        .map(|d| d.cert.der.as_slice())
        .collect();
    let mut vn_dscs: Vec<Vec<u8>> = Vec::new();
    for der in &own {
        let at = ledger_since(der).unwrap_or_else(|| not_before(der));
        items.push(signed_item(der, "DSC", "VN", at, upload)?);
        vn_dscs.push(der.to_vec());
    }
    let mut partner_ders: Vec<Vec<u8>> = Vec::new();
    for dsc in snapshot.iter() {
        if own.iter().any(|d| *d == &*dsc.der) {
            continue;
        }
        let country = dsc.country.clone().unwrap_or_default();
        let at = ledger_since(&dsc.der).unwrap_or(dsc.not_before);
        if country == "VN" {
            // Development or configured VN DSCs outside the key set: vouched by the anchor.
            vn_dscs.push(dsc.der.to_vec());
        }
        items.push(signed_item(&dsc.der, "DSC", &country, at, anchor)?);
        partner_ders.push(dsc.der.to_vec());
    }
    items.sort_by(|a, b| (&a.kid, &a.thumbprint).cmp(&(&b.kid, &b.thumbprint)));
    items.dedup_by(|a, b| a.thumbprint == b.thumbprint);
    let mut deleted: Vec<Item> = state
        .trust
        .ledger
        .lock()
        .map(|l| {
            l.entries
                .iter()
                .filter_map(|(thumb, e)| {
                    let at = OffsetDateTime::from_unix_timestamp(e.deleted?).ok()?;
                    Some(Item {
                        kid: e.kid.clone(),
                        timestamp: rfc3339(at),
                        country: e.country.clone().unwrap_or_default(),
                        certificate_type: "DSC",
                        thumbprint: thumb.clone(),
                        signature: None,
                        raw_data: None,
                        at,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    deleted.sort_by(|a, b| a.kid.cmp(&b.kid));
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
    let de_items = de_signed::items_for(&all_dscs, now)
        .map_err(|e| ApiError::internal("German list items", e))?;
    let de_list = de_signed::render(&de_items, meta, &keys.list_key)
        .map_err(|e| ApiError::internal("German list signature", e))?;
    let did = |kind: &str, ders: &[Vec<u8>]| {
        who_did::render(
            &format!("did:web:dcc-gateway:v2:trustlist:-:VNM:{kind}"),
            ders,
            &keys.list_key,
            now,
            snapshot.version,
            now + EXPIRES_AFTER,
        )
        .map_err(|e| ApiError::internal("DID document rendering", e))
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
        build(&st, &keys, crate::clock::now())
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
    let keep = |i: &&Item| {
        kind.as_deref().is_none_or(|k| i.certificate_type == k)
            && country.as_deref().is_none_or(|c| i.country == c)
            && since.is_none_or(|s| i.at > s)
    };
    let mut list: Vec<&Item> = published.items.iter().filter(keep).collect();
    if since.is_some() {
        list.extend(published.deleted.iter().filter(keep));
        list.sort_by(|a, b| a.kid.cmp(&b.kid));
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
