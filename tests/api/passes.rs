//! NZ COVID Passes and SMART Health Cards through a running gateway: issuer keys from
//! `nzcp-did` and `shc-jwks` sources (last good copy kept), one verdict shape with `format`.

use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::sources::SourceConfig;
use serde_json::json;

use super::helpers::*;
use super::make_passes::*;
use super::trust::spawn_instance;

#[tokio::test]
async fn nzcp_and_shc_verify_against_their_sources_and_keep_the_last_good_keys() {
    let dir = std::env::temp_dir().join(format!("dccgw-passes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (nz, shc) = (IssuerKey::generate(), IssuerKey::generate());
    std::fs::write(
        dir.join("did.json"),
        did_document(NZ_DID, &[("key-1", &nz)]).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("jwks.json"), jwks(&[&shc]).to_string()).unwrap();
    let mut nz_source = SourceConfig::local_pem("nz", dir.join("did.json"));
    nz_source.format = Format::NzcpDid;
    let icao = IcaoSigner::new(365);
    std::fs::write(dir.join("au-csca.pem"), &icao.csca_pem).unwrap();
    let mut icao_source = SourceConfig::local_pem("au", dir.join("au-csca.pem"));
    icao_source.format = Format::IcaoCsca;
    icao_source.issuer = Some("AUS".into());
    // The CSCA's CRL, as a source of its own: at first it revokes another signer.
    let week = dcc_gateway::clock::now() + std::time::Duration::from_secs(7 * 86_400);
    std::fs::write(dir.join("au.crl"), icao.crl(&[vec![0x42]], week)).unwrap();
    let mut crl_source_au = SourceConfig::local_pem("au-crl", dir.join("au.crl"));
    crl_source_au.format = Format::IcaoCrl;
    crl_source_au.issuer = Some("AUS".into());
    let mut shc_source = SourceConfig::local_pem("shc", dir.join("jwks.json"));
    shc_source.format = Format::ShcJwks;
    shc_source.issuer = Some(SHC_ISS.into());
    // The SHC issuer's revocation list for its key, as a source of its own.
    let crl = |rids: &[&str]| {
        json!({"kid": shc.thumbprint(), "method": "rid", "ctr": 1, "rids": rids}).to_string()
    };
    std::fs::write(dir.join("crl.json"), crl(&["revokedRid"])).unwrap();
    let mut crl_source = SourceConfig::local_pem("shc-crl", dir.join("crl.json"));
    crl_source.format = Format::ShcCrl;
    crl_source.issuer = Some(SHC_ISS.into());
    let redis = Redis::start();
    let mut s = settings();
    s.data_dir = dir.join("data");
    s.redis_url = Some(redis.url());
    let app = spawn_instance(
        s.clone(),
        vec![
            nz_source,
            shc_source,
            crl_source,
            icao_source,
            crl_source_au,
        ],
    );
    // A second instance without the sources follows the first through Redis.
    s.data_dir = dir.join("data-b");
    let follower = spawn_instance(s, Vec::new());

    let nzcp = Nzcp::new("key-1").sign(&nz);
    let card = shc_card(SHC_ISS, &shc);
    let v = app.verdict(&nzcp).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["format"], "nzcp");
    assert_eq!(v["certificate"]["holder"]["given_name"], "Jack");
    let v = app.verdict(&card).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["format"], "shc");
    assert_eq!(v["certificate"]["vaccinations"][0]["product"], "207");
    let shared = std::time::Instant::now();
    while follower.verdict(&nzcp).await["valid"] != true {
        assert!(
            shared.elapsed() < std::time::Duration::from_secs(5),
            "the pass keys never reached the second instance"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(follower.verdict(&card).await["valid"], true);
    let seal = icao.seal(&vds_vacc_data("AUS"));
    let v = app.verdict(&seal).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["format"], "icao-vds-nc");
    assert_eq!(v["warnings"], json!([]), "{v}");
    assert_eq!(follower.verdict(&seal).await["valid"], true);
    // The CSCA revokes the seal's signer: the new CRL makes it REVOKED.
    std::fs::write(dir.join("au.crl"), icao.crl(&[icao.bsc_serial()], week)).unwrap();
    app.state.trust.refresh("au-crl").await.unwrap();
    assert_eq!(app.verdict(&seal).await["errors"][0]["code"], "REVOKED");
    std::fs::write(dir.join("au.crl"), icao.crl(&[], week)).unwrap();
    app.state.trust.refresh("au-crl").await.unwrap();
    assert_eq!(app.verdict(&seal).await["valid"], true);
    // The EU pipeline's verdicts say what they are too.
    assert_eq!(app.verdict("HC1:").await["format"], "eu-dcc");
    // A pass signed by another key is refused; nothing of it is shown.
    let forged = Nzcp::new("key-1").sign(&IssuerKey::generate());
    let v = app.verdict(&forged).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["code"], "SIGNATURE_INVALID");
    assert!(v.get("certificate").is_none());
    // Batch and text bodies take them too.
    let batch = app
        .post_json(
            "/v1/verify/batch",
            &json!({"items": [{"qr": nzcp}, {"qr": card}]}),
        )
        .await;
    let formats: Vec<&str> = batch["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["format"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(formats, vec!["nzcp", "shc"], "{batch}");

    // A card whose rid the issuer's list names is revoked, here and on the other instance;
    // a broken list keeps the last good one; an updated list lifts the revocation.
    let mut revoked = shc_payload(
        SHC_ISS,
        (dcc_gateway::clock::now().unix_timestamp() - 60) as f64,
        None,
    );
    revoked["vc"]["rid"] = json!("revokedRid");
    let revoked = shc_qr(&shc_jws(
        revoked.to_string().as_bytes(),
        &shc,
        &shc.thumbprint(),
        true,
    ));
    assert_eq!(app.verdict(&revoked).await["errors"][0]["code"], "REVOKED");
    let shared = std::time::Instant::now();
    while follower.verdict(&revoked).await["errors"][0]["code"] != "REVOKED" {
        assert!(
            shared.elapsed() < std::time::Duration::from_secs(5),
            "the revocation list never reached the second instance"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    std::fs::write(dir.join("crl.json"), "{").unwrap();
    assert!(app.state.trust.refresh("shc-crl").await.is_err());
    assert_eq!(app.verdict(&revoked).await["errors"][0]["code"], "REVOKED");
    std::fs::write(dir.join("crl.json"), crl(&[])).unwrap();
    app.state.trust.refresh("shc-crl").await.unwrap();
    assert_eq!(app.verdict(&revoked).await["valid"], true);

    // The summary shows the sources and their keys.
    let summary = app.get_json("/v1/trust/summary").await;
    let sources = summary["sources"].as_array().unwrap();
    let of = |id: &str| sources.iter().find(|s| s["source"] == id).unwrap().clone();
    assert_eq!(of("nz")["pass_keys"], 1, "{summary}");
    assert_eq!(of("shc")["pass_keys"], 1);

    // A broken DID document keeps the last good keys, and the source shows the error.
    std::fs::write(dir.join("did.json"), "not json").unwrap();
    assert!(app.state.trust.refresh("nz").await.is_err());
    assert_eq!(app.verdict(&nzcp).await["valid"], true);
    let nz_status = app.source_status("nz").await;
    assert_eq!(nz_status["status"], "failing", "{nz_status}");
    // A new key set replaces the old one: the old key no longer verifies.
    let rotated = IssuerKey::generate();
    std::fs::write(
        dir.join("did.json"),
        did_document(NZ_DID, &[("key-2", &rotated)]).to_string(),
    )
    .unwrap();
    app.state.trust.refresh("nz").await.unwrap();
    assert_eq!(app.verdict(&nzcp).await["errors"][0]["code"], "KID_UNKNOWN");
    assert_eq!(
        app.verdict(&Nzcp::new("key-2").sign(&rotated)).await["valid"],
        true
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn divoc_and_who_ddcc_through_a_running_gateway() {
    use dcc_gateway::crypto::Alg;
    let dir = std::env::temp_dir().join(format!("dccgw-divoc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // One verificationMethod with two keys (an Ed25519 and an RSA one): both are tried.
    let key = DivocKey::ed25519();
    let rsa = DivocKey::rsa();
    std::fs::write(dir.join("vn.pem"), key.public_pem() + &rsa.public_pem()).unwrap();
    let mut source = SourceConfig::local_pem("divoc-vn", dir.join("vn.pem"));
    source.format = Format::DivocKey;
    source.issuer = Some("did:test:vn".into());
    let mut s = settings();
    s.data_dir = dir.join("data");
    let app = spawn_instance(s, vec![source]);

    let mut cred = divoc_credential("did:test:vn", "2021-05-01T10:00:00.000Z");
    key.sign(&mut cred);
    for qr in [divoc_qr(&cred), divoc_raw_qr(&cred)] {
        let v = app.verdict(&qr).await;
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["format"], "divoc");
        assert_eq!(v["certificate"]["holder"]["name"], "Phạm Thu Hà");
        assert_eq!(v["certificate"]["alg"], "EdDSA");
    }
    let mut by_rsa = divoc_credential("did:test:vn", "2021-05-01T10:00:00.000Z");
    rsa.sign(&mut by_rsa);
    let v = app.verdict(&divoc_qr(&by_rsa)).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["certificate"]["alg"], "PS256");
    // India's codes are raw ZIP bytes in a byte-mode QR: posted as the scanner read them...
    let zip = zip_one("certificate.json", cred.to_string().as_bytes());
    let v = app
        .post_bytes("/v1/verify", "application/octet-stream", zip.clone())
        .await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["format"], "divoc");
    // ...and read from a photo byte for byte.
    let m = super::photo::Modules::bytes(&zip, qrcode::EcLevel::L);
    let png = super::photo::png(&super::photo::flat(&m, 3.0, 4.0));
    let v = app.post_bytes("/v1/verify/image", "image/png", png).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["format"], "divoc");
    let src = app.source_status("divoc-vn").await;
    assert_eq!(src["pass_keys"], 2, "{src}");
    // A destination's business rules never admit a non-EU pass.
    let v = app
        .post_json(
            "/v1/verify",
            &json!({"qr": divoc_qr(&cred), "destination": {"country": "VN"}}),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["admissible"], false, "{v}");

    // A WHO DDCC (the data set as the CWT payload) signed by a trusted DSC: who-ddcc, valid,
    // and not assessed by the EU business rules either.
    let signer = super::support::signer(Alg::Es256);
    let ddcc = json!({"name": "Lê Văn Bình", "birthDate": "1980-02-03",
        "vaccine": {"system": "http://snomed.info/sct", "code": "1119349007"},
        "brand": {"code": "EU/1/20/1528"}, "lot": "L1", "date": "2021-05-01", "dose": 1,
        "total_doses": 2, "country": {"code": "VNM"}, "hcid": "VN-DDCC-1"});
    let payload = coset::cbor::value::Value::serialized(&ddcc).unwrap();
    let mut bytes = Vec::new();
    coset::cbor::ser::into_writer(&payload, &mut bytes).unwrap();
    let qr = dcc_gateway::hcert::encode::wrap(&super::support::cose(&signer, bytes));
    let who = spawn_app(settings(), Some(super::support::snapshot(&[&signer])));
    let v = who
        .post_json(
            "/v1/verify",
            &json!({"qr": qr, "at": "2021-06-01T00:00:00Z", "destination": {"country": "VN"}}),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["format"], "who-ddcc");
    assert_eq!(v["certificate"]["holder"]["name"], "Lê Văn Bình");
    assert_eq!(v["certificate"]["uvci"], "VN-DDCC-1");
    assert_eq!(v["admissible"], false, "{v}");
    assert!(v.get("rules").is_none_or(|r| r.is_null()), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}
