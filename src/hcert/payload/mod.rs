//! Step 8: the DCC payload (hcert spec §3.3.7; eu-dcc-schema; eu-dcc-valuesets).
//!
//! * Exactly one of `v`, `t`, `r` (each a one-element array) decides the [`CertType`].
//! * A top-level `v`, `t` or `r` that is JSON `null` counts as absent (some issuers emit the
//!   unused arrays as null; the reference apps ignore them), also for schema validation.
//! * JSON-schema validation with the schema of the payload's `ver`: the exact published version
//!   if bundled (1.0.0 … 1.3.3), else the newest bundled version with the same major.minor that
//!   is not newer, else the newest (1.3.3). Formats (`date`, `date-time`) are annotations, as
//!   in the upstream test harness; schema violations are always errors.
//! * Value sets: codes outside the bundled EU value sets (dated 2022-11-30) are
//!   `PAYLOAD_VALUESET_INVALID` warnings by default and errors under the strict policy, because
//!   value sets grow and valid real certificates carry newer codes.
//!
//! Messages name the JSON pointer and the failing keyword only, never the offending value: the
//! payload holds personal data. The vendored schemas and value sets live in `data/` with their
//! Apache-2.0 licence and provenance.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, OnceLock};

use serde::Serialize;
use serde_json::Value as Json;

use super::error::{ErrorCode, Finding};

/// The kind of certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CertType {
    Vaccination,
    Test,
    Recovery,
}

impl CertType {
    pub const fn key(self) -> &'static str {
        match self {
            CertType::Vaccination => "v",
            CertType::Test => "t",
            CertType::Recovery => "r",
        }
    }
}

/// What payload validation found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PayloadReport {
    /// `None` when the payload has not exactly one of v/t/r.
    pub cert_type: Option<CertType>,
    pub schema_errors: Vec<Finding>,
    pub valueset_findings: Vec<Finding>,
}

/// At most this many schema findings are reported per certificate.
const MAX_FINDINGS: usize = 10;

/// Validates a DCC JSON object: type, schema, value sets.
pub fn validate(dcc: &Json) -> PayloadReport {
    let cert_type = cert_type(dcc);
    let mut schema_errors = Vec::new();
    if cert_type.is_none() {
        schema_errors.push(Finding::new(
            ErrorCode::PayloadSchemaInvalid,
            "the certificate must hold exactly one of v (vaccination), t (test), r (recovery)",
        ));
    }
    let without_nulls;
    let instance = if ["v", "t", "r"]
        .iter()
        .any(|k| dcc.get(*k).is_some_and(Json::is_null))
    {
        let mut copy = dcc.clone();
        if let Some(map) = copy.as_object_mut() {
            map.retain(|k, v| !(matches!(k.as_str(), "v" | "t" | "r") && v.is_null()));
        }
        without_nulls = copy;
        &without_nulls
    } else {
        dcc
    };
    match validator_for(dcc.get("ver").and_then(Json::as_str)) {
        Some(validator) => {
            for err in validator.iter_errors(instance).take(MAX_FINDINGS) {
                let path = err.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                };
                schema_errors.push(Finding::new(
                    ErrorCode::PayloadSchemaInvalid,
                    format!(
                        "{path} violates the schema keyword \"{}\"",
                        err.kind().keyword()
                    ),
                ));
            }
        }
        None => schema_errors.push(Finding::new(
            ErrorCode::PayloadSchemaInvalid,
            "the bundled JSON schema could not be loaded",
        )),
    }
    let valueset_findings = cert_type
        .map(|t| check_value_sets(dcc, t))
        .unwrap_or_default();
    PayloadReport {
        cert_type,
        schema_errors,
        valueset_findings,
    }
}

/// The certificate type if exactly one of v/t/r is present.
pub fn cert_type(dcc: &Json) -> Option<CertType> {
    let present: Vec<CertType> = [CertType::Vaccination, CertType::Test, CertType::Recovery]
        .into_iter()
        .filter(|t| dcc.get(t.key()).is_some_and(|v| !v.is_null()))
        .collect();
    match present.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The first entry of the v/t/r array.
pub fn entry(dcc: &Json, cert_type: CertType) -> Option<&Json> {
    dcc.get(cert_type.key())?.as_array()?.first()
}

// ---- schemas ----

macro_rules! schema {
    ($v:literal, $file:literal) => {
        ($v, include_str!(concat!("data/versions/", $v, "/", $file)))
    };
}

/// Bundled schemas, oldest first.
const SCHEMAS: [(&str, &str); 9] = [
    schema!("1.0.0", "DGC.combined-schema.json"),
    schema!("1.0.1", "DGC.combined-schema.json"),
    schema!("1.1.0", "DGC.combined-schema.json"),
    schema!("1.2.0", "DGC.combined-schema.json"),
    schema!("1.2.1", "DCC.combined-schema.json"),
    schema!("1.3.0", "DCC.combined-schema.json"),
    schema!("1.3.1", "DCC.combined-schema.json"),
    schema!("1.3.2", "DCC.combined-schema.json"),
    schema!("1.3.3", "DCC.combined-schema.json"),
];

static VALIDATORS: [OnceLock<Option<jsonschema::Validator>>; 9] = [const { OnceLock::new() }; 9];

fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// Index into the bundled `SCHEMAS` for a payload version.
pub fn schema_index(ver: Option<&str>) -> usize {
    let newest = SCHEMAS.len() - 1;
    let Some(wanted) = ver.and_then(parse_version) else {
        return newest;
    };
    let known: Vec<(u32, u32, u32)> = SCHEMAS
        .iter()
        .map(|(v, _)| parse_version(v).unwrap_or_default())
        .collect();
    if let Some(i) = known.iter().position(|k| *k == wanted) {
        return i;
    }
    known
        .iter()
        .rposition(|k| k.0 == wanted.0 && k.1 == wanted.1 && k.2 <= wanted.2)
        .unwrap_or(newest)
}

/// The bundled schema version used for a payload version.
pub fn schema_version(ver: Option<&str>) -> &'static str {
    SCHEMAS
        .get(schema_index(ver))
        .map(|(v, _)| *v)
        .unwrap_or("1.3.3")
}

fn validator_for(ver: Option<&str>) -> Option<&'static jsonschema::Validator> {
    let i = schema_index(ver);
    let (_, text) = SCHEMAS.get(i)?;
    VALIDATORS
        .get(i)?
        .get_or_init(|| {
            let schema: Json = serde_json::from_str(text).ok()?;
            jsonschema::draft202012::options()
                .should_validate_formats(false)
                .build(&schema)
                .ok()
        })
        .as_ref()
}

// ---- value sets ----

macro_rules! valueset {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("data/valuesets/", $file, ".json")),
        )
    };
}

const VALUE_SET_FILES: [(&str, &str); 9] = [
    valueset!("country-2-codes"),
    valueset!("disease-agent-targeted"),
    valueset!("vaccine-prophylaxis"),
    valueset!("vaccine-medicinal-product"),
    valueset!("vaccine-mah-manf"),
    valueset!("test-type"),
    valueset!("test-result"),
    valueset!("test-manf-example"),
    valueset!("vaccine-encoding-instructions"),
];

static VALUE_SETS: LazyLock<HashMap<&'static str, HashSet<String>>> = LazyLock::new(|| {
    VALUE_SET_FILES
        .iter()
        .map(|(name, text)| {
            let codes = serde_json::from_str::<Json>(text)
                .ok()
                .and_then(|v| {
                    v.get("valueSetValues")?
                        .as_object()
                        .map(|m| m.keys().cloned().collect())
                })
                .unwrap_or_default();
            (*name, codes)
        })
        .collect()
});

/// Whether `code` is in the bundled value set `set` (e.g. `"country-2-codes"`).
pub fn in_value_set(set: &str, code: &str) -> bool {
    VALUE_SETS
        .get(set)
        .is_some_and(|codes| codes.contains(code))
}

/// Fields checked against value sets, per certificate type. The test-device list bundled
/// upstream is only an example list, so `t.ma` is not checked.
fn fields(cert_type: CertType) -> &'static [(&'static str, &'static str)] {
    match cert_type {
        CertType::Vaccination => &[
            ("tg", "disease-agent-targeted"),
            ("vp", "vaccine-prophylaxis"),
            ("mp", "vaccine-medicinal-product"),
            ("ma", "vaccine-mah-manf"),
            ("co", "country-2-codes"),
        ],
        CertType::Test => &[
            ("tg", "disease-agent-targeted"),
            ("tt", "test-type"),
            ("tr", "test-result"),
            ("co", "country-2-codes"),
        ],
        CertType::Recovery => &[("tg", "disease-agent-targeted"), ("co", "country-2-codes")],
    }
}

fn check_value_sets(dcc: &Json, cert_type: CertType) -> Vec<Finding> {
    let Some(entry) = entry(dcc, cert_type) else {
        return Vec::new();
    };
    fields(cert_type)
        .iter()
        .filter_map(|(field, set)| {
            let code = entry.get(*field)?.as_str()?;
            (!in_value_set(set, code)).then(|| {
                Finding::new(
                    ErrorCode::PayloadValuesetInvalid,
                    format!(
                        "/{}/0/{field} holds a code outside the EU value set \"{set}\"",
                        cert_type.key()
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vaccination() -> Json {
        json!({
            "ver": "1.3.0",
            "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Văn An", "gnt": "VAN<AN"},
            "dob": "1990-01-31",
            "v": [{
                "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-08-01",
                "co": "VN", "is": "Ministry of Health of Viet Nam",
                "ci": "URN:UVCI:01:VN:ABC123#X"
            }]
        })
    }

    #[test]
    fn valid_vaccination_passes_every_bundled_schema_version() {
        let report = validate(&vaccination());
        assert_eq!(report.cert_type, Some(CertType::Vaccination));
        assert!(
            report.schema_errors.is_empty(),
            "{:?}",
            report.schema_errors
        );
        assert!(
            report.valueset_findings.is_empty(),
            "{:?}",
            report.valueset_findings
        );
        // Every bundled schema compiles.
        for (v, _) in SCHEMAS {
            assert!(validator_for(Some(v)).is_some(), "schema {v}");
        }
    }

    #[test]
    fn exactly_one_entry_type() {
        let mut both = vaccination();
        both["r"] = json!([{"tg": "840539006", "fr": "2021-01-01", "co": "VN", "is": "x",
            "df": "2021-01-01", "du": "2021-06-01", "ci": "URN:UVCI:01:VN:1"}]);
        let report = validate(&both);
        assert_eq!(report.cert_type, None);
        assert!(!report.schema_errors.is_empty());
        let mut none = vaccination();
        none.as_object_mut().unwrap().remove("v");
        assert_eq!(validate(&none).cert_type, None);
    }

    #[test]
    fn null_entry_arrays_count_as_absent() {
        let mut with_nulls = vaccination();
        with_nulls["t"] = Json::Null;
        with_nulls["r"] = Json::Null;
        let report = validate(&with_nulls);
        assert_eq!(report.cert_type, Some(CertType::Vaccination));
        assert!(
            report.schema_errors.is_empty(),
            "{:?}",
            report.schema_errors
        );
    }

    #[test]
    fn schema_errors_name_the_path_not_the_value() {
        let mut bad = vaccination();
        bad["nam"]["fnt"] = json!("nguyen lower");
        bad["v"][0]["dn"] = json!("two");
        let report = validate(&bad);
        let text = format!("{:?}", report.schema_errors);
        assert!(text.contains("/nam/fnt"), "{text}");
        assert!(text.contains("/v/0/dn"), "{text}");
        assert!(!text.contains("nguyen lower"), "{text}");
        assert!(!text.contains("two"), "{text}");
    }

    #[test]
    fn unknown_codes_are_value_set_findings() {
        let mut odd = vaccination();
        odd["v"][0]["mp"] = json!("BRAND-NEW-VACCINE");
        odd["v"][0]["co"] = json!("XX");
        let report = validate(&odd);
        assert!(report.schema_errors.is_empty());
        let codes: Vec<_> = report
            .valueset_findings
            .iter()
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(report.valueset_findings.len(), 2, "{codes:?}");
        assert!(codes.iter().all(|m| !m.contains("BRAND-NEW")));
    }

    #[test]
    fn schema_selection_by_version() {
        assert_eq!(schema_version(Some("1.3.0")), "1.3.0");
        assert_eq!(schema_version(Some("1.0.4")), "1.0.1");
        assert_eq!(schema_version(Some("1.2.9")), "1.2.1");
        assert_eq!(schema_version(Some("1.4.0")), "1.3.3");
        assert_eq!(schema_version(Some("2.0.0")), "1.3.3");
        assert_eq!(schema_version(Some("x")), "1.3.3");
        assert_eq!(schema_version(None), "1.3.3");
        assert!(in_value_set("country-2-codes", "VN"));
        assert!(!in_value_set("country-2-codes", "VNM"));
    }
}
