//! Business rules as the EU DCC ecosystem defines them: a [`Rule`] (acceptance rules of a
//! destination, invalidation rules of an issuer) whose `Logic` is a CertLogic expression over
//! `{payload, external}`; the outcome of one rule (PASSED / FAIL / OPEN), and of a destination's
//! rule set for one certificate ([`RuleSet::assess`]). Pure: no I/O, the clock is an argument.
//!
//! Choices where the EU text is loose, as the reference verifiers do:
//! * A rule is OPEN (never PASSED or FAIL) when its `Engine` is not `CERTLOGIC`, its
//!   `EngineVersion` is newer than this evaluator (1.3.3; published rules name 0.7.5 or 1.x), the
//!   certificate's schema version (`ver`) is older than the rule's `SchemaVersion` or of
//!   another major version, or the logic fails to evaluate. A result that is truthy is PASSED,
//!   falsy FAIL, anything else OPEN.
//! * The rules that apply: acceptance rules of the destination country (and of its region when
//!   one is given: rules without a region apply to every region), invalidation rules of the
//!   certificate's issuer country; `CertificateType` `General` or the certificate's type;
//!   `ValidFrom ≤ clock < ValidTo`; of several versions of one `Identifier`, the newest that is
//!   valid at the clock.
//! * `admissible` is `false` when any rule FAILS, else `null` when any is OPEN or the
//!   destination has no rule at all (nothing to judge by), else `true`.

pub mod service;
pub mod source;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::certlogic;
use crate::hcert::payload::CertType;

/// The CertLogic version this evaluator implements.
pub const ENGINE_VERSION: Version = Version(1, 3, 3);

/// Largest accepted rule file (bytes): real rules are a few KiB.
pub const MAX_RULE_BYTES: usize = 256 * 1024;

/// `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.trim().split('.');
        let mut next = || -> Option<u64> {
            match parts.next() {
                None => Some(0),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
                Some(_) => None,
            }
        };
        let v = Version(next()?, next()?, next()?);
        parts.next().is_none().then_some(v)
    }
}

/// Acceptance (of a destination) or invalidation (by an issuer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleType {
    Acceptance,
    Invalidation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    pub lang: String,
    pub desc: String,
}

/// One business rule, in the EU's JSON form (field names as published).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub identifier: String,
    #[serde(rename = "Type")]
    pub rule_type: RuleType,
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
    pub version: String,
    pub schema_version: String,
    pub engine: String,
    pub engine_version: String,
    /// `General`, `Vaccination`, `Test` or `Recovery`.
    pub certificate_type: String,
    #[serde(default)]
    pub description: Vec<Description>,
    pub valid_from: String,
    pub valid_to: String,
    #[serde(default)]
    pub affected_fields: Vec<String>,
    pub logic: Value,
}

/// Why a rule is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the rule is larger than {MAX_RULE_BYTES} bytes")]
    TooLarge,
    #[error("not a rule: {0}")]
    Malformed(String),
    #[error("identifier {0:?} is not of the form GR|VR|TR|RR|IR-CC-0000")]
    BadIdentifier(String),
    #[error("country {0:?} is not two upper-case letters")]
    BadCountry(String),
    #[error("{field} {value:?} is not a version major.minor.patch")]
    BadVersion { field: &'static str, value: String },
    #[error("{field} {value:?} is not an RFC 3339 instant")]
    BadTime { field: &'static str, value: String },
    #[error("certificate type {0:?} is not General, Vaccination, Test or Recovery")]
    BadCertificateType(String),
    #[error("the logic is not valid CertLogic: {0}")]
    BadLogic(String),
    #[error("a rule of {rule} in the folder of {folder}")]
    CountryMismatch { rule: String, folder: String },
    #[error("the rule file cannot be read: {0}")]
    Read(std::io::ErrorKind),
}

impl RuleError {
    /// Stable code, as a rejected rule is reported.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::TooLarge => "RULE_TOO_LARGE",
            RuleError::BadLogic(_) => "RULE_LOGIC_INVALID",
            RuleError::CountryMismatch { .. } => "RULE_COUNTRY_MISMATCH",
            RuleError::Read(_) => "RULE_UNREADABLE",
            _ => "RULE_MALFORMED",
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// A rule whose fields were checked, with its instants and versions parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub rule: Rule,
    pub version: Version,
    pub schema_version: Version,
    pub engine_version: Option<Version>,
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    /// Which source provided it.
    pub source: String,
}

impl crate::trust::material::Material for Checked {
    const KIND: &'static str = "rule";

    fn identity(&self) -> String {
        format!("{}@{}", self.rule.identifier, self.rule.version)
    }

    fn in_force(&self, now: OffsetDateTime) -> bool {
        now < self.valid_to
    }
}

/// Parses and checks one rule file.
pub fn parse(bytes: &[u8], source: &str) -> Result<Checked, RuleError> {
    if bytes.len() > MAX_RULE_BYTES {
        return Err(RuleError::TooLarge);
    }
    let rule: Rule =
        serde_json::from_slice(bytes).map_err(|e| RuleError::Malformed(clip(&e.to_string())))?;
    check(rule, source)
}

/// Checks the fields of `rule`.
pub fn check(rule: Rule, source: &str) -> Result<Checked, RuleError> {
    let id_ok = {
        let parts: Vec<&str> = rule.identifier.split('-').collect();
        matches!(parts.as_slice(), [kind, cc, n]
            if ["GR", "VR", "TR", "RR", "IR"].contains(kind)
                && cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase())
                && n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if !id_ok {
        return Err(RuleError::BadIdentifier(clip(&rule.identifier)));
    }
    if !(rule.country.len() == 2 && rule.country.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(RuleError::BadCountry(clip(&rule.country)));
    }
    let version = |field: &'static str, value: &str| {
        Version::parse(value).ok_or_else(|| RuleError::BadVersion {
            field,
            value: clip(value),
        })
    };
    let instant = |field: &'static str, value: &str| {
        crate::util::parse_rfc3339(value).ok_or_else(|| RuleError::BadTime {
            field,
            value: clip(value),
        })
    };
    if !["General", "Vaccination", "Test", "Recovery"].contains(&rule.certificate_type.as_str()) {
        return Err(RuleError::BadCertificateType(clip(&rule.certificate_type)));
    }
    let issues = certlogic::validate(&rule.logic);
    if let Some(first) = issues.first() {
        return Err(RuleError::BadLogic(clip(&first.message)));
    }
    Ok(Checked {
        version: version("Version", &rule.version)?,
        schema_version: version("SchemaVersion", &rule.schema_version)?,
        engine_version: Version::parse(&rule.engine_version),
        valid_from: instant("ValidFrom", &rule.valid_from)?,
        valid_to: instant("ValidTo", &rule.valid_to)?,
        source: source.to_owned(),
        rule,
    })
}

/// PASSED, FAIL or OPEN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    Passed,
    Fail,
    Open,
}

/// The `external` part of the data context.
#[derive(Debug, Clone)]
pub struct External<'a> {
    pub validation_clock: OffsetDateTime,
    pub value_sets: &'a Value,
    pub country_code: &'a str,
    pub region: Option<&'a str>,
    pub exp: Option<OffsetDateTime>,
    pub iat: Option<OffsetDateTime>,
    pub issuer_country_code: &'a str,
    /// Base64 kid.
    pub kid: &'a str,
}

impl External<'_> {
    /// The data context `{payload, external}` rules are evaluated on.
    pub fn context(&self, payload: &Value) -> Value {
        let t = |at: Option<OffsetDateTime>| at.map(certlogic::dates::format);
        json!({
            "payload": payload,
            "external": {
                "validationClock": certlogic::dates::format(self.validation_clock),
                "valueSets": self.value_sets,
                "countryCode": self.country_code,
                "region": self.region,
                "exp": t(self.exp),
                "iat": t(self.iat),
                "issuerCountryCode": self.issuer_country_code,
                "kid": self.kid,
            }
        })
    }
}

/// The outcome of one rule on the data context `data`, for a payload of schema `payload_ver`.
pub fn outcome(rule: &Checked, data: &Value, payload_ver: Option<&str>) -> Outcome {
    explain(rule, data, payload_ver).0
}

/// [`outcome`], with why a rule is OPEN.
pub fn explain(
    rule: &Checked,
    data: &Value,
    payload_ver: Option<&str>,
) -> (Outcome, Option<String>) {
    if rule.rule.engine != "CERTLOGIC" {
        return (
            Outcome::Open,
            Some(format!(
                "engine {:?} is not CERTLOGIC",
                clip(&rule.rule.engine)
            )),
        );
    }
    if rule.engine_version.is_none_or(|v| v > ENGINE_VERSION) {
        return (
            Outcome::Open,
            Some("the rule needs a newer CertLogic engine than 1.3.3".into()),
        );
    }
    let schema_ok = payload_ver
        .and_then(Version::parse)
        .is_some_and(|v| v.0 == rule.schema_version.0 && v >= rule.schema_version);
    if !schema_ok {
        return (
            Outcome::Open,
            Some(format!(
                "the certificate's schema version does not meet the rule's {}",
                rule.rule.schema_version
            )),
        );
    }
    match certlogic::evaluate(&rule.rule.logic, data) {
        Ok(v) => match v.truthiness() {
            Some(true) => (Outcome::Passed, None),
            Some(false) => (Outcome::Fail, None),
            None => (
                Outcome::Open,
                Some("the logic evaluated to neither true nor false".into()),
            ),
        },
        Err(e) => (Outcome::Open, Some(format!("evaluation error: {e}"))),
    }
}

/// A rule named in an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleRef {
    pub identifier: String,
    /// `Acceptance` or `Invalidation`.
    #[serde(rename = "type")]
    pub rule_type: String,
    pub version: String,
    /// The English description (else the first one).
    pub description: Option<String>,
}

/// The rules of a destination applied to one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Assessment {
    pub country: String,
    pub region: Option<String>,
    pub passed: Vec<RuleRef>,
    pub failed: Vec<RuleRef>,
    pub open: Vec<RuleRef>,
    /// `false` when a rule failed, `null` when one is open or no rule applies, else `true`.
    pub admissible: Option<bool>,
}

fn rule_ref(c: &Checked) -> RuleRef {
    let d = &c.rule.description;
    RuleRef {
        identifier: c.rule.identifier.clone(),
        rule_type: format!("{:?}", c.rule.rule_type),
        version: c.rule.version.clone(),
        description: d
            .iter()
            .find(|d| d.lang == "en")
            .or(d.first())
            .map(|d| d.desc.clone()),
    }
}

/// A value set from a rule source: (source, valueSetId, codes sorted).
pub type SourcedValueSet = (String, String, Vec<String>);

/// Every rule in force, from every source, and the value sets rules read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Checked>,
    /// Value sets from rule sources, merged over the bundled ones (`None`: the bundled ones).
    value_sets: Option<std::sync::Arc<Value>>,
    /// `(source, id, codes)` of the value sets from rule sources, as they came.
    pub extra_value_sets: Vec<SourcedValueSet>,
}

impl RuleSet {
    /// A set of `rules`, with value sets from rule sources (each replaces the bundled set of the
    /// same id; the last one of an id wins).
    pub fn new(rules: Vec<Checked>, value_sets: Vec<SourcedValueSet>) -> RuleSet {
        let merged = (!value_sets.is_empty()).then(|| {
            let mut all = crate::hcert::payload::value_sets_by_id().clone();
            if let Some(map) = all.as_object_mut() {
                for (_, id, codes) in &value_sets {
                    map.insert(id.clone(), Value::from(codes.clone()));
                }
            }
            std::sync::Arc::new(all)
        });
        RuleSet {
            rules,
            value_sets: merged,
            extra_value_sets: value_sets,
        }
    }

    /// The value sets rules are evaluated with (`external.valueSets`).
    pub fn value_sets(&self) -> &Value {
        self.value_sets
            .as_deref()
            .unwrap_or_else(|| crate::hcert::payload::value_sets_by_id())
    }

    /// Identities of the rules and value sets, for the snapshot id.
    pub fn fingerprint(&self, ctx: &mut ring::digest::Context) {
        let mut ids: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let text = serde_json::to_string(&r.rule).unwrap_or_default();
                format!("{}\u{0}{text}", r.source)
            })
            .collect();
        ids.sort();
        for id in ids {
            ctx.update(id.as_bytes());
            ctx.update(&[0xff]);
        }
        for (source, id, codes) in &self.extra_value_sets {
            ctx.update(source.as_bytes());
            ctx.update(id.as_bytes());
            ctx.update(codes.join(",").as_bytes());
        }
    }

    /// Countries that have acceptance rules.
    pub fn countries(&self) -> std::collections::BTreeSet<String> {
        self.rules
            .iter()
            .filter(|r| r.rule.rule_type == RuleType::Acceptance)
            .map(|r| r.rule.country.clone())
            .collect()
    }

    /// The rules that apply (see the module docs), sorted by identifier.
    pub fn applicable(
        &self,
        destination: &str,
        region: Option<&str>,
        issuer: &str,
        cert_type: Option<CertType>,
        clock: OffsetDateTime,
    ) -> Vec<&Checked> {
        let type_name = cert_type.map(|t| match t {
            CertType::Vaccination => "Vaccination",
            CertType::Test => "Test",
            CertType::Recovery => "Recovery",
        });
        let mut newest: std::collections::BTreeMap<&str, &Checked> = Default::default();
        for r in &self.rules {
            let applies = match r.rule.rule_type {
                RuleType::Acceptance => {
                    r.rule.country == destination
                        && r.rule
                            .region
                            .as_deref()
                            .is_none_or(|rr| rr.is_empty() || Some(rr) == region)
                }
                RuleType::Invalidation => r.rule.country == issuer,
            } && (r.rule.certificate_type == "General"
                || Some(r.rule.certificate_type.as_str()) == type_name)
                && r.valid_from <= clock
                && clock < r.valid_to;
            if !applies {
                continue;
            }
            let slot = newest.entry(r.rule.identifier.as_str()).or_insert(r);
            if r.version.cmp(&slot.version) == Ordering::Greater {
                *slot = r;
            }
        }
        newest.into_values().collect()
    }

    /// Applies the destination's rules to a verified certificate's payload.
    pub fn assess(
        &self,
        payload: &Value,
        external: &External<'_>,
        cert_type: Option<CertType>,
    ) -> Assessment {
        let rules = self.applicable(
            external.country_code,
            external.region,
            external.issuer_country_code,
            cert_type,
            external.validation_clock,
        );
        let data = external.context(payload);
        let ver = payload.get("ver").and_then(Value::as_str);
        let mut a = Assessment {
            country: external.country_code.to_owned(),
            region: external.region.map(str::to_owned),
            passed: Vec::new(),
            failed: Vec::new(),
            open: Vec::new(),
            admissible: None,
        };
        for r in &rules {
            match outcome(r, &data, ver) {
                Outcome::Passed => a.passed.push(rule_ref(r)),
                Outcome::Fail => a.failed.push(rule_ref(r)),
                Outcome::Open => a.open.push(rule_ref(r)),
            }
        }
        a.admissible = if !a.failed.is_empty() {
            Some(false)
        } else if !a.open.is_empty() || rules.is_empty() {
            None
        } else {
            Some(true)
        };
        a
    }
}

/// Applies the rules of destination `country` (and `region`) in `set` at `at` to a certificate
/// whose signature verified: the data context is its DCC payload and its claims, the issuer is
/// the DSC's country (else the `iss` claim). The one place the verify API and the CLI assess.
pub fn assess_certificate(
    set: &RuleSet,
    signed: &crate::hcert::Signed,
    at: OffsetDateTime,
    country: &str,
    region: Option<&str>,
) -> Assessment {
    let kid = crate::util::base64_encode(&signed.kid);
    let issuer = signed
        .dsc
        .country
        .clone()
        .or_else(|| signed.claims.iss.clone())
        .unwrap_or_default();
    let external = External {
        validation_clock: at,
        value_sets: set.value_sets(),
        country_code: country,
        region,
        exp: signed.claims.exp,
        iat: signed.claims.iat,
        issuer_country_code: &issuer,
        kid: &kid,
    };
    set.assess(&signed.claims.dcc, &external, signed.payload.cert_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, version: &str, logic: Value) -> Checked {
        let r: Rule = serde_json::from_value(json!({
            "Identifier": id, "Type": "Acceptance", "Country": "VN", "Version": version,
            "SchemaVersion": "1.0.0", "Engine": "CERTLOGIC", "EngineVersion": "0.7.5",
            "CertificateType": "Vaccination",
            "Description": [{"lang": "en", "desc": "test rule"}],
            "ValidFrom": "2021-01-01T00:00:00Z", "ValidTo": "2030-01-01T00:00:00Z",
            "AffectedFields": ["v.0.dn"], "Logic": logic
        }))
        .unwrap();
        check(r, "test").unwrap()
    }

    fn ext(clock: &str) -> External<'static> {
        External {
            validation_clock: crate::util::parse_rfc3339(clock).unwrap(),
            value_sets: crate::hcert::payload::value_sets_by_id(),
            country_code: "VN",
            region: None,
            exp: None,
            iat: None,
            issuer_country_code: "DE",
            kid: "AAAAAAAAAAA=",
        }
    }

    #[test]
    fn the_newest_valid_version_decides_and_versions_gate_to_open() {
        let old = rule("VR-VN-0001", "1.0.0", json!(false));
        let new = rule(
            "VR-VN-0001",
            "1.1.0",
            json!({"===": [{"var": "payload.v.0.dn"}, 2]}),
        );
        let set = RuleSet::new(vec![old, new], Vec::new());
        let payload = json!({"ver": "1.3.0", "v": [{"dn": 2}]});
        let a = set.assess(
            &payload,
            &ext("2022-01-01T00:00:00Z"),
            Some(CertType::Vaccination),
        );
        assert_eq!(
            (a.passed.len(), a.failed.len(), a.admissible),
            (1, 0, Some(true))
        );
        assert_eq!(a.passed[0].version, "1.1.0");
        // A payload of another major schema version: OPEN, not admissible either way.
        let a = set.assess(
            &json!({"ver": "2.0.0", "v": [{"dn": 2}]}),
            &ext("2022-01-01T00:00:00Z"),
            Some(CertType::Vaccination),
        );
        assert_eq!((a.open.len(), a.admissible), (1, None));
        // Test certificates are not concerned by a vaccination rule: nothing to judge by.
        let a = set.assess(&payload, &ext("2022-01-01T00:00:00Z"), Some(CertType::Test));
        assert_eq!((a.passed.len(), a.admissible), (0, None));
        // Past ValidTo the rule does not apply.
        let a = set.assess(
            &payload,
            &ext("2031-01-01T00:00:00Z"),
            Some(CertType::Vaccination),
        );
        assert!(a.passed.is_empty());
    }

    #[test]
    fn bad_rules_are_rejected_with_a_reason() {
        let mut r = rule("VR-VN-0001", "1.0.0", json!(true)).rule;
        r.logic = json!({"nope": [1]});
        assert_eq!(
            check(r.clone(), "t").unwrap_err().code(),
            "RULE_LOGIC_INVALID"
        );
        r.logic = json!(true);
        r.identifier = "X".repeat(1000);
        let e = check(r, "t").unwrap_err();
        assert!(e.to_string().len() < 120, "{e}");
        assert_eq!(
            parse(&vec![b' '; MAX_RULE_BYTES + 1], "t").unwrap_err(),
            RuleError::TooLarge
        );
        assert_eq!(Version::parse("1.2"), Some(Version(1, 2, 0)));
        assert_eq!(Version::parse("1.x"), None);
    }
}
