//! Abuse limits: slow clients, oversized headers and URLs, deeply nested JSON. Each bound holds
//! and the service keeps answering others.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::helpers::*;
use super::support::*;

async fn healthy(app: &TestApp) {
    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the service still answers others"
    );
}

fn raw(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until the server closes or answers; returns what it sent.
fn read_reply(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_others_are_served() {
    let mut s = settings();
    s.http.client_request_timeout_secs = 1;
    let app = spawn_app(s, Some(snapshot(&[])));
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut c = raw(&app);
            c.write_all(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            c
        })
        .collect();
    healthy(&app).await;
    let started = Instant::now();
    let reply = tokio::task::spawn_blocking(move || read_reply(&mut slow[0]))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow client was cut off by the header timeout"
    );
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 408"),
        "{reply}"
    );
    healthy(&app).await;
}

#[tokio::test]
async fn oversized_headers_and_urls_are_refused() {
    let app = spawn_app(settings(), Some(snapshot(&[])));
    let huge = "a".repeat(128 * 1024);
    let mut c = raw(&app);
    c.write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n").as_bytes())
        .unwrap_or(());
    let reply = tokio::task::spawn_blocking(move || read_reply(&mut c))
        .await
        .unwrap();
    assert!(
        !reply.starts_with("HTTP/1.1 200"),
        "a 128 KiB header is not accepted: {}",
        &reply[..reply.len().min(80)]
    );
    let mut c = raw(&app);
    c.write_all(format!("GET /healthz?{huge} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap_or(());
    let reply = tokio::task::spawn_blocking(move || read_reply(&mut c))
        .await
        .unwrap();
    assert!(
        !reply.starts_with("HTTP/1.1 200"),
        "a 128 KiB URL is not accepted: {}",
        &reply[..reply.len().min(80)]
    );
    healthy(&app).await;
}

#[tokio::test]
async fn deeply_nested_json_is_a_bad_request() {
    let app = spawn_app(settings(), Some(snapshot(&[])));
    let body = format!("{{\"qr\": {}1{}}}", "[".repeat(5000), "]".repeat(5000));
    let res = http_client()
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    healthy(&app).await;
}
