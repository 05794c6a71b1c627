//! Fault injection under load: two instances share one redis-server while a load generator
//! sends verify requests to both; Redis is killed, kept down 10 s and restarted, and a snapshot
//! is published during the outage. Target: zero 5xx, zero verdict mismatches, both instances
//! on the new snapshot afterwards. (SIGTERM under load is `abuse.rs`'s graceful-shutdown test;
//! upstream faults are `trust.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dcc_gateway::trust::sources::SourceConfig;
use serde_json::json;

use super::helpers::*;
use super::trust::{hc1_now, partner, spawn_instance};

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    ok: AtomicU64,
    server_errors: AtomicU64,
    limited: AtomicU64,
    transport: AtomicU64,
    mismatches: AtomicU64,
}

#[tokio::test]
async fn redis_outage_under_load_costs_no_request_and_no_verdict() {
    let mut redis = Redis::start();
    let dir = std::env::temp_dir().join(format!("dccgw-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
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

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4u64 {
        let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
        let app = Arc::clone(if w % 2 == 0 { &a } else { &b });
        let (good, unknown) = (good.clone(), unknown.clone());
        workers.push(tokio::spawn(async move {
            let client = http_client();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let (qr, expect_valid) = if i.is_multiple_of(3) {
                    (&unknown, false)
                } else {
                    (&good, true)
                };
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let res = client
                    .post(app.url("/v1/verify"))
                    .header("X-API-Key", KEY_PARTNER)
                    .timeout(Duration::from_secs(5))
                    .json(&json!({ "qr": qr }))
                    .send()
                    .await;
                match res {
                    Err(_) => {
                        tally.transport.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) if r.status().is_server_error() => {
                        tally.server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) if r.status().as_u16() == 429 => {
                        tally.limited.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        if v["valid"] == expect_valid {
                            tally.ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tally.mismatches.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.kill();
    let outage = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A snapshot published during the outage (A ingests a new list; Redis cannot take it).
    std::fs::write(&list, format!("{}{}", p1.pem, p2.pem)).unwrap();
    a.state.trust.refresh(&a.state, "de").await.unwrap();
    let qr2 = hc1_now(&p2);
    while outage.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    redis.restart();
    // Both instances reconnect and converge on A's snapshot.
    let back = Instant::now();
    let client = http_client();
    loop {
        let v: serde_json::Value = client
            .post(b.url("/v1/verify"))
            .header("X-API-Key", KEY_PARTNER)
            .json(&json!({ "qr": qr2 }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["valid"] == true {
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
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    eprintln!(
        "fault suite: sent {} ok {} 5xx {} 429 {} transport {} mismatches {}; B converged {:?} after Redis restart",
        get(&tally.sent),
        get(&tally.ok),
        get(&tally.server_errors),
        get(&tally.limited),
        get(&tally.transport),
        get(&tally.mismatches),
        converged
    );
    assert!(get(&tally.sent) > 200, "the load generator barely ran");
    assert_eq!(get(&tally.server_errors), 0);
    assert_eq!(get(&tally.transport), 0);
    assert_eq!(get(&tally.mismatches), 0);
    assert_eq!(get(&tally.limited), 0);
    assert_eq!(
        a.state.snapshot.load_full().unwrap().id,
        b.state.snapshot.load_full().unwrap().id
    );
    let _ = std::fs::remove_dir_all(&dir);
}
