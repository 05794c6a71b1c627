//! Logs and metrics carry no personal data, no QR text and no API keys, even at debug level.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use dcc_gateway::crypto::Alg;
use serde_json::json;

use super::helpers::*;
use super::support::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let c = Capture::default();
        let writer = c.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .init();
        c
    })
}

#[tokio::test]
async fn no_names_birth_dates_uvcis_qr_text_or_keys_in_logs() {
    let logs = capture();
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let mut dcc = vaccination();
    dcc["nam"]["fn"] = "Zzyzxwarden".into();
    dcc["nam"]["fnt"] = "ZZYZXWARDEN".into();
    dcc["dob"] = "1931-02-27".into();
    dcc["v"][0]["ci"] = "URN:UVCI:01:VN:SECRETUVCI42".into();
    let qr = hc1(&s, &dcc);
    let c = http_client();
    for (body, key) in [
        (
            json!({"qr": qr, "at": "2021-06-01T00:00:00Z", "detail": "full"}),
            KEY_PARTNER,
        ),
        (json!({"qr": qr}), KEY_PARTNER),
        (json!({"qr": qr}), "not-a-real-key-but-secret"),
    ] {
        c.post(app.url("/v1/verify"))
            .bearer_auth(key)
            .header("x-request-id", "privacy-test-1")
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    c.post(app.url("/v1/verify/batch"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"items": [{"qr": qr}]}))
        .send()
        .await
        .unwrap();
    let metrics = app.get_text("/metrics").await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("privacy-test-1"),
        "the request id is logged: {text}"
    );
    assert!(text.contains("verdict"), "verdicts are logged");
    for secret in [
        "Zzyzxwarden",
        "ZZYZXWARDEN",
        "1931-02-27",
        "SECRETUVCI42",
        &qr[4..40],
        KEY_PARTNER,
        "not-a-real-key-but-secret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into logs");
        assert!(!metrics.contains(secret), "{secret} leaked into metrics");
    }
}

#[tokio::test]
async fn new_snapshot_makes_the_cache_miss_and_metrics_have_the_series() {
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let c = http_client();
    let req = json!({"qr": hc1(&s, &vaccination()), "at": "2021-06-01T00:00:00Z"});
    let first = c
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&req)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(app.state.cache.len(), 1);
    let again = c
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&req)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(app.state.cache.len(), 1, "a repeated QR is a hit");
    let other = signer(Alg::Es256);
    app.state
        .trust
        .swap_snapshot(dcc_gateway::trust::model::TrustSnapshot::new(
            2,
            [s.dsc.clone(), other.dsc.clone()],
        ));
    let after = c
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&req)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(app.state.cache.len(), 2, "a new snapshot is a miss");
    assert_ne!(
        after["provenance"]["trust_snapshot"],
        first["provenance"]["trust_snapshot"]
    );
    assert_eq!(after["valid"], true);
    let m = app.get_text("/metrics").await;
    for series in [
        "dccgw_http_requests_total{route=\"/v1/verify\",status=\"200\"}",
        "dccgw_verdict_errors_total{code=\"CWT_EXPIRED\"}",
        "dccgw_verify_latency_seconds_bucket",
        "dccgw_cache_hit_ratio",
        "dccgw_rate_limited_total",
        "dccgw_trust_source_dscs{source=\"test\"} 2",
        "dccgw_trust_snapshot_age_seconds",
    ] {
        assert!(m.contains(series), "{series} missing from /metrics");
    }
    let ready: serde_json::Value = app.get_json("/readyz").await;
    assert_eq!(ready["snapshot_version"], 2);
    assert!(ready["snapshot_age_secs"].as_i64().unwrap() >= 0);
    assert_eq!(ready["redis"], "disabled");
    let docs = c.get(app.url("/docs")).send().await.unwrap();
    assert!(
        docs.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(docs.text().await.unwrap().contains("/docs/docs.js"));
}
