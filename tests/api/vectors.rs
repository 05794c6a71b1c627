//! Every dgc-testdata vector that carries a `2DCODE` PNG, posted as an image through real HTTP:
//! the verdict must equal the pipeline's verdict on the vector's `PREFIX` text at the same
//! instant. Runs over `$DGC_TESTDATA_DIR` (set by `.ci/run`); says so and passes when unset.

use dcc_gateway::crypto::RingVerifier;
use dcc_gateway::hcert::{self, Limits, VerifyOptions};
use dcc_gateway::trust::model::{Dsc, TrustSnapshot};
use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::*;

#[path = "../common/vectors.rs"]
mod common;

#[tokio::test]
async fn png_vectors_verify_through_the_image_endpoint() {
    let Some(dir) = std::env::var_os("DGC_TESTDATA_DIR") else {
        eprintln!("DGC_TESTDATA_DIR is not set: PNG vectors not posted");
        return;
    };
    let mut cases = Vec::new();
    let mut dscs = Vec::new();
    for path in common::vectors(std::path::Path::new(&dir)) {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_default();
        let (Some(png), Some(qr), Some(at)) = (
            v["2DCODE"]
                .as_str()
                .and_then(dcc_gateway::util::base64_decode),
            v["PREFIX"].as_str().map(str::to_owned),
            v["TESTCTX"]["VALIDATIONCLOCK"]
                .as_str()
                .and_then(common::parse_clock),
        ) else {
            continue;
        };
        if let Some(dsc) = v["TESTCTX"]["CERTIFICATE"]
            .as_str()
            .and_then(dcc_gateway::util::base64_decode)
            .and_then(|d| Dsc::from_der(&d, "testdata").ok())
        {
            dscs.push(dsc);
        }
        if v["EXPECTEDRESULTS"]["EXPECTEDPICTUREDECODE"].as_bool() != Some(false) {
            cases.push((path, png, qr, at));
        }
    }
    assert!(
        !cases.is_empty(),
        "no vector with a 2DCODE under {}",
        dir.to_string_lossy()
    );
    let snapshot = TrustSnapshot::new(1, dscs);
    let app = spawn_app(settings(), Some(snapshot.clone()));
    let c = http_client();
    for (path, png, qr, at) in cases.iter().take(200) {
        let at_text = dcc_gateway::util::rfc3339(*at);
        let res = c
            .post(app.url(&format!("/v1/verify/image?at={at_text}")))
            .bearer_auth(KEY_PARTNER)
            .header("content-type", "image/png")
            .body(png.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{}", path.display());
        let got: Value = res.json().await.unwrap();
        let want = hcert::verify(
            qr,
            &snapshot,
            &RingVerifier,
            &Limits::default(),
            &VerifyOptions::at(*at),
        );
        let want = serde_json::to_value(&want).unwrap();
        assert_eq!(got["valid"], want["valid"], "{}", path.display());
        assert_eq!(got["errors"], want["errors"], "{}", path.display());
    }
}
