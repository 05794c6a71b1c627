//! Settings: the only reader of configuration files and environment variables.
//!
//! Layering: embedded defaults → TOML file (`--config FILE`) → environment (`DCCGW_*`, plus
//! `REDIS_URL`). With nothing configured the service runs on the defaults of DESIGN.md §4:
//! `127.0.0.1:8080`, no Redis (state on disk under `./data/`), development VN keys under `./data/`, partner
//! certificates from `trust-lists/`, and an anonymous tier with a strict per-IP limit so the
//! public demo works without a key.
//!
//! API keys are stored only as SHA-256 hex digests; the plain key never appears in config.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value in environment variable {name}")]
    Env { name: &'static str },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A rate-limit tier: sustained requests per second and burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub per_second: u32,
    pub burst: u32,
}

/// Which endpoints a client may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    Verify,
    Batch,
    Image,
}

/// An API client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub id: String,
    /// SHA-256 of the API key, lower-case hex (`printf %s KEY | sha256sum`).
    pub key_sha256: String,
    pub tier: String,
    #[serde(default = "all_endpoints")]
    pub endpoints: Vec<Endpoint>,
    /// A revoked key is refused with 401 `API_KEY_REVOKED` (kept so the refusal is explicit).
    #[serde(default)]
    pub revoked: bool,
}

fn all_endpoints() -> Vec<Endpoint> {
    vec![Endpoint::Verify, Endpoint::Batch, Endpoint::Image]
}

/// Bounds on HTTP input.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Largest `/v1/verify` body.
    pub max_body_bytes: usize,
    /// Largest `/v1/verify/batch` body.
    pub max_batch_body_bytes: usize,
    /// Most items in one batch.
    pub max_batch_items: usize,
    /// Largest image upload.
    pub max_image_bytes: usize,
    /// Seconds a client may take to send its request headers.
    pub client_request_timeout_secs: u64,
    /// Seconds a client may take to send its request body (408 `BODY_TIMEOUT` after that).
    pub body_timeout_secs: u64,
    /// Seconds an idle keep-alive connection is kept.
    pub keep_alive_secs: u64,
    /// Most concurrent connections per worker.
    pub max_connections_per_worker: usize,
    /// Most concurrent connections from one peer address, over all workers (0 = no cap).
    /// Behind a load balancer the peer is the balancer: raise or disable it there.
    pub max_connections_per_ip: usize,
}

impl HttpLimits {
    /// The body deadline.
    pub fn body_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_timeout_secs)
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 16 * 1024,
            max_batch_body_bytes: 1024 * 1024,
            max_batch_items: 100,
            max_image_bytes: 2 * 1024 * 1024,
            client_request_timeout_secs: 5,
            body_timeout_secs: 10,
            keep_alive_secs: 15,
            max_connections_per_worker: 10_000,
            max_connections_per_ip: 256,
        }
    }
}

/// The admin listener (off unless `bind` and `token_sha256` are both set).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSettings {
    /// Listen address, e.g. `127.0.0.1:9090`; loopback only unless `allow_remote`.
    pub bind: Option<String>,
    /// SHA-256 (hex) of the admin token.
    pub token_sha256: Option<String>,
    pub allow_remote: bool,
}

impl AdminSettings {
    /// Whether the admin listener is on.
    pub fn enabled(&self) -> bool {
        self.bind.is_some() && self.token_sha256.is_some()
    }
}

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub bind: String,
    pub data_dir: PathBuf,
    pub trust_dir: PathBuf,
    /// Trust sources (default `<trust_dir>/sources.toml`; without that file, every PEM/DER
    /// file below `trust_dir` is one source `local`).
    pub sources_file: Option<PathBuf>,
    /// Business rules, `<rules_dir>/<CC>/*.json` (default `<trust_dir>/rules`): acceptance
    /// rules of destinations and invalidation rules of issuers, trusted by configuration.
    pub rules_dir: Option<PathBuf>,
    pub redis_url: Option<String>,
    /// PEM file of the CAs that alone are trusted for `rediss` connections (default: the
    /// platform's roots).
    pub redis_tls_ca: Option<PathBuf>,
    /// The certificates of `redis_tls_ca`, read and checked by [`Settings::load_redis_tls_ca`].
    #[serde(skip)]
    pub redis_tls_ca_pem: Option<std::sync::Arc<Vec<u8>>>,
    /// Worker threads (default: number of CPUs).
    pub workers: Option<usize>,
    /// Tier used for requests without an API key; `None` requires a key everywhere.
    pub anonymous_tier: Option<String>,
    pub tiers: HashMap<String, Tier>,
    pub clients: Vec<ClientConfig>,
    /// Entries in the in-process result cache (0 disables it).
    pub cache_capacity: usize,
    /// Codes outside the EU value sets are errors (per request: `strict_valuesets`).
    pub strict_valuesets: bool,
    /// `text` or `json`.
    pub log_format: String,
    pub http: HttpLimits,
    /// Prefix of Redis keys (several deployments can share one Redis).
    pub redis_prefix: String,
    pub admin: AdminSettings,
}

impl Default for Settings {
    fn default() -> Self {
        let tiers = HashMap::from([
            (
                "anonymous".to_owned(),
                Tier {
                    per_second: 2,
                    burst: 10,
                },
            ),
            (
                "standard".to_owned(),
                Tier {
                    per_second: 50,
                    burst: 100,
                },
            ),
            (
                "partner".to_owned(),
                Tier {
                    per_second: 500,
                    burst: 1000,
                },
            ),
        ]);
        Settings {
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("data"),
            trust_dir: PathBuf::from("trust-lists"),
            sources_file: None,
            rules_dir: None,
            redis_url: None,
            redis_tls_ca: None,
            redis_tls_ca_pem: None,
            workers: None,
            anonymous_tier: Some("anonymous".to_owned()),
            tiers,
            clients: Vec::new(),
            cache_capacity: 100_000,
            strict_valuesets: false,
            log_format: "text".to_owned(),
            http: HttpLimits::default(),
            redis_prefix: "dccgw".to_owned(),
            admin: AdminSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut s = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.message().to_owned(),
                })?
            }
            None => Settings::default(),
        };
        s.apply_env(|name| std::env::var(name).ok())?;
        s.validate()?;
        s.load_redis_tls_ca()?;
        Ok(s)
    }

    /// Reads `redis_tls_ca` (at most 1 MiB) and checks that it holds PEM certificates only.
    pub fn load_redis_tls_ca(&mut self) -> Result<(), ConfigError> {
        use rustls_pki_types::pem::PemObject;
        let Some(path) = &self.redis_tls_ca else {
            self.redis_tls_ca_pem = None;
            return Ok(());
        };
        let invalid =
            |why: &str| ConfigError::Invalid(format!("redis_tls_ca {}: {why}", path.display()));
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_end(&mut std::io::Read::take(f, (1 << 20) + 1), &mut bytes)
            })
            .map_err(|e| invalid(&e.to_string()))?;
        if bytes.len() > 1 << 20 {
            return Err(invalid("larger than 1 MiB"));
        }
        let certs: Result<Vec<_>, _> =
            rustls_pki_types::CertificateDer::pem_slice_iter(&bytes).collect();
        match certs {
            Ok(c) if !c.is_empty() => {
                self.redis_tls_ca_pem = Some(std::sync::Arc::new(bytes));
                Ok(())
            }
            Ok(_) => Err(invalid("no PEM certificate in the file")),
            Err(_) => Err(invalid("not a PEM certificate file")),
        }
    }

    /// The business-rules folder in effect.
    pub fn rules_dir(&self) -> PathBuf {
        self.rules_dir
            .clone()
            .unwrap_or_else(|| self.trust_dir.join("rules"))
    }

    /// Applies `DCCGW_*` (and `REDIS_URL`) overrides from `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("DCCGW_BIND") {
            self.bind = v;
        }
        if let Some(v) = get("DCCGW_SOURCES_FILE") {
            self.sources_file = Some(v.into());
        }
        if let Some(v) = get("DCCGW_RULES_DIR") {
            self.rules_dir = Some(v.into());
        }
        if let Some(v) = get("DCCGW_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("DCCGW_TRUST_DIR") {
            self.trust_dir = v.into();
        }
        if let Some(v) = get("DCCGW_REDIS_URL").or_else(|| get("REDIS_URL")) {
            self.redis_url = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = get("DCCGW_REDIS_TLS_CA") {
            self.redis_tls_ca = (!v.is_empty()).then(|| v.into());
        }
        if let Some(v) = get("DCCGW_WORKERS") {
            self.workers = Some(v.parse().map_err(|_| ConfigError::Env {
                name: "DCCGW_WORKERS",
            })?);
        }
        if let Some(v) = get("DCCGW_ANONYMOUS_TIER") {
            self.anonymous_tier = (!v.is_empty() && v != "none").then_some(v);
        }
        if let Some(v) = get("DCCGW_CACHE_CAPACITY") {
            self.cache_capacity = v.parse().map_err(|_| ConfigError::Env {
                name: "DCCGW_CACHE_CAPACITY",
            })?;
        }
        if let Some(v) = get("DCCGW_STRICT_VALUESETS") {
            self.strict_valuesets = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("DCCGW_ADMIN_BIND") {
            self.admin.bind = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = get("DCCGW_ADMIN_TOKEN_SHA256") {
            self.admin.token_sha256 = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = get("DCCGW_LOG_FORMAT") {
            self.log_format = v;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.redis_url {
            crate::redis::Target::parse(url).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        if self.redis_prefix.is_empty()
            || !self
                .redis_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(ConfigError::Invalid(
                "redis_prefix must be letters, digits, '-', '_' or '.' (it becomes the hash tag of the shared keys)".into(),
            ));
        }
        for (name, tier) in &self.tiers {
            if tier.per_second == 0 || tier.burst == 0 {
                return Err(ConfigError::Invalid(format!(
                    "tier {name}: per_second and burst must be > 0"
                )));
            }
        }
        let known = |t: &str| self.tiers.contains_key(t);
        if let Some(t) = &self.anonymous_tier
            && !known(t)
        {
            return Err(ConfigError::Invalid(format!(
                "anonymous_tier {t} is not a configured tier"
            )));
        }
        for c in &self.clients {
            if !known(&c.tier) {
                return Err(ConfigError::Invalid(format!(
                    "client {}: unknown tier {}",
                    c.id, c.tier
                )));
            }
            let hex_ok =
                c.key_sha256.len() == 64 && c.key_sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex_ok {
                return Err(ConfigError::Invalid(format!(
                    "client {}: key_sha256 must be 64 hex digits",
                    c.id
                )));
            }
        }
        if let Some(bind) = &self.admin.bind
            && !bind_allowed(bind, self.admin.allow_remote)
        {
            return Err(ConfigError::Invalid(format!(
                "admin.bind {bind} is not a loopback address (set admin.allow_remote = true to allow it)"
            )));
        }
        if let Some(t) = &self.admin.token_sha256
            && !(t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(ConfigError::Invalid(
                "admin.token_sha256 must be 64 hex digits".into(),
            ));
        }
        if self.http.max_batch_items == 0 {
            return Err(ConfigError::Invalid(
                "http.max_batch_items must be > 0".into(),
            ));
        }
        Ok(())
    }
}

/// Whether the admin listener may bind `bind`: loopback only unless `allow_remote`.
pub fn bind_allowed(bind: &str, allow_remote: bool) -> bool {
    allow_remote
        || bind
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_env_overrides() {
        let mut s = Settings::default();
        s.validate().unwrap();
        let env = HashMap::from([
            ("DCCGW_BIND", "0.0.0.0:9000"),
            ("REDIS_URL", "redis://127.0.0.1:6390"),
            ("DCCGW_ANONYMOUS_TIER", "none"),
            ("DCCGW_WORKERS", "3"),
        ]);
        s.apply_env(|k| env.get(k).map(|v| (*v).to_owned()))
            .unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.redis_url.as_deref(), Some("redis://127.0.0.1:6390"));
        assert_eq!(s.anonymous_tier, None);
        assert_eq!(s.workers, Some(3));
        let mut remote = Settings::default();
        remote.admin.bind = Some("0.0.0.0:9090".into());
        assert!(
            remote.validate().is_err(),
            "admin must stay on loopback by default"
        );
        remote.admin.allow_remote = true;
        remote.validate().unwrap();
        remote.admin.token_sha256 = Some("short".into());
        assert!(remote.validate().is_err());
        assert!(!Settings::default().admin.enabled());
        let bad = HashMap::from([("DCCGW_WORKERS", "many")]);
        assert!(
            s.apply_env(|k| bad.get(k).map(|v| (*v).to_owned()))
                .is_err()
        );
    }

    #[test]
    fn toml_file_is_parsed_and_validated() {
        let s: Settings = toml::from_str(
            r#"
            bind = "127.0.0.1:0"
            [[clients]]
            id = "vna"
            key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            tier = "partner"
            endpoints = ["verify", "batch"]
            "#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.clients[0].endpoints, [Endpoint::Verify, Endpoint::Batch]);
        let bad: Settings =
            toml::from_str("[[clients]]\nid='x'\nkey_sha256='abc'\ntier='partner'").unwrap();
        assert!(bad.validate().is_err());
        assert!(toml::from_str::<Settings>("bogus = 1").is_err());
    }
}
