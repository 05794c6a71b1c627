//! Trust sources: their configuration (`trust-lists/sources.toml`) and fetching their bytes from
//! a file, a directory or an HTTP(S) URL, with timeouts and a byte cap enforced *while reading*.
//!
//! ```toml
//! [[source]]
//! id = "de"                  # unique; recorded as `dsc_source` in verdicts
//! format = "de-signed"       # eu-json | de-signed | se-jws | who-did | pem
//! url = "https://de.dscg.ubirch.com/trustList/DSC/"   # or: path = "partners/DE" (relative to trust-lists/)
//! anchor = "anchors/de.pem"  # pinned certificate or public key (relative to trust-lists/)
//! refresh = "6h"             # s, m, h, d
//! max_bytes = 8388608        # the body is cut off and refused past this
//! enabled = true
//! max_removal_share = 0.5    # a list removing more than this share of the source's keys is refused
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::trust::formats::Format;

/// One configured source.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub id: String,
    pub format: Format,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub anchor: Option<PathBuf>,
    #[serde(default = "default_refresh")]
    pub refresh: String,
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_removal_share")]
    pub max_removal_share: f64,
    /// Seconds to establish a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds for the whole fetch.
    #[serde(default = "default_total_timeout")]
    pub timeout_secs: u64,
    /// Days a DSC is kept after its `notAfter` (verification at past instants); older ones
    /// are refused as `EXPIRED`.
    #[serde(default = "default_keep_expired_days")]
    pub keep_expired_days: u32,
    /// A source not refreshed successfully for this long is stale: verdicts using its keys
    /// carry `TRUST_STALE` (e.g. 72h, 7d).
    #[serde(default = "default_max_age")]
    pub max_age: String,
    /// The issuer whose keys an `shc-jwks` source holds (the `iss` of its cards, an https
    /// URL without a trailing slash); only for that format.
    #[serde(default)]
    pub issuer: Option<String>,
}

fn default_refresh() -> String {
    "6h".to_owned()
}
fn default_max_bytes() -> u64 {
    8 * 1024 * 1024
}
fn default_true() -> bool {
    true
}
fn default_removal_share() -> f64 {
    0.5
}
fn default_connect_timeout() -> u64 {
    5
}
fn default_total_timeout() -> u64 {
    30
}
fn default_keep_expired_days() -> u32 {
    365
}
fn default_max_age() -> String {
    "72h".to_owned()
}

impl SourceConfig {
    /// A local PEM source (used when no `sources.toml` exists).
    pub fn local_pem(id: &str, path: PathBuf) -> SourceConfig {
        SourceConfig {
            id: id.to_owned(),
            format: Format::Pem,
            url: None,
            path: Some(path),
            anchor: None,
            refresh: "1h".to_owned(),
            max_bytes: default_max_bytes(),
            enabled: true,
            max_removal_share: 1.0,
            connect_timeout_secs: default_connect_timeout(),
            timeout_secs: default_total_timeout(),
            keep_expired_days: default_keep_expired_days(),
            max_age: default_max_age(),
            issuer: None,
        }
    }

    /// How long expired DSCs are kept.
    pub fn keep_expired(&self) -> time::Duration {
        time::Duration::days(i64::from(self.keep_expired_days))
    }

    /// After how long without a successful refresh the source is stale.
    pub fn max_age(&self) -> time::Duration {
        crate::keys::issue::parse_duration(&self.max_age).unwrap_or(time::Duration::hours(72))
    }

    /// The refresh interval.
    pub fn refresh_interval(&self) -> Duration {
        crate::keys::issue::parse_duration(&self.refresh)
            .and_then(|d| u64::try_from(d.whole_seconds()).ok())
            .map_or(Duration::from_secs(6 * 3600), Duration::from_secs)
    }
}

/// Why `sources.toml` cannot be used (the service refuses to start: a half-read source list
/// would silently trust less, or more, than the operator wrote).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourcesError {
    #[error("{0}")]
    Syntax(String),
    #[error("source id {0:?}: use letters, digits, - _ .")]
    BadId(String),
    #[error("source id {0} appears twice")]
    DuplicateId(String),
    #[error("source {0}: give exactly one of url or path")]
    UrlOrPath(String),
    #[error("source {0}: url must be http:// or https://")]
    BadUrl(String),
    #[error("source {0}: refresh takes e.g. 30s, 15m, 6h, 1d")]
    BadRefresh(String),
    #[error("source {0}: max_removal_share must be within 0..=1")]
    BadShare(String),
    #[error("source {0}: max_bytes must be > 0")]
    ZeroMaxBytes(String),
    #[error("source {0}: max_age takes e.g. 72h, 7d")]
    BadMaxAge(String),
    #[error(
        "source {0}: a rules-service source needs a url and an anchor (the service's public key)"
    )]
    RulesServiceNeeds(String),
    #[error("source {0}: a revocation-folder source needs a path")]
    RevocationFolderNeeds(String),
    #[error(
        "source {0}: `issuer` is required by shc-jwks and shc-crl (an https URL without a trailing slash), icao-csca and icao-crl (the state's ICAO code, e.g. AUS) and divoc-key (the credentials' verificationMethod, e.g. did:india), and allowed for no other format"
    )]
    ShcIssuer(String),
    #[error("cannot be read: {0}")]
    Read(std::io::ErrorKind),
    #[error("{}: {cause}", path.display())]
    InFile {
        path: PathBuf,
        cause: Box<SourcesError>,
    },
}

/// The whole `sources.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourcesFile {
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
}

impl SourcesFile {
    /// Parses and checks a sources file. Relative `path`/`anchor` resolve against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<SourcesFile, SourcesError> {
        let mut file: SourcesFile =
            toml::from_str(text).map_err(|e| SourcesError::Syntax(e.message().to_owned()))?;
        let mut ids = std::collections::BTreeSet::new();
        for s in &mut file.sources {
            if s.id.is_empty()
                || !s
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(SourcesError::BadId(s.id.clone()));
            }
            if !ids.insert(s.id.clone()) {
                return Err(SourcesError::DuplicateId(s.id.clone()));
            }
            if s.url.is_some() == s.path.is_some() {
                return Err(SourcesError::UrlOrPath(s.id.clone()));
            }
            if let Some(url) = &s.url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(SourcesError::BadUrl(s.id.clone()));
            }
            if s.format.carries_rules() && (s.url.is_none() || s.anchor.is_none()) {
                return Err(SourcesError::RulesServiceNeeds(s.id.clone()));
            }
            if s.format == crate::trust::formats::Format::EuRevocation && s.url.is_none() {
                return Err(SourcesError::UrlOrPath(s.id.clone()));
            }
            if s.format == crate::trust::formats::Format::RevocationFolder && s.path.is_none() {
                return Err(SourcesError::RevocationFolderNeeds(s.id.clone()));
            }
            let issuer_ok = s.issuer.as_deref().map(|i| match s.format {
                crate::trust::formats::Format::ShcJwks | crate::trust::formats::Format::ShcCrl => {
                    i.starts_with("https://") && !i.ends_with('/') && i.len() <= 512
                }
                crate::trust::formats::Format::IcaoCsca
                | crate::trust::formats::Format::IcaoCrl => {
                    (1..=3).contains(&i.len())
                        && i.bytes().all(|b| b.is_ascii_uppercase() || b == b'<')
                }
                crate::trust::formats::Format::DivocKey => {
                    (1..=256).contains(&i.len()) && i.bytes().all(|b| b.is_ascii_graphic())
                }
                _ => false,
            });
            let needs = matches!(
                s.format,
                crate::trust::formats::Format::ShcJwks
                    | crate::trust::formats::Format::ShcCrl
                    | crate::trust::formats::Format::IcaoCsca
                    | crate::trust::formats::Format::IcaoCrl
                    | crate::trust::formats::Format::DivocKey
            );
            if (needs && issuer_ok != Some(true)) || (!needs && issuer_ok.is_some()) {
                return Err(SourcesError::ShcIssuer(s.id.clone()));
            }
            if crate::keys::issue::parse_duration(&s.refresh).is_none_or(|d| d.whole_seconds() < 1)
            {
                return Err(SourcesError::BadRefresh(s.id.clone()));
            }
            if !(0.0..=1.0).contains(&s.max_removal_share) {
                return Err(SourcesError::BadShare(s.id.clone()));
            }
            if s.max_bytes == 0 {
                return Err(SourcesError::ZeroMaxBytes(s.id.clone()));
            }
            if crate::keys::issue::parse_duration(&s.max_age).is_none_or(|d| d.whole_seconds() < 1)
            {
                return Err(SourcesError::BadMaxAge(s.id.clone()));
            }
            if let Some(p) = &mut s.path
                && p.is_relative()
            {
                *p = base.join(&*p);
            }
            if let Some(p) = &mut s.anchor
                && p.is_relative()
            {
                *p = base.join(&*p);
            }
        }
        Ok(file)
    }

    /// Loads `path`; `None` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<SourcesFile>, SourcesError> {
        let in_file = |cause| SourcesError::InFile {
            path: path.to_path_buf(),
            cause: Box::new(cause),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let base = path.parent().unwrap_or(Path::new("."));
                SourcesFile::parse(&text, base).map(Some).map_err(in_file)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(in_file(SourcesError::Read(e.kind()))),
        }
    }
}

/// Validators of the last good copy, sent as `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The outcome of a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The upstream says the last good copy is current (HTTP 304).
    NotModified,
    Body {
        bytes: Vec<u8>,
        validators: Validators,
    },
}

/// Why a fetch failed. The code is stable (per-source status, metrics).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("network error: {0}")]
    Network(String),
    #[error("timed out")]
    Timeout,
    #[error("upstream answered HTTP {0}")]
    Http(u16),
    #[error("body larger than {0} bytes")]
    TooLarge(u64),
    #[error("cannot read {0}")]
    Io(String),
}

impl FetchError {
    pub const fn code(&self) -> &'static str {
        match self {
            FetchError::Network(_) => "FETCH_NETWORK",
            FetchError::Timeout => "FETCH_TIMEOUT",
            FetchError::Http(_) => "FETCH_HTTP_STATUS",
            FetchError::TooLarge(_) => "FETCH_TOO_LARGE",
            FetchError::Io(_) => "FETCH_IO",
        }
    }
}

/// Reads a local source: a file (capped), or for `pem` a directory whose `*.pem`, `*.crt` and
/// `*.der` files (not recursive beyond 4 levels) are joined into one PEM bundle.
pub fn read_local(path: &Path, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
    let meta =
        std::fs::metadata(path).map_err(|e| FetchError::Io(format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        let mut out = Vec::new();
        collect_dir(path, max_bytes, 0, &mut out)?;
        return Ok(out);
    }
    read_capped_file(path, max_bytes)
}

fn read_capped_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| FetchError::Io(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| FetchError::Io(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > max_bytes {
        return Err(FetchError::TooLarge(max_bytes));
    }
    Ok(bytes)
}

fn collect_dir(
    dir: &Path,
    max_bytes: u64,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), FetchError> {
    if depth > 4 {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| FetchError::Io(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_dir(&path, max_bytes, depth + 1, out)?;
            continue;
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(ext, "pem" | "crt" | "der") {
            continue;
        }
        let left = max_bytes.saturating_sub(out.len() as u64);
        let bytes = read_capped_file(&path, left).map_err(|e| match e {
            FetchError::TooLarge(_) => FetchError::TooLarge(max_bytes),
            other => other,
        })?;
        if bytes.first() == Some(&0x30) {
            out.extend_from_slice(crate::keys::pem_encode("CERTIFICATE", &bytes).as_bytes());
        } else {
            out.extend_from_slice(&bytes);
            out.push(b'\n');
        }
    }
    Ok(())
}

/// Makes ring rustls's process-wide crypto provider (the one C crypto library of the tree);
/// reqwest is built without a provider of its own.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client for upstream fetches (HTTP/1.1, rustls on ring, system roots).
pub fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, FetchError> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("dcc-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Network(e.to_string()))
}

/// Fetches `url` with conditional-request validators; the body is read in chunks and refused as
/// soon as it passes `max_bytes`; the whole exchange is bounded by `total`.
pub async fn fetch_url(
    client: &reqwest::Client,
    url: &str,
    previous: &Validators,
    max_bytes: u64,
    total: Duration,
) -> Result<Fetched, FetchError> {
    tokio::time::timeout(total, fetch_inner(client, url, previous, max_bytes))
        .await
        .map_err(|_| FetchError::Timeout)?
}

/// [`fetch_url`], also returning the answer's `X-SIGNATURE` header (business-rule services).
pub async fn fetch_url_signed(
    client: &reqwest::Client,
    url: &str,
    previous: &Validators,
    max_bytes: u64,
    total: Duration,
) -> Result<(Fetched, Option<String>), FetchError> {
    tokio::time::timeout(
        total,
        fetch_with_signature(client, url, previous, max_bytes),
    )
    .await
    .map_err(|_| FetchError::Timeout)?
}

async fn fetch_inner(
    client: &reqwest::Client,
    url: &str,
    previous: &Validators,
    max_bytes: u64,
) -> Result<Fetched, FetchError> {
    fetch_with_signature(client, url, previous, max_bytes)
        .await
        .map(|(f, _)| f)
}

async fn fetch_with_signature(
    client: &reqwest::Client,
    url: &str,
    previous: &Validators,
    max_bytes: u64,
) -> Result<(Fetched, Option<String>), FetchError> {
    let mut req = client.get(url);
    if let Some(etag) = &previous.etag {
        req = req.header("If-None-Match", etag);
    }
    if let Some(lm) = &previous.last_modified {
        req = req.header("If-Modified-Since", lm);
    }
    let mut res = req.send().await.map_err(classify)?;
    let status = res.status().as_u16();
    if status == 304 {
        return Ok((Fetched::NotModified, None));
    }
    if status != 200 {
        return Err(FetchError::Http(status));
    }
    if res.content_length().is_some_and(|n| n > max_bytes) {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header("etag"),
        last_modified: header("last-modified"),
    };
    // Signatures are Base64 of at most a few hundred bytes; anything longer is not one.
    let signature = header("x-signature").filter(|s| s.len() <= 2048);
    let mut bytes = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(classify)? {
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(FetchError::TooLarge(max_bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((Fetched::Body { bytes, validators }, signature))
}

fn classify(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else {
        // The URL is configuration, not personal data; the error text may contain it.
        FetchError::Network(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_file_is_checked() {
        let base = Path::new("/etc/dccgw/trust-lists");
        let ok = SourcesFile::parse(
            r#"
            [[source]]
            id = "de"
            format = "de-signed"
            url = "https://example.org/trustList/DSC/"
            anchor = "anchors/de.pem"
            refresh = "6h"
            [[source]]
            id = "vn"
            format = "pem"
            path = "VN"
            "#,
            base,
        )
        .unwrap();
        assert_eq!(ok.sources.len(), 2);
        assert_eq!(ok.sources[0].format, Format::DeSigned);
        assert_eq!(
            ok.sources[0].anchor.as_deref(),
            Some(base.join("anchors/de.pem").as_path())
        );
        assert_eq!(
            ok.sources[0].refresh_interval(),
            Duration::from_secs(6 * 3600)
        );
        assert_eq!(
            ok.sources[1].path.as_deref(),
            Some(base.join("VN").as_path())
        );
        assert!(ok.sources[1].enabled);
        for bad in [
            "[[source]]\nid='a'\nformat='pem'",
            "[[source]]\nid='a'\nformat='pem'\npath='x'\nurl='http://x'",
            "[[source]]\nid='a'\nformat='nope'\npath='x'",
            "[[source]]\nid='a b'\nformat='pem'\npath='x'",
            "[[source]]\nid='a'\nformat='pem'\nurl='ftp://x'",
            "[[source]]\nid='a'\nformat='pem'\npath='x'\nrefresh='soon'",
            "[[source]]\nid='a'\nformat='pem'\npath='x'\nmax_removal_share=2.0",
            "[[source]]\nid='a'\nformat='pem'\npath='x'\n[[source]]\nid='a'\nformat='pem'\npath='y'",
            "[[source]]\nid='a'\nformat='pem'\npath='x'\nbogus=1",
        ] {
            assert!(SourcesFile::parse(bad, base).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_reads_are_capped() {
        let dir = std::env::temp_dir().join(format!("dccgw-src-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("a.pem"),
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        std::fs::write(dir.join("sub/b.der"), [0x30, 0x00]).unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let joined = String::from_utf8(read_local(&dir, 4096).unwrap()).unwrap();
        assert_eq!(joined.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(!joined.contains("ignored"));
        assert_eq!(read_local(&dir, 10), Err(FetchError::TooLarge(10)));
        assert_eq!(
            read_local(&dir.join("a.pem"), 10),
            Err(FetchError::TooLarge(10))
        );
        assert!(matches!(
            read_local(&dir.join("missing"), 10),
            Err(FetchError::Io(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
