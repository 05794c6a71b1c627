//! Redis high availability, on real servers started here on loopback (Debian `redis-server`,
//! `redis-cli`, `redis-sentinel`):
//! - a 3-master Redis Cluster: two instances share snapshots (a `MULTI` and scripts on the
//!   `{prefix}` hash tag), the app-sync ledger and cluster-wide quotas through it;
//! - a primary + replica + 3 sentinels: failover under load (the primary is killed, Sentinel
//!   promotes the replica) costs no request, no verdict and no trust material, and the new
//!   primary is in use within seconds.
//!
//! Each test prints its figures (`ha suite: …`); README "Scaling out" quotes them.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dcc_gateway::trust::sources::SourceConfig;
use reqwest::StatusCode;
use serde_json::json;

use super::faults::Load;
use super::helpers::*;
use super::trust::{hc1_now, partner, spawn_instance, tokens};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dccgw-ha-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One redis process (server or sentinel), killed on drop.
struct Proc {
    child: Option<Child>,
    port: u16,
}

impl Proc {
    fn spawn(program: &str, args: &[String], port: u16) -> Proc {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Proc {
            child: Some(spawn_listening(program, &args, port)),
            port,
        }
    }

    fn server(port: u16, extra: &[&str]) -> Proc {
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Proc::spawn("redis-server", &args, port)
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Password of the data nodes (primary, replica, cluster nodes) in these tests.
const NODE_PASSWORD: &str = "node-pw-123";
/// Password of the sentinels.
const SENTINEL_PASSWORD: &str = "sentinel-pw-456";

/// `redis-cli -p PORT -a PASSWORD ARGS…`, its output.
fn cli(port: u16, password: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--no-auth-warning", "-a", password])
        .args(args)
        .output()
        .expect("redis-cli (installed with redis-server)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn info_field(text: &str, field: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_owned())
}

/// A 3-master Redis Cluster (no replicas), slots split by `redis-cli --cluster create`.
struct Cluster {
    nodes: Vec<Proc>,
    _dir: std::path::PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = scratch("cluster");
        let nodes: Vec<Proc> = (0..3)
            .map(|_| {
                let port = free_port();
                let conf = dir.join(format!("nodes-{port}.conf"));
                Proc::server(
                    port,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        conf.to_str().unwrap(),
                        "--cluster-node-timeout",
                        "2000",
                        "--requirepass",
                        NODE_PASSWORD,
                        "--masterauth",
                        NODE_PASSWORD,
                        "--dir",
                        dir.to_str().unwrap(),
                    ],
                )
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut args = vec![
            "--no-auth-warning",
            "-a",
            NODE_PASSWORD,
            "--cluster",
            "create",
        ];
        args.extend(addrs.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        let out = Command::new("redis-cli").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes.iter().all(|n| {
            info_field(
                &cli(n.port, NODE_PASSWORD, &["cluster", "info"]),
                "cluster_state",
            )
            .as_deref()
                == Some("ok")
        }) {
            assert!(Instant::now() < deadline, "cluster never reached state ok");
            std::thread::sleep(Duration::from_millis(100));
        }
        Cluster { nodes, _dir: dir }
    }

    fn url(&self) -> String {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://:{NODE_PASSWORD}@{}", seeds.join(","))
    }

    /// The ports of the nodes holding at least one key matching `pattern`.
    fn holders(&self, pattern: &str) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| {
                !cli(n.port, NODE_PASSWORD, &["--scan", "--pattern", pattern])
                    .trim()
                    .is_empty()
            })
            .map(|n| n.port)
            .collect()
    }
}

/// A primary, one replica and three sentinels (quorum 2, down after 1 s).
struct SentinelSet {
    primary: Proc,
    replica: Proc,
    sentinels: Vec<Proc>,
    _dir: std::path::PathBuf,
}

impl SentinelSet {
    fn start() -> SentinelSet {
        let dir = scratch("sentinel");
        // Replication without an RDB file in the working directory.
        let d = dir.to_str().unwrap();
        let quiet = [
            "--dir",
            d,
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
            "--requirepass",
            NODE_PASSWORD,
            "--masterauth",
            NODE_PASSWORD,
        ];
        let primary = Proc::server(free_port(), &quiet);
        let port = primary.port.to_string();
        let mut replica_args = quiet.to_vec();
        replica_args.extend(["--replicaof", "127.0.0.1", &port]);
        let replica = Proc::server(free_port(), &replica_args);
        let deadline = Instant::now() + Duration::from_secs(20);
        while info_field(
            &cli(replica.port, NODE_PASSWORD, &["info", "replication"]),
            "master_link_status",
        )
        .as_deref()
            != Some("up")
        {
            assert!(Instant::now() < deadline, "replica never synced");
            std::thread::sleep(Duration::from_millis(50));
        }
        let program = if Command::new("redis-sentinel")
            .arg("--version")
            .output()
            .is_ok()
        {
            "redis-sentinel"
        } else {
            "redis-server"
        };
        let sentinels: Vec<Proc> = (0..3)
            .map(|_| {
                let port = free_port();
                let conf = dir.join(format!("sentinel-{port}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "port {port}\nbind 127.0.0.1\ndir {}\n\
                         requirepass {SENTINEL_PASSWORD}\n\
                         sentinel monitor mymaster 127.0.0.1 {} 2\n\
                         sentinel auth-pass mymaster {NODE_PASSWORD}\n\
                         sentinel down-after-milliseconds mymaster 1000\n\
                         sentinel failover-timeout mymaster 5000\n\
                         sentinel parallel-syncs mymaster 1\n",
                        dir.display(),
                        primary.port
                    ),
                )
                .unwrap();
                let mut args = vec![conf.to_str().unwrap().to_owned()];
                if program == "redis-server" {
                    args.push("--sentinel".into());
                }
                Proc::spawn(program, &args, port)
            })
            .collect();
        // Wait until every sentinel knows the replica and the two other sentinels.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !sentinels.iter().all(|s| {
            let m = cli(
                s.port,
                SENTINEL_PASSWORD,
                &["sentinel", "master", "mymaster"],
            );
            let lines: Vec<&str> = m.lines().collect();
            let field = |name: &str| {
                lines
                    .iter()
                    .position(|l| *l == name)
                    .and_then(|i| lines.get(i + 1))
                    .map(|v| v.trim().to_owned())
            };
            field("num-slaves").as_deref() == Some("1")
                && field("num-other-sentinels").as_deref() == Some("2")
        }) {
            assert!(Instant::now() < deadline, "sentinels never saw each other");
            std::thread::sleep(Duration::from_millis(100));
        }
        SentinelSet {
            primary,
            replica,
            sentinels,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        let s: Vec<String> = self
            .sentinels
            .iter()
            .map(|p| format!("127.0.0.1:{}", p.port))
            .collect();
        format!(
            "redis+sentinel://:{NODE_PASSWORD}@{}/mymaster?sentinel_password={SENTINEL_PASSWORD}",
            s.join(",")
        )
    }
}

fn shared(url: &str, dir: &std::path::Path, data: &str) -> dcc_gateway::config::Settings {
    let mut s = settings();
    s.redis_url = Some(url.to_owned());
    s.data_dir = dir.join(data);
    s.workers = Some(2);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_trust_ledger_and_quota_on_a_redis_cluster() {
    let cluster = Cluster::start();
    let dir = scratch("cluster-apps");
    let list = dir.join("de.pem");
    let (p1, p2) = (partner("DE", 1), partner("DE", 2));
    std::fs::write(&list, p1.pem.as_bytes()).unwrap();
    let source = SourceConfig::local_pem("de", list.clone());
    let mut s = shared(&cluster.url(), &dir, "a");
    s.tiers.insert(
        "tiny".into(),
        dcc_gateway::config::Tier {
            per_second: 5,
            burst: 10,
        },
    );
    let a = spawn_instance(s.clone(), vec![source.clone()]);
    s.data_dir = dir.join("b");
    let b = spawn_instance(s, vec![source]);
    eventually(10, || {
        a.state.redis.get().is_some() && b.state.redis.get().is_some()
    })
    .await;
    assert!(matches!(
        a.state.redis.get(),
        Some(dcc_gateway::redis::Conn::Cluster(_))
    ));
    let ready = a.get_json("/readyz").await;
    assert_eq!(ready["redis"], "connected");
    assert_eq!(ready["redis_deployment"], "cluster");

    // A snapshot made by A reaches B through the cluster (MULTI on one slot, PUBLISH heard on
    // B's node).
    std::fs::write(&list, format!("{}{}", p1.pem, p2.pem)).unwrap();
    a.state.trust.refresh("de").await.unwrap();
    let qr2 = hc1_now(&p2);
    let started = Instant::now();
    while b.verdict(&qr2).await["valid"] != true {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B never adopted A's snapshot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let adopted = started.elapsed();
    assert_eq!(
        a.state.trust.snapshot.load_full().unwrap().id,
        b.state.trust.snapshot.load_full().unwrap().id
    );
    // Every shared trust key sits on one node (the {prefix} hash tag).
    let holders = cluster.holders("{dccgw}:trust:*");
    assert_eq!(holders.len(), 1, "trust keys on nodes {holders:?}");

    // The app-sync ledger is one across the cluster: both instances hand out the same resume
    // tokens for the same DSCs (INCR + HSETNX on the {prefix} slot).
    let (ta, tb) = (tokens(&a).await, tokens(&b).await);
    assert!(ta.len() >= 2, "{ta:?}");
    assert_eq!(ta, tb);

    // One quota across both instances: 5/s, burst 10, hammered over both.
    let started = Instant::now();
    let mut ok = 0u64;
    for i in 0..80u64 {
        let app = if i % 2 == 0 { &a } else { &b };
        let r = http_client()
            .post(app.url("/v1/verify"))
            .bearer_auth(KEY_LIMITED)
            .json(&json!({"qr": "HC1:"}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            ok += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let bound = 10.0 + 5.0 * (elapsed + 1.0);
    eprintln!(
        "ha suite [cluster]: B adopted A's snapshot in {adopted:?}; quota admitted {ok} of 80 in {elapsed:.2}s (bound {bound:.0})"
    );
    assert!((ok as f64) <= bound, "admitted {ok}, bound {bound:.0}");
    assert!(ok >= 10, "the burst is admitted: {ok}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_under_load_costs_no_request_verdict_or_key() {
    let mut set = SentinelSet::start();
    let dir = scratch("sentinel-apps");
    let list = dir.join("de.pem");
    let (p1, p2, p3) = (partner("DE", 1), partner("DE", 2), partner("DE", 3));
    std::fs::write(&list, format!("{}{}", p1.pem, p2.pem)).unwrap();
    let source = SourceConfig::local_pem("de", list.clone());
    let a = Arc::new(spawn_instance(
        shared(&set.url(), &dir, "a"),
        vec![source.clone()],
    ));
    let b = Arc::new(spawn_instance(shared(&set.url(), &dir, "b"), vec![source]));
    eventually(10, || {
        a.state.redis.get().is_some() && b.state.redis.get().is_some()
    })
    .await;
    let primary_url = format!("redis://:{NODE_PASSWORD}@127.0.0.1:{}", set.primary.port);
    let replica_url = format!("redis://:{NODE_PASSWORD}@127.0.0.1:{}", set.replica.port);
    let in_use = |app: &TestApp| {
        app.state
            .redis
            .get()
            .and_then(|c| c.sentinel_primary())
            .and_then(|p| p.address())
    };
    assert_eq!(in_use(&a).as_deref(), Some(primary_url.as_str()));
    assert_eq!(a.get_json("/readyz").await["redis_deployment"], "sentinel");
    // The shared snapshot is on the primary and replicated before the primary dies.
    let deadline = Instant::now() + Duration::from_secs(10);
    while cli(
        set.replica.port,
        NODE_PASSWORD,
        &["get", "{dccgw}:trust:current"],
    )
    .trim()
    .is_empty()
    {
        assert!(Instant::now() < deadline, "snapshot never replicated");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let snapshot_before = a.state.trust.snapshot.load_full().unwrap().id.clone();

    let good = hc1_now(&p1);
    let unknown = hc1_now(&partner("DE", 9));
    let load = Load::start(
        [a.base.clone(), b.base.clone()],
        vec![(good.clone(), true), (hc1_now(&p2), true), (unknown, false)],
        false,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    set.primary.kill();
    let killed = Instant::now();
    // Sentinel promotes the replica; both instances follow it.
    while !(in_use(&a).as_deref() == Some(replica_url.as_str())
        && in_use(&b).as_deref() == Some(replica_url.as_str()))
    {
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "the instances never used the promoted replica (A {:?}, B {:?})",
            in_use(&a),
            in_use(&b)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let followed = killed.elapsed();
    // The new primary takes writes: a snapshot A makes now reaches B through it.
    std::fs::write(&list, format!("{}{}{}", p1.pem, p2.pem, p3.pem)).unwrap();
    a.state.trust.refresh("de").await.unwrap();
    let qr3 = hc1_now(&p3);
    let after = Instant::now();
    while b.verdict(&qr3).await["valid"] != true {
        assert!(
            after.elapsed() < Duration::from_secs(10),
            "B never adopted the snapshot written to the new primary"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let converged = after.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tally = load.finish("sentinel failover").await;
    eprintln!(
        "ha suite [sentinel failover]: the instances used the promoted replica {followed:?} after the primary was killed; B adopted a post-failover snapshot in {converged:?}"
    );
    tally.assert_clean(200, false);
    // Nothing trusted was lost: the promoted replica holds the snapshot lineage, and both
    // instances still verify the first keys.
    assert_ne!(
        a.state.trust.snapshot.load_full().unwrap().id,
        snapshot_before
    );
    assert!(
        !cli(
            set.replica.port,
            NODE_PASSWORD,
            &["get", "{dccgw}:trust:snapshot"]
        )
        .trim()
        .is_empty()
    );
    for app in [&a, &b] {
        assert_eq!(app.verdict(&good).await["valid"], true);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CA and a server certificate for 127.0.0.1 under it, as PEM files in `dir`: (CA, cert, key).
fn tls_files(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} redis CA"));
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(Vec::<String>::new()).unwrap();
    server.subject_alt_names = vec![SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]))];
    let issuer = Issuer::from_params(&ca_params, ca_key);
    let cert = server.signed_by(&server_key, &issuer).unwrap();
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_redis_is_used_with_its_pinned_ca_and_refused_without_it() {
    let dir = scratch("tls");
    let (ca, cert, key) = tls_files(&dir, "good");
    let (other_ca, _, _) = tls_files(&dir, "other");
    let port = free_port();
    let _redis = Proc::server(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            cert.to_str().unwrap(),
            "--tls-key-file",
            key.to_str().unwrap(),
            "--tls-ca-cert-file",
            ca.to_str().unwrap(),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            NODE_PASSWORD,
        ],
    );
    let list = dir.join("de.pem");
    let (p1, p2) = (partner("DE", 1), partner("DE", 2));
    std::fs::write(&list, p1.pem.as_bytes()).unwrap();
    let source = SourceConfig::local_pem("de", list.clone());
    let url = format!("rediss://:{NODE_PASSWORD}@127.0.0.1:{port}");
    let with_ca = |data: &str, ca: Option<&std::path::Path>| {
        let mut s = shared(&url, &dir, data);
        s.redis_tls_ca = ca.map(std::path::Path::to_path_buf);
        s.load_redis_tls_ca().unwrap();
        s
    };
    let a = spawn_instance(with_ca("a", Some(&ca)), vec![source.clone()]);
    let b = spawn_instance(with_ca("b", Some(&ca)), vec![source.clone()]);
    let wrong = spawn_instance(with_ca("c", Some(&other_ca)), vec![source.clone()]);
    let platform = spawn_instance(with_ca("d", None), vec![source]);
    eventually(10, || {
        a.state.redis.get().is_some() && b.state.redis.get().is_some()
    })
    .await;
    // Over TLS, with AUTH: a snapshot made by A reaches B.
    std::fs::write(&list, format!("{}{}", p1.pem, p2.pem)).unwrap();
    a.state.trust.refresh("de").await.unwrap();
    let qr2 = hc1_now(&p2);
    let started = Instant::now();
    while b.verdict(&qr2).await["valid"] != true {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B never adopted A's snapshot over TLS"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A certificate from another CA, or the platform's roots, are not trusted: no connection
    // (and verification goes on locally).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        wrong.state.redis.get().is_none(),
        "connected with the wrong CA"
    );
    assert!(
        platform.state.redis.get().is_none(),
        "connected without the pinned CA"
    );
    assert_eq!(wrong.verdict(&hc1_now(&p1)).await["valid"], true);

    // A CA file that is not PEM certificates is a configuration error.
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let mut s = settings();
    s.redis_tls_ca = Some(junk);
    assert!(s.load_redis_tls_ca().is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
