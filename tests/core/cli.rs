//! The `verify` command as a user runs it: real files, real QR images, exit codes, JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

use dcc_gateway::crypto::Alg;

use super::support::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dcc-gateway"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dccgw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn json(out: &Output) -> serde_json::Value {
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
