//! Admin endpoints: **off by default**, on their own listener, behind an admin token.
//!
//! Enabled only when both `admin.bind` and `admin.token_sha256` are configured. The listener
//! must be a loopback address unless `admin.allow_remote = true`. The token is presented as
//! `Authorization: Bearer TOKEN` (or `X-API-Key`); only its SHA-256 digest is configured, and the
//! comparison is constant-time. The public listener has no admin route at all, so nothing
//! unauthenticated can change what is trusted.
//!
//! * `GET /admin/sources` — every source's health (as `/v1/trust/summary`, with counters).
//! * `POST /admin/sources/{id}/refresh` — refresh one source now (same rules as the schedule:
//!   the last good copy stays on any failure).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use super::AppState;
use super::error::ApiError;

fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let Some(expected) = state.settings.admin.token_sha256.as_deref() else {
        return Err(ApiError::Forbidden);
    };
    let key = super::auth::presented_key(req)?.ok_or(ApiError::MissingKey)?;
    let digest = crate::util::sha256_hex(key.as_bytes());
    if super::auth::constant_time_eq(digest.as_bytes(), expected.to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::UnknownKey)
    }
}

async fn sources(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(HttpResponse::Ok().json(state.trust.statuses()))
}

async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    if !state.trust.sources.configs().any(|c| c.id == *id) {
        return Err(ApiError::NotFound);
    }
    let outcome = state.trust.refresh(&id).await;
    let status = state.trust.statuses().into_iter().find(|s| s.id == *id);
    let body = match outcome {
        Ok(o) => serde_json::json!({"outcome": format!("{o:?}"), "source": status}),
        Err(e) => {
            serde_json::json!({"outcome": "failed", "code": e.code(), "message": e.to_string(), "source": status})
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// Starts the admin server on `listener` (one worker).
pub fn start(
    state: Arc<AppState>,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::from(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Cache-Control", "no-store")),
            )
            .route("/admin/sources", web::get().to(sources))
            .route("/admin/sources/{id}/refresh", web::post().to(refresh))
            .default_service(web::to(super::routes::not_found))
    })
    .workers(1)
    .listen(listener)?
    .run())
}

#[cfg(test)]
mod tests {
    use crate::config::bind_allowed;

    #[test]
    fn admin_binds_to_loopback_unless_allowed() {
        assert!(bind_allowed("127.0.0.1:9090", false));
        assert!(bind_allowed("[::1]:9090", false));
        assert!(!bind_allowed("0.0.0.0:9090", false));
        assert!(!bind_allowed("10.0.0.5:9090", false));
        assert!(!bind_allowed("localhost:9090", false));
        assert!(bind_allowed("0.0.0.0:9090", true));
    }
}
