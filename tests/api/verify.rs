//! The verify endpoints: contract, media types, batch order, images, cache equivalence.

use dcc_gateway::crypto::Alg;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::*;
use super::support::*;

fn client() -> reqwest::Client {
    http_client()
}

#[tokio::test]
async fn verify_json_and_text_bodies_give_the_contract_result() {
    let s = signer(Alg::Ps256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let qr = hc1(&s, &vaccination());
    let res = client()
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"qr": qr, "at": "2021-06-01T00:00:00Z", "detail": "full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("ratelimit-remaining"));
    assert!(!res.headers().contains_key("server"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["certificate"]["alg"], "PS256");
    assert_eq!(body["certificate"]["dcc"]["nam"]["fnt"], "NGUYEN");

    // text/plain: verified "now" (2026+), the certificate has expired: 200 with valid=false.
    let res = client()
        .post(app.url("/v1/verify"))
        .header("X-API-Key", KEY_PARTNER)
        .header("content-type", "text/plain")
        .body(format!("{qr}\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["valid"], false);
    assert_eq!(body["errors"][0]["code"], "CWT_EXPIRED");
    assert!(
        body["certificate"]["dcc"].is_null(),
        "minimal detail by default"
    );

    // Garbage is a verdict, not an HTTP error.
    let res = client()
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"qr": "HC1:???"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["errors"][0]["code"],
        "BASE45_INVALID"
    );
}

#[tokio::test]
async fn malformed_requests_get_the_error_envelope() {
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            client()
                .post(app.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            client()
                .post(app.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .json(&json!({"qr": 5})),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            client()
                .post(app.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .json(&json!({"qr": "x", "at": "tomorrow"})),
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
        ),
        (
            client()
                .post(app.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .header("content-type", "application/xml")
                .body("<qr/>"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            client()
                .post(app.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .header("content-type", "text/plain")
                .body("A".repeat(64 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "BODY_TOO_LARGE",
        ),
        (
            client()
                .post(app.url("/v1/verify"))
                .json(&json!({"qr": "x"})),
            StatusCode::UNAUTHORIZED,
            "API_KEY_MISSING",
        ),
        (
            client()
                .post(app.url("/v1/verify"))
                .bearer_auth("wrong-key")
                .json(&json!({"qr": "x"})),
            StatusCode::UNAUTHORIZED,
            "API_KEY_INVALID",
        ),
        (
            client()
                .post(app.url("/v1/verify/batch"))
                .bearer_auth(KEY_VERIFY_ONLY)
                .json(&json!({"items": []})),
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        ),
        (
            client().get(app.url("/nope")),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
    ];
    for (req, status, code) in cases {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{code}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn batch_keeps_input_order_and_enforces_its_size() {
    let es = signer(Alg::Es256);
    let ps = signer(Alg::Ps256);
    let app = spawn_app(settings(), Some(snapshot(&[&es, &ps])));
    let items = vec![
        json!({"qr": hc1(&es, &vaccination()), "at": "2021-06-01T00:00:00Z"}),
        json!({"qr": "HC1:garbage"}),
        json!({"qr": hc1(&ps, &test_cert()), "at": "2021-06-01T00:00:00Z"}),
        json!({"qr": hc1(&ps, &recovery()), "at": "2030-06-01T00:00:00Z"}),
    ];
    let res = client()
        .post(app.url("/v1/verify/batch"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"items": items}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["certificate"]["type"], "vaccination");
    assert_eq!(results[1]["errors"][0]["code"], "BASE45_INVALID");
    assert_eq!(results[2]["certificate"]["type"], "test");
    assert_eq!(results[3]["errors"][0]["code"], "CWT_EXPIRED");

    let too_many: Vec<Value> = (0..101).map(|_| json!({"qr": "HC1:"})).collect();
    let res = client()
        .post(app.url("/v1/verify/batch"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"items": too_many}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "BATCH_TOO_LARGE"
    );
}

#[tokio::test]
async fn error_answers_of_admitted_requests_carry_the_quota_headers() {
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let qr = hc1(&s, &vaccination());
    let cases = [
        (
            "/v1/verify",
            "application/json",
            json!({"qr": qr, "at": "yesterday"}).to_string(),
            400,
        ),
        ("/v1/verify", "application/xml", "<qr/>".to_owned(), 415),
        (
            "/v1/verify/batch",
            "application/json",
            "{\"items\": 7}".to_owned(),
            400,
        ),
        (
            "/v1/verify/image",
            "text/plain",
            "not an image".to_owned(),
            415,
        ),
    ];
    for (path, ctype, body, status) in cases {
        let res = client()
            .post(app.url(path))
            .bearer_auth(KEY_PARTNER)
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{path} {ctype}");
        for h in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
            assert!(res.headers().contains_key(h), "{path} {ctype}: {h}");
        }
        let err: Value = res.json().await.unwrap();
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.contains("request body"), "{message}");
    }
}

#[tokio::test]
async fn image_formats_are_read_from_the_bytes_not_the_declared_type() {
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let qr = hc1(&s, &vaccination());
    let m = super::photo::Modules::new(&qr, qrcode::EcLevel::Q);
    let flat = super::photo::flat(&m, 3.0, 4.0);
    for (declared, bytes) in [
        ("image/webp", super::photo::webp(&flat)),
        ("image/png", super::photo::jpeg(&flat, 70)), // a JPEG named .png
        ("image/heic", super::photo::png(&flat)),     // any image type: the bytes decide
    ] {
        let res = client()
            .post(app.url("/v1/verify/image?at=2021-06-01T00:00:00Z"))
            .bearer_auth(KEY_PARTNER)
            .header("content-type", declared)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{declared}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["valid"],
            true,
            "{declared}"
        );
    }
    let res = client()
        .post(app.url("/v1/verify/image"))
        .bearer_auth(KEY_PARTNER)
        .header("content-type", "text/plain")
        .body(super::photo::png(&flat))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn image_upload_raw_and_multipart() {
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let png = qr_png(&hc1(&s, &vaccination()));
    let res = client()
        .post(app.url("/v1/verify/image?at=2021-06-01T00:00:00Z"))
        .bearer_auth(KEY_PARTNER)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["valid"], true);

    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(png)
            .file_name("qr.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let res = client()
        .post(app.url("/v1/verify/image?at=2021-06-01T00:00:00Z"))
        .bearer_auth(KEY_PARTNER)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["certificate"]["type"],
        "vaccination"
    );

    let res = client()
        .post(app.url("/v1/verify/image"))
        .bearer_auth(KEY_PARTNER)
        .header("content-type", "image/png")
        .body(b"\x89PNG\r\n\x1a\nbroken".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["errors"][0]["code"],
        "QR_NOT_FOUND"
    );

    let res = client()
        .post(app.url("/v1/verify/image"))
        .bearer_auth(KEY_PARTNER)
        .header("content-type", "image/png")
        .body(vec![0u8; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn cached_and_uncached_answers_are_identical() {
    let s = signer(Alg::Es256);
    let mut no_cache = settings();
    no_cache.cache_capacity = 0;
    let cached = spawn_app(settings(), Some(snapshot(&[&s])));
    let uncached = spawn_app(no_cache, Some(snapshot(&[&s])));
    let mut tampered = hc1(&s, &vaccination());
    tampered.pop();
    let inputs = [
        hc1(&s, &vaccination()),
        hc1(&s, &test_cert()),
        tampered,
        "HC1:".to_owned(),
    ];
    for at in [
        "2021-06-01T00:00:00Z",
        "2029-01-01T00:00:00Z",
        "2021-05-01T00:00:00Z",
    ] {
        for qr in &inputs {
            let req = json!({"qr": qr, "at": at, "detail": "full"});
            let mut answers = Vec::new();
            for app in [&cached, &cached, &uncached] {
                let res = client()
                    .post(app.url("/v1/verify"))
                    .bearer_auth(KEY_PARTNER)
                    .json(&req)
                    .send()
                    .await
                    .unwrap();
                answers.push(res.json::<Value>().await.unwrap());
            }
            assert_eq!(answers[0], answers[1]);
            assert_eq!(answers[1], answers[2]);
        }
    }
    assert!(!cached.state.cache.is_empty());
    assert!(uncached.state.cache.is_empty());
}

#[tokio::test]
async fn readiness_health_and_metrics() {
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let r: Value = app.get_json("/readyz").await;
    assert_eq!(r["status"], "ready");
    assert_eq!(r["dscs"], 1);
    assert_eq!(
        client()
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let qr = hc1(&s, &vaccination());
    client()
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"qr": qr}))
        .send()
        .await
        .unwrap();
    let m = app.get_text("/metrics").await;
    assert!(m.contains("dccgw_trust_dscs 1"), "{m}");
    assert!(m.contains("dccgw_verify_latency_seconds_count"));
    assert!(
        !m.contains("NGUYEN") && !m.contains(&qr[..20]),
        "no personal data or QR text in metrics"
    );

    let not_ready = spawn_app(settings(), None);
    let res = client().get(not_ready.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = client()
        .post(not_ready.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"qr": "HC1:"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "NOT_READY"
    );
}

#[tokio::test]
async fn web_page_and_trust_summary() {
    let es = signer(Alg::Es256);
    let ps = signer(Alg::Ps256);
    let app = spawn_app(settings(), Some(snapshot(&[&es, &ps])));
    let page = client().get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("/assets/app.js") && !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    for asset in ["/assets/app.js", "/assets/app.css"] {
        assert_eq!(
            client().get(app.url(asset)).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    let t: Value = app.get_json("/v1/trust/summary").await;
    assert_eq!(t["dscs"], 2);
    assert_eq!(t["countries"], json!([{"country": "VN", "dscs": 2}]));
    assert_eq!(t["sources"][0]["source"], "test");
    assert_eq!(t["sources"][0]["status"], "ok");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_no_server_version() {
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let qr = hc1(&s, &vaccination());
    let c = client();
    let answers = [
        (
            "verify 200",
            c.post(app.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .json(&json!({ "qr": qr })),
        ),
        (
            "verify 401",
            c.post(app.url("/v1/verify")).json(&json!({ "qr": qr })),
        ),
        (
            "verify 400",
            c.post(app.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .header("content-type", "application/json")
                .body("{"),
        ),
        ("not found", c.get(app.url("/no/such/route"))),
        ("page", c.get(app.url("/"))),
        ("docs", c.get(app.url("/docs"))),
        ("metrics", c.get(app.url("/metrics"))),
        ("summary", c.get(app.url("/v1/trust/summary"))),
        ("openapi", c.get(app.url("/openapi.json"))),
    ];
    for (name, req) in answers {
        let res = req.send().await.unwrap();
        let h = res.headers();
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{name}"
        );
        assert_eq!(
            h.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..]),
            "{name}"
        );
        assert_eq!(
            h.get("referrer-policy").map(|v| v.as_bytes()),
            Some(&b"no-referrer"[..]),
            "{name}"
        );
        assert!(h.get("server").is_none(), "{name}: no Server header");
        assert!(h.get("x-request-id").is_some(), "{name}: a request id");
        let is_page = h
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
        if is_page {
            let csp = h
                .get("content-security-policy")
                .unwrap_or_else(|| panic!("{name}: an HTML page without CSP"))
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'none'"), "{name}: {csp}");
            assert!(
                !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
                "{name}: {csp}"
            );
        }
        if name == "page" || name == "docs" {
            assert!(is_page, "{name} is an HTML page");
        }
    }
}

/// `POST path` with `body` as the partner; the JSON answer.
async fn post_json(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let res = client()
        .post(app.url(path))
        .bearer_auth(KEY_PARTNER)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_destination_applies_its_business_rules_and_valid_keeps_its_meaning() {
    // The shipped example rules of trust-lists/rules/VN (the default rules folder).
    let s = signer(Alg::Es256);
    let app = spawn_app(settings(), Some(snapshot(&[&s])));
    let at = "2021-06-01T00:00:00Z";
    let vn = json!({"country": "VN"});
    let complete = hc1(&s, &vaccination());
    let (status, body) = post_json(
        &app,
        "/v1/verify",
        json!({"qr": complete, "at": at, "destination": vn}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["admissible"], true, "{body}");
    let passed: Vec<&str> = body["rules"]["passed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(passed, ["VR-VN-0001", "VR-VN-0002"], "{body}");
    assert_eq!(body["rules"]["country"], "VN");

    // The last dose is 7 days old: technically valid, not admissible, the failing rule named.
    let mut recent = vaccination();
    recent["v"][0]["dt"] = json!("2021-05-25");
    let (_, body) = post_json(
        &app,
        "/v1/verify",
        json!({"qr": hc1(&s, &recent), "at": at, "destination": vn}),
    )
    .await;
    assert_eq!(
        (body["valid"].clone(), body["admissible"].clone()),
        (json!(true), json!(false)),
        "{body}"
    );
    assert_eq!(body["rules"]["failed"][0]["identifier"], "VR-VN-0001");
    assert!(
        body["rules"]["failed"][0]["description"]
            .as_str()
            .unwrap()
            .contains("EXAMPLE")
    );

    // A test sample of 88 hours fails TR-VN-0001; at 40 hours both test rules pass (batch).
    let test = hc1(&s, &test_cert());
    let (status, body) = post_json(
        &app,
        "/v1/verify/batch",
        json!({"items": [
        {"qr": test, "at": "2021-06-01T00:00:00Z"}, {"qr": test, "at": "2021-06-03T00:00:00Z"}],
        "destination": vn}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["admissible"], true, "{body}");
    assert_eq!(body["results"][1]["admissible"], false, "{body}");
    assert_eq!(
        body["results"][1]["rules"]["failed"][0]["identifier"],
        "TR-VN-0001"
    );

    // No rules for a destination: nothing to judge by (null). No destination: no rule fields.
    let (_, body) = post_json(
        &app,
        "/v1/verify",
        json!({"qr": complete, "at": at, "destination": {"country": "ZZ"}}),
    )
    .await;
    assert_eq!(body["admissible"], Value::Null, "{body}");
    assert!(body["rules"]["passed"].as_array().unwrap().is_empty());
    let (_, body) = post_json(&app, "/v1/verify", json!({"qr": complete, "at": at})).await;
    assert!(
        body.get("admissible").is_none() && body.get("rules").is_none(),
        "{body}"
    );

    // An invalid certificate is never admissible, and no rule sees its data.
    let other = signer(Alg::Es256);
    let (_, body) = post_json(
        &app,
        "/v1/verify",
        json!({"qr": hc1(&other, &vaccination()), "at": at, "destination": vn}),
    )
    .await;
    assert_eq!(
        (body["valid"].clone(), body["admissible"].clone()),
        (json!(false), json!(false)),
        "{body}"
    );
    assert!(body.get("rules").is_none(), "{body}");

    // The summary shows the rules in force and where they come from.
    let t: Value = app.get_json("/v1/trust/summary").await;
    assert_eq!(t["rules"]["total"], 5, "{t}");
    assert_eq!(t["rules"]["destinations"], json!(["VN"]));
    assert_eq!(t["rules"]["by_source"], json!({"local-rules": 5}));

    // A malformed destination is a 400 with the error envelope.
    let (status, body) = post_json(
        &app,
        "/v1/verify",
        json!({"qr": complete, "destination": {"country": "vietnam"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "BAD_REQUEST");
}
