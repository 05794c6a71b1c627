//! Step 8: the DCC payload (hcert spec §3.3.7; eu-dcc-schema; eu-dcc-valuesets).
//!
//! * Nulls at any depth count as absent (the EU DCC QA guidance: verifiers drop null values;
//!   issuers emit `"ma": null` or unused `t`/`r` arrays as null). Each dropped path is a
//!   `PAYLOAD_SCHEMA_INVALID` *warning* naming the JSON pointer; everything below sees the
//!   payload without them.
//! * Exactly one of `v`, `t`, `r`, holding exactly one entry, decides the [`CertType`]; two
//!   types or two entries (the TSI-style multi-entry codes) are errors under every schema.
//! * JSON-schema validation with the schema of the payload's `ver`: the exact published version
//!   if bundled (1.0.0 … 1.3.3), else the newest bundled version with the same major.minor that
//!   is not newer, else the newest (1.3.3). When that schema refuses the payload and the newest
//!   schema accepts it, the verdict stands with a `PAYLOAD_SCHEMA_INVALID` warning naming both
//!   versions and the first violation: newer schemas only relaxed rules that no field verifier
//!   enforces (1.0.0 wants a full `dob`, 1.2.1+ allow `"1963"`). Otherwise the violations of
//!   the payload's own schema are errors. Formats (`date`, `date-time`) are annotations, as in
//!   the upstream test harness.
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
    /// Payload findings that do not decide the verdict: nulls treated as absent, a payload
    /// refused by its own version's schema but accepted by the newest one.
    pub schema_warnings: Vec<Finding>,
    pub valueset_findings: Vec<Finding>,
}

/// At most this many schema findings are reported per certificate.
const MAX_FINDINGS: usize = 10;

/// Validates a DCC JSON object: type, schema, value sets.
pub fn validate(dcc: &Json) -> PayloadReport {
    let mut schema_errors = Vec::new();
    let mut schema_warnings = Vec::new();
    // Nulls at any depth count as absent (EU DCC QA guidance: verifiers drop null values).
    let without_nulls;
    let instance = if contains_null(dcc, 0) {
        let mut copy = dcc.clone();
        let mut dropped = Vec::new();
        drop_nulls(&mut copy, &mut String::new(), &mut dropped, 0);
        schema_warnings.extend(null_findings(&dropped));
        without_nulls = copy;
        &without_nulls
    } else {
        dcc
    };
    let cert_type = cert_type(instance);
    match cert_type {
        None => schema_errors.push(Finding::new(
            ErrorCode::PayloadSchemaInvalid,
            "the certificate must hold exactly one of v (vaccination), t (test), r (recovery)",
        )),
        Some(t) if instance.get(t.key()).and_then(Json::as_array).map(Vec::len) != Some(1) => {
            schema_errors.push(Finding::new(
                ErrorCode::PayloadSchemaInvalid,
                format!(
                    "/{} must hold exactly one entry (hcert spec §3.3.7)",
                    t.key()
                ),
            ));
        }
        Some(_) => {}
    }
    let ver = instance.get("ver").and_then(Json::as_str);
    match schema_check(instance, ver) {
        SchemaVerdict::Passed => {}
        SchemaVerdict::PassedNewest { own, newest, first } => {
            schema_warnings.push(Finding::new(
                ErrorCode::PayloadSchemaInvalid,
                format!(
                    "the payload does not satisfy the schema of its version {own} ({first}) but \
                     satisfies the newest published schema {newest}, which field verifiers apply"
                ),
            ));
        }
        SchemaVerdict::Failed(findings) => schema_errors.extend(findings),
    }
    let valueset_findings = cert_type
        .map(|t| check_value_sets(instance, t))
        .unwrap_or_default();
    PayloadReport {
        cert_type,
        schema_errors,
        schema_warnings,
        valueset_findings,
    }
}

/// How a payload fares against the bundled schemas.
enum SchemaVerdict {
    /// The schema of its own `ver` accepts it.
    Passed,
    /// Its own schema refuses it (first violation in `first`), the newest schema accepts it.
    PassedNewest {
        own: &'static str,
        newest: &'static str,
        first: String,
    },
    /// Refused: the violations of its own schema.
    Failed(Vec<Finding>),
}

/// The schema policy: the schema named by `ver` first; when it refuses the payload and is not
/// the newest, the newest published schema decides whether the payload stands (with a
/// warning). Newer schemas relaxed rules the field never enforced (e.g. 1.0.0 wants a full
/// `dob`; from 1.2.1 on `"1963"` is allowed, and every verifier app accepts it).
fn schema_check(instance: &Json, ver: Option<&str>) -> SchemaVerdict {
    let own = schema_index(ver);
    let Some(validator) = validator_at(own) else {
        return SchemaVerdict::Failed(vec![schema_unavailable()]);
    };
    let findings: Vec<Finding> = validator
        .iter_errors(instance)
        .take(MAX_FINDINGS)
        .map(|err| {
            let path = err.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            Finding::new(
                ErrorCode::PayloadSchemaInvalid,
                format!(
                    "{path} violates the schema keyword \"{}\"",
                    err.kind().keyword()
                ),
            )
        })
        .collect();
    let Some(first) = findings.first() else {
        return SchemaVerdict::Passed;
    };
    let newest = SCHEMAS.len() - 1;
    if own != newest && validator_at(newest).is_some_and(|v| v.is_valid(instance)) {
        return SchemaVerdict::PassedNewest {
            own: version_at(own),
            newest: version_at(newest),
            first: first.message.clone(),
        };
    }
    SchemaVerdict::Failed(findings)
}

fn schema_unavailable() -> Finding {
    Finding::new(
        ErrorCode::PayloadSchemaInvalid,
        "the bundled JSON schema could not be loaded",
    )
}

/// Deepest level searched for nulls; deeper payloads are refused earlier by the CBOR depth limit.
const MAX_NULL_DEPTH: usize = 32;
/// Longest key echoed in a null path (keys are issuer-chosen, never personal data, but bounded).
const MAX_ECHOED_KEY: usize = 24;

fn contains_null(v: &Json, depth: usize) -> bool {
    if depth > MAX_NULL_DEPTH {
        return false;
    }
    match v {
        Json::Null => true,
        Json::Array(items) => items.iter().any(|i| contains_null(i, depth + 1)),
        Json::Object(map) => map.values().any(|i| contains_null(i, depth + 1)),
        _ => false,
    }
}

/// Removes null object members and null array elements at any depth, recording their paths.
fn drop_nulls(v: &mut Json, path: &mut String, dropped: &mut Vec<String>, depth: usize) {
    if depth > MAX_NULL_DEPTH {
        return;
    }
    let len = path.len();
    match v {
        Json::Object(map) => {
            map.retain(|k, v| {
                if v.is_null() {
                    dropped.push(format!("{path}/{}", echo_key(k)));
                }
                !v.is_null()
            });
            for (k, child) in map.iter_mut() {
                path.push('/');
                path.push_str(&echo_key(k));
                drop_nulls(child, path, dropped, depth + 1);
                path.truncate(len);
            }
        }
        Json::Array(items) => {
            let mut i = 0;
            items.retain(|v| {
                if v.is_null() {
                    dropped.push(format!("{path}/{i}"));
                }
                i += 1;
                !v.is_null()
            });
            for (i, child) in items.iter_mut().enumerate() {
                path.push('/');
                path.push_str(&i.to_string());
                drop_nulls(child, path, dropped, depth + 1);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// A key as shown in a JSON pointer: `~` and `/` escaped, cut to [`MAX_ECHOED_KEY`] characters.
fn echo_key(k: &str) -> String {
    let cut: String = k.chars().take(MAX_ECHOED_KEY).collect();
    let escaped = cut.replace('~', "~0").replace('/', "~1");
    if k.chars().count() > MAX_ECHOED_KEY {
        format!("{escaped}…")
    } else {
        escaped
    }
}

fn null_findings(dropped: &[String]) -> Vec<Finding> {
    let mut out: Vec<Finding> = dropped
        .iter()
        .take(MAX_FINDINGS)
        .map(|path| {
            Finding::new(
                ErrorCode::PayloadSchemaInvalid,
                format!("{path} is null and was treated as absent"),
            )
        })
        .collect();
    if dropped.len() > MAX_FINDINGS {
        out.push(Finding::new(
            ErrorCode::PayloadSchemaInvalid,
            format!(
                "{} more null values were treated as absent",
                dropped.len() - MAX_FINDINGS
            ),
        ));
    }
    out
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
    version_at(schema_index(ver))
}

fn version_at(i: usize) -> &'static str {
    SCHEMAS.get(i).map(|(v, _)| *v).unwrap_or("1.3.3")
}

fn validator_at(i: usize) -> Option<&'static jsonschema::Validator> {
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

/// The bundled value-set files: (valueSetId, the file's exact text).
pub fn value_set_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    static FILES: LazyLock<Vec<(String, &'static str)>> = LazyLock::new(|| {
        VALUE_SET_FILES
            .iter()
            .filter_map(|(_, text)| {
                let v: Json = serde_json::from_str(text).ok()?;
                Some((v.get("valueSetId")?.as_str()?.to_owned(), *text))
            })
            .collect()
    });
    FILES.iter().map(|(id, text)| (id.as_str(), *text))
}

/// The bundled value sets as business rules read them (`external.valueSets`): value-set id
/// (e.g. `vaccines-covid-19-names`) → its codes, sorted.
pub fn value_sets_by_id() -> &'static Json {
    static BY_ID: LazyLock<Json> = LazyLock::new(|| {
        let mut out = serde_json::Map::new();
        for (_, text) in VALUE_SET_FILES {
            let Ok(v) = serde_json::from_str::<Json>(text) else {
                continue;
            };
            let (Some(id), Some(values)) = (
                v.get("valueSetId").and_then(Json::as_str),
                v.get("valueSetValues").and_then(Json::as_object),
            ) else {
                continue;
            };
            let mut codes: Vec<&String> = values.keys().collect();
            codes.sort();
            out.insert(
                id.to_owned(),
                Json::from(codes.into_iter().cloned().collect::<Vec<_>>()),
            );
        }
        Json::Object(out)
    });
    &BY_ID
}

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
            assert!(validator_at(schema_index(Some(v))).is_some(), "schema {v}");
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
    fn nulls_at_any_depth_are_absent_with_a_warning_naming_the_path() {
        let mut t = json!({
            "ver": "1.3.0",
            "nam": {"fnt": "TRAN", "gn": null},
            "dob": "1990-12-01",
            "t": [{
                "tg": "840539006", "tt": "LP217198-3", "ma": null, "nm": null,
                "sc": "2021-05-30T08:00:00Z", "tr": "260415000", "tc": "Bach Mai", "co": "VN",
                "is": "Ministry of Health of Viet Nam", "ci": "URN:UVCI:01:VN:T1"
            }],
            "v": null
        });
        let report = validate(&t);
        assert_eq!(report.cert_type, Some(CertType::Test));
        assert!(
            report.schema_errors.is_empty(),
            "{:?}",
            report.schema_errors
        );
        let warnings: Vec<&str> = report
            .schema_warnings
            .iter()
            .map(|f| f.message.as_str())
            .collect();
        for path in ["/nam/gn", "/t/0/ma", "/t/0/nm", "/v"] {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.starts_with(&format!("{path} is null"))),
                "{path}: {warnings:?}"
            );
        }
        // Without nulls there is nothing to warn about; a real violation stays an error.
        t["t"][0]["tt"] = json!(7);
        let report = validate(&t);
        assert!(
            report
                .schema_errors
                .iter()
                .any(|f| f.message.contains("/t/0/tt"))
        );
    }

    #[test]
    fn newest_schema_rescues_a_payload_its_own_version_refuses_with_a_warning() {
        let mut old = vaccination();
        old["ver"] = json!("1.0.0");
        old["dob"] = json!("1963");
        let report = validate(&old);
        assert!(
            report.schema_errors.is_empty(),
            "{:?}",
            report.schema_errors
        );
        let w = &report.schema_warnings;
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].message.contains("1.0.0") && w[0].message.contains("1.3.3"),
            "{w:?}"
        );
        assert!(w[0].message.contains("/dob"), "{w:?}");
        // A violation of every schema stays an error, reported against the payload's own.
        old["v"][0]["co"] = json!("");
        let report = validate(&old);
        assert!(!report.schema_errors.is_empty());
        assert!(report.schema_warnings.is_empty());
    }

    #[test]
    fn two_entries_of_one_type_are_invalid_under_every_schema() {
        for ver in ["1.0.0", "1.3.0"] {
            let mut two = vaccination();
            two["ver"] = json!(ver);
            let entry = two["v"][0].clone();
            two["v"] = json!([entry.clone(), entry]);
            let report = validate(&two);
            assert!(
                report
                    .schema_errors
                    .iter()
                    .any(|f| f.message.contains("exactly one entry")),
                "{ver}: {:?}",
                report.schema_errors
            );
        }
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
