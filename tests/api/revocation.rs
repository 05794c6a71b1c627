//! Revocation end to end: a folder of EU revocation batches as a source, `REVOKED` in the
//! verdict naming the batch and the source, each hash type, a bad batch refused alone, and a
//! lifted revocation never answered from the cache.

use dcc_gateway::crypto::{Alg, default_verifier};
use dcc_gateway::hcert::Limits;
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::sources::SourceConfig;
use serde_json::{Value, json};

use super::helpers::*;
use super::support::*;
use super::trust::spawn_instance;

fn b64(b: &[u8]) -> String {
    dcc_gateway::util::base64_encode(b)
}

async fn verify_on(app: &TestApp, qr: String) -> Value {
    let res = http_client()
        .post(app.url("/v1/verify"))
        .bearer_auth(KEY_PARTNER)
        .json(&json!({"qr": qr, "at": "2021-06-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    res.json::<Value>().await.unwrap()
}

fn batch(kid: &str, hash_type: &str, hashes: &[[u8; 16]]) -> String {
    json!({
        "country": "VN", "expires": "2099-01-01T00:00:00Z", "kid": kid, "hashType": hash_type,
        "entries": hashes.iter().map(|h| json!({"hash": b64(h)})).collect::<Vec<_>>(),
    })
    .to_string()
}

#[tokio::test]
async fn revoked_certificates_never_verify_and_lifting_takes_effect_at_once() {
    let s = signer_with(
        Alg::Es256,
        &dcc_gateway::keys::mint::CertSpec::new(
            "VN",
            "VN DSC revocation",
            T0 - time::Duration::days(30),
            dcc_gateway::clock::now() + time::Duration::days(700),
        ),
    );
    let mut by_uci = vaccination();
    by_uci["v"][0]["ci"] = json!("URN:UVCI:01:VN:WRONGDATA1#A");
    let mut by_sig = vaccination();
    by_sig["v"][0]["ci"] = json!("URN:UVCI:01:VN:WRONGDATA2#B");
    let mut by_country = vaccination();
    by_country["v"][0]["ci"] = json!("URN:UVCI:01:VN:WRONGDATA3#C");
    let fine = vaccination();
    let (q_uci, q_sig, q_country, q_fine) = (
        hc1(&s, &by_uci),
        hc1(&s, &by_sig),
        hc1(&s, &by_country),
        hc1(&s, &fine),
    );
    let keys = |qr: &str| {
        dcc_gateway::hcert::check_signed(
            qr,
            &snapshot(&[&s]),
            default_verifier(),
            &Limits::default(),
        )
        .unwrap()
        .revocation
    };
    let kid = b64(&s.dsc.kid.0);

    let dir = std::env::temp_dir().join(format!("dccgw-revocation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("batches")).unwrap();
    std::fs::write(dir.join("dsc.pem"), &s.pem).unwrap();
    let write =
        |name: &str, text: String| std::fs::write(dir.join("batches").join(name), text).unwrap();
    write(
        "vn-uci-1.json",
        batch(&kid, "UCI", &[keys(&q_uci).uci.unwrap()]),
    );
    write(
        "vn-sig-1.json",
        batch(&kid, "SIGNATURE", &[keys(&q_sig).signature.unwrap()]),
    );
    write(
        "vn-cc-1.json",
        batch(
            "UNKNOWN_KID",
            "COUNTRYCODEUCI",
            &[keys(&q_country).country_uci[0]],
        ),
    );
    write("broken.json", "{\"country\": \"VN\"}".to_owned());
    let mut revocations = SourceConfig::local_pem("vn-revocations", dir.join("batches"));
    revocations.format = Format::RevocationFolder;
    let redis = Redis::start();
    let app = spawn_instance(
        {
            let mut st = settings();
            st.redis_url = Some(redis.url());
            st
        },
        vec![
            SourceConfig::local_pem("dsc", dir.join("dsc.pem")),
            revocations,
        ],
    );
    for (qr, batch_id, hash_type) in [
        (&q_uci, "vn-uci-1", "UCI"),
        (&q_sig, "vn-sig-1", "SIGNATURE"),
        (&q_country, "vn-cc-1", "COUNTRYCODEUCI"),
    ] {
        let v = verify_on(&app, qr.clone()).await;
        assert_eq!(v["valid"], false, "{v}");
        assert_eq!(v["errors"][0]["code"], "REVOKED", "{v}");
        let message = v["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(batch_id)
                && message.contains("vn-revocations")
                && message.contains(hash_type),
            "{message}"
        );
    }
    let v = verify_on(&app, q_fine.clone()).await;
    assert_eq!(v["valid"], true, "{v}");

    // A second instance on the same Redis, without the folder, agrees within 2 s.
    let follower = spawn_instance(
        {
            let mut st = settings();
            st.redis_url = app.state.settings.redis_url.clone();
            st
        },
        vec![SourceConfig::local_pem("dsc", dir.join("dsc.pem"))],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while follower
        .state
        .trust
        .snapshot
        .load_full()
        .is_none_or(|s| s.batches.len() != 3)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the follower never adopted the batches"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        verify_on(&follower, q_uci.clone()).await["errors"][0]["code"],
        "REVOKED"
    );

    let summary = app.get_json("/v1/trust/summary").await;
    assert_eq!(summary["revocations"]["batches"], 3, "{summary}");
    assert_eq!(
        summary["revocations"]["by_source"],
        json!({"vn-revocations": 3})
    );

    // The broken batch was refused alone, with its reason.
    let st = app
        .state
        .trust
        .statuses()
        .into_iter()
        .find(|s| s.id == "vn-revocations")
        .unwrap();
    assert_eq!(
        (st.batches, st.rejected.get("BATCH_MALFORMED").copied()),
        (3, Some(1)),
        "{st:?}"
    );

    // Lifting a revocation: the next answer is valid, never a cached REVOKED (and the reverse).
    std::fs::remove_file(dir.join("batches").join("vn-uci-1.json")).unwrap();
    app.state.trust.refresh("vn-revocations").await.unwrap();
    assert_eq!(verify_on(&app, q_uci.clone()).await["valid"], true);
    write(
        "vn-fine-1.json",
        batch(&kid, "UCI", &[keys(&q_fine).uci.unwrap()]),
    );
    app.state.trust.refresh("vn-revocations").await.unwrap();
    assert_eq!(
        verify_on(&app, q_fine).await["errors"][0]["code"],
        "REVOKED"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One batch the fake gateway serves.
#[derive(Clone)]
struct Served {
    id: String,
    date: String,
    deleted: bool,
    cms_b64: String,
}

type Gateway = std::sync::Arc<std::sync::Mutex<Vec<Served>>>;

/// A local stand-in for the EU gateway's revocation API (real HTTP, real CMS).
fn gateway(state: Gateway) -> String {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/revocation-list", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let data = web::Data::new(state);
            HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route(
                        "/revocation-list",
                        web::get().to(|req: HttpRequest, st: web::Data<Gateway>| async move {
                            let Some(since) = req.headers().get("If-Modified-Since") else {
                                return HttpResponse::BadRequest().finish();
                            };
                            let since = since.to_str().unwrap_or_default().to_owned();
                            let all = st.lock().unwrap().clone();
                            let newer: Vec<Value> = all
                                .iter()
                                .filter(|b| b.date > since)
                                .map(|b| json!({"batchId": b.id, "country": "VN", "date": b.date, "deleted": b.deleted}))
                                .collect();
                            if newer.is_empty() {
                                return HttpResponse::NoContent().finish();
                            }
                            HttpResponse::Ok().json(json!({"more": false, "batches": newer}))
                        }),
                    )
                    .route(
                        "/revocation-list/{id}",
                        web::get().to(|path: web::Path<String>, st: web::Data<Gateway>| async move {
                            let all = st.lock().unwrap().clone();
                            match all.iter().find(|b| b.id == *path) {
                                Some(b) if b.deleted => HttpResponse::Gone().finish(),
                                Some(b) => HttpResponse::Ok()
                                    .content_type("application/cms-text")
                                    .body(b.cms_b64.clone()),
                                None => HttpResponse::NotFound().finish(),
                            }
                        }),
                    )
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    base
}

#[tokio::test]
async fn gateway_batches_must_be_signed_by_an_upload_certificate_of_their_country() {
    use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
    let now = dcc_gateway::clock::now();
    let s = signer_with(
        Alg::Es256,
        &CertSpec::new(
            "VN",
            "VN DSC gw",
            T0 - time::Duration::days(30),
            now + time::Duration::days(700),
        ),
    );
    let upload_key = SignerKey::generate(Alg::Es256).unwrap();
    let upload = mint::self_signed(
        &CertSpec::new(
            "VN",
            "VN UPLOAD",
            now - time::Duration::days(1),
            now + time::Duration::days(700),
        ),
        &upload_key,
    )
    .unwrap();
    let rogue_key = SignerKey::generate(Alg::Es256).unwrap();
    let rogue = mint::self_signed(
        &CertSpec::new(
            "VN",
            "VN ROGUE",
            now - time::Duration::days(1),
            now + time::Duration::days(700),
        ),
        &rogue_key,
    )
    .unwrap();
    let mut revoked = vaccination();
    revoked["v"][0]["ci"] = json!("URN:UVCI:01:VN:GW1#A");
    let mut forged_target = vaccination();
    forged_target["v"][0]["ci"] = json!("URN:UVCI:01:VN:GW2#B");
    let (q1, q2) = (hc1(&s, &revoked), hc1(&s, &forged_target));
    let uci = |qr: &str| {
        dcc_gateway::hcert::check_signed(
            qr,
            &snapshot(&[&s]),
            default_verifier(),
            &Limits::default(),
        )
        .unwrap()
        .revocation
        .uci
        .unwrap()
    };
    let kid = b64(&s.dsc.kid.0);
    let signed = |hash: [u8; 16], cert: &mint::Minted, key: &SignerKey| {
        let body = batch(&kid, "UCI", &[hash]);
        b64(&dcc_gateway::trust::cms::sign_embedded(body.as_bytes(), &cert.der, key).unwrap())
    };
    let state: Gateway = std::sync::Arc::new(std::sync::Mutex::new(vec![
        Served {
            id: "b-good".into(),
            date: "2026-01-01T00:00:00Z".into(),
            deleted: false,
            cms_b64: signed(uci(&q1), &upload, &upload_key),
        },
        Served {
            id: "b-rogue".into(),
            date: "2026-01-02T00:00:00Z".into(),
            deleted: false,
            cms_b64: signed(uci(&q2), &rogue, &rogue_key),
        },
    ]));
    let url = gateway(state.clone());

    let dir = std::env::temp_dir().join(format!("dccgw-gw-revocation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dsc.pem"), &s.pem).unwrap();
    std::fs::write(dir.join("upload.pem"), &upload.pem).unwrap();
    let mut source = super::trust::url_source("eu-revocation", &url, 4 * 1024 * 1024);
    source.format = Format::EuRevocation;
    source.anchor = Some(dir.join("upload.pem"));
    source.max_removal_share = 1.0;
    let app = spawn_instance(
        settings(),
        vec![SourceConfig::local_pem("dsc", dir.join("dsc.pem")), source],
    );
    let v = verify_on(&app, q1.clone()).await;
    assert_eq!(v["errors"][0]["code"], "REVOKED", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("b-good")
    );
    // A batch signed by anyone but VN's UPLOAD certificate is refused alone.
    assert_eq!(verify_on(&app, q2.clone()).await["valid"], true);
    let st = app
        .state
        .trust
        .statuses()
        .into_iter()
        .find(|s| s.id == "eu-revocation")
        .unwrap();
    assert_eq!(
        st.rejected.get("BATCH_WRONG_SIGNER").copied(),
        Some(1),
        "{st:?}"
    );

    // The gateway deletes the batch: the next refresh lifts the revocation.
    state.lock().unwrap().iter_mut().for_each(|b| {
        if b.id == "b-good" {
            b.deleted = true;
            b.date = "2026-02-01T00:00:00Z".into();
        }
    });
    app.state.trust.refresh("eu-revocation").await.unwrap();
    assert_eq!(verify_on(&app, q1).await["valid"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dcc-gateway"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn vietnam_revokes_and_a_partner_gateway_learns_of_it_and_of_the_undo() {
    use dcc_gateway::keys::store::KeySet;
    let now = dcc_gateway::clock::now();
    let s = signer_with(
        Alg::Es256,
        &dcc_gateway::keys::mint::CertSpec::new(
            "VN",
            "VN DSC own",
            T0 - time::Duration::days(30),
            now + time::Duration::days(700),
        ),
    );
    let mut wrong = vaccination();
    wrong["v"][0]["ci"] = json!("URN:UVCI:01:VN:MISISSUED#Q");
    let qr = hc1(&s, &wrong);
    let other = hc1(&s, &vaccination());

    // A: Vietnam's gateway with its key set (the UPLOAD key signs published batches).
    let settings_a = settings();
    let data_a = settings_a.data_dir.clone();
    let public = data_a.join("keys").join("public");
    KeySet::init(&data_a, &public, Alg::Ps256, now).unwrap();
    let dir = std::env::temp_dir().join(format!("dccgw-own-revocation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dsc.pem"), &s.pem).unwrap();
    let mut own = SourceConfig::local_pem("vn-revocations", data_a.join("revocations"));
    own.format = Format::RevocationFolder;
    own.max_removal_share = 1.0;
    let a = spawn_instance(
        settings_a,
        vec![SourceConfig::local_pem("dsc", dir.join("dsc.pem")), own],
    );

    let data = data_a.to_str().unwrap();
    let out = cli(&[
        "revoke",
        "--data-dir",
        data,
        "--qr",
        &qr,
        "--reason",
        "wrong personal data",
        "--by",
        "moh-operator",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(id.starts_with("vn-"), "{id}");
    let out = cli(&["revoke", "--data-dir", data, "--qr", &qr]);
    assert_eq!(out.status.code(), Some(2), "a revocation needs a reason");
    let audit = std::fs::read_to_string(data_a.join("revocations/audit.log")).unwrap();
    assert!(
        audit.contains("wrong personal data")
            && audit.contains("moh-operator")
            && audit.contains("UCI:"),
        "{audit}"
    );
    assert!(
        !audit.contains("NGUYEN") && !audit.contains("MISISSUED"),
        "no holder data in the audit: {audit}"
    );

    a.state.trust.refresh("vn-revocations").await.unwrap();
    assert_eq!(
        verify_on(&a, qr.clone()).await["errors"][0]["code"],
        "REVOKED"
    );
    assert_eq!(verify_on(&a, other.clone()).await["valid"], true);

    // Published as the EU gateway does.
    let client = http_client();
    let res = client.get(a.url("/revocation-list")).send().await.unwrap();
    assert_eq!(
        res.status(),
        reqwest::StatusCode::BAD_REQUEST,
        "If-Modified-Since is required"
    );
    let listing: Value = client
        .get(a.url("/revocation-list"))
        .header("If-Modified-Since", "2020-01-01T00:00:00Z")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["batches"].as_array().unwrap().len(), 3, "{listing}");

    // B: a partner gateway reading A's revocation list, A's UPLOAD certificate pinned.
    let mut feed = super::trust::url_source("vn-feed", &a.url("/revocation-list"), 4 * 1024 * 1024);
    feed.format = Format::EuRevocation;
    feed.anchor = Some(public.join("upload.pem"));
    feed.max_removal_share = 1.0;
    let b = spawn_instance(
        settings(),
        vec![SourceConfig::local_pem("dsc", dir.join("dsc.pem")), feed],
    );
    let v = verify_on(&b, qr.clone()).await;
    assert_eq!(v["errors"][0]["code"], "REVOKED", "{v}");

    // The list, then the undo: both gateways verify the certificate again.
    let out = cli(&["revoke", "--data-dir", data, "--list"]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (listed[0]["id"].as_str(), listed[0]["undone"].as_bool()),
        (Some(id.as_str()), Some(false))
    );
    let out = cli(&[
        "revoke",
        "--data-dir",
        data,
        "--undo",
        &id,
        "--by",
        "moh-operator",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    a.state.trust.refresh("vn-revocations").await.unwrap();
    assert_eq!(verify_on(&a, qr.clone()).await["valid"], true);
    b.state.trust.refresh("vn-feed").await.unwrap();
    assert_eq!(verify_on(&b, qr).await["valid"], true);
    let _ = std::fs::remove_dir_all(&dir);
}
