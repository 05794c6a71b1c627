//! The one way this gateway connects to Redis, in the three deployments operators run:
//!
//! | `redis_url` | deployment |
//! |---|---|
//! | `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS) | one server |
//! | `redis+sentinel://[user:pass@]s1:26379,s2:26379,s3:26379/MASTER[/db][?sentinel_username=U&sentinel_password=P]`, `rediss+sentinel://…` | primary + replicas watched by Sentinel |
//! | `redis+cluster://[user:pass@]n1:6379,n2:6379,…`, `rediss+cluster://…` | Redis Cluster (seed nodes) |
//!
//! `user:pass` authenticates to the data nodes (the primary, the cluster nodes); Sentinels
//! that require their own password take `sentinel_username` / `sentinel_password`. The `s` in
//! `rediss` turns on TLS for every connection of the deployment (sentinels included), verified
//! against the platform's roots (rustls), or only against the CAs of `redis_tls_ca` (a PEM
//! file) when it is set — a private CA, as Redis deployments usually have.
//!
//! [`Conn`] hides the difference from every caller: it is a cheap clone, speaks
//! [`redis::aio::ConnectionLike`] and reconnects by itself.
//! - One server: a `ConnectionManager`.
//! - Sentinel: the primary's address is asked of the sentinels (each in turn, 300 ms budget,
//!   the answer checked with `ROLE` on the node, as the Sentinel client guidelines say) at
//!   start, every second, and at once after any failed command; when it changes the new
//!   primary gets a fresh `ConnectionManager` and later commands go there. A failover is
//!   followed within about one second of Sentinel announcing it.
//! - Cluster: redis-rs's cluster client (slot map, `MOVED`/`ASK`, node failover). Every key a
//!   multi-key command or script touches shares one hash tag (`{prefix}`, see
//!   [`crate::trust::store`]); rate-limit keys are one per client and spread over the slots.
//!
//! Start-up makes one bounded attempt ([`connect_once`]) so the stored snapshot can come
//! first; the server keeps trying in the background ([`connect_in_background`]) when Redis was
//! not there yet. Pub/sub needs a dedicated connection: [`subscribe`] (on a cluster any node
//! hears every `PUBLISH`; with Sentinel the subscription is on the primary in force).

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use redis::aio::ConnectionLike;

/// Budget of connecting to one node.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Budget of one command (the callers add their own overall budget).
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Budget of asking one sentinel.
const SENTINEL_TIMEOUT: Duration = Duration::from_millis(300);
/// How often the sentinels are asked for the primary when nothing failed.
const SENTINEL_POLL: Duration = Duration::from_secs(1);
/// Longest accepted `redis_url` (they are configuration, not input; bounded anyway).
const MAX_URL: usize = 4096;
/// Most nodes (sentinels or cluster seeds) in one URL.
const MAX_NODES: usize = 64;

/// Where Redis is and how to trust its TLS certificates: `redis_url` and `redis_tls_ca`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub url: String,
    /// PEM CA certificates that alone are trusted for `rediss` (None: the platform's roots).
    pub tls_ca: Option<Arc<Vec<u8>>>,
}

impl Deployment {
    /// The deployment the settings name (None without `redis_url`). The CA file was read and
    /// checked when the settings were loaded.
    pub fn from_settings(s: &crate::config::Settings) -> Option<Deployment> {
        let url = s.redis_url.clone()?;
        let tls_ca = s.redis_tls_ca_pem.clone();
        Some(Deployment { url, tls_ca })
    }

    /// A deployment without a pinned CA.
    pub fn url(url: &str) -> Deployment {
        Deployment {
            url: url.to_owned(),
            tls_ca: None,
        }
    }

    fn certificates(&self) -> Option<redis::TlsCertificates> {
        self.tls_ca.as_ref().map(|pem| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.to_vec()),
        })
    }

    /// A client for one node URL of this deployment.
    fn client(&self, node: &str) -> redis::RedisResult<redis::Client> {
        match self.certificates() {
            Some(certs) if node.starts_with("rediss:") => {
                redis::Client::build_with_tls(node, certs)
            }
            _ => redis::Client::open(node),
        }
    }
}

/// A parsed `redis_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One server (the URL as given).
    Standalone(String),
    /// Sentinel-managed primary.
    Sentinel(SentinelTarget),
    /// Redis Cluster seed nodes (one `redis[s]://` URL each, credentials included).
    Cluster(Vec<String>),
}

/// Where the sentinels are and how to reach the primary they name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelTarget {
    /// One `redis[s]://` URL per sentinel (sentinel credentials included).
    pub sentinels: Vec<String>,
    /// The monitored master's name.
    pub master: String,
    /// `redis` or `rediss`.
    scheme: &'static str,
    /// `user:pass@` (percent-encoded as given) for the primary, or empty.
    userinfo: String,
    /// `/db` or empty.
    db: String,
}

impl SentinelTarget {
    /// The URL of the primary at `host:port`.
    fn node_url(&self, host: &str, port: u16) -> String {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        format!(
            "{}://{}{host}:{port}{}",
            self.scheme, self.userinfo, self.db
        )
    }
}

/// Why a `redis_url` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("redis_url: {0}")]
pub struct UrlError(String);

impl Target {
    /// `standalone`, `sentinel` or `cluster` (`/readyz`).
    pub const fn kind(&self) -> &'static str {
        match self {
            Target::Standalone(_) => "standalone",
            Target::Sentinel(_) => "sentinel",
            Target::Cluster(_) => "cluster",
        }
    }

    /// Parses one of the forms in the module docs.
    pub fn parse(url: &str) -> Result<Target, UrlError> {
        let err = |m: &str| Err(UrlError(m.to_owned()));
        if url.len() > MAX_URL {
            return err("longer than 4096 bytes");
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return err("expected redis://, rediss://, redis+sentinel:// or redis+cluster://");
        };
        let (tls, kind) = match scheme {
            "redis" | "rediss" | "unix" | "redis+unix" => {
                return redis::Client::open(url)
                    .map(|_| Target::Standalone(url.to_owned()))
                    .map_err(|e| UrlError(e.to_string()));
            }
            "redis+sentinel" => (false, "sentinel"),
            "rediss+sentinel" => (true, "sentinel"),
            "redis+cluster" => (false, "cluster"),
            "rediss+cluster" => (true, "cluster"),
            _ => return err("unknown scheme (redis, rediss, redis+sentinel, redis+cluster)"),
        };
        let node_scheme = if tls { "rediss" } else { "redis" };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        let hosts: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
        if hosts.is_empty() {
            return err("no node address");
        }
        if hosts.len() > MAX_NODES {
            return err("more than 64 node addresses");
        }
        for h in &hosts {
            if !h.contains(':') || h.chars().any(char::is_whitespace) {
                return err("every node address must be host:port");
            }
        }
        let mut params = std::collections::BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(k, v);
        }
        let checked = |u: String| -> Result<String, UrlError> {
            redis::Client::open(u.as_str()).map_err(|e| UrlError(e.to_string()))?;
            Ok(u)
        };
        if kind == "cluster" {
            if !path.is_empty() || !params.is_empty() {
                return err("a cluster URL takes no database and no parameters");
            }
            let nodes = hosts
                .iter()
                .map(|h| checked(format!("{node_scheme}://{userinfo}{h}")))
                .collect::<Result<_, _>>()?;
            return Ok(Target::Cluster(nodes));
        }
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let Some(master) = segments.next() else {
            return err("a sentinel URL names the master: redis+sentinel://h:p,…/MASTER");
        };
        let db = match segments.next() {
            Some(d) if d.parse::<u16>().is_ok() => format!("/{d}"),
            Some(_) => return err("the database after the master name must be a number"),
            None => String::new(),
        };
        if segments.next().is_some() {
            return err("unexpected path after MASTER/db");
        }
        let mut sentinel_auth = String::new();
        for (k, v) in &params {
            match *k {
                "sentinel_username" | "sentinel_password" => {}
                _ => return err("unknown parameter (sentinel_username, sentinel_password)"),
            }
            if v.contains(['@', '/', ':']) {
                return err("sentinel credentials must be percent-encoded");
            }
        }
        if let Some(p) = params.get("sentinel_password") {
            let u = params.get("sentinel_username").copied().unwrap_or("");
            sentinel_auth = format!("{u}:{p}@");
        }
        let sentinels = hosts
            .iter()
            .map(|h| checked(format!("{node_scheme}://{sentinel_auth}{h}")))
            .collect::<Result<_, _>>()?;
        let target = SentinelTarget {
            sentinels,
            master: master.to_owned(),
            scheme: node_scheme,
            userinfo,
            db,
        };
        checked(target.node_url("127.0.0.1", 6379))?;
        Ok(Target::Sentinel(target))
    }
}

/// "Skip Redis for a while after a failure": callers check [`Pause::active`] before a command
/// and call [`Pause::start`] when one fails, so no request waits on a failing Redis.
#[derive(Debug, Default)]
pub struct Pause {
    until: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Pause {
    /// Whether a pause is running now.
    pub fn active(&self) -> bool {
        self.until
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|t| std::time::Instant::now() < t)
    }

    /// Pauses for `d` from now; true when no pause was running (the caller logs once).
    pub fn start(&self, d: Duration) -> bool {
        let now = std::time::Instant::now();
        let Ok(mut g) = self.until.lock() else {
            return false;
        };
        let fresh = g.is_none_or(|t| now >= t);
        *g = Some(now + d);
        fresh
    }
}

/// A connection to the deployment, whatever its kind (see the module docs).
#[derive(Clone)]
pub enum Conn {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
    Sentinel(Arc<Primary>),
}

/// The primary a sentinel deployment has in force, followed by a watcher task.
pub struct Primary {
    target: SentinelTarget,
    deployment: Deployment,
    current: arc_swap::ArcSwapOption<(String, redis::aio::ConnectionManager)>,
    /// Wakes the watcher after a failed command.
    stale: Arc<tokio::sync::Notify>,
}

impl Primary {
    /// The primary's URL in force (tests and logs; credentials included, never logged).
    pub fn address(&self) -> Option<String> {
        self.current.load().as_ref().map(|c| c.0.clone())
    }
}

impl Conn {
    /// The primary followed by a sentinel deployment (`None` for the other kinds).
    pub fn sentinel_primary(&self) -> Option<&Primary> {
        match self {
            Conn::Sentinel(p) => Some(p),
            _ => None,
        }
    }
}

fn no_primary() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "no Redis primary known yet",
    ))
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(p) => Box::pin(async move {
                let Some(current) = p.current.load_full() else {
                    p.stale.notify_one();
                    return Err(no_primary());
                };
                let mut manager = current.1.clone();
                let answer = manager.req_packed_command(cmd).await;
                if answer.is_err() {
                    p.stale.notify_one();
                }
                answer
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(p) => Box::pin(async move {
                let Some(current) = p.current.load_full() else {
                    p.stale.notify_one();
                    return Err(no_primary());
                };
                let mut manager = current.1.clone();
                let answer = manager.req_packed_commands(pipeline, offset, count).await;
                if answer.is_err() {
                    p.stale.notify_one();
                }
                answer
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(p) => p.current.load().as_ref().map_or(0, |c| c.1.get_db()),
        }
    }
}

async fn manager(d: &Deployment, url: &str) -> Option<redis::aio::ConnectionManager> {
    let client = d.client(url).ok()?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    client.get_connection_manager_with_config(config).await.ok()
}

/// One command on a short-lived connection to `url`, within `budget`.
async fn ask<T: redis::FromRedisValue>(
    d: &Deployment,
    url: &str,
    cmd: &redis::Cmd,
    budget: Duration,
) -> Option<T> {
    let client = d.client(url).ok()?;
    let asked = async {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(budget))
            .set_response_timeout(Some(budget));
        let mut c = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .ok()?;
        cmd.query_async::<T>(&mut c).await.ok()
    };
    tokio::time::timeout(budget, asked).await.ok().flatten()
}

/// The primary's URL as the sentinels name it, checked with `ROLE` on the node.
async fn resolve_primary(d: &Deployment, target: &SentinelTarget) -> Option<String> {
    let mut question = redis::cmd("SENTINEL");
    question.arg("get-master-addr-by-name").arg(&target.master);
    for sentinel in &target.sentinels {
        let Some((host, port)) =
            ask::<Option<(String, u16)>>(d, sentinel, &question, SENTINEL_TIMEOUT)
                .await
                .flatten()
        else {
            continue;
        };
        let url = target.node_url(&host, port);
        let role = ask::<redis::Value>(d, &url, &redis::cmd("ROLE"), SENTINEL_TIMEOUT).await;
        let is_master = match role {
            Some(redis::Value::Array(items)) => matches!(
                items.first(),
                Some(redis::Value::BulkString(b)) if b.as_slice() == b"master"
            ),
            _ => false,
        };
        if is_master {
            return Some(url);
        }
    }
    None
}

/// Points `primary` at the primary the sentinels name now; true when one is in force.
async fn follow_primary(primary: &Primary) -> bool {
    let Some(url) = resolve_primary(&primary.deployment, &primary.target).await else {
        return primary.current.load().is_some();
    };
    if primary.current.load().as_ref().is_some_and(|c| c.0 == url) {
        return true;
    }
    let Some(m) = tokio::time::timeout(CONNECT_TIMEOUT * 2, manager(&primary.deployment, &url))
        .await
        .ok()
        .flatten()
    else {
        return primary.current.load().is_some();
    };
    let first = primary.current.load().is_none();
    primary.current.store(Some(Arc::new((url, m))));
    if first {
        tracing::info!(master = %primary.target.master, "redis sentinel: primary found");
    } else {
        tracing::warn!(master = %primary.target.master, "redis sentinel: new primary in use (failover)");
    }
    true
}

/// Follows the sentinels for as long as the primary handle lives.
fn watch(primary: Weak<Primary>, stale: Arc<tokio::sync::Notify>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(SENTINEL_POLL) => {}
                () = stale.notified() => {
                    // Many failing commands wake the watcher at once: settle a moment.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            let Some(p) = primary.upgrade() else {
                return;
            };
            follow_primary(&p).await;
        }
    });
}

/// Connects to the deployment `url` names (one attempt per node, bounded by the timeouts).
pub async fn connect(d: &Deployment) -> Option<Conn> {
    // `rediss` goes through rustls, which needs a process-wide provider: ring, as everywhere.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Target::parse(&d.url).ok()? {
        Target::Standalone(u) => manager(d, &u).await.map(Conn::Single),
        Target::Cluster(nodes) => {
            let mut builder = redis::cluster::ClusterClientBuilder::new(nodes);
            if let Some(certs) = d.certificates() {
                builder = builder.certs(certs);
            }
            let client = builder
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                .retries(3)
                .min_retry_wait(50)
                .max_retry_wait(500)
                .build()
                .ok()?;
            client.get_async_connection().await.ok().map(Conn::Cluster)
        }
        Target::Sentinel(target) => {
            let stale = Arc::new(tokio::sync::Notify::new());
            let primary = Arc::new(Primary {
                target,
                deployment: d.clone(),
                current: arc_swap::ArcSwapOption::empty(),
                stale: Arc::clone(&stale),
            });
            if !follow_primary(&primary).await {
                return None;
            }
            watch(Arc::downgrade(&primary), stale);
            Some(Conn::Sentinel(primary))
        }
    }
}

/// One bounded attempt to connect to Redis (start-up: the stored snapshot comes first).
pub async fn connect_once(d: &Deployment, cell: &OnceLock<Conn>, budget: Duration) -> bool {
    match tokio::time::timeout(budget, connect(d)).await {
        Ok(Some(conn)) => {
            let _ = cell.set(conn);
            tracing::info!("redis connected");
            true
        }
        _ => false,
    }
}

/// Connects to Redis in the background, retrying until it answers.
pub fn connect_in_background(d: Deployment, cell: Arc<OnceLock<Conn>>) {
    tokio::task::spawn_local(async move {
        loop {
            if connect_once(&d, &cell, Duration::from_secs(2)).await {
                return;
            }
            tracing::warn!("redis not reachable yet; local rate limits only, retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}

/// A dedicated pub/sub connection subscribed to `channel` (bounded: 2 s per node); `None`
/// when no node answers (the caller retries). `attempt` rotates over a cluster's seed nodes
/// so a dead node is not asked forever.
pub async fn subscribe(
    d: &Deployment,
    channel: &str,
    attempt: usize,
) -> Option<redis::aio::PubSub> {
    let node = match Target::parse(&d.url).ok()? {
        Target::Standalone(u) => u,
        Target::Cluster(nodes) => nodes.get(attempt % nodes.len().max(1))?.clone(),
        Target::Sentinel(t) => resolve_primary(d, &t).await?,
    };
    let client = d.client(&node).ok()?;
    let mut pubsub = tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub())
        .await
        .ok()?
        .ok()?;
    tokio::time::timeout(Duration::from_secs(2), pubsub.subscribe(channel))
        .await
        .ok()?
        .ok()?;
    Some(pubsub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standalone_urls_pass_through() {
        assert_eq!(
            Target::parse("redis://:pw@127.0.0.1:6390/2"),
            Ok(Target::Standalone("redis://:pw@127.0.0.1:6390/2".into()))
        );
        assert!(Target::parse("rediss://cache.example:6380").is_ok());
        assert!(Target::parse("http://x").is_err());
        assert!(Target::parse("nonsense").is_err());
    }

    #[test]
    fn sentinel_urls_name_sentinels_master_and_credentials() {
        let t = Target::parse(
            "redis+sentinel://app:s3cr%40t@10.0.0.1:26379,10.0.0.2:26379/mymaster/3?sentinel_password=sp",
        )
        .unwrap();
        let Target::Sentinel(s) = t else {
            panic!("not sentinel")
        };
        assert_eq!(
            s.sentinels,
            vec![
                "redis://:sp@10.0.0.1:26379".to_owned(),
                "redis://:sp@10.0.0.2:26379".to_owned()
            ]
        );
        assert_eq!(s.master, "mymaster");
        assert_eq!(
            s.node_url("10.0.0.9", 6379),
            "redis://app:s3cr%40t@10.0.0.9:6379/3"
        );
        assert_eq!(s.node_url("::1", 6379), "redis://app:s3cr%40t@[::1]:6379/3");
        let tls = Target::parse("rediss+sentinel://h:26379/m").unwrap();
        let Target::Sentinel(s) = tls else {
            panic!("not sentinel")
        };
        assert_eq!(s.sentinels, vec!["rediss://h:26379".to_owned()]);
        assert_eq!(s.node_url("a", 1), "rediss://a:1");
    }

    #[test]
    fn malformed_ha_urls_are_refused_with_a_reason() {
        for bad in [
            "redis+sentinel://h:26379",
            "redis+sentinel://h:26379/m/x",
            "redis+sentinel:///m",
            "redis+sentinel://h/m",
            "redis+sentinel://h:1/m?foo=bar",
            "redis+cluster://a:1,b:2/0",
            "redis+cluster://",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad} accepted");
        }
        let many = format!(
            "redis+cluster://{}",
            (0..65)
                .map(|i| format!("h{i}:1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(Target::parse(&many).is_err());
    }

    #[test]
    fn cluster_urls_list_every_seed_with_credentials() {
        assert_eq!(
            Target::parse("rediss+cluster://u:p@a:7000,b:7001"),
            Ok(Target::Cluster(vec![
                "rediss://u:p@a:7000".into(),
                "rediss://u:p@b:7001".into()
            ]))
        );
    }
}
