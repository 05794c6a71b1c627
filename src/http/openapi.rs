//! The OpenAPI document (utoipa). `dcc-gateway openapi` writes it to `openapi/openapi.json`;
//! a test fails when the committed file drifts from the code.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{dto, error, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "dcc-gateway", description = "EU Digital COVID Certificate verification and trust-list gateway"),
    paths(routes::verify, routes::batch, routes::image, routes::trust_summary, crate::http::sync::update, crate::http::sync::lookup, crate::http::sync::status, crate::http::sync::delta, crate::http::publish::all, crate::http::publish::by_type, crate::http::publish::by_type_country, crate::http::publish::de_list, crate::http::publish::did, crate::http::revocation::list, crate::http::revocation::batch, crate::http::distribution::lists, crate::http::distribution::partitions, crate::http::distribution::partition, crate::http::distribution::partition_slices, crate::http::distribution::chunk_slices, crate::http::distribution::chunk_slices_post, crate::http::distribution::slice, crate::http::rules::list, crate::http::rules::by_country, crate::http::rules::rule, crate::http::rules::value_sets, crate::http::rules::value_set, crate::http::rules::countries, routes::healthz, routes::readyz, routes::metrics),
    components(schemas(dto::VerifyRequest, dto::Destination, dto::Verdict, crate::rules::Assessment, crate::rules::RuleRef, dto::BatchRequest, dto::BatchItem, dto::BatchResponse, dto::Readiness, dto::TrustSummary, dto::CountryKeys, dto::SourceHealth, dto::RulesSummary, dto::RevocationSummary, dto::RejectedRule, error::ErrorBody, error::ErrorDetail)),
    modifiers(&Security),
    tags((name = "verify", description = "Decode and verify HC1 certificates"), (name = "trust", description = "What the gateway trusts"), (name = "publication", description = "Vietnam's keys in the formats partners read (EU gateway JSON, German-style signed list, WHO DID v2)"), (name = "sync", description = "Key sync for verifier apps (DGCA verifier-service protocol)"), (name = "revocation", description = "Vietnam's revocation batches, as the EU gateway publishes them (CMS by the VN UPLOAD key)"), (name = "rules", description = "Business rules and value sets for verifier apps (business-rule service protocol, X-SIGNATURE by the VN list signer)"), (name = "operations", description = "Health, readiness, metrics"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
            );
        }
    }
}

/// The document as pretty JSON (stable: used for the drift test).
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}
