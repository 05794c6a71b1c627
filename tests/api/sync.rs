//! The DGCA app-sync protocol: paging to 204, status list with ETag/304, delta with a deletion,
//! lookup by kid, tokens stable across a restart.

use dcc_gateway::crypto::Alg;
use dcc_gateway::trust::model::TrustSnapshot;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::*;
use super::support::*;

async fn drain(app: &TestApp, from: Option<u64>) -> Vec<(u64, String, String)> {
    let c = http_client();
    let mut token = from;
    let mut out = Vec::new();
    for _ in 0..100 {
        let mut req = c.get(app.url("/signercertificateUpdate"));
        if let Some(t) = token {
            req = req.header("X-RESUME-TOKEN", t.to_string());
        }
        let res = req.send().await.unwrap();
        if res.status() == StatusCode::NO_CONTENT {
            return out;
        }
        assert_eq!(res.status(), StatusCode::OK);
        let t: u64 = res.headers()["x-resume-token"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let kid = res.headers()["x-kid"].to_str().unwrap().to_owned();
        assert!(token.is_none_or(|prev| t > prev), "tokens increase");
        out.push((t, kid, res.text().await.unwrap()));
        token = Some(t);
    }
    panic!("never reached 204");
}

#[tokio::test]
async fn app_sync_protocol() {
    // DSCs valid now: the status list names only those.
    let now = dcc_gateway::clock::now();
    let spec = dcc_gateway::keys::mint::CertSpec::new(
        "VN",
        "sync test DSC",
        now - time::Duration::days(1),
        now + time::Duration::days(365),
    );
    let (a, b, c) = (
        signer_with(Alg::Es256, &spec),
        signer_with(Alg::Ps256, &spec),
        signer_with(Alg::Es256, &spec),
    );
    let cfg = settings();
    let app = spawn_app(cfg.clone(), Some(snapshot(&[&a, &b])));
    let first = drain(&app, None).await;
    assert_eq!(first.len(), 2);
    for (_, kid, raw) in &first {
        let der = dcc_gateway::util::base64_decode(raw).unwrap();
        assert_eq!(
            &dcc_gateway::trust::model::Kid::of_der(&der).to_base64(),
            kid
        );
    }
    let client = http_client();
    let res = client
        .get(app.url("/signercertificateStatus"))
        .send()
        .await
        .unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let mut kids: Vec<String> = res.json().await.unwrap();
    kids.sort();
    let mut want = vec![a.dsc.kid.to_base64(), b.dsc.kid.to_base64()];
    want.sort();
    assert_eq!(kids, want);
    let res = client
        .get(app.url("/signercertificateStatus"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // Lookup by kid, grouped by country.
    let res: Value = client
        .post(app.url("/signercertificateUpdate"))
        .json(&json!([a.dsc.kid.to_base64(), "AAAAAAAAAAA="]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["VN"][0]["kid"], a.dsc.kid.to_base64());
    assert_eq!(res["VN"].as_array().unwrap().len(), 1);

    // B leaves, C arrives: resuming from the last token yields only C; delta reports both.
    // The ledger has one-second resolution: step past the second A and B were recorded in.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let since = dcc_gateway::util::rfc3339(dcc_gateway::clock::now());
    let last = first.last().unwrap().0;
    app.state
        .trust
        .swap_snapshot(TrustSnapshot::new(2, [a.dsc.clone(), c.dsc.clone()]));
    let next = drain(&app, Some(last)).await;
    assert_eq!(
        next.iter().map(|x| x.1.clone()).collect::<Vec<_>>(),
        [c.dsc.kid.to_base64()]
    );
    let delta: Value = client
        .get(app.url("/signercertificateStatus/delta"))
        .header("If-Modified-Since", &since)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(delta["updated"], json!([c.dsc.kid.to_base64()]));
    assert_eq!(delta["deleted"], json!([b.dsc.kid.to_base64()]));

    // Bad inputs.
    let bad = client
        .get(app.url("/signercertificateUpdate"))
        .header("X-RESUME-TOKEN", "-1")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad = client
        .get(app.url("/signercertificateStatus/delta"))
        .header("If-Modified-Since", "last week")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // A restart on the same data directory keeps the tokens.
    let restarted = spawn_app(
        cfg,
        Some(TrustSnapshot::new(3, [a.dsc.clone(), c.dsc.clone()])),
    );
    let again = drain(&restarted, None).await;
    let before: Vec<_> = first
        .iter()
        .filter(|x| x.1 == a.dsc.kid.to_base64())
        .chain(next.iter())
        .map(|x| (x.0, x.1.clone()))
        .collect();
    assert_eq!(
        again.iter().map(|x| (x.0, x.1.clone())).collect::<Vec<_>>(),
        before
    );
}
