//! The W3C RDF Dataset Canonicalization test suite (tests/data/rdf-canon, W3C Software and
//! Document License): every evaluation test with SHA-256, and the poison clique refused.

use std::path::Path;

use dcc_gateway::ld::c14n::{self, C14nError};

#[test]
fn w3c_rdf_canon_suite() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rdf-canon");
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let (mut passed, mut failed) = (0, Vec::new());
    for line in manifest.lines().skip(1) {
        let id = line.split(',').next().unwrap();
        let kind = line.rsplit(',').nth(1).unwrap();
        if line.contains(",SHA384,") {
            continue;
        }
        let input = std::fs::read_to_string(dir.join(format!("{id}-in.nq"))).unwrap();
        let quads = c14n::parse_nquads(&input).unwrap_or_else(|| panic!("{id}: unreadable"));
        let got = c14n::canonicalize(&quads);
        if kind == "RDFC10NegativeEvalTest" {
            assert_eq!(got, Err(C14nError::TooComplex), "{id}");
            passed += 1;
            continue;
        }
        let expected = std::fs::read_to_string(dir.join(format!("{id}-rdfc10.nq"))).unwrap();
        match got {
            Ok(text) if text == expected => passed += 1,
            other => failed.push((id.to_owned(), other)),
        }
    }
    assert!(failed.is_empty(), "{} passed; failed: {failed:#?}", passed);
    assert!(passed > 60, "{passed}");
}
