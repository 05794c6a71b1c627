//! Step 8 for a WHO DDCC: the DDCC core data set (WHO, *Digital Documentation of COVID-19
//! Certificates*, logical models `DDCCCoreDataSet.VS` and `.TR`, RC2), in the two layouts
//! found in HC1 codes ([`super::claims`]):
//!
//! * **nested**, as the logical model names it: `name`, `birthDate`, `identifier`, `sex`,
//!   `certificate {hcid, period, …}`, and `vaccination {vaccine, brand, lot, date, dose,
//!   totalDoses, country, …}` or `test {pathogen, type, date, result, country, …}`;
//! * **flat**, as WHO's own DDCC tooling issues it and its reference validator reads it: the
//!   vaccination members at the root (`vaccine`, `brand`, `date`, `dose`, `total_doses`,
//!   `hcid`, `valid_from`, `valid_until`, …) and a `test` object for a test result.
//!
//! What decides the verdict (errors, `PAYLOAD_SCHEMA_INVALID`): `name` missing or not text;
//! neither a vaccination nor a test, or both; the vaccination without a `vaccine` coding, the
//! test without a `pathogen` or `type` coding; a member of the wrong type (a coding that is not
//! an object with a text `code`, a dose that is not a positive integer, a date that is not
//! text). The other elements the model marks 1..1 (brand, lot, date, dose, country; test date
//! and country) are warnings when absent: WHO's own example codes leave some of them out, and
//! their absence does not make what is there any less signed. Nulls (and CBOR `undefined`,
//! which WHO's examples carry) count as absent. Messages name the member, never its value.

use serde_json::Value as Json;

use super::error::{ErrorCode, Finding};
use super::payload::{CertType, PayloadReport};
use super::result::{Holder, Vaccination};

/// Validates a DDCC core data set.
pub fn validate(ddcc: &Json) -> PayloadReport {
    let mut r = PayloadReport::default();
    let error = |r: &mut PayloadReport, what: &str| {
        r.schema_errors.push(Finding::new(
            ErrorCode::PayloadSchemaInvalid,
            format!("WHO DDCC: {what}"),
        ));
    };
    let warn = |r: &mut PayloadReport, what: &str| {
        r.schema_warnings.push(Finding::new(
            ErrorCode::PayloadSchemaInvalid,
            format!("WHO DDCC: {what}"),
        ));
    };
    match present(ddcc, "name") {
        Some(Json::String(n)) if !n.trim().is_empty() => {}
        Some(_) => error(&mut r, "`name` is not a non-empty text"),
        None => error(&mut r, "`name` is required"),
    }
    if present(ddcc, "birthDate").is_some_and(|d| !d.is_string()) {
        error(&mut r, "`birthDate` is not text");
    }
    let vaccination = vaccination(ddcc);
    let test = present(ddcc, "test");
    match (vaccination, test) {
        (Some(_), Some(_)) => error(&mut r, "holds both a vaccination and a test result"),
        (None, None) => error(&mut r, "holds neither a vaccination nor a test result"),
        (Some(v), None) => {
            r.cert_type = Some(CertType::Vaccination);
            let nested = !std::ptr::eq(v, ddcc);
            let key = |nested_name: &'static str, flat_name: &'static str| {
                if nested { nested_name } else { flat_name }
            };
            if !v.is_object() {
                error(&mut r, "`vaccination` is not an object");
                return r;
            }
            match present(v, "vaccine") {
                None => error(&mut r, "the vaccination has no `vaccine` coding"),
                Some(c) if !is_coding(c) => error(&mut r, "`vaccine` is not a coding"),
                Some(_) => {}
            }
            for coding in ["brand", "country", "disease", key("maholder", "ma_holder")] {
                if present(v, coding).is_some_and(|c| !is_coding(c)) {
                    error(&mut r, &format!("`{coding}` is not a coding"));
                }
            }
            for count in ["dose", key("totalDoses", "total_doses")] {
                if present(v, count).is_some_and(|d| d.as_u64().is_none_or(|n| n == 0)) {
                    error(&mut r, &format!("`{count}` is not a positive integer"));
                }
            }
            for text in ["date", "lot"] {
                if present(v, text).is_some_and(|t| !t.is_string()) {
                    error(&mut r, &format!("`{text}` is not text"));
                }
            }
            for required in ["brand", "lot", "date", "dose", "country"] {
                if present(v, required).is_none() {
                    warn(&mut r, &format!("the vaccination has no `{required}`"));
                }
            }
        }
        (None, Some(t)) => {
            r.cert_type = Some(CertType::Test);
            if !t.is_object() {
                error(&mut r, "`test` is not an object");
                return r;
            }
            for coding in ["pathogen", "type"] {
                match present(t, coding) {
                    None => error(&mut r, &format!("the test has no `{coding}` coding")),
                    Some(c) if !is_coding(c) => {
                        error(&mut r, &format!("`{coding}` is not a coding"));
                    }
                    Some(_) => {}
                }
            }
            for coding in ["result", "country", "origin", "brand", "manufacturer"] {
                if present(t, coding).is_some_and(|c| !is_coding(c)) {
                    error(&mut r, &format!("`{coding}` is not a coding"));
                }
            }
            if present(t, "date").is_some_and(|d| !d.is_string()) {
                error(&mut r, "`date` is not text");
            }
            for required in ["date", "country"] {
                if present(t, required).is_none() {
                    warn(&mut r, &format!("the test has no `{required}`"));
                }
            }
        }
    }
    r
}

/// The vaccination event: the nested `vaccination` object, else the root when it carries the
/// flat layout's `vaccine`.
fn vaccination(ddcc: &Json) -> Option<&Json> {
    present(ddcc, "vaccination").or_else(|| present(ddcc, "vaccine").map(|_| ddcc))
}

/// Member `k` unless absent or null.
fn present<'a>(v: &'a Json, k: &str) -> Option<&'a Json> {
    v.get(k).filter(|x| !x.is_null())
}

/// A FHIR Coding as the data set carries it: an object with a text `code`.
fn is_coding(v: &Json) -> bool {
    v.get("code").is_some_and(Json::is_string)
}

fn text(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(str::to_owned)
}

/// The holder as the data set names them (one `name`).
pub fn holder(ddcc: &Json) -> Holder {
    Holder {
        name: text(present(ddcc, "name")),
        date_of_birth: text(present(ddcc, "birthDate")),
        ..Holder::default()
    }
}

/// The certificate identifier: flat `hcid` text, or nested `certificate.hcid` (an
/// Identifier's `value`, or text).
pub fn hcid(ddcc: &Json) -> Option<String> {
    let id = present(ddcc, "hcid").or_else(|| ddcc.pointer("/certificate/hcid"))?;
    text(Some(id)).or_else(|| text(id.get("value")))
}

/// The vaccination event, in the shared shape: the product is the `brand` coding where given
/// (the data set's product), else the generic `vaccine` coding.
pub fn vaccinations(ddcc: &Json) -> Vec<Vaccination> {
    let Some(v) = vaccination(ddcc) else {
        return Vec::new();
    };
    let coding = present(v, "brand").or_else(|| present(v, "vaccine"));
    vec![Vaccination {
        product: text(coding.and_then(|c| c.get("code"))),
        product_system: text(coding.and_then(|c| c.get("system"))),
        date: text(present(v, "date")),
        dose: present(v, "dose").and_then(Json::as_u64),
        doses: present(v, "totalDoses")
            .or_else(|| present(v, "total_doses"))
            .and_then(Json::as_u64),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codes(r: &PayloadReport) -> (usize, usize) {
        (r.schema_errors.len(), r.schema_warnings.len())
    }

    #[test]
    fn flat_and_nested_vaccinations_are_read_alike() {
        let flat = json!({"name": "A B", "birthDate": "1990-01-02",
            "vaccine": {"system": "http://snomed.info/sct", "code": "1119349007"},
            "brand": {"system": "x", "code": "B1"}, "lot": "L", "date": "2021-07-08",
            "dose": 1, "total_doses": 2, "country": {"code": "USA"}, "hcid": "H1"});
        let nested = json!({"name": "A B", "birthDate": "1990-01-02",
            "certificate": {"hcid": {"value": "H1"}},
            "vaccination": {"vaccine": {"code": "1119349007"}, "brand": {"system": "x", "code": "B1"},
                "lot": "L", "date": "2021-07-08", "dose": 1, "totalDoses": 2,
                "country": {"code": "USA"}}});
        for d in [&flat, &nested] {
            let r = validate(d);
            assert_eq!(r.cert_type, Some(CertType::Vaccination));
            assert_eq!(codes(&r), (0, 0), "{:?}", r.schema_errors);
            assert_eq!(hcid(d).as_deref(), Some("H1"));
            let v = vaccinations(d);
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].product.as_deref(), Some("B1"));
            assert_eq!((v[0].dose, v[0].doses), (Some(1), Some(2)));
            assert_eq!(holder(d).name.as_deref(), Some("A B"));
        }
    }

    #[test]
    fn refusals_and_warnings() {
        let no_name = json!({"vaccine": {"code": "x"}});
        assert_eq!(codes(&validate(&no_name)).0, 1);
        let neither = json!({"name": "A"});
        assert_eq!(validate(&neither).cert_type, None);
        assert_eq!(codes(&validate(&neither)).0, 1);
        let both = json!({"name": "A", "vaccine": {"code": "x"}, "test": {}});
        assert_eq!(codes(&validate(&both)).0, 1);
        let bad_dose = json!({"name": "A", "vaccine": {"code": "x"}, "dose": 0});
        assert!(codes(&validate(&bad_dose)).0 >= 1);
        let bad_coding = json!({"name": "A", "vaccine": "x"});
        assert!(codes(&validate(&bad_coding)).0 >= 1);
        // The WHO example without a date and with undefined (null) members: warnings only.
        let sparse = json!({"name": "A", "vaccine": {"code": "x"}, "date": null, "dose": 1,
            "total_doses": null});
        let r = validate(&sparse);
        assert_eq!(r.schema_errors.len(), 0);
        assert!(
            r.schema_warnings
                .iter()
                .any(|w| w.message.contains("`date`"))
        );
        let test = json!({"name": "A", "test": {"pathogen": {"code": "XN109"},
            "type": {"code": "LP6464-4"}, "date": "2022-07-27T06:15:00Z", "country": {"code": "SGP"},
            "result": {"code": "260415000"}}});
        let r = validate(&test);
        assert_eq!(r.cert_type, Some(CertType::Test));
        assert_eq!(codes(&r), (0, 0));
        let test_without_type = json!({"name": "A", "test": {"pathogen": {"code": "XN109"}}});
        assert_eq!(codes(&validate(&test_without_type)).0, 1);
    }
}
