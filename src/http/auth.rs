//! API keys: `Authorization: Bearer KEY` or `X-API-Key: KEY`.
//!
//! Only SHA-256 digests of keys are configured; the presented key is hashed and compared with
//! every configured digest in constant time (no early exit, no lookup keyed by the secret).
//! Keys never reach the logs: only the client id does. Without a key the request falls into
//! the anonymous tier (limited per client IP) when one is configured.

use actix_web::HttpRequest;
use actix_web::http::header;

use super::error::ApiError;
use crate::config::{Endpoint, Settings};

/// A configured client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    digest: [u8; 32],
    pub tier: String,
    pub endpoints: Vec<Endpoint>,
    pub revoked: bool,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Rate-limit key: `client:<id>` or `ip:<addr>`.
    pub key: String,
    pub client_id: Option<String>,
    pub tier: String,
}

/// The client registry.
#[derive(Debug, Clone)]
pub struct Clients {
    clients: Vec<Client>,
    anonymous_tier: Option<String>,
}

impl Clients {
    pub fn from_settings(s: &Settings) -> Clients {
        let clients = s
            .clients
            .iter()
            .filter_map(|c| {
                let bytes = data_encoding::HEXLOWER_PERMISSIVE
                    .decode(c.key_sha256.as_bytes())
                    .ok()?;
                let digest: [u8; 32] = bytes.try_into().ok()?;
                Some(Client {
                    id: c.id.clone(),
                    digest,
                    tier: c.tier.clone(),
                    endpoints: c.endpoints.clone(),
                    revoked: c.revoked,
                })
            })
            .collect();
        Clients {
            clients,
            anonymous_tier: s.anonymous_tier.clone(),
        }
    }

    /// Authenticates a request for `endpoint`.
    pub fn authenticate(&self, req: &HttpRequest, endpoint: Endpoint) -> Result<Caller, ApiError> {
        match presented_key(req)? {
            Some(key) => {
                let client = self.find(key.as_bytes()).ok_or(ApiError::UnknownKey)?;
                if client.revoked {
                    return Err(ApiError::RevokedKey);
                }
                if !client.endpoints.contains(&endpoint) {
                    return Err(ApiError::Forbidden);
                }
                Ok(Caller {
                    key: format!("client:{}", client.id),
                    client_id: Some(client.id.clone()),
                    tier: client.tier.clone(),
                })
            }
            None => {
                let tier = self.anonymous_tier.clone().ok_or(ApiError::MissingKey)?;
                let ip = req
                    .peer_addr()
                    .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
                Ok(Caller {
                    key: format!("ip:{ip}"),
                    client_id: None,
                    tier,
                })
            }
        }
    }

    fn find(&self, key: &[u8]) -> Option<&Client> {
        let digest = ring::digest::digest(&ring::digest::SHA256, key);
        let mut found = None;
        for c in &self.clients {
            if constant_time_eq(&c.digest, digest.as_ref()) {
                found = Some(c);
            }
        }
        found
    }
}

pub fn presented_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| ApiError::UnknownKey)?;
        let key = v
            .strip_prefix("Bearer ")
            .ok_or(ApiError::UnknownKey)?
            .trim();
        return if key.is_empty() {
            Err(ApiError::MissingKey)
        } else {
            Ok(Some(key.to_owned()))
        };
    }
    if let Some(v) = req.headers().get("x-api-key") {
        let key = v.to_str().map_err(|_| ApiError::UnknownKey)?.trim();
        return if key.is_empty() {
            Err(ApiError::MissingKey)
        } else {
            Ok(Some(key.to_owned()))
        };
    }
    Ok(None)
}

/// Compares two byte strings without data-dependent early exits.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
