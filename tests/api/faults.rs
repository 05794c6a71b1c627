//! Fault injection under load. A load generator sends verify requests to two instances that
//! share one redis-server and checks every verdict, while:
//! 1. Redis is killed, kept down 10 s and restarted, and a snapshot is published during the
//!    outage: zero 5xx, zero mismatches, both instances on the new snapshot afterwards;
//! 2. the upstream trust source answers 500, hangs, serves garbage and serves a list signed by
//!    the wrong key: no key in force is lost, each instance's source shows the error code;
//! 3. one instance (a real `serve` process) gets SIGTERM: requests in flight complete, new
//!    connections go to the other instance (the generator routes like a balancer: a refused
//!    connection is retried on the next instance and counted as `rerouted`).
//!
//! Each test prints its counts (`fault suite: …`); README "Security" quotes them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dcc_gateway::crypto::Alg;
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::trust::formats::{Format, ListMeta, de_signed};
use dcc_gateway::trust::sources::SourceConfig;
use serde_json::{Value, json};

use super::helpers::*;
use super::trust::{
    Mode, Partner, hc1_now, kids, partner, spawn_instance, status_code, upstream, url_source,
};

/// What the load generator saw, by class.
#[derive(Default)]
pub struct Tally {
    sent: AtomicU64,
    ok: AtomicU64,
    server_errors: AtomicU64,
    limited: AtomicU64,
    /// Requests that failed after a connection was made, or found no instance at all.
    transport: AtomicU64,
    /// Connections refused by one instance and sent to the next (not a failure).
    rerouted: AtomicU64,
    /// Of those, fresh connections reset before any answer byte (accepted into the listen
    /// backlog of an instance that closed its listener before taking them: the kernel resets
    /// them). A balancer retries these as it retries a refusal (nginx `proxy_next_upstream
    /// error`, Envoy `retry_on: reset`); counted apart so the report shows them.
    reset_rerouted: AtomicU64,
    /// Whether resets of fresh connections are rerouted (only with `fresh_connections`).
    reroute_resets: AtomicBool,
    mismatches: AtomicU64,
    /// Answers per target.
    served: [AtomicU64; 2],
}

impl Tally {
    fn report(&self, name: &str) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "fault suite [{name}]: sent {} ok {} 5xx {} 429 {} transport {} rerouted {} (of which reset before an answer {}) mismatches {} (served: {} / {})",
            g(&self.sent),
            g(&self.ok),
            g(&self.server_errors),
            g(&self.limited),
            g(&self.transport),
            g(&self.rerouted),
            g(&self.reset_rerouted),
            g(&self.mismatches),
            g(&self.served[0]),
            g(&self.served[1]),
        )
    }

    /// The targets of every scenario: nothing lost, nothing wrong.
    /// `reroutes`: whether an instance may refuse connections in this scenario.
    pub fn assert_clean(&self, min_sent: u64, reroutes: bool) {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        assert!(g(&self.sent) >= min_sent, "the load generator barely ran");
        if !reroutes {
            assert_eq!(g(&self.rerouted), 0, "no instance refused a connection");
        }
        assert_eq!(g(&self.server_errors), 0, "5xx answers");
        assert_eq!(g(&self.transport), 0, "failed requests");
        assert_eq!(g(&self.mismatches), 0, "verdict mismatches");
        assert_eq!(g(&self.limited), 0, "rate limited");
        assert_eq!(
            g(&self.ok),
            g(&self.sent),
            "every request answered correctly"
        );
    }
}

/// A running load generator: four tasks, round-robin over the two targets.
pub struct Load {
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Sends `cases` (QR text, expected `valid`) in turn to `targets` (base URLs), 10 ms apart
    /// per task. With `fresh_connections` every request opens its own connection (what a
    /// balancer routes); otherwise a keep-alive pool is used.
    pub fn start(
        targets: [String; 2],
        cases: Vec<(String, bool)>,
        fresh_connections: bool,
    ) -> Load {
        let tally = Arc::new(Tally::default());
        tally
            .reroute_resets
            .store(fresh_connections, Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let targets = Arc::new(targets);
        let cases = Arc::new(cases);
        let workers = (0..4usize)
            .map(|w| {
                let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
                let (targets, cases) = (Arc::clone(&targets), Arc::clone(&cases));
                tokio::spawn(async move {
                    let mut builder = client_builder().no_proxy();
                    if fresh_connections {
                        builder = builder.pool_max_idle_per_host(0);
                    }
                    let client = builder.build().unwrap();
                    let mut i = w;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let (qr, expect_valid) = &cases[i % cases.len()];
                        tally.sent.fetch_add(1, Ordering::Relaxed);
                        send_one(&client, &targets, i % 2, qr, *expect_valid, &tally).await;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                })
            })
            .collect();
        Load {
            tally,
            stop,
            workers,
        }
    }

    pub async fn finish(self, name: &str) -> Arc<Tally> {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            w.await.unwrap();
        }
        eprintln!("{}", self.tally.report(name));
        self.tally
    }
}

/// One request, starting at target `first`; a refused connection moves on to the next target.
async fn send_one(
    client: &reqwest::Client,
    targets: &[String; 2],
    first: usize,
    qr: &str,
    expect_valid: bool,
    tally: &Tally,
) {
    for attempt in 0..targets.len() {
        let t = (first + attempt) % targets.len();
        let res = client
            .post(format!("{}/v1/verify", targets[t]))
            .header("X-API-Key", KEY_PARTNER)
            .timeout(Duration::from_secs(5))
            .json(&json!({ "qr": qr }))
            .send()
            .await;
        let r = match res {
            Err(e) if e.is_connect() => {
                tally.rerouted.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(e) if tally.reroute_resets.load(Ordering::Relaxed) && reset_before_answer(&e) => {
                tally.rerouted.fetch_add(1, Ordering::Relaxed);
                tally.reset_rerouted.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(_) => {
                tally.transport.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(r) => r,
        };
        tally.served[t].fetch_add(1, Ordering::Relaxed);
        let counter = if r.status().is_server_error() {
            &tally.server_errors
        } else if r.status().as_u16() == 429 {
            &tally.limited
        } else {
            match r.json::<Value>().await {
                Ok(v) if v["valid"] == expect_valid => &tally.ok,
                Ok(_) => &tally.mismatches,
                Err(_) => &tally.transport,
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        return;
    }
    tally.transport.fetch_add(1, Ordering::Relaxed);
}

/// Whether a request failed because its fresh connection was reset or closed before any byte
/// of an answer arrived (never a timeout, never a malformed answer).
fn reset_before_answer(e: &reqwest::Error) -> bool {
    if e.is_timeout() || e.is_decode() || e.is_status() {
        return false;
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            )
        {
            return true;
        }
        let text = err.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("connection reset")
        {
            return true;
        }
        source = err.source();
    }
    false
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dccgw-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn redis_outage_under_load_costs_no_request_and_no_verdict() {
    let mut redis = Redis::start();
    let dir = scratch("redis");
    let list = dir.join("de.pem");
    let (p1, p2) = (partner("DE", 1), partner("DE", 2));
    std::fs::write(&list, p1.pem.as_bytes()).unwrap();
    let source = SourceConfig::local_pem("de", list.clone());
    let with_redis = |data: &str| {
        let mut s = settings();
        s.redis_url = Some(redis.url());
        s.data_dir = dir.join(data);
        s.workers = Some(2);
        s
    };
    let a = Arc::new(spawn_instance(with_redis("a"), vec![source.clone()]));
    let b = Arc::new(spawn_instance(with_redis("b"), vec![source]));
    let good = hc1_now(&p1);
    let unknown = hc1_now(&partner("DE", 9));

    let load = Load::start(
        [a.base.clone(), b.base.clone()],
        vec![(good.clone(), true), (good, true), (unknown, false)],
        false,
    );

    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill();
    let outage = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A snapshot published during the outage (A ingests a new list; Redis cannot take it).
    std::fs::write(&list, format!("{}{}", p1.pem, p2.pem)).unwrap();
    a.state.trust.refresh("de").await.unwrap();
    let qr2 = hc1_now(&p2);
    while outage.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    redis.restart();
    // Both instances reconnect and converge on A's snapshot.
    let back = Instant::now();
    loop {
        if b.verdict(&qr2).await["valid"] == true {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "B never received the outage snapshot"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let converged = back.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tally = load.finish("redis outage").await;
    eprintln!("fault suite [redis outage]: B converged {converged:?} after the Redis restart");
    tally.assert_clean(200, false);
    assert_eq!(
        a.state.trust.snapshot.load_full().unwrap().id,
        b.state.trust.snapshot.load_full().unwrap().id
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A German-format signed list of `ps`, signed by `key`.
fn de_list(ps: &[&Partner], key: &SignerKey) -> String {
    let ders: Vec<Vec<u8>> = ps.iter().map(|p| p.dsc.der.to_vec()).collect();
    let items = de_signed::items_for(&ders, dcc_gateway::clock::now()).unwrap();
    String::from_utf8(de_signed::render(&items, ListMeta::default(), key).unwrap()).unwrap()
}

// Multi-threaded: the fake upstream must answer while `spawn_instance` blocks on bootstrap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_faults_under_load_cost_no_key_and_no_verdict() {
    let redis = Redis::start();
    let dir = scratch("upstream");
    // The upstream signs its list with `signer`; the source pins that key.
    let now = dcc_gateway::clock::now();
    let signer = SignerKey::generate(Alg::Es256).unwrap();
    let anchor = mint::self_signed(
        &CertSpec::new(
            "DE",
            "DE list signer",
            now - time::Duration::days(1),
            now + time::Duration::days(700),
        ),
        &signer,
    )
    .unwrap();
    std::fs::write(dir.join("anchor.pem"), &anchor.pem).unwrap();
    let (p1, p2) = (partner("DE", 1), partner("DE", 2));
    let good_list = de_list(&[&p1, &p2], &signer);
    let up = upstream(Mode::Normal(good_list.clone())).await;
    let mut source = url_source("de", &up.url, 64 * 1024);
    source.format = Format::DeSigned;
    source.anchor = Some(dir.join("anchor.pem"));
    let with_redis = |data: &str| {
        let mut s = settings();
        s.redis_url = Some(redis.url());
        s.data_dir = dir.join(data);
        s.workers = Some(2);
        s
    };
    let a = spawn_instance(with_redis("a"), vec![source.clone()]);
    let b = spawn_instance(with_redis("b"), vec![source]);
    // Each instance also holds its own development VN key (no VN source is configured), so
    // each is compared with what it held itself.
    let has_both = |app: &TestApp| {
        let k = kids(&app.state);
        k.contains(&p1.dsc.kid.to_base64()) && k.contains(&p2.dsc.kid.to_base64())
    };
    eventually(10, || has_both(&a) && has_both(&b)).await;
    let in_force = [kids(&a.state), kids(&b.state)];

    let load = Load::start(
        [a.base.clone(), b.base.clone()],
        vec![
            (hc1_now(&p1), true),
            (hc1_now(&p2), true),
            (hc1_now(&partner("DE", 9)), false),
        ],
        false,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let set = |m: Mode| *up.mode.lock().unwrap() = m;
    // A list that drops p2 and is signed by someone else: it must not take effect.
    let forged = de_list(&[&p1], &SignerKey::generate(Alg::Es256).unwrap());
    let faults = [
        (Mode::Status(500), "FETCH_HTTP_STATUS"),
        (Mode::Hang, "FETCH_TIMEOUT"),
        (Mode::Garbage, "LIST_MALFORMED"),
        (Mode::Normal(forged), "LIST_SIGNATURE_INVALID"),
    ];
    for (mode, code) in faults {
        set(mode);
        for (app, in_force) in [&a, &b].into_iter().zip(&in_force) {
            let err = app.state.trust.refresh("de").await.unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert_eq!(
                &kids(&app.state),
                in_force,
                "{code}: a key in force was lost"
            );
            assert_eq!(status_code(&app.state, "de").as_deref(), Some(code));
            // The public summary shows the failing source and its code.
            let summary: Value = app.get_json("/v1/trust/summary").await;
            let de = summary["sources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["source"] == "de")
                .unwrap();
            assert_eq!(
                (de["status"].as_str(), de["last_error"].as_str()),
                (Some("failing"), Some(code))
            );
            assert_eq!(de["dscs"], 2);
        }
    }
    // Healthy again: the source recovers, the same keys stay in force.
    set(Mode::Normal(good_list));
    for (app, in_force) in [&a, &b].into_iter().zip(&in_force) {
        app.state.trust.refresh("de").await.unwrap();
        assert_eq!(status_code(&app.state, "de"), None);
        assert_eq!(&kids(&app.state), in_force);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tally = load.finish("upstream faults").await;
    tally.assert_clean(100, false);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real `serve` process on `port`, sharing `redis`, trusting the PEM files in `trust`.
fn serve(
    port: u16,
    data: &std::path::Path,
    trust: &std::path::Path,
    config: &std::path::Path,
    redis: &str,
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dcc-gateway"))
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .arg("--config")
        .arg(config)
        .env("DCCGW_TRUST_DIR", trust)
        .env("REDIS_URL", redis)
        .env("DCCGW_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reads one HTTP/1.1 response with a `content-length` body, leaving the connection open.
fn read_response(c: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        c.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn sigterm_to_one_of_two_instances_under_load_loses_no_request() {
    let redis = Redis::start();
    let dir = scratch("sigterm");
    let p1 = partner("DE", 1);
    std::fs::create_dir_all(dir.join("trust")).unwrap();
    std::fs::write(dir.join("trust/de.pem"), &p1.pem).unwrap();
    std::fs::write(
        dir.join("gateway.toml"),
        format!(
            "[[clients]]\nid = \"airline\"\nkey_sha256 = \"{}\"\ntier = \"partner\"\n",
            sha256_hex(KEY_PARTNER)
        ),
    )
    .unwrap();
    let ports = [free_port(), free_port()];
    let mut procs: Vec<Child> = ["a", "b"]
        .iter()
        .zip(ports)
        .map(|(name, port)| {
            serve(
                port,
                &dir.join(name),
                &dir.join("trust"),
                &dir.join("gateway.toml"),
                &redis.url(),
            )
        })
        .collect();
    let bases = ports.map(|p| format!("http://127.0.0.1:{p}"));
    let client = http_client();
    let deadline = Instant::now() + Duration::from_secs(60);
    for base in &bases {
        loop {
            let ready = client.get(format!("{base}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "{base} did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let good = hc1_now(&p1);
    let load = Load::start(
        bases.clone(),
        vec![(good.clone(), true), (hc1_now(&partner("DE", 9)), false)],
        true,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Three requests in flight on A: headers and half the body sent before SIGTERM, each on a
    // keep-alive connection that has already been answered once (so A has certainly accepted
    // it: a connection still in the kernel's backlog at SIGTERM would be reset, which is not
    // an in-flight request).
    let body = json!({ "qr": good }).to_string();
    let half = body.len() / 2;
    let mut in_flight: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = TcpStream::connect(("127.0.0.1", ports[0])).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let first = read_response(&mut c);
            assert!(first.starts_with("HTTP/1.1 200"), "{first}");
            c.write_all(
                format!(
                    "POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY_PARTNER}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    body.len(),
                    &body[..half]
                )
                .as_bytes(),
            )
            .unwrap();
            c
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served_before = load.tally.served[1].load(Ordering::Relaxed);
    let killed = Command::new("kill")
        .args(["-TERM", &procs[0].id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replies = tokio::task::spawn_blocking(move || {
        in_flight
            .iter_mut()
            .map(|c| {
                c.write_all(&body.as_bytes()[half..]).unwrap();
                let mut reply = String::new();
                let _ = c.read_to_string(&mut reply);
                reply
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for reply in &replies {
        assert!(
            reply.starts_with("HTTP/1.1 200"),
            "in-flight request completed: {reply}"
        );
        assert!(
            reply.contains("\"valid\":true"),
            "with the right verdict: {}",
            reply.replace("\r\n", " ")
        );
    }
    // A exits cleanly once its in-flight work is done; the load goes on against B.
    let exit = Instant::now();
    let status = loop {
        if let Some(status) = procs[0].try_wait().unwrap() {
            break status;
        }
        assert!(
            exit.elapsed() < Duration::from_secs(20),
            "A did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "graceful exit: {status:?}");
    let exited_after = exit.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tally = load.finish("sigterm").await;
    eprintln!(
        "fault suite [sigterm]: 3/3 in-flight requests completed, A exited {exited_after:?} after they did"
    );
    tally.assert_clean(100, true);
    assert!(
        tally.rerouted.load(Ordering::Relaxed) > 0,
        "requests met A's closed listener"
    );
    assert!(
        tally.served[1].load(Ordering::Relaxed) > served_before,
        "B went on serving"
    );
    let _ = procs[1].kill();
    let _ = procs[1].wait();
    let _ = std::fs::remove_dir_all(&dir);
}
