//! Publication of Vietnam's keys over real HTTP: every published format is accepted by our own
//! ingestion adapters with the published anchor (and a tampered copy is refused); caching,
//! `If-Modified-Since`, paging; and a second instance that ingests the first one's EU list
//! verifies certificates issued with the current and the rotated DSC.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dcc_gateway::crypto::Alg;
use dcc_gateway::keys::store::KeySet;
use dcc_gateway::trust::formats::{self, Anchor, Context, Format, ListError, RejectReason};
use dcc_gateway::trust::model::Dsc;
use dcc_gateway::trust::sources::SourceConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::*;
use super::trust::spawn_instance;

struct Vn {
    root: PathBuf,
    data: PathBuf,
    publish: PathBuf,
}

fn vn(name: &str, alg: Alg) -> Vn {
    let root = std::env::temp_dir().join(format!("dccgw-pub-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (data, publish) = (root.join("data"), root.join("VN"));
    KeySet::init(&data, &publish, alg, dcc_gateway::clock::now()).unwrap();
    Vn {
        root,
        data,
        publish,
    }
}

fn vn_source(publish: &Path) -> SourceConfig {
    SourceConfig::local_pem("VN", publish.join("dsc"))
}

fn anchor(publish: &Path) -> Anchor {
    Anchor::from_bytes(&std::fs::read(publish.join("list-signer.pem")).unwrap()).unwrap()
}

fn ingest(format: Format, body: &[u8], anchor: &Anchor) -> Result<formats::Ingested, ListError> {
    let ctx = Context {
        anchor,
        now: dcc_gateway::clock::now(),
        source: "roundtrip",
        keep_expired: dcc_gateway::trust::formats::KEEP_EXPIRED,
    };
    formats::ingest(format, body, &ctx)
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = http_client().get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn issue_now(data: &Path) -> String {
    let keys = KeySet::load(data).unwrap();
    let (dsc, key) = dcc_gateway::keys::issue::load_signer(data).unwrap();
    assert_eq!(
        dsc.der.as_ref(),
        keys.dscs
            .iter()
            .find(|d| d.serial == keys.current)
            .unwrap()
            .cert
            .der
            .as_slice()
    );
    let payload: Value =
        serde_json::from_slice(&std::fs::read("tests/data/payloads/vaccination.json").unwrap())
            .unwrap();
    dcc_gateway::keys::issue::issue(
        &payload,
        &dsc,
        &key,
        dcc_gateway::clock::now(),
        time::Duration::days(365),
    )
    .unwrap()
    .0
}

#[tokio::test]
async fn published_lists_round_trip_through_our_own_adapters() {
    let v = vn("rt", Alg::Es256);
    let mut s = settings();
    s.data_dir.clone_from(&v.data);
    let app = spawn_instance(s, vec![vn_source(&v.publish)]);
    let anchor = anchor(&v.publish);
    let keys = KeySet::load(&v.data).unwrap();
    let dsc_kid = Dsc::from_der(&keys.dscs[0].cert.der, "t")
        .unwrap()
        .kid
        .to_base64();

    // EU gateway JSON: sorted by kid, every type, CMS by the right signer.
    let res = get(&app, "/trustList", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    // Last-Modified is when the snapshot came in force, never after the answer's own Date.
    let header_time = |name: &str| {
        dcc_gateway::http::sync::parse_http_date(res.headers()[name].to_str().unwrap()).unwrap()
    };
    let (modified, date) = (header_time("last-modified"), header_time("date"));
    assert!(
        modified <= date,
        "Last-Modified {modified} after Date {date}"
    );
    let in_force = app.state.trust.loaded_at().unwrap();
    assert_eq!(modified.unix_timestamp(), in_force.unix_timestamp());
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let body = res.bytes().await.unwrap();
    let items: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let kids: Vec<&str> = items.iter().map(|i| i["kid"].as_str().unwrap()).collect();
    let mut sorted = kids.clone();
    sorted.sort_unstable();
    assert_eq!(kids, sorted);
    let types: Vec<&str> = items
        .iter()
        .map(|i| i["certificateType"].as_str().unwrap())
        .collect();
    for t in ["CSCA", "UPLOAD", "DSC"] {
        assert!(types.contains(&t), "{t} missing: {types:?}");
    }
    let got = ingest(Format::EuJson, &body, &anchor).unwrap();
    assert_eq!(got.dscs.len(), 1, "{:?}", got.rejected);
    assert_eq!(got.dscs[0].kid.to_base64(), dsc_kid);
    assert_eq!(got.countries().into_iter().collect::<Vec<_>>(), ["VN"]);
    // Another anchor: nothing is accepted.
    let stranger = dcc_gateway::keys::mint::SignerKey::generate(Alg::Es256).unwrap();
    let t = dcc_gateway::clock::now();
    let other = dcc_gateway::keys::mint::self_signed(
        &dcc_gateway::keys::mint::CertSpec::new("VN", "x", t, t + time::Duration::days(9)),
        &stranger,
    )
    .unwrap();
    let wrong = Anchor::from_bytes(other.pem.as_bytes()).unwrap();
    assert!(
        ingest(Format::EuJson, &body, &wrong)
            .unwrap()
            .dscs
            .is_empty()
    );
    // A tampered DSC signature is refused for that entry.
    let mut tampered: Vec<Value> = items.clone();
    for i in &mut tampered {
        if i["certificateType"] == "DSC" {
            let sig = i["signature"].as_str().unwrap();
            let mut bytes = dcc_gateway::util::base64_decode(sig).unwrap();
            let n = bytes.len();
            bytes[n - 5] ^= 0x01;
            i["signature"] = json!(dcc_gateway::util::base64_encode(&bytes));
        }
    }
    let got = ingest(
        Format::EuJson,
        &serde_json::to_vec(&tampered).unwrap(),
        &anchor,
    )
    .unwrap();
    assert!(got.dscs.is_empty());
    assert_eq!(got.rejected[0].reason, RejectReason::BadCms);

    // 304 on the ETag; type and country filters; paging; bad parameters.
    let res = get(&app, "/trustList", &[("If-None-Match", &etag)]).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let only: Vec<Value> = get(&app, "/trustList/DSC/VN", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["kid"], dsc_kid.as_str());
    let none: Vec<Value> = get(&app, "/trustList/DSC/DE", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());
    let page0: Vec<Value> = get(&app, "/trustList?page=0&pagesize=2", &[])
        .await
        .json()
        .await
        .unwrap();
    let page1: Vec<Value> = get(&app, "/trustList?page=1&pagesize=2", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page0.len(), 2);
    assert_eq!(page1.len(), items.len() - 2);
    assert_eq!(page0[0], items[0]);
    assert_eq!(page1[0], items[2]);
    assert_eq!(
        get(&app, "/trustList/AUTH", &[]).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/trustList/DSC/vn", &[]).await.status(),
        StatusCode::BAD_REQUEST
    );
    // If-Modified-Since in the three forms: far past → everything, far future → nothing.
    for past in [
        "2000-01-01T00:00:00Z",
        "Sat, 01 Jan 2000 00:00:00 GMT",
        "20000101",
    ] {
        let got: Vec<Value> = get(&app, "/trustList", &[("If-Modified-Since", past)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(got.len(), items.len(), "{past}");
    }
    for future in [
        "2100-01-01T00:00:00+07:00",
        "Fri, 01 Jan 2100 00:00:00 GMT",
        "21000101",
    ] {
        let got: Vec<Value> = get(&app, "/trustList", &[("If-Modified-Since", future)])
            .await
            .json()
            .await
            .unwrap();
        assert!(got.is_empty(), "{future}");
    }
    let res = get(&app, "/trustList", &[("If-Modified-Since", "yesterday")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // German-style signed list.
    let res = get(&app, "/de/trustList/DSC/", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let de = res.bytes().await.unwrap().to_vec();
    let got = ingest(Format::DeSigned, &de, &anchor).unwrap();
    assert_eq!(got.dscs.len(), 1);
    let meta = formats::de_signed::list_meta(&de).unwrap();
    assert!(meta.version.unwrap() > 0);
    assert!(meta.expires.unwrap() > dcc_gateway::clock::now());
    let mut bad = de.clone();
    let at = bad.len() - 3;
    bad[at] = if bad[at] == b'1' { b'2' } else { b'1' };
    assert!(ingest(Format::DeSigned, &bad, &anchor).is_err());
    assert!(ingest(Format::DeSigned, &de, &wrong).is_err());

    // WHO DID v2 documents.
    for kind in ["DSC", "SCA"] {
        let res = get(&app, &format!("/v2/trustlist/-/VNM/{kind}/did.json"), &[]).await;
        assert_eq!(res.status(), StatusCode::OK, "{kind}");
        let doc = res.bytes().await.unwrap().to_vec();
        let got = ingest(Format::WhoDid, &doc, &anchor);
        if kind == "DSC" {
            assert_eq!(got.unwrap().dscs.len(), 1);
        } else {
            assert!(got.is_ok(), "{got:?}");
        }
        let text = String::from_utf8(doc).unwrap().replacen("VNM", "VNN", 1);
        assert!(
            ingest(Format::WhoDid, text.as_bytes(), &anchor).is_err(),
            "{kind}"
        );
    }
    let _ = std::fs::remove_dir_all(&v.root);
}

#[tokio::test]
async fn a_partner_instance_verifies_vn_certificates_across_rotation_and_expiry() {
    let v = vn("e2e", Alg::Ps256);
    let mut s = settings();
    s.data_dir.clone_from(&v.data);
    let a = spawn_instance(s, vec![vn_source(&v.publish)]);
    let qr_old = issue_now(&v.data);

    let mut partner_src = SourceConfig::local_pem("vn-gateway", PathBuf::new());
    partner_src.path = None;
    partner_src.url = Some(a.url("/trustList"));
    partner_src.format = Format::EuJson;
    partner_src.anchor = Some(v.publish.join("list-signer.pem"));
    let mut s = settings();
    s.data_dir = v.root.join("partner");
    let b = spawn_instance(s, vec![partner_src]);
    let verify = |app: &TestApp, qr: String, at: Option<String>| {
        let url = app.url("/v1/verify");
        async move {
            let mut body = json!({ "qr": qr });
            if let Some(at) = at {
                body["at"] = json!(at);
            }
            http_client()
                .post(url)
                .header("X-API-Key", KEY_PARTNER)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let r = verify(&b, qr_old.clone(), None).await;
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(r["provenance"]["dsc_source"], "vn-gateway");

    // Rotate: A picks up the new DSC, B ingests A's list again; both DSCs verify.
    let mut keys = KeySet::load(&v.data).unwrap();
    keys.rotate(&v.publish, dcc_gateway::clock::now()).unwrap();
    let qr_new = issue_now(&v.data);
    a.state.trust.refresh("VN").await.unwrap();
    let got = b.state.trust.refresh("vn-gateway").await.unwrap();
    assert_eq!(
        got,
        dcc_gateway::trust::refresh::Outcome::Updated {
            added: 1,
            removed: 0
        }
    );
    assert_eq!(verify(&b, qr_new.clone(), None).await["valid"], true);
    assert_eq!(verify(&b, qr_old.clone(), None).await["valid"], true);
    assert_eq!(verify(&a, qr_old.clone(), None).await["valid"], true);

    // After the old DSC's notAfter it no longer verifies, with the right code.
    let old = &keys.dscs[0];
    let after = dcc_gateway::util::rfc3339(old.not_after + time::Duration::days(1));
    let r = verify(&b, qr_old, Some(after)).await;
    assert_eq!(r["valid"], false);
    let codes: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"DSC_NOT_VALID"), "{codes:?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    let _ = std::fs::remove_dir_all(&v.root);
}
