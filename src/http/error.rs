//! The one JSON error envelope and the one place errors become HTTP statuses.
//!
//! Every non-200 answer has the body `{"error": {"code": CODE, "message": TEXT}}` with a
//! stable `code`. A certificate that fails verification is *not* an error here: it is a 200
//! with `"valid": false`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// API errors, each with a stable code.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("the request is not valid: {0}")]
    BadRequest(&'static str),
    #[error("an API key is required (Authorization: Bearer … or X-API-Key)")]
    MissingKey,
    #[error("the API key is not valid")]
    UnknownKey,
    #[error("the API key has been revoked")]
    RevokedKey,
    #[error("this API key may not call this endpoint")]
    Forbidden,
    #[error("the request body is too large")]
    TooLarge,
    #[error("the batch holds more items than allowed")]
    BatchTooLarge,
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    #[error("too many concurrent connections from this address")]
    TooManyConnections,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(&'static str),
    #[error("rate limit exceeded, retry later")]
    RateLimited { retry_after_secs: u64, limit: u32 },
    #[error("no trust snapshot is loaded yet")]
    NotReady,
    #[error("not found")]
    NotFound,
    #[error("no VN key set to publish (run `dcc-gateway keys init`)")]
    PublicationUnavailable,
    #[error("internal error")]
    Internal,
}

/// A publication that cannot be rendered is the server's fault: `INTERNAL` for the client, the
/// cause (which entry, which signature) in the log.
impl From<crate::trust::publish::PublishError> for ApiError {
    fn from(e: crate::trust::publish::PublishError) -> ApiError {
        ApiError::internal("publication rendering", e)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable error code, e.g. `RATE_LIMITED`.
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    /// `INTERNAL` for the client, with the cause in the log (never in the answer): `what`
    /// names the step that failed.
    pub fn internal(what: &'static str, cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(step = what, error = %cause, "internal error");
        ApiError::Internal
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BAD_REQUEST",
            ApiError::MissingKey => "API_KEY_MISSING",
            ApiError::UnknownKey => "API_KEY_INVALID",
            ApiError::RevokedKey => "API_KEY_REVOKED",
            ApiError::Forbidden => "FORBIDDEN",
            ApiError::TooLarge => "BODY_TOO_LARGE",
            ApiError::BatchTooLarge => "BATCH_TOO_LARGE",
            ApiError::BodyTimeout => "BODY_TIMEOUT",
            ApiError::TooManyConnections => "TOO_MANY_CONNECTIONS",
            ApiError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::NotReady => "NOT_READY",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::PublicationUnavailable => "PUBLICATION_UNAVAILABLE",
            ApiError::Internal => "INTERNAL",
        }
    }

    /// The envelope for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        }
    }

    /// The envelope as JSON text (for answers written outside actix, e.g. a refused
    /// connection).
    pub fn body_json(&self) -> String {
        serde_json::to_string(&self.body()).unwrap_or_default()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MissingKey | ApiError::UnknownKey | ApiError::RevokedKey => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::TooLarge | ApiError::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } | ApiError::TooManyConnections => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::NotReady | ApiError::PublicationUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::RateLimited {
                retry_after_secs,
                limit,
            } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
                res.insert_header(("RateLimit-Limit", limit.to_string()));
                res.insert_header(("RateLimit-Remaining", "0"));
                res.insert_header(("RateLimit-Reset", retry_after_secs.to_string()));
            }
            ApiError::MissingKey | ApiError::UnknownKey | ApiError::RevokedKey => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ApiError::BodyTimeout | ApiError::TooManyConnections => {
                res.insert_header((header::CONNECTION, HeaderValue::from_static("close")));
            }
            _ => {}
        }
        res.json(self.body())
    }
}

/// Maps actix's body-parsing errors (bad JSON, too large, wrong type) onto the envelope.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    match err {
        J::Overflow { .. } | J::OverflowKnownLength { .. } => ApiError::TooLarge,
        J::ContentType => ApiError::UnsupportedMediaType("expected application/json"),
        J::Deserialize(_) => ApiError::BadRequest("JSON does not match the request schema"),
        _ => ApiError::BadRequest("malformed JSON body"),
    }
    .into()
}

/// Maps raw-body errors onto the envelope.
pub fn payload_error(err: actix_web::error::PayloadError) -> ApiError {
    match err {
        actix_web::error::PayloadError::Overflow => ApiError::TooLarge,
        _ => ApiError::BadRequest("the body could not be read"),
    }
}
