//! Trust ingestion end to end: refresh against a misbehaving local upstream (the last good copy
//! always stays in force), and instances sharing one real redis-server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dcc_gateway::app::TrustSetup;
use dcc_gateway::config::Settings;
use dcc_gateway::crypto::Alg;
use dcc_gateway::hcert::encode::{NewClaims, cwt_claims, sign1, wrap};
use dcc_gateway::http::AppState;
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::model::Dsc;
use dcc_gateway::trust::refresh::{Outcome, RefreshError};
use dcc_gateway::trust::sources::{FetchError, SourceConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::helpers::*;
use super::support::vaccination;

/// A partner DSC valid around the real current time, with its key.
pub struct Partner {
    pub key: SignerKey,
    pub dsc: Dsc,
    pub pem: String,
}

pub fn partner(country: &str, n: u64) -> Partner {
    let now = dcc_gateway::clock::now();
    let key = SignerKey::generate(Alg::Es256).unwrap();
    let mut spec = CertSpec::new(
        country,
        &format!("{country} DSC {n}"),
        now - time::Duration::days(1),
        now + time::Duration::days(700),
    );
    spec.serial = n;
    let cert = mint::self_signed(&spec, &key).unwrap();
    Partner {
        dsc: Dsc::from_der(&cert.der, "test").unwrap(),
        key,
        pem: cert.pem,
    }
}

/// An HC1 valid now, signed by `p`.
pub fn hc1_now(p: &Partner) -> String {
    let now = dcc_gateway::clock::now();
    let dcc = vaccination();
    let claims = cwt_claims(&NewClaims {
        iss: "DE",
        iat: now - time::Duration::hours(1),
        exp: now + time::Duration::days(300),
        dcc: &dcc,
    })
    .unwrap();
    wrap(&sign1(claims, &p.dsc.kid.0, p.key.alg, |tbs| p.key.sign(tbs)).unwrap())
}

fn bundle(ps: &[&Partner]) -> String {
    ps.iter().map(|p| p.pem.as_str()).collect()
}

/// How the fake upstream answers.
#[derive(Clone)]
pub enum Mode {
    /// 200 with this body and an ETag; 304 when the client sends the ETag back.
    Normal(String),
    Status(u16),
    /// Sends the headers, then nothing for 30 s.
    Hang,
    Garbage,
}

pub struct Upstream {
    pub url: String,
    pub mode: Arc<Mutex<Mode>>,
    hits: Arc<Mutex<Vec<String>>>,
}

/// A tiny HTTP/1.1 server on a free port, one answer per connection.
pub async fn upstream(mode: Mode) -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/trustList", listener.local_addr().unwrap());
    let mode = Arc::new(Mutex::new(mode));
    let hits = Arc::new(Mutex::new(Vec::new()));
    let (m, h) = (Arc::clone(&mode), Arc::clone(&hits));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (m, h) = (Arc::clone(&m), Arc::clone(&h));
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_lowercase();
                h.lock().unwrap().push(head.clone());
                let mode = m.lock().unwrap().clone();
                let reply = |status: &str, extra: &str, body: &[u8]| {
                    let mut r = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                };
                let bytes = match mode {
                    Mode::Normal(body) => {
                        let etag = format!(
                            "\"{}\"",
                            &dcc_gateway::util::hex(
                                ring::digest::digest(&ring::digest::SHA256, body.as_bytes())
                                    .as_ref()
                            )[..16]
                        );
                        if head.contains(&format!("if-none-match: {}", etag.to_lowercase())) {
                            reply("304 Not Modified", "", b"")
                        } else {
                            reply("200 OK", &format!("etag: {etag}\r\n"), body.as_bytes())
                        }
                    }
                    Mode::Status(code) => reply(&format!("{code} Oops"), "", b"upstream broken"),
                    Mode::Garbage => reply("200 OK", "", b"\x00\x01 not a list at all"),
                    Mode::Hang => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
                            .await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Vec::new()
                    }
                };
                let _ = sock.write_all(&bytes).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Upstream { url, mode, hits }
}

pub fn url_source(id: &str, url: &str, max_bytes: u64) -> SourceConfig {
    let mut s = SourceConfig::local_pem(id, "unused".into());
    s.path = None;
    s.url = Some(url.to_owned());
    s.format = Format::Pem;
    s.max_bytes = max_bytes;
    s.timeout_secs = 2;
    s.connect_timeout_secs = 1;
    s.max_removal_share = 0.5;
    s
}

pub fn kids(state: &AppState) -> Vec<String> {
    let mut k: Vec<String> = state
        .trust
        .snapshot
        .load_full()
        .map(|s| s.iter().map(|d| d.kid.to_base64()).collect())
        .unwrap_or_default();
    k.sort();
    k
}

pub fn status_code(state: &AppState, id: &str) -> Option<String> {
    state
        .trust
        .statuses()
        .into_iter()
        .find(|s| s.id == id)
        .and_then(|s| s.last_error.map(|e| e.code))
}

#[tokio::test]
async fn a_misbehaving_upstream_never_costs_a_key_in_force() {
    let ps: Vec<Partner> = (1..=5).map(|n| partner("DE", n)).collect();
    let four = bundle(&[&ps[0], &ps[1], &ps[2], &ps[3]]);
    let up = upstream(Mode::Normal(four.clone())).await;
    let state = AppState::with_sources(
        settings(),
        None,
        None,
        vec![url_source("de", &up.url, 64 * 1024)],
    );
    let set = |m: Mode| *up.mode.lock().unwrap() = m;

    let got = state.trust.refresh("de").await.unwrap();
    assert_eq!(
        got,
        Outcome::Updated {
            added: 4,
            removed: 0
        }
    );
    let good = kids(&state);
    assert_eq!(good.len(), 4);

    // The ETag comes back as If-None-Match and a 304 changes nothing.
    assert_eq!(state.trust.refresh("de").await.unwrap(), Outcome::Unchanged);
    assert!(
        up.hits
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .contains("if-none-match")
    );

    let cases: Vec<(Mode, &str)> = vec![
        (Mode::Status(500), "FETCH_HTTP_STATUS"),
        (Mode::Status(404), "FETCH_HTTP_STATUS"),
        (Mode::Hang, "FETCH_TIMEOUT"),
        (Mode::Normal("x".repeat(100 * 1024)), "FETCH_TOO_LARGE"),
        (Mode::Garbage, "LIST_MALFORMED"),
        (Mode::Normal(String::new()), "LIST_EMPTY"),
        // One key of four left: more than half removed at once.
        (Mode::Normal(bundle(&[&ps[0]])), "LIST_DROPS_TOO_MANY_KEYS"),
    ];
    for (mode, code) in cases {
        set(mode);
        let started = Instant::now();
        let err = state.trust.refresh("de").await.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{code} took too long"
        );
        assert_eq!(kids(&state), good, "{code}: a key in force was lost");
        assert_eq!(status_code(&state, "de").as_deref(), Some(code));
        let st = state
            .trust
            .statuses()
            .into_iter()
            .find(|s| s.id == "de")
            .unwrap();
        assert_eq!(st.status, "failing");
        assert_eq!(st.dscs, 4);
    }
    assert!(matches!(
        state.trust.refresh("de").await,
        Err(RefreshError::Fetch(
            FetchError::Timeout | FetchError::Http(_) | FetchError::TooLarge(_)
        )) | Err(RefreshError::List(_))
            | Err(RefreshError::DropsTooMany { .. })
    ));

    // Upstream healthy again with one more key and one fewer: accepted, the diff is counted.
    set(Mode::Normal(bundle(&[&ps[0], &ps[1], &ps[2], &ps[4]])));
    let got = state.trust.refresh("de").await.unwrap();
    assert_eq!(
        got,
        Outcome::Updated {
            added: 1,
            removed: 1
        }
    );
    let st = state
        .trust
        .statuses()
        .into_iter()
        .find(|s| s.id == "de")
        .unwrap();
    assert_eq!(
        (st.status.as_str(), st.dscs, st.consecutive_failures),
        ("ok", 4, 0)
    );
    assert!(st.last_error.is_none());
    assert!(kids(&state).contains(&ps[4].dsc.kid.to_base64()));
    assert_eq!(
        (st.refreshes_failed, st.added_total, st.removed_total),
        (8, 5, 1)
    );
    assert!(!kids(&state).contains(&ps[3].dsc.kid.to_base64()));
}

/// Starts an instance like `serve` does (trust bootstrap, loops, follower) on a free port.
pub fn spawn_instance(settings: Settings, sources: Vec<SourceConfig>) -> TestApp {
    launch(settings, TrustSetup::Sources(sources))
}

/// Every (token, kid) an app receives paging `/signercertificateUpdate` to 204.
pub async fn tokens(app: &TestApp) -> Vec<(u64, String)> {
    let client = http_client();
    let mut out = Vec::new();
    let mut token = 0u64;
    for _ in 0..50 {
        let res = client
            .get(app.url("/signercertificateUpdate"))
            .header("X-RESUME-TOKEN", token.to_string())
            .send()
            .await
            .unwrap();
        if res.status() == reqwest::StatusCode::NO_CONTENT {
            return out;
        }
        token = res.headers()["x-resume-token"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        out.push((token, res.headers()["x-kid"].to_str().unwrap().to_owned()));
    }
    panic!("never reached 204");
}

#[tokio::test]
async fn instances_share_snapshots_through_redis_and_survive_its_loss() {
    let mut redis = Redis::start();
    let dir = std::env::temp_dir().join(format!("dccgw-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("de.pem");
    let (p1, p2) = (partner("DE", 1), partner("DE", 2));
    std::fs::write(&list, bundle(&[&p1])).unwrap();
    let mut source = SourceConfig::local_pem("de", list.clone());
    source.refresh = "1h".into();
    let with_redis = |data: &str| {
        let mut s = settings();
        s.redis_url = Some(redis.url());
        s.data_dir = dir.join(data);
        s
    };
    let a = spawn_instance(with_redis("a"), vec![source.clone()]);
    let b = spawn_instance(with_redis("b"), vec![source.clone()]);
    let (qr1, qr2) = (hc1_now(&p1), hc1_now(&p2));
    assert_eq!(b.verdict(&qr1).await["valid"], true);
    assert_eq!(b.verdict(&qr2).await["errors"][0]["code"], "KID_UNKNOWN");

    // A ingests a new list; B serves it within 2 seconds.
    std::fs::write(&list, bundle(&[&p1, &p2])).unwrap();
    let got = a.state.trust.refresh("de").await.unwrap();
    assert_eq!(
        got,
        Outcome::Updated {
            added: 1,
            removed: 0
        }
    );
    let published = Instant::now();
    loop {
        if b.verdict(&qr2).await["valid"] == true {
            break;
        }
        assert!(
            published.elapsed() < Duration::from_secs(2),
            "B did not follow A within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = a.get_text("/metrics").await;
    assert!(
        metrics.contains("dccgw_trust_kids_added_total{source=\"de\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("dccgw_trust_source_failing{source=\"de\"} 0"));
    let va = a.state.trust.snapshot.load_full().unwrap().version;
    let vb = b.state.trust.snapshot.load_full().unwrap().version;
    assert_eq!(va, vb);

    // An instance restarted with its upstream gone (and a fresh data dir, so only Redis has
    // the snapshot) serves the last snapshot from Redis.
    let mut gone = source.clone();
    gone.path = Some(dir.join("missing.pem"));
    let c = spawn_instance(with_redis("c"), vec![gone]);
    assert_eq!(c.verdict(&qr2).await["valid"], true);
    assert_eq!(c.state.trust.snapshot.load_full().unwrap().version, va);
    let st = c.state.trust.statuses();
    assert_eq!(st[0].last_error.as_ref().unwrap().code, "FETCH_IO");

    // App-sync resume tokens are cluster-wide: the same token for the same DSC everywhere,
    // including the restarted instance with an empty data directory.
    let (ta, tb, tc) = (tokens(&a).await, tokens(&b).await, tokens(&c).await);
    assert!(ta.len() >= 2, "{ta:?}");
    assert_eq!(ta, tb);
    assert_eq!(ta, tc);

    // Redis stops: verification goes on, on every instance.
    redis.kill();
    for app in [&a, &b, &c] {
        for qr in [&qr1, &qr2] {
            assert_eq!(app.verdict(qr).await["valid"], true);
        }
    }
    // A refresh while Redis is down still lands locally.
    let p3 = partner("DE", 3);
    std::fs::write(&list, bundle(&[&p1, &p2, &p3])).unwrap();
    a.state.trust.refresh("de").await.unwrap();
    assert_eq!(a.verdict(&hc1_now(&p3)).await["valid"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn admin_endpoints_are_off_by_default_and_need_the_token() {
    const TOKEN: &str = "admin-token-0123456789abcdef";
    let dir = std::env::temp_dir().join(format!("dccgw-admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = partner("DE", 1);
    std::fs::write(dir.join("de.pem"), bundle(&[&p])).unwrap();
    let mut s = settings();
    s.admin.token_sha256 = Some(sha256_hex(TOKEN));
    s.admin.bind = Some("127.0.0.1:0".into());
    let app = spawn_instance(s, vec![SourceConfig::local_pem("de", dir.join("de.pem"))]);
    let client = http_client();
    // Not on the public listener, whatever the credentials.
    for path in ["/admin/sources", "/admin/sources/de/refresh"] {
        let res = client
            .post(app.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
    }
    // The admin listener the application bound next to the public one.
    let admin = app
        .admin
        .clone()
        .expect("admin listener enabled by the settings");
    let url = |p: &str| format!("{admin}{p}");
    let mut ready = false;
    for _ in 0..100 {
        if client.get(url("/admin/sources")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ready);
    let res = client.get(url("/admin/sources")).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    let res = client
        .get(url("/admin/sources"))
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    let res = client
        .get(url("/admin/sources"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body[0]["id"], "de");
    assert_eq!(body[0]["dscs"], 1);
    // A forced refresh with a broken file keeps the key and shows the error.
    std::fs::write(dir.join("de.pem"), b"garbage").unwrap();
    let res: Value = client
        .post(url("/admin/sources/de/refresh"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["code"], "LIST_MALFORMED");
    assert_eq!(res["source"]["dscs"], 1);
    assert_eq!(app.verdict(&hc1_now(&p)).await["valid"], true);
    let res = client
        .post(url("/admin/sources/nope/refresh"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_instance_starting_while_a_peer_syncs_does_not_publish_without_its_sources() {
    let redis = Redis::start();
    let dir = std::env::temp_dir().join(format!("dccgw-startlock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p1 = partner("DE", 1);
    std::fs::write(dir.join("de.pem"), &p1.pem).unwrap();
    let source = SourceConfig::local_pem("de", dir.join("de.pem"));
    // A peer is syncing: it holds the sync lock for 1.5 s (and then goes away).
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string()])
        .args(["SET", "{dccgw}:trust:lock", "peer", "PX", "1500"])
        .output()
        .expect("redis-cli comes with redis-server");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    let mut s = settings();
    s.redis_url = Some(redis.url());
    s.data_dir = dir.join("b");
    let started = Instant::now();
    let b = spawn_instance(s, vec![source]);
    // Start-up waited for the lock instead of skipping the source and publishing without it.
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert!(kids(&b.state).contains(&p1.dsc.kid.to_base64()));
    assert_eq!(b.verdict(&hc1_now(&p1)).await["valid"], true);
    let summary = b.get_json("/v1/trust/summary").await;
    assert_eq!(summary["sources"][0]["status"], "ok", "{summary}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_empty_local_folder_is_empty_not_failing_until_it_held_keys() {
    let dir = std::env::temp_dir().join(format!("dccgw-empty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("dsc")).unwrap();
    let mut source = SourceConfig::local_pem("vn", dir.join("dsc"));
    source.refresh = "1h".into();
    let mut s = settings();
    s.data_dir = dir.join("data");
    let app = spawn_instance(s, vec![source]);
    let status = |app: &TestApp| {
        let st = app.state.trust.statuses();
        (
            st[0].status.clone(),
            st[0].last_error.clone().map(|e| e.code),
        )
    };
    // A fresh install: the folder has no certificate yet.
    assert_eq!(status(&app), ("empty".to_owned(), None));
    let summary = app.get_json("/v1/trust/summary").await;
    assert!(summary.to_string().contains("\"empty\""), "{summary}");
    assert!(!summary.to_string().contains("failing"), "{summary}");
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains("dccgw_trust_source_failing{source=\"vn\"} 0"),
        "{metrics}"
    );

    // A certificate arrives: ok, and it verifies.
    let p = partner("VN", 7);
    std::fs::write(dir.join("dsc/a.pem"), bundle(&[&p])).unwrap();
    app.state.trust.refresh("vn").await.unwrap();
    assert_eq!(status(&app), ("ok".to_owned(), None));
    assert_eq!(app.verdict(&hc1_now(&p)).await["valid"], true);

    // Emptied after holding keys: a failure, and the last good copy stays in force.
    std::fs::remove_file(dir.join("dsc/a.pem")).unwrap();
    assert!(app.state.trust.refresh("vn").await.is_err());
    assert_eq!(
        status(&app),
        ("failing".to_owned(), Some("LIST_EMPTY".to_owned()))
    );
    assert_eq!(app.verdict(&hc1_now(&p)).await["valid"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A partner DSC valid from `from` to `to` days relative to now.
fn partner_window(country: &str, n: u64, from: i64, to: i64) -> Partner {
    let now = dcc_gateway::clock::now();
    let key = SignerKey::generate(Alg::Es256).unwrap();
    let mut spec = CertSpec::new(
        country,
        &format!("{country} DSC window {n}"),
        now + time::Duration::days(from),
        now + time::Duration::days(to),
    );
    spec.serial = n;
    let cert = mint::self_signed(&spec, &key).unwrap();
    Partner {
        dsc: Dsc::from_der(&cert.der, "test").unwrap(),
        key,
        pem: cert.pem,
    }
}

/// A certificate by `p` issued `iat` days from now, expiring `exp` days from now.
fn hc1_window(p: &Partner, iat: i64, exp: i64) -> String {
    let now = dcc_gateway::clock::now();
    let dcc = vaccination();
    let claims = cwt_claims(&NewClaims {
        iss: "FR",
        iat: now + time::Duration::days(iat),
        exp: now + time::Duration::days(exp),
        dcc: &dcc,
    })
    .unwrap();
    wrap(&sign1(claims, &p.dsc.kid.0, p.key.alg, |tbs| p.key.sign(tbs)).unwrap())
}

#[tokio::test]
async fn the_trust_timeline_verifies_past_and_future_instants_without_a_refresh() {
    // FR published one DSC that expired 30 days ago and one valid from 10 days from now
    // (real case: French DSCs published months ahead).
    let expired = partner_window("FR", 1, -400, -30);
    let future = partner_window("FR", 2, 10, 700);
    let dir = std::env::temp_dir().join(format!("dccgw-timeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fr.pem"), bundle(&[&expired, &future])).unwrap();
    let app = spawn_instance(
        settings(),
        vec![SourceConfig::local_pem("fr", dir.join("fr.pem"))],
    );
    let client = http_client();
    let verify = |qr: String, at: time::OffsetDateTime| {
        let client = client.clone();
        let url = app.url("/v1/verify");
        async move {
            let res = client
                .post(url)
                .bearer_auth(KEY_PARTNER)
                .json(&serde_json::json!({"qr": qr, "at": dcc_gateway::util::rfc3339(at)}))
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()
        }
    };
    let now = dcc_gateway::clock::now();
    let days = |n: i64| now + time::Duration::days(n);
    // Both DSCs are in the snapshot (beside the development VN key), neither is valid now.
    let snap = app.state.trust.snapshot.load_full().unwrap();
    assert_eq!(
        snap.iter()
            .filter(|d| d.country.as_deref() == Some("FR"))
            .count(),
        2
    );

    // A certificate signed while the expired DSC was valid verifies at that past instant...
    let old = hc1_window(&expired, -200, 100);
    let v = verify(old.clone(), days(-100)).await;
    assert_eq!(v["valid"], true, "{v}");
    // ...and now it names the DSC's validity, not an unknown kid.
    let v = verify(old, now).await;
    assert_eq!(v["valid"], false);
    let codes: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"DSC_NOT_VALID") && !codes.contains(&"KID_UNKNOWN"),
        "{v}"
    );

    // The future DSC: not valid before its start, valid from it on with no refresh at all.
    let ahead = hc1_window(&future, 11, 300);
    let v = verify(ahead.clone(), days(20)).await;
    assert_eq!(v["valid"], true, "{v}");
    let v = verify(ahead, days(5)).await;
    assert_eq!(v["valid"], false, "{v}");

    // App sync offers only DSCs valid now.
    let fr = [expired.dsc.kid.to_base64(), future.dsc.kid.to_base64()];
    let status = app.get_json("/signercertificateStatus").await;
    let offered: Vec<String> = status
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    assert!(!offered.is_empty(), "the VN key is offered: {status}");
    assert!(offered.iter().all(|k| !fr.contains(k)), "{status}");
    let synced = tokens(&app).await;
    assert!(
        !synced.is_empty() && synced.iter().all(|(_, kid)| !fr.contains(kid)),
        "{synced:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_source_not_confirmed_within_max_age_marks_its_verdicts_trust_stale() {
    let p = partner("DE", 1);
    let dir = std::env::temp_dir().join(format!("dccgw-stale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("de.pem"), bundle(&[&p])).unwrap();
    let mut source = SourceConfig::local_pem("de", dir.join("de.pem"));
    source.max_age = "2s".into();
    let app = spawn_instance(settings(), vec![source]);
    let warnings = |v: &Value| -> Vec<String> {
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_owned())
            .collect()
    };
    app.state.trust.update_staleness();
    let v = app.verdict(&hc1_now(&p)).await;
    assert_eq!(v["valid"], true, "{v}");
    assert!(!warnings(&v).contains(&"TRUST_STALE".to_owned()), "{v}");

    // No successful refresh for longer than max_age: still valid (the last good keys stay in
    // force), with the warning; readiness, summary and metrics say which source.
    // Whole seconds are compared: wait past max_age plus one.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    app.state.trust.update_staleness();
    let v = app.verdict(&hc1_now(&p)).await;
    assert_eq!(v["valid"], true, "{v}");
    assert!(warnings(&v).contains(&"TRUST_STALE".to_owned()), "{v}");
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["stale_sources"], serde_json::json!(["de"]), "{ready}");
    let summary = app.get_json("/v1/trust/summary").await;
    let de = summary["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "de")
        .cloned()
        .unwrap();
    assert_eq!(de["stale"], true, "{summary}");
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics.contains("dccgw_trust_source_stale{source=\"de\"} 1"),
        "{metrics}"
    );

    // A successful refresh (the same content) confirms the source again.
    app.state.trust.refresh("de").await.unwrap();
    app.state.trust.update_staleness();
    let v = app.verdict(&hc1_now(&p)).await;
    assert!(!warnings(&v).contains(&"TRUST_STALE".to_owned()), "{v}");
    assert_eq!(
        app.get_json("/readyz").await["stale_sources"],
        serde_json::json!([])
    );
    let _ = std::fs::remove_dir_all(&dir);
}
