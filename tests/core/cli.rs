//! The `verify` command as a user runs it: real files, real QR images, exit codes, JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

use dcc_gateway::crypto::Alg;

use super::support::*;

pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dcc-gateway"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dccgw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn verify_valid_invalid_and_usage_exit_codes() {
    let s = signer(Alg::Ps256);
    let pem = tmp("dsc-ps.pem");
    std::fs::write(&pem, &s.pem).unwrap();
    let qr = hc1(&s, &vaccination());

    let out = bin()
        .args(["verify", "--trust"])
        .arg(&pem)
        .args(["--at", "2021-06-01T00:00:00Z", "--json", &qr])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["valid"], true);
    assert_eq!(r["certificate"]["alg"], "PS256");

    // Expired: exit 1, still exactly one JSON object.
    let out = bin()
        .args(["verify", "--trust"])
        .arg(&pem)
        .args(["--at", "2030-01-01T00:00:00Z", "--json", &qr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(r["valid"], false);
    assert_eq!(r["errors"][0]["code"], "CWT_EXPIRED");
    assert_eq!(r["errors"][0]["stage"], "policy");

    // Garbage: exit 1 with a decode code.
    let out = bin()
        .args(["verify", "--trust"])
        .arg(&pem)
        .args(["--json", "NOT-A-CERT"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["errors"][0]["code"], "PREFIX_INVALID");

    // Usage errors: exit 2.
    let missing = bin()
        .args(["verify", "--trust", "/nonexistent.pem", &qr])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let bad_at = bin()
        .args(["verify", "--at", "yesterday", &qr])
        .output()
        .unwrap();
    assert_eq!(bad_at.status.code(), Some(2));
    let nothing = bin().args(["verify"]).output().unwrap();
    assert_eq!(nothing.status.code(), Some(2));
}

#[test]
fn verify_reads_stdin_and_human_output() {
    use std::io::Write;
    let s = signer(Alg::Es256);
    let pem = tmp("dsc-es-stdin.pem");
    std::fs::write(&pem, &s.pem).unwrap();
    let mut child = bin()
        .args(["verify", "--trust"])
        .arg(&pem)
        .args(["--at", "2021-06-01T00:00:00Z", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", hc1(&s, &test_cert())).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("VALID"), "{text}");
    assert!(text.contains("test certificate"), "{text}");
}

#[test]
fn verify_from_a_qr_png_and_qr_not_found() {
    let s = signer(Alg::Es256);
    let pem = tmp("dsc-es-img.pem");
    std::fs::write(&pem, &s.pem).unwrap();
    let img = tmp("cert.png");
    std::fs::write(&img, qr_png(&hc1(&s, &recovery()))).unwrap();
    let out = bin()
        .args(["verify", "--trust"])
        .arg(&pem)
        .args(["--at", "2021-06-01T00:00:00Z", "--json", "--image"])
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out)["certificate"]["type"], "recovery");

    // A blank PNG: QR_NOT_FOUND.
    let blank = tmp("blank.png");
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, 64, 64);
    enc.set_color(png::ColorType::Grayscale);
    enc.write_header()
        .unwrap()
        .write_image_data(&[255u8; 64 * 64])
        .unwrap();
    std::fs::write(&blank, bytes).unwrap();
    let out = bin()
        .args(["verify", "--json", "--image"])
        .arg(&blank)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["errors"][0]["code"], "QR_NOT_FOUND");

    // Not an image at all.
    let junk = tmp("junk.png");
    std::fs::write(&junk, b"hello").unwrap();
    let out = bin()
        .args(["verify", "--json", "--image"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(json(&out)["errors"][0]["code"], "QR_NOT_FOUND");
}

#[test]
fn verify_with_an_eu_trust_list_file() {
    let s = signer(Alg::Es256);
    let list = serde_json::json!([
        {"kid": s.dsc.kid.to_base64(), "country": "VN", "certificateType": "DSC",
         "timestamp": "2021-06-01T00:00:00Z", "thumbprint": "", "signature": "",
         "rawData": dcc_gateway::util::base64_encode(&s.der)},
        {"kid": "AAAAAAAAAAA=", "country": "VN", "certificateType": "DSC", "rawData": null},
        {"kid": "AAAAAAAAAAA=", "country": "VN", "certificateType": "DSC",
         "rawData": dcc_gateway::util::base64_encode(&s.der)}
    ]);
    let path = tmp("trust-list.json");
    std::fs::write(&path, list.to_string()).unwrap();
    let out = bin()
        .args(["verify", "--trust-list"])
        .arg(&path)
        .args([
            "--at",
            "2021-06-01T00:00:00Z",
            "--json",
            &hc1(&s, &vaccination()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kid does not equal"));
}

#[test]
fn issue_then_verify_roundtrip_with_png() {
    let dir = tmp("issue-data");
    let png = tmp("issued.png");
    let payload = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/payloads/vaccination.json"
    );
    let out = bin()
        .args(["issue", "--payload", payload, "--data-dir"])
        .arg(&dir)
        .arg("--png")
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hc1 = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(hc1.starts_with("HC1:"));
    let key = dir.join("keys/dsc.key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let dsc = dir.join("keys/dsc.pem");
    let out = bin()
        .args(["verify", "--json", "--trust"])
        .arg(&dsc)
        .arg(&hc1)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = json(&out);
    assert_eq!(r["certificate"]["alg"], "PS256", "Vietnam signs with PS256");
    assert_eq!(r["certificate"]["iss"], "VN");
    let issued = time::OffsetDateTime::parse(
        r["certificate"]["issued_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let expires = time::OffsetDateTime::parse(
        r["certificate"]["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((expires - issued).whole_days(), 365);
    let out = bin()
        .args(["verify", "--json", "--trust"])
        .arg(&dsc)
        .arg("--image")
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // A payload that breaks the schema is refused before signing.
    let bad = tmp("bad.json");
    std::fs::write(
        &bad,
        r#"{"ver":"1.3.0","nam":{"fnt":"lower case"},"dob":"1990-01-01","v":[]}"#,
    )
    .unwrap();
    let out = bin()
        .args(["issue", "--payload"])
        .arg(&bad)
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tmp("sigterm-data");
    let mut server = bin()
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&dir)
        .env("DCCGW_TRUST_DIR", tmp("sigterm-empty-trust"))
        .env("DCCGW_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut conn = loop {
        if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "server did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // Wait for readiness (development keys are generated on first start).
    loop {
        let mut probe = TcpStream::connect(("127.0.0.1", port)).unwrap();
        probe
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut head = [0u8; 12];
        if probe.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "server not ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // An in-flight request: headers and half the body sent, then SIGTERM, then the rest.
    let body = b"HC1:NOT-A-CERT";
    conn.write_all(format!("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes()).unwrap();
    conn.write_all(&body[..6]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    conn.write_all(&body[6..]).unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "the in-flight request completed: {reply}"
    );
    assert!(
        reply.contains("PREFIX_INVALID")
            || reply.contains("BASE45_INVALID")
            || reply.contains("DECOMPRESS_FAILED"),
        "{reply}"
    );
    let status = server.wait().unwrap();
    assert!(status.success(), "graceful exit: {status:?}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no new connections after shutdown"
    );
}

#[test]
fn trust_list_check_reports_accepted_and_rejected_entries_with_exit_codes() {
    // dsc_spec() is valid from T0 - 30 d to T0 + 700 d; judge at T0 and after it expired.
    let good = signer(Alg::Es256);
    let other = signer(Alg::Ps256);
    let bundle = tmp("check-bundle.pem");
    std::fs::write(&bundle, format!("{}{}{}", good.pem, other.pem, good.pem)).unwrap();
    let out = bin()
        .args(["trust-list", "check", "--format", "pem", "--json"])
        .args(["--at", "2021-06-01T00:00:00Z"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["accepted"], true);
    assert_eq!(r["keys"], 2);
    assert_eq!(r["countries"], serde_json::json!(["VN"]));
    assert_eq!(r["rejected"][0]["reason"], "DUPLICATE");

    // Every key expired at that instant: the list as a whole is refused (exit 1).
    let out = bin()
        .args([
            "trust-list",
            "check",
            "--format",
            "pem",
            "--at",
            "2030-01-01T00:00:00Z",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("REJECTED") && text.contains("LIST_EMPTY") && text.contains("EXPIRED"),
        "{text}"
    );

    let garbage = tmp("check-garbage.pem");
    std::fs::write(&garbage, b"\x00\x01garbage").unwrap();
    let out = bin()
        .args(["trust-list", "check", "--format", "pem", "--json"])
        .arg(&garbage)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"], "LIST_MALFORMED");

    // Usage errors: unknown format, missing file, unreadable anchor.
    for args in [
        vec!["trust-list", "check", "--format", "nope", "x"],
        vec![
            "trust-list",
            "check",
            "--format",
            "pem",
            "/nonexistent/list.pem",
        ],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = bin()
        .args([
            "trust-list",
            "check",
            "--format",
            "eu-json",
            "--anchor",
            "/nonexistent.pem",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn keys_init_issue_rotate_and_old_certificates_still_verify() {
    let data = tmp("keys-data");
    let publish = tmp("keys-publish/VN");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&publish);
    let payload = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/payloads/vaccination.json"
    );
    let run = |args: &[&str]| -> Output {
        let mut cmd = bin();
        cmd.args(args);
        cmd.output().unwrap()
    };
    let ok = |out: &Output| {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (d, p) = (data.to_str().unwrap(), publish.to_str().unwrap());

    // Not initialised yet: list is a usage error.
    let out = run(&["keys", "list", "--data-dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keys init"));

    let init = [
        "keys",
        "init",
        "--alg",
        "ES256",
        "--data-dir",
        d,
        "--publish-dir",
        p,
    ];
    ok(&run(&init));
    // Twice: refused, exit 2, nothing overwritten.
    let before = std::fs::read(data.join("keys/csca.key.pem")).unwrap();
    let out = run(&init);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(data.join("keys/csca.key.pem")).unwrap(),
        before
    );
    let mut published: Vec<_> = std::fs::read_dir(publish.join("dsc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    published.sort();
    assert_eq!(published, ["dsc-1.pem"]);
    assert!(publish.join("csca.pem").exists());
    assert!(publish.join("upload.pem").exists());
    assert!(publish.join("list-signer.pem").exists());

    let out = run(&["keys", "list", "--data-dir", d, "--json"]);
    ok(&out);
    let list = json(&out);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["serial"], 1);
    assert_eq!(list[0]["alg"], "ES256");
    assert_eq!(list[0]["status"], "current");
    let dsc1 = publish.join("dsc/dsc-1.pem");
    let dsc1_parsed =
        dcc_gateway::trust::model::Dsc::from_pem_or_der(&std::fs::read(&dsc1).unwrap(), "test")
            .unwrap()
            .remove(0);
    assert_eq!(list[0]["kid"], dsc1_parsed.kid.to_base64());

    let issue = || -> String {
        let out = run(&["issue", "--payload", payload, "--data-dir", d]);
        ok(&out);
        let hc1 = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(hc1.starts_with("HC1:"));
        hc1
    };
    let verify = |trust: &std::path::Path, hc1: &str| -> Output {
        let mut cmd = bin();
        cmd.args(["verify", "--json", "--trust"])
            .arg(trust)
            .arg(hc1);
        cmd.output().unwrap()
    };
    let first = issue();
    let out = verify(&dsc1, &first);
    ok(&out);
    let r = json(&out);
    assert_eq!(r["certificate"]["alg"], "ES256");
    assert_eq!(r["certificate"]["kid"], list[0]["kid"]);

    let out = run(&["keys", "rotate", "--data-dir", d, "--publish-dir", p]);
    ok(&out);
    let out = run(&["keys", "list", "--data-dir", d, "--json"]);
    ok(&out);
    let list = json(&out);
    assert_eq!(list[0]["status"], "published");
    assert_eq!(list[1]["serial"], 2);
    assert_eq!(list[1]["status"], "current");
    assert_ne!(list[0]["kid"], list[1]["kid"]);
    let human = run(&["keys", "list", "--data-dir", d]);
    ok(&human);
    assert!(String::from_utf8_lossy(&human.stdout).contains("current"));

    let second = issue();
    let dsc2 = publish.join("dsc/dsc-2.pem");
    let out = verify(&dsc2, &second);
    ok(&out);
    assert_eq!(json(&out)["certificate"]["kid"], list[1]["kid"]);
    // The new DSC does not vouch for the old certificate; the old DSC, still published, does.
    assert_eq!(verify(&dsc2, &first).status.code(), Some(1));
    ok(&verify(&dsc1, &first));
    // The whole published dsc/ folder verifies both.
    let bundle = tmp("keys-bundle.pem");
    std::fs::write(
        &bundle,
        [std::fs::read(&dsc1).unwrap(), std::fs::read(&dsc2).unwrap()].concat(),
    )
    .unwrap();
    ok(&verify(&bundle, &first));
    ok(&verify(&bundle, &second));
}

#[test]
fn trust_list_export_writes_the_stored_snapshot() {
    use dcc_gateway::trust::store::{SnapshotRecord, Store};
    let s = signer(Alg::Es256);
    let data = tmp("export-data");
    let snapshot = dcc_gateway::trust::model::TrustSnapshot::new(7, [s.dsc.clone()]);
    let store = Store::new(
        std::sync::Arc::new(std::sync::OnceLock::new()),
        "t",
        Some(data.join("trust")),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(store.save_snapshot(&SnapshotRecord::from_snapshot(&snapshot, 0)));
    let export = |format: &str| {
        bin()
            .env_remove("REDIS_URL")
            .env_remove("DCCGW_REDIS_URL")
            .args(["trust-list", "export", "--format", format, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let pem = export("pem");
    assert_eq!(
        pem.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&pem.stderr)
    );
    let loaded = dcc_gateway::trust::model::Dsc::from_pem_or_der(&pem.stdout, "x").unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].kid, s.dsc.kid);
    let eu = json(&export("eu-json"));
    assert_eq!(eu[0]["kid"], s.dsc.kid.to_base64());
    assert_eq!(eu[0]["certificateType"], "DSC");
    assert_eq!(eu[0]["country"], "VN");
    // No snapshot stored: a clear usage error.
    let out = bin()
        .args(["trust-list", "export", "--format", "pem", "--data-dir"])
        .arg(tmp("export-empty"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn certlogic_and_rules_commands_print_json_with_their_exit_codes() {
    let write = |name: &str, v: serde_json::Value| {
        let p = tmp(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p
    };
    let expr = write(
        "e.json",
        serde_json::json!({"if": [{"var": "a"}, {"+": [1, {"var": "b"}]}, 0]}),
    );
    let data = write("d.json", serde_json::json!({"a": true, "b": 41}));
    let out = bin()
        .args(["certlogic", "eval", "--expr"])
        .arg(&expr)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out), serde_json::json!(42));
    let bad = write(
        "bad.json",
        serde_json::json!({"plusTime": [{"var": "b"}, 1, "day"]}),
    );
    let out = bin()
        .args(["certlogic", "eval", "--expr"])
        .arg(&bad)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plusTime"));
    let invalid = write("inv.json", serde_json::json!({"var": "x."}));
    let out = bin()
        .args(["certlogic", "validate", "--expr"])
        .arg(&invalid)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json(&out)[0]["message"],
        "data access path doesn't have a valid format: x."
    );

    let rule =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("trust-lists/rules/VN/VR-VN-0001.json");
    let payload = write("p.json", vaccination());
    let run = |clock: &str| {
        let ext = write(
            "x.json",
            serde_json::json!({"validationClock": clock, "countryCode": "VN", "issuerCountryCode": "VN"}),
        );
        bin()
            .args(["rules", "eval", "--rule"])
            .arg(&rule)
            .arg("--payload")
            .arg(&payload)
            .arg("--external")
            .arg(&ext)
            .output()
            .unwrap()
    };
    // The last dose is of 2021-05-01: 14 days later it passes, 13 days later it fails.
    let out = run("2021-05-15T00:00:00Z");
    assert_eq!(
        (out.status.code(), json(&out)["result"].clone()),
        (Some(0), serde_json::json!("PASSED"))
    );
    let out = run("2021-05-14T00:00:00Z");
    assert_eq!(
        (out.status.code(), json(&out)["result"].clone()),
        (Some(1), serde_json::json!("FAIL"))
    );
    // A payload of another major schema version: OPEN, with the reason.
    let mut v2 = vaccination();
    v2["ver"] = serde_json::json!("2.0.0");
    std::fs::write(&payload, v2.to_string()).unwrap();
    let out = run("2021-05-15T00:00:00Z");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["result"], "OPEN");
    assert!(
        json(&out)["reason"]
            .as_str()
            .unwrap()
            .contains("schema version")
    );
    // A file that is not a rule: usage error.
    let out = bin()
        .args(["rules", "eval", "--rule"])
        .arg(&data)
        .arg("--payload")
        .arg(&payload)
        .arg("--external")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_with_a_destination_applies_its_rules_and_sets_the_exit_status() {
    let s = signer(Alg::Es256);
    let pem = tmp("dsc-rules.pem");
    std::fs::write(&pem, &s.pem).unwrap();
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("trust-lists/rules");
    let run = |dcc: &serde_json::Value, json_out: bool| {
        let mut cmd = bin();
        cmd.args(["verify", "--trust"])
            .arg(&pem)
            .args([
                "--at",
                "2021-06-01T00:00:00Z",
                "--destination",
                "VN",
                "--rules",
            ])
            .arg(&rules);
        if json_out {
            cmd.arg("--json");
        }
        cmd.arg(hc1(&s, dcc)).output().unwrap()
    };
    let out = run(&vaccination(), true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(
        (v["valid"].clone(), v["admissible"].clone()),
        (serde_json::json!(true), serde_json::json!(true))
    );
    assert_eq!(v["rules"]["passed"].as_array().unwrap().len(), 2);
    let mut recent = vaccination();
    recent["v"][0]["dt"] = serde_json::json!("2021-05-25");
    let out = run(&recent, false);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("VALID AT")
            && text.contains("NOT ADMISSIBLE to VN")
            && text.contains("VR-VN-0001"),
        "{text}"
    );
    // --destination needs --rules: a usage error.
    let out = bin()
        .args(["verify", "--trust"])
        .arg(&pem)
        .args(["--destination", "VN", "HC1:x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn trust_list_check_exits_by_its_verdict_when_the_reader_goes_away() {
    use std::io::Read;
    // 5 000 broken blocks: a report far larger than a pipe buffer, and a rejected list.
    let block = "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n";
    let bundle = tmp("broken-pipe.pem");
    std::fs::write(&bundle, block.repeat(5_000)).unwrap();
    let mut child = bin()
        .args(["trust-list", "check", "--format", "pem"])
        .arg(&bundle)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // `| head -c 16`
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn revocation_hashes_and_offline_verify_with_a_batch() {
    // Independently computed: SHA-256 with openssl-free std code paths (ring) over the
    // definitions, for an ES256 and a PS256 certificate.
    let sha16 = |b: &[u8]| {
        dcc_gateway::util::hex(&ring::digest::digest(&ring::digest::SHA256, b).as_ref()[..16])
    };
    for alg in [Alg::Es256, Alg::Ps256] {
        let s = signer(alg);
        let qr = hc1(&s, &vaccination());
        let out = bin().args(["revocation", "hashes", &qr]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        let ci = vaccination()["v"][0]["ci"].as_str().unwrap().to_owned();
        assert_eq!(v["uci"], sha16(ci.as_bytes()));
        assert_eq!(v["countrycodeuci"], sha16(format!("VN{ci}").as_bytes()));
        // The signature: decode the COSE by hand (tag 18, array of 4, signature last).
        let cose = {
            let b45 = qr.strip_prefix("HC1:").unwrap();
            let z = base45_decode(b45);
            let mut d = flate2::read::ZlibDecoder::new(&z[..]);
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut d, &mut out).unwrap();
            out
        };
        let sig_len = match alg {
            Alg::Es256 => 64,
            Alg::Ps256 => 256,
        };
        let sig = &cose[cose.len() - sig_len..];
        let signed_part = if alg == Alg::Es256 { &sig[..32] } else { sig };
        assert_eq!(v["signature"], sha16(signed_part), "{alg:?}");

        // The same certificate revoked offline by a batch file.
        let pem = tmp(&format!("rev-{alg:?}.pem"));
        std::fs::write(&pem, &s.pem).unwrap();
        let batch = tmp(&format!("rev-batch-{alg:?}.json"));
        let hash = v["uci"].as_str().unwrap();
        let raw: Vec<u8> = (0..16)
            .map(|i| u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        std::fs::write(
            &batch,
            serde_json::json!({"country": "VN", "expires": "2099-01-01T00:00:00Z", "kid": "UNKNOWN_KID",
                "hashType": "UCI", "entries": [{"hash": dcc_gateway::util::base64_encode(&raw)}]})
            .to_string(),
        )
        .unwrap();
        let out = bin()
            .args([
                "verify",
                "--json",
                "--at",
                "2021-06-01T00:00:00Z",
                "--trust",
            ])
            .arg(&pem)
            .arg("--revocation")
            .arg(&batch)
            .arg(&qr)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(json(&out)["errors"][0]["code"], "REVOKED");
    }
    let out = bin()
        .args(["revocation", "hashes", "HC1:garbage"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// RFC 9285 Base45, written here independently of the crate under test.
fn base45_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let v: Vec<u32> = s
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for chunk in v.chunks(3) {
        match *chunk {
            [a, b, c] => {
                let n = a + b * 45 + c * 45 * 45;
                out.extend_from_slice(&[(n / 256) as u8, (n % 256) as u8]);
            }
            [a, b] => out.push((a + b * 45) as u8),
            _ => panic!("bad base45"),
        }
    }
    out
}
