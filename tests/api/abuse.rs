//! Abuse limits: slow headers and slow bodies, idle keep-alive connections, oversized headers
//! and URLs, deeply nested JSON, image dimensions, concurrent connections per address. Each
//! bound holds and the service keeps answering others. (Body and batch sizes and the image
//! byte limit are in `verify.rs`.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::*;
use super::support::*;

async fn healthy(app: &TestApp) {
    let res = http_client().get(app.url("/healthz")).send().await.unwrap();
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

/// The value of an unlabelled counter in a `/metrics` text (the counters are process-wide,
/// shared by every test in this binary, so tests assert lower bounds).
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
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

#[tokio::test]
async fn slow_bodies_are_cut_off_and_others_are_served() {
    let mut s = settings();
    s.http.body_timeout_secs = 1;
    let app = spawn_app(s, Some(snapshot(&[])));
    let mut c = raw(&app);
    // Headers complete, 10 of 1 000 body bytes, then nothing: a slowloris on the body.
    c.write_all(
        format!(
            "POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_PARTNER}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nHC1:NCFOX"
        )
        .as_bytes(),
    )
    .unwrap();
    healthy(&app).await;
    let started = Instant::now();
    let reply = tokio::task::spawn_blocking(move || read_reply(&mut c))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow body was cut off by the body deadline"
    );
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("connection: close"),
        "{reply}"
    );
    healthy(&app).await;
    let metrics = app.get_text("/metrics").await;
    assert!(metric(&metrics, "dccgw_body_timeouts_total") >= 1);
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let mut s = settings();
    s.http.keep_alive_secs = 1;
    let app = spawn_app(s, Some(snapshot(&[])));
    let mut c = raw(&app);
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let (first, rest) = tokio::task::spawn_blocking(move || {
        let first = read_reply(&mut c);
        // The server keeps the connection for keep_alive_secs, then closes it: read sees EOF.
        let mut buf = [0u8; 1024];
        let mut tail = Vec::new();
        loop {
            match c.read(&mut buf) {
                Ok(0) => break Ok((first, tail)),
                Ok(n) => tail.extend_from_slice(&buf[..n]),
                Err(e) => break Err(e),
            }
        }
    })
    .await
    .unwrap()
    .expect("the idle connection is closed by the server, not left to the read timeout");
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed after about keep_alive_secs: {:?}",
        started.elapsed()
    );
    // Whatever arrived after the answer is the rest of its body, never another response.
    assert!(!String::from_utf8_lossy(&rest).contains("HTTP/1.1"));
    healthy(&app).await;
}

/// A PNG whose header declares `width` x `height` 8-bit grey pixels, with one tiny IDAT: a few
/// hundred bytes on the wire that would need `width * height` bytes to decode.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 64 * 1024]).unwrap();
    chunk(&mut png, b"IDAT", &z.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A baseline JPEG whose frame header declares `width` x `height` grey pixels, with valid
/// quantisation and Huffman tables and an empty scan: about 100 bytes.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    fn segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(data);
    }
    let mut jpeg = vec![0xFF, 0xD8];
    let mut dqt = vec![0x00];
    dqt.extend_from_slice(&[1u8; 64]);
    segment(&mut jpeg, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.extend_from_slice(&[1, 1, 0x11, 0]);
    segment(&mut jpeg, 0xC0, &sof);
    // One code of length 1 for symbol 0, as the DC and as the AC table.
    for class in [0x00u8, 0x10] {
        let mut dht = vec![class, 1];
        dht.extend_from_slice(&[0u8; 15]);
        dht.push(0);
        segment(&mut jpeg, 0xC4, &dht);
    }
    segment(&mut jpeg, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    jpeg.extend_from_slice(&[0x00, 0xFF, 0xD9]);
    jpeg
}

#[tokio::test]
async fn image_dimensions_are_checked_before_any_pixel_is_decoded() {
    let app = spawn_app(settings(), Some(snapshot(&[])));
    // PAYLOAD_TOO_LARGE comes only from the size checks; a file the decoders cannot read at
    // all is QR_NOT_FOUND (as the PNG with no rows shows).
    let cases = [
        (
            "PNG 20000x20000",
            "image/png",
            png_declaring(20_000, 20_000),
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "PNG 2^31-1 x 2",
            "image/png",
            png_declaring(u32::MAX / 2, 2),
            "PAYLOAD_TOO_LARGE",
        ),
        ("PNG 1x0", "image/png", png_declaring(1, 0), "QR_NOT_FOUND"),
        (
            "JPEG 30000x30000",
            "image/jpeg",
            jpeg_declaring(30_000, 30_000),
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "JPEG 65535x65535",
            "image/jpeg",
            jpeg_declaring(u16::MAX, u16::MAX),
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (name, media, bytes, want) in cases {
        assert!(bytes.len() < 2048, "{name}: the bomb is small on the wire");
        let started = Instant::now();
        let res = http_client()
            .post(app.url("/v1/verify/image"))
            .bearer_auth(KEY_PARTNER)
            .header("content-type", media)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{name}: a verdict, not an error"
        );
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["valid"], false);
        assert_eq!(v["errors"][0]["code"], want, "{name}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{name} was refused without decoding"
        );
    }
    healthy(&app).await;
}

#[tokio::test]
async fn connections_per_address_are_capped_and_other_addresses_are_served() {
    let mut s = settings();
    s.http.max_connections_per_ip = 4;
    let app = spawn_app(s, Some(snapshot(&[])));
    // Four idle connections from 127.0.0.1 (no request sent: slowloris sockets count too).
    let mut held: Vec<TcpStream> = (0..4).map(|_| raw(&app)).collect();
    // Give the server the time to accept them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut fifth = raw(&app);
    let reply = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        let _ = fifth.read_to_string(&mut all);
        all
    })
    .await
    .unwrap();
    assert!(reply.starts_with("HTTP/1.1 429"), "{reply}");
    assert!(reply.contains("TOO_MANY_CONNECTIONS"), "{reply}");
    assert!(reply.contains("X-Content-Type-Options: nosniff"), "{reply}");
    // Another address (the whole of 127/8 is loopback) is served meanwhile.
    let other = client_builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let res = other.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A closed connection gives its slot back.
    drop(held.pop());
    let mut again = false;
    for _ in 0..50 {
        let res = client_builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
            .get(app.url("/healthz"))
            .send()
            .await;
        if let Ok(r) = res
            && r.status() == StatusCode::OK
        {
            again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again, "the released slot was reused");
    // From the other address: this one may still be at its cap while the server notices the
    // closed connections.
    let res = other.get(app.url("/metrics")).send().await.unwrap();
    let metrics = res.text().await.unwrap();
    assert!(metric(&metrics, "dccgw_connections_refused_total") >= 1);
    drop(held);
}
