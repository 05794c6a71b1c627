//! The business rules in force, served in the business-rule service protocol the EU verifier
//! apps speak (`GET /rules`, `/rules/{country}`, `/rules/{country}/{hash}`, `/valuesets`,
//! `/valuesets/{hash}`, `/countrylist`), every body signed with the VN list-signing key in
//! `X-SIGNATURE` (see [`crate::rules::service`]); domestic apps pin
//! `trust-lists/VN/list-signer.pem`. Rendered once per trust snapshot (one signature per body),
//! with a strong `ETag` (`If-None-Match` → 304).

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::AppState;
use crate::http::conditional::conditional;
use crate::http::error::ApiError;
use crate::keys::store::KeySet;
use crate::rules::service::{self, Rendered, Signed};

/// The rendering of one snapshot's rules.
pub struct RulesPublication {
    snapshot_id: String,
    rendered: Rendered,
    /// `/rules/{country}` for every country that has rules, and the empty list for the others.
    by_country: BTreeMap<String, Signed>,
    empty: Signed,
}

async fn current(state: &web::Data<AppState>) -> Result<Arc<RulesPublication>, ApiError> {
    let snapshot = state.trust.snapshot.load_full().ok_or(ApiError::NotReady)?;
    if let Some(p) = state.rules_publication.load_full()
        && p.snapshot_id == snapshot.id
    {
        return Ok(p);
    }
    let st = state.clone();
    let built = web::block(move || {
        let keys =
            KeySet::load(&st.settings.data_dir).map_err(|_| ApiError::PublicationUnavailable)?;
        let sign_err = |e| ApiError::internal("business-rule signature", e);
        let rendered = service::render(&snapshot.rules, &keys.list_key).map_err(sign_err)?;
        let mut grouped: BTreeMap<String, Vec<&service::RuleListItem>> = BTreeMap::new();
        for item in &rendered.items {
            grouped.entry(item.country.clone()).or_default().push(item);
        }
        let mut by_country = BTreeMap::new();
        for (country, items) in grouped {
            let body =
                serde_json::to_vec(&items).map_err(|e| ApiError::internal("rules list", e))?;
            by_country.insert(
                country,
                service::sign(body, &keys.list_key).map_err(sign_err)?,
            );
        }
        let empty = service::sign(b"[]".to_vec(), &keys.list_key).map_err(sign_err)?;
        Ok::<_, ApiError>(RulesPublication {
            snapshot_id: snapshot.id.clone(),
            rendered,
            by_country,
            empty,
        })
    })
    .await
    .map_err(|e| ApiError::internal("rules rendering task", e))??;
    let built = Arc::new(built);
    state.rules_publication.store(Some(Arc::clone(&built)));
    Ok(built)
}

fn answer(req: &HttpRequest, signed: &Signed) -> HttpResponse {
    let mut res = conditional(req, signed.body.clone(), "application/json", None);
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&signed.signature) {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-signature"),
            v,
        );
    }
    res
}

fn country_of(path: &str) -> Result<String, ApiError> {
    if path.len() == 2 && path.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(path.to_ascii_uppercase())
    } else {
        Err(ApiError::BadRequest(
            "country must be two letters (ISO 3166-1 alpha-2)",
        ))
    }
}

/// `GET /rules` — `[{identifier, version, country, hash}]` of every rule in force.
#[utoipa::path(get, path = "/rules", tag = "rules",
    responses((status = 200, description = "rule list; X-SIGNATURE: ECDSA P-256 over the hex SHA-256 of the body"), (status = 304), (status = 503)))]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let p = current(&state).await?;
    Ok(answer(&req, &p.rendered.list))
}

/// `GET /rules/{country}` — the rule list of one country.
#[utoipa::path(get, path = "/rules/{country}", tag = "rules",
    params(("country" = String, Path)), responses((status = 200), (status = 304), (status = 400)))]
pub async fn by_country(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let country = country_of(&path)?;
    let p = current(&state).await?;
    Ok(answer(&req, p.by_country.get(&country).unwrap_or(&p.empty)))
}

/// `GET /rules/{country}/{hash}` — one rule, whose body hashes to `hash`.
#[utoipa::path(get, path = "/rules/{country}/{hash}", tag = "rules",
    params(("country" = String, Path), ("hash" = String, Path)),
    responses((status = 200), (status = 304), (status = 400), (status = 404)))]
pub async fn rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (country, hash) = path.into_inner();
    let country = country_of(&country)?;
    let p = current(&state).await?;
    let found = p
        .rendered
        .rules
        .get(&(country, hash.to_ascii_lowercase()))
        .ok_or(ApiError::NotFound)?;
    Ok(answer(&req, found))
}

/// `GET /valuesets` — `[{id, hash}]`.
#[utoipa::path(get, path = "/valuesets", tag = "rules", responses((status = 200), (status = 304)))]
pub async fn value_sets(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = current(&state).await?;
    Ok(answer(&req, &p.rendered.value_set_list))
}

/// `GET /valuesets/{hash}` — one value set.
#[utoipa::path(get, path = "/valuesets/{hash}", tag = "rules",
    params(("hash" = String, Path)), responses((status = 200), (status = 304), (status = 404)))]
pub async fn value_set(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = current(&state).await?;
    let found = p
        .rendered
        .value_sets
        .get(&path.to_ascii_lowercase())
        .ok_or(ApiError::NotFound)?;
    Ok(answer(&req, found))
}

/// `GET /countrylist` — the countries with acceptance rules.
#[utoipa::path(get, path = "/countrylist", tag = "rules", responses((status = 200), (status = 304)))]
pub async fn countries(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = current(&state).await?;
    Ok(answer(&req, &p.rendered.countries))
}
