//! The revocation distribution service protocol as the verifier apps' clients run it: the
//! dataset version, partitions, slices in both encodings inside gzip'd tars, conditional
//! requests, and a revoked certificate found (and a valid one not found) in what an app stores.

use std::collections::BTreeMap;
use std::io::Read;

use dcc_gateway::crypto::{Alg, default_verifier};
use dcc_gateway::hcert::Limits;
use dcc_gateway::revocation::filters;
use dcc_gateway::trust::formats::Format;
use dcc_gateway::trust::sources::SourceConfig;
use serde_json::{Value, json};

use super::helpers::*;
use super::support::*;
use super::trust::spawn_instance;

fn b64(b: &[u8]) -> String {
    dcc_gateway::util::base64_encode(b)
}

fn batch(kid: &str, hash_type: &str, hashes: &[[u8; 16]]) -> String {
    json!({
        "country": "VN", "expires": "2099-01-01T00:00:00Z", "kid": kid, "hashType": hash_type,
        "entries": hashes.iter().map(|h| json!({"hash": b64(h)})).collect::<Vec<_>>(),
    })
    .to_string()
}

/// The entries of a gzip'd tar: (name, content).
fn untar(gz: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut tar)
        .unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let name = String::from_utf8(h[..100].split(|b| *b == 0).next().unwrap().to_vec()).unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&h[124..135]).unwrap(), 8).unwrap();
        out.push((name, tar[at + 512..at + 512 + size].to_vec()));
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

fn nibble(h: &[u8; 16]) -> String {
    format!("{:x}", h[0] >> 4)
}

#[tokio::test]
async fn a_verifier_app_syncs_revocations_and_finds_the_revoked_certificate() {
    let s = signer_with(
        Alg::Es256,
        &dcc_gateway::keys::mint::CertSpec::new(
            "VN",
            "VN DSC distribution",
            T0 - time::Duration::days(30),
            dcc_gateway::clock::now() + time::Duration::days(700),
        ),
    );
    let mut revoked = vaccination();
    revoked["v"][0]["ci"] = json!("URN:UVCI:01:VN:DISTRIBUTED#D");
    let mut by_country = vaccination();
    by_country["v"][0]["ci"] = json!("URN:UVCI:01:VN:DISTRIBUTED2#E");
    let (q_revoked, q_country, q_fine) = (
        hc1(&s, &revoked),
        hc1(&s, &by_country),
        hc1(&s, &vaccination()),
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
    let dir = std::env::temp_dir().join(format!("dccgw-distribution-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("batches")).unwrap();
    std::fs::write(dir.join("dsc.pem"), &s.pem).unwrap();
    let write =
        |name: &str, text: String| std::fs::write(dir.join("batches").join(name), text).unwrap();
    write(
        "uci.json",
        batch(&kid, "UCI", &[keys(&q_revoked).uci.unwrap()]),
    );
    write(
        "sig.json",
        batch(&kid, "SIGNATURE", &[keys(&q_revoked).signature.unwrap()]),
    );
    write(
        "cc.json",
        batch(
            "UNKNOWN_KID",
            "COUNTRYCODEUCI",
            &[keys(&q_country).country_uci[0]],
        ),
    );
    let mut revocations = SourceConfig::local_pem("vn-revocations", dir.join("batches"));
    revocations.format = Format::RevocationFolder;
    let app = spawn_instance(
        settings(),
        vec![
            SourceConfig::local_pem("dsc", dir.join("dsc.pem")),
            revocations,
        ],
    );
    let client = http_client();

    // 1. The lists and the dataset version.
    let res = client.get(app.url("/lists")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let lists: Value = res.json().await.unwrap();
    assert_eq!(lists.as_array().unwrap().len(), 1, "{lists}");
    let list = &lists[0];
    assert_eq!(list["kid"], kid);
    assert_eq!(list["mode"], "POINT");
    assert_eq!(
        list["hashTypes"],
        json!(["UCI", "COUNTRYCODEUCI", "SIGNATURE"])
    );
    assert_eq!(
        list.as_object().unwrap().len(),
        5,
        "apps refuse unknown members: {list}"
    );
    let res = client
        .get(app.url("/lists"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);

    // 2. Partitions: If-Match is required and must be the version.
    let kid_url = kid
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_owned();
    let partitions_url = app.url(&format!("/lists/{kid_url}/partitions"));
    assert_eq!(
        client.get(&partitions_url).send().await.unwrap().status(),
        400
    );
    let res = client
        .get(&partitions_url)
        .header("If-Match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    for (kind, contains) in [
        (
            "BLOOMFILTER",
            filters::bloom_might_contain as fn(&[u8], &[u8]) -> bool,
        ),
        (
            "VARHASHLIST",
            filters::hash_list_contains as fn(&[u8], &[u8]) -> bool,
        ),
    ] {
        let res = client
            .get(&partitions_url)
            .header("if-Match", &etag)
            .header("X-SLICE-FILTER-TYPE", kind)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let partitions: Value = res.json().await.unwrap();
        let p = &partitions[0];
        assert_eq!(
            (p["id"].clone(), p["x"].clone(), p["y"].clone()),
            (Value::Null, Value::Null, Value::Null)
        );
        let last_updated = p["lastUpdated"].as_str().unwrap();
        assert_eq!(
            last_updated.len(),
            "2022-05-13T14:35:40.123456Z".len(),
            "{last_updated}"
        );
        let chunks = p["chunks"].as_object().unwrap();
        let mut known: BTreeMap<(String, String), ()> = BTreeMap::new();
        for (cid, slices) in chunks {
            for (expiry, slice) in slices.as_object().unwrap() {
                assert_eq!(slice["type"], kind);
                assert_eq!(slice["version"], "1.0");
                assert_eq!(slice.as_object().unwrap().len(), 3);
                assert!(expiry.ends_with(":00Z"), "{expiry}");
                known.insert(
                    (cid.clone(), slice["hash"].as_str().unwrap().to_owned()),
                    (),
                );
            }
        }
        // 3. A new partition: one POST with every chunk id, as the app does.
        let res = client
            .post(app.url(&format!("/lists/{kid_url}/partitions/null/slices")))
            .header("If-Match", &etag)
            .header("X-SLICE-FILTER-TYPE", kind)
            .json(&chunks.keys().collect::<Vec<_>>())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/gzip");
        assert!(res.headers().get("content-encoding").is_none());
        let entries = untar(&res.bytes().await.unwrap());
        assert_eq!(entries.len(), known.len());
        let mut stored: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        for (name, bytes) in entries {
            let parts: Vec<&str> = name.rsplitn(3, '/').collect();
            let (sid, cid) = (parts[0], parts[1]);
            assert!(name.starts_with(&format!("{kid}/null/")), "{name}");
            assert!(
                known.contains_key(&(cid.to_owned(), sid.to_owned())),
                "{name}"
            );
            assert_eq!(dcc_gateway::util::sha256_hex(&bytes), sid);
            stored.entry(cid.to_owned()).or_default().push(bytes);
        }
        // The app's check: each hash of the certificate against the slices of its chunk.
        let revoked_in_store = |k: &dcc_gateway::hcert::revocation::Keys| {
            k.uci
                .iter()
                .chain(k.signature.iter())
                .chain(k.country_uci.iter())
                .any(|h| {
                    stored
                        .get(&nibble(h))
                        .is_some_and(|slices| slices.iter().any(|b| contains(b, h)))
                })
        };
        assert!(revoked_in_store(&keys(&q_revoked)), "{kind}");
        assert!(
            revoked_in_store(&keys(&q_country)),
            "{kind}: UNKNOWN_KID batch"
        );
        assert!(!revoked_in_store(&keys(&q_fine)), "{kind}");

        // 4. Conditional and partial requests.
        let cid = chunks.keys().next().unwrap();
        let chunk_url = app.url(&format!(
            "/lists/{kid_url}/partitions/null/chunks/{cid}/slices"
        ));
        let res = client
            .get(&chunk_url)
            .header("If-Match", &etag)
            .header("X-SLICE-FILTER-TYPE", kind)
            .header("If-Modified-Since", "2099-01-01T00:00Z")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        let res = client
            .post(&chunk_url)
            .header("If-Match", &etag)
            .header("X-SLICE-FILTER-TYPE", kind)
            .json(&json!([]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let sid = &known.keys().find(|(c, _)| c == cid).unwrap().1;
        let res = client
            .get(format!("{chunk_url}/{sid}"))
            .header("If-Match", &etag)
            .header("X-SLICE-FILTER-TYPE", kind)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(untar(&res.bytes().await.unwrap()).len(), 1);
    }
    let res = client
        .get(&partitions_url)
        .header("If-Match", &etag)
        .header("X-SLICE-FILTER-TYPE", "CUCKOO")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = client
        .get(&partitions_url)
        .header("If-Match", &etag)
        .header("If-Modified-Since", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = client
        .get(app.url("/lists/AAAAAAAAAAA/partitions"))
        .header("If-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // 5. Lifting every revocation: a new version, the old one refused, the list gone.
    for f in ["uci.json", "sig.json", "cc.json"] {
        std::fs::remove_file(dir.join("batches").join(f)).unwrap();
    }
    write("other.json", batch(&b64(&[9u8; 8]), "UCI", &[[7u8; 16]]));
    app.state.trust.refresh("vn-revocations").await.unwrap();
    let res = client.get(app.url("/lists")).send().await.unwrap();
    let new_etag = res.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    assert_ne!(new_etag, etag);
    let lists: Value = res.json().await.unwrap();
    assert!(
        lists.as_array().unwrap().iter().all(|l| l["kid"] != kid),
        "{lists}"
    );
    let res = client
        .get(app.url(&format!("/lists/{}/partitions", b64(&[9u8; 8]))))
        .header("If-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    let _ = std::fs::remove_dir_all(&dir);
}
