//! Business rules between gateways: Vietnam's rules served in the business-rule service
//! protocol (signed with the list signer), ingested by a partner instance as a
//! `rules-service` source (signatures and hashes checked), deciding `admissible` there, and
//! kept as the last good copy when the service goes away.

use dcc_gateway::crypto::Alg;
use dcc_gateway::keys::mint::CertSpec;
use dcc_gateway::keys::store::KeySet;
use dcc_gateway::rules::service::{RuleListItem, hash_hex, signature_valid};
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::sources::SourceConfig;
use dcc_gateway::trust::validate::Anchor;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::*;
use super::support::*;
use super::trust::{spawn_instance, url_source};

fn rules_source(id: &str, base: &str, anchor: std::path::PathBuf) -> SourceConfig {
    let mut s = url_source(id, base, 4 * 1024 * 1024);
    s.format = Format::RulesService;
    s.anchor = Some(anchor);
    s.max_removal_share = 1.0;
    s
}

#[tokio::test]
async fn vietnams_rules_reach_a_partner_signed_and_decide_admission_there() {
    // Instance A: Vietnam's gateway with its key set and the shipped example rules.
    let settings_a = settings();
    let keys_dir = settings_a.data_dir.join("keys").join("public");
    KeySet::init(
        &settings_a.data_dir,
        &keys_dir,
        Alg::Ps256,
        dcc_gateway::clock::now(),
    )
    .unwrap();
    let list_signer = settings_a.data_dir.join("keys").join("list-signer.pem");
    let anchor = Anchor::from_bytes(&std::fs::read(&list_signer).unwrap()).unwrap();
    // A DSC valid from before the certificates until after today (partners admit it now).
    let s = signer_with(
        Alg::Es256,
        &CertSpec::new(
            "VN",
            "VN DSC rules",
            T0 - time::Duration::days(30),
            dcc_gateway::clock::now() + time::Duration::days(700),
        ),
    );
    let a = spawn_app(settings_a, Some(snapshot(&[&s])));

    let client = http_client();
    let res = client.get(a.url("/rules")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let sig = res.headers()["x-signature"].to_str().unwrap().to_owned();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body = res.bytes().await.unwrap();
    assert!(
        signature_valid(&anchor, &body, &sig),
        "the list is signed by the list signer"
    );
    let mut tampered = body.to_vec();
    tampered[1] ^= 1;
    assert!(!signature_valid(&anchor, &tampered, &sig));
    let items: Vec<RuleListItem> = serde_json::from_slice(&body).unwrap();
    assert_eq!(items.len(), 5, "{items:?}");
    let first = &items[0];
    let res = client
        .get(a.url(&format!("/rules/{}/{}", first.country, first.hash)))
        .send()
        .await
        .unwrap();
    let sig = res.headers()["x-signature"].to_str().unwrap().to_owned();
    let rule = res.bytes().await.unwrap();
    assert_eq!(hash_hex(&rule), first.hash);
    assert!(signature_valid(&anchor, &rule, &sig));
    assert_eq!(a.get_json("/countrylist").await, json!(["VN"]));
    let sets = a.get_json("/valuesets").await;
    assert!(
        sets.as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == "vaccines-covid-19-names"),
        "{sets}"
    );
    assert_eq!(a.get_json("/rules/de").await, json!([]));
    let res = client
        .get(a.url("/rules"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = client.get(a.url("/rules/VN/00")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Instance B: a partner with no rules of its own, A's service as a source.
    let dir = std::env::temp_dir().join(format!("dccgw-rules-b-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("dsc.pem"), &s.pem).unwrap();
    let redis = Redis::start();
    let mut settings_b = settings();
    settings_b.rules_dir = Some(dir.join("rules"));
    settings_b.redis_url = Some(redis.url());
    let b = spawn_instance(
        settings_b,
        vec![
            SourceConfig::local_pem("dsc", dir.join("dsc.pem")),
            rules_source("vn-rules", &a.base, list_signer.clone()),
        ],
    );
    let snap = b.state.trust.snapshot.load_full().unwrap();
    assert_eq!(snap.rules.rules.len(), 5, "B holds A's rules");
    let t = b.get_json("/v1/trust/summary").await;
    assert_eq!(t["rules"]["by_source"], json!({"vn-rules": 5}), "{t}");
    let st = t["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "vn-rules")
        .cloned();
    assert_eq!(st.map(|s| s["status"].clone()), Some(json!("ok")), "{t}");
    assert!(snap.rules.rules.iter().all(|r| r.source == "vn-rules"));
    let verdict = |qr: String| {
        let b = &b;
        async move {
            let res = http_client()
                .post(b.url("/v1/verify"))
                .bearer_auth(KEY_PARTNER)
                .json(&json!({"qr": qr, "at": "2021-06-01T00:00:00Z", "destination": {"country": "VN"}}))
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()
        }
    };
    let body = verdict(hc1(&s, &vaccination())).await;
    assert_eq!(body["admissible"], true, "{body}");
    let mut recent = vaccination();
    recent["v"][0]["dt"] = json!("2021-05-25");
    let body = verdict(hc1(&s, &recent)).await;
    assert_eq!(body["admissible"], false, "{body}");

    // D shares B's Redis and has no source: it follows B's snapshot, rules included.
    let mut settings_d = settings();
    settings_d.rules_dir = Some(dir.join("rules"));
    settings_d.redis_url = Some(redis.url());
    let d = spawn_instance(settings_d, Vec::new());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while d
        .state
        .trust
        .snapshot
        .load_full()
        .is_none_or(|s| s.rules.rules.len() != 5)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "D never adopted B's rules"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        d.state
            .trust
            .snapshot
            .load_full()
            .unwrap()
            .rules
            .rules
            .iter()
            .all(|r| r.source == "vn-rules")
    );

    // A service signed by another key is refused whole; B's rules stay.
    let other_dir = dir.join("other");
    let other = KeySet::init(
        &other_dir,
        &other_dir.join("public"),
        Alg::Ps256,
        dcc_gateway::clock::now(),
    );
    assert!(other.is_ok());
    let c = spawn_instance(
        {
            let mut st = settings();
            st.rules_dir = Some(dir.join("rules"));
            st
        },
        vec![rules_source(
            "vn-rules",
            &a.base,
            other_dir.join("keys").join("list-signer.pem"),
        )],
    );
    let status = c
        .state
        .trust
        .statuses()
        .into_iter()
        .find(|s| s.id == "vn-rules")
        .unwrap();
    assert_eq!(
        status.last_error.map(|e| e.code),
        Some("LIST_SIGNATURE_INVALID".to_owned())
    );
    assert!(
        c.state
            .trust
            .snapshot
            .load_full()
            .unwrap()
            .rules
            .rules
            .is_empty()
    );

    // The service goes away: B's refresh fails and its last good rules stay in force.
    drop(a);
    assert!(b.state.trust.refresh("vn-rules").await.is_err());
    assert_eq!(
        b.state
            .trust
            .snapshot
            .load_full()
            .unwrap()
            .rules
            .rules
            .len(),
        5
    );
    let body = verdict(hc1(&s, &vaccination())).await;
    assert_eq!(body["admissible"], true, "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}
