//! The official CertLogic conformance suites (evaluator: `testSuite/`, validator:
//! `validation-testSuite/`), read from `CERTLOGIC_TESTDATA_DIR` (CI points it at the shared
//! copy) or the copy bundled in `tests/data/certlogic` (Apache-2.0, see its ORIGIN.md). Items
//! the suite marks `"directive": "skip"` are skipped and counted; everything else must match.

use std::path::PathBuf;

use dcc_gateway::certlogic::{evaluate_json, validate};
use serde_json::Value;

fn suite_dir() -> PathBuf {
    std::env::var_os("CERTLOGIC_TESTDATA_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/certlogic"),
        PathBuf::from,
    )
}

fn files(sub: &str) -> Vec<(String, Value)> {
    let dir = suite_dir().join(sub);
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                p.display().to_string(),
                serde_json::from_str(&text).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn skipped(v: &Value) -> bool {
    v.get("directive").and_then(Value::as_str) == Some("skip")
}

#[test]
fn certlogic_evaluator_suite() {
    let (mut ran, mut skips, mut failures) = (0, 0, Vec::new());
    let suites = files("testSuite");
    assert!(suites.len() >= 14, "{} suite files", suites.len());
    for (file, suite) in &suites {
        for case in suite["cases"].as_array().unwrap() {
            for assertion in case["assertions"].as_array().unwrap() {
                if skipped(suite) || skipped(case) || skipped(assertion) {
                    skips += 1;
                    continue;
                }
                let expr = assertion
                    .get("certLogicExpression")
                    .or_else(|| case.get("certLogicExpression"))
                    .unwrap();
                let expected = &assertion["expected"];
                ran += 1;
                match evaluate_json(expr, &assertion["data"]) {
                    Ok(got) if got == *expected => {}
                    other => failures.push(format!(
                        "{file}: {} / {}: expected {expected}, got {other:?}",
                        case["name"],
                        assertion.get("message").unwrap_or(&Value::Null)
                    )),
                }
            }
        }
    }
    println!("certlogic evaluator suite: {ran} assertions ran, {skips} skipped by the suite");
    assert!(ran >= 200, "only {ran} assertions ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn certlogic_validator_suite() {
    let (mut ran, mut failures) = (0, Vec::new());
    for (file, suite) in &files("validation-testSuite") {
        for case in suite["cases"].as_array().unwrap() {
            ran += 1;
            let expr = &case["certLogicExpression"];
            let got: Vec<(Value, String)> = validate(expr)
                .into_iter()
                .map(|i| (i.expr, i.message))
                .collect();
            let want: Vec<(Value, String)> = case["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["expr"].clone(), i["message"].as_str().unwrap().to_owned()))
                .collect();
            if got != want {
                failures.push(format!("{file}: {expr}: expected {want:?}, got {got:?}"));
            }
        }
    }
    println!("certlogic validator suite: {ran} expressions");
    assert!(ran >= 23, "only {ran} expressions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
