//! Step 6: the CWT claims (RFC 8392; hcert spec §3.3.1, §3.3.4–§3.3.7), read only from a
//! [`VerifiedSign1`].
//!
//! Claims: `1` iss (text, optional, used only as a hint), `4` exp, `6` iat (optional), and
//! the health certificate, in one of three layouts:
//!
//! * `-260` → `1`: an **EU DCC** (hcert spec §3.3.1); `exp` is required.
//! * `-260` → `3` (vaccination) or `4` (test result): a **WHO DDCC** core data set under the
//!   sub-claims WHO's SMART Trust HCERT model assigns (`DDCCCoreDataSetVS` / `…TR`); `exp` is
//!   required, as for every HCERT.
//! * no `-260` at all and text-keyed members (`name`, `birthDate`, `vaccine`, `test`, …): a
//!   **WHO DDCC** core data set as the payload itself, the layout WHO's own DDCC tooling
//!   issues and its reference validator reads (the WHO and Singapore example codes). `exp` is
//!   then optional: when claim 4 is absent the expiry is the data set's `valid_until` (or
//!   `certificate.period.end`), the end of that day in UTC when it is a date; with neither,
//!   the pass states no expiry and the verdict says so by leaving `expires_at` out.
//!
//! Timestamps may be integers or floats (seen in ES and HU certificates); floats are truncated
//! towards −∞ and must be finite and in range. The certificate is turned into
//! `serde_json::Value` for schema validation with a depth bound; CBOR that has no JSON form
//! (byte strings, non-text keys, NaN) is `CWT_INVALID` (CBOR `undefined`, which WHO's examples
//! carry for empty fields, decodes as null, and nulls count as absent). Text tags 0
//! (date-time) and 1004 (full-date) are unwrapped to their strings.

use coset::cbor::value::Value;
use serde_json::{Map, Number, Value as Json};
use time::OffsetDateTime;

use super::cose::{VerifiedSign1, read_cbor};
use super::error::ClaimsError;
use super::limits::Limits;
use super::result::PassFormat;

const ISS: i64 = 1;
const EXP: i64 = 4;
const IAT: i64 = 6;
const HCERT: i64 = -260;
const EU_DCC_V1: i64 = 1;
const DDCC_VS: i64 = 3;
const DDCC_TR: i64 = 4;

/// The signed claims of a health certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// [`PassFormat::EuDcc`] or [`PassFormat::WhoDdcc`].
    pub format: PassFormat,
    pub iss: Option<String>,
    pub iat: Option<OffsetDateTime>,
    /// Always present for an EU DCC; `None` only for a WHO DDCC data set without any expiry.
    pub exp: Option<OffsetDateTime>,
    /// The certificate JSON object (the EU DCC, or the WHO DDCC core data set), not yet
    /// validated.
    pub dcc: Json,
}

/// Reads the claims of a verified message.
pub fn read(msg: &VerifiedSign1, limits: &Limits) -> Result<Claims, ClaimsError> {
    parse(msg.payload(), limits)
}

/// Claim parsing without a signature check, for the fuzz targets only (built with
/// `--cfg fuzzing`, which cargo-fuzz sets).
#[cfg(fuzzing)]
pub fn parse_unverified_for_fuzzing(
    payload: &[u8],
    limits: &Limits,
) -> Result<Claims, ClaimsError> {
    parse(payload, limits)
}

pub(crate) fn parse(payload: &[u8], limits: &Limits) -> Result<Claims, ClaimsError> {
    let value = read_cbor(payload, limits).map_err(|e| match e {
        super::error::DecodeError::CborTooDeep => ClaimsError::TooDeep,
        _ => ClaimsError::Cbor,
    })?;
    let Value::Map(entries) = value else {
        return Err(ClaimsError::NotAMap);
    };
    let mut iss = None;
    let mut iat = None;
    let mut exp = None;
    let mut hcert = None;
    let mut seen: Vec<i64> = Vec::new();
    let mut members: Vec<(Value, Value)> = Vec::new();
    for (key, value) in entries {
        let Some(label) = key.as_integer().and_then(|i| i64::try_from(i).ok()) else {
            if matches!(key, Value::Text(_)) {
                // Text-labelled members: a WHO DDCC data set as the payload itself.
                members.push((key, value));
            }
            continue;
        };
        if matches!(label, ISS | EXP | IAT | HCERT) {
            if seen.contains(&label) {
                return Err(ClaimsError::Duplicate { claim: label });
            }
            seen.push(label);
        }
        match label {
            ISS => {
                iss = Some(match value {
                    Value::Text(t) => t,
                    _ => return Err(ClaimsError::WrongType { claim: ISS }),
                })
            }
            EXP => exp = Some(numeric_date(&value).ok_or(ClaimsError::WrongType { claim: EXP })?),
            IAT => iat = Some(numeric_date(&value).ok_or(ClaimsError::WrongType { claim: IAT })?),
            HCERT => hcert = Some(value),
            _ => {}
        }
    }
    let (format, dcc) = match hcert {
        Some(Value::Map(mut hcert)) => {
            let mut by_key = |wanted: i64| {
                hcert
                    .iter()
                    .position(|(k, _)| {
                        k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(wanted)
                    })
                    .map(|at| hcert.swap_remove(at).1)
            };
            let (format, cert) = if let Some(dcc) = by_key(EU_DCC_V1) {
                (PassFormat::EuDcc, dcc)
            } else if let Some(ddcc) = by_key(DDCC_VS).or_else(|| by_key(DDCC_TR)) {
                (PassFormat::WhoDdcc, ddcc)
            } else {
                return Err(ClaimsError::MissingHcert);
            };
            if exp.is_none() {
                return Err(ClaimsError::MissingExp);
            }
            (format, to_json(cert, limits.max_cbor_depth)?)
        }
        Some(_) => return Err(ClaimsError::WrongType { claim: HCERT }),
        None if members.is_empty() => {
            return Err(if exp.is_some() {
                ClaimsError::MissingHcert
            } else {
                ClaimsError::MissingExp
            });
        }
        None => {
            let ddcc = to_json(Value::Map(members), limits.max_cbor_depth)?;
            if exp.is_none() {
                exp = ddcc_expiry(&ddcc);
            }
            (PassFormat::WhoDdcc, ddcc)
        }
    };
    if !dcc.is_object() {
        return Err(ClaimsError::WrongType { claim: HCERT });
    }
    Ok(Claims {
        format,
        iss,
        iat,
        exp,
        dcc,
    })
}

/// The end of a WHO DDCC data set's validity: `valid_until` (flat layout) or
/// `certificate.period.end` (nested layout), a date (its last second, UTC) or a date-time.
fn ddcc_expiry(ddcc: &Json) -> Option<OffsetDateTime> {
    let text = ddcc
        .get("valid_until")
        .or_else(|| ddcc.pointer("/certificate/period/end"))
        .and_then(Json::as_str)?;
    let ymd = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, ymd) {
        return date
            .with_hms(23, 59, 59)
            .ok()
            .map(time::PrimitiveDateTime::assume_utc);
    }
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// NumericDate as int or float (truncated), within the range `time` can represent.
fn numeric_date(value: &Value) -> Option<OffsetDateTime> {
    let seconds = match value {
        Value::Integer(i) => i64::try_from(*i).ok()?,
        Value::Float(f) if f.is_finite() && f.abs() < 1e15 => {
            #[expect(clippy::cast_possible_truncation, reason = "range checked just above")]
            let s = f.floor() as i64;
            s
        }
        _ => return None,
    };
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

/// CBOR to JSON (text keys, no duplicates, dates as text), at most `depth` levels.
pub(crate) fn to_json(value: Value, depth: usize) -> Result<Json, ClaimsError> {
    let depth = depth.checked_sub(1).ok_or(ClaimsError::TooDeep)?;
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Text(t) => Json::String(t),
        Value::Integer(i) => {
            let i = i128::from(i);
            if let Ok(v) = i64::try_from(i) {
                Json::Number(v.into())
            } else if let Ok(v) = u64::try_from(i) {
                Json::Number(v.into())
            } else {
                return Err(ClaimsError::NotJson);
            }
        }
        Value::Float(f) => Json::Number(Number::from_f64(f).ok_or(ClaimsError::NotJson)?),
        Value::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|v| to_json(v, depth))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                let Value::Text(k) = k else {
                    return Err(ClaimsError::NotJson);
                };
                if map.insert(k, to_json(v, depth)?).is_some() {
                    return Err(ClaimsError::NotJson);
                }
            }
            Json::Object(map)
        }
        Value::Tag(0 | 1004, inner) => match *inner {
            Value::Text(t) => Json::String(t),
            _ => return Err(ClaimsError::NotJson),
        },
        _ => return Err(ClaimsError::NotJson),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use coset::cbor::value::Value as V;

    fn cbor(v: &V) -> Vec<u8> {
        let mut out = Vec::new();
        coset::cbor::ser::into_writer(v, &mut out).unwrap();
        out
    }

    fn dcc() -> V {
        V::Map(vec![(V::Text("ver".into()), V::Text("1.3.0".into()))])
    }

    fn claims(entries: Vec<(V, V)>) -> Result<Claims, ClaimsError> {
        parse(&cbor(&V::Map(entries)), &Limits::default())
    }

    fn hcert() -> (V, V) {
        (
            V::Integer((-260).into()),
            V::Map(vec![(V::Integer(1.into()), dcc())]),
        )
    }

    #[test]
    fn reads_int_and_float_timestamps() {
        let c = claims(vec![
            (V::Integer(1.into()), V::Text("VN".into())),
            (V::Integer(4.into()), V::Float(1_700_000_000.933)),
            (V::Integer(6.into()), V::Integer(1_600_000_000.into())),
            hcert(),
        ])
        .unwrap();
        assert_eq!(c.iss.as_deref(), Some("VN"));
        assert_eq!(c.exp.map(|e| e.unix_timestamp()), Some(1_700_000_000));
        assert_eq!(c.format, PassFormat::EuDcc);
        assert_eq!(c.iat.unwrap().unix_timestamp(), 1_600_000_000);
        assert_eq!(c.dcc["ver"], "1.3.0");
    }

    #[test]
    fn rejects_missing_duplicate_and_mistyped_claims() {
        assert_eq!(claims(vec![hcert()]), Err(ClaimsError::MissingExp));
        assert_eq!(
            claims(vec![(V::Integer(4.into()), V::Integer(1.into()))]),
            Err(ClaimsError::MissingHcert)
        );
        assert_eq!(
            claims(vec![
                (V::Integer(4.into()), V::Text("soon".into())),
                hcert()
            ]),
            Err(ClaimsError::WrongType { claim: 4 })
        );
        assert_eq!(
            claims(vec![(V::Integer(4.into()), V::Float(f64::NAN)), hcert()]),
            Err(ClaimsError::WrongType { claim: 4 })
        );
        assert_eq!(
            claims(vec![
                (V::Integer(4.into()), V::Integer(1.into())),
                (V::Integer(4.into()), V::Integer(2.into())),
                hcert()
            ]),
            Err(ClaimsError::Duplicate { claim: 4 })
        );
        assert_eq!(
            parse(&cbor(&V::Array(vec![])), &Limits::default()),
            Err(ClaimsError::NotAMap)
        );
    }

    #[test]
    fn dcc_must_be_json_representable() {
        let bytes_in_dcc = (
            V::Integer((-260).into()),
            V::Map(vec![(
                V::Integer(1.into()),
                V::Map(vec![(V::Text("x".into()), V::Bytes(vec![1]))]),
            )]),
        );
        assert_eq!(
            claims(vec![
                (V::Integer(4.into()), V::Integer(1.into())),
                bytes_in_dcc
            ]),
            Err(ClaimsError::NotJson)
        );
    }
}
