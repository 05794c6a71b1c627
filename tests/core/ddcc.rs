//! WHO DDCC in HC1 framing: both layouts (the data set as the CWT payload, as WHO's tooling
//! issues it; and under claim -260 sub-claims 3 / 4 of WHO's HCERT model), signed here with a
//! freshly minted DSC, verified with `format` `who-ddcc` and their own payload rules.

use coset::cbor::value::Value as V;
use dcc_gateway::crypto::Alg;
use dcc_gateway::hcert::encode::wrap;
use dcc_gateway::hcert::{ErrorCode, PassFormat, payload::CertType};
use serde_json::{Value as Json, json};
use time::Duration;

use super::support::*;

fn cbor(v: &V) -> Vec<u8> {
    let mut out = Vec::new();
    coset::cbor::ser::into_writer(v, &mut out).unwrap();
    out
}

fn value(j: &Json) -> V {
    V::serialized(j).unwrap()
}

/// The flat data set (WHO's example shape) as a CBOR map with text keys.
fn flat() -> Json {
    json!({
        "name": "Nguyễn Văn An", "birthDate": "1986-09-19", "identifier": "1234567890",
        "sex": {"system": "http://hl7.org/fhir/administrative-gender", "code": "male"},
        "vaccine": {"system": "http://snomed.info/sct", "code": "1119349007"},
        "brand": {"system": "http://id.who.int/icd11/mms", "code": "XM0GQ8"},
        "manufacturer": {"system": "x", "code": "ORG-100030215"},
        "lot": "PT123F", "date": "2021-05-01", "dose": 1, "total_doses": 2,
        "country": {"system": "urn:iso:std:iso:3166", "code": "VNM"},
        "centre": "Bach Mai", "hcid": "VN111222333", "valid_from": "2021-05-01",
        "valid_until": "2022-05-01"
    })
}

fn signed(s: &Signer, payload: &V) -> String {
    wrap(&cose(s, cbor(payload)))
}

#[test]
fn the_flat_data_set_as_payload_verifies_as_who_ddcc() {
    let s = signer(Alg::Es256);
    let snap = snapshot(&[&s]);
    let qr = signed(&s, &value(&flat()));
    let r = run(&qr, &snap, T0);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::WhoDdcc);
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(c.cert_type, Some(CertType::Vaccination));
    assert_eq!(c.holder.name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(c.holder.date_of_birth.as_deref(), Some("1986-09-19"));
    assert_eq!(c.uvci.as_deref(), Some("VN111222333"));
    // No exp claim: the data set's valid_until, to the end of that day.
    assert_eq!(c.expires_at.as_deref(), Some("2022-05-01T23:59:59Z"));
    assert_eq!(c.vaccinations.len(), 1);
    assert_eq!(c.vaccinations[0].product.as_deref(), Some("XM0GQ8"));
    assert_eq!(
        (c.vaccinations[0].dose, c.vaccinations[0].doses),
        (Some(1), Some(2))
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["format"], "who-ddcc");
    assert_eq!(json["certificate"]["holder"]["name"], "Nguyễn Văn An");

    let later = run(&qr, &snap, T0 + Duration::days(400));
    assert_eq!(later.error_codes(), vec![ErrorCode::CwtExpired]);
    assert_eq!(later.format, PassFormat::WhoDdcc);
}

#[test]
fn undefined_members_count_as_absent_and_a_data_set_without_expiry_states_none() {
    let s = signer(Alg::Ps256);
    let snap = snapshot(&[&s]);
    let mut d = flat();
    let obj = d.as_object_mut().unwrap();
    obj.remove("valid_until");
    obj.insert("date".into(), Json::Null);
    let mut bytes = cbor(&value(&d));
    // CBOR undefined (0xf7) where serde wrote null (0xf6) for `date`, as WHO's example has it.
    let at = bytes.windows(6).position(|w| w == b"\x64date\xf6").unwrap();
    bytes[at + 5] = 0xf7;
    let qr = wrap(&cose(&s, bytes));
    let r = run(&qr, &snap, T0 + Duration::days(600));
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::WhoDdcc);
    assert!(r.certificate.as_ref().unwrap().expires_at.is_none());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.code == ErrorCode::PayloadSchemaInvalid && w.message.contains("`date`")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn the_hcert_sub_claims_of_who_hcert_model_are_read_with_exp_required() {
    let s = signer(Alg::Es256);
    let snap = snapshot(&[&s]);
    let vs = json!({
        "name": "Trần Minh", "birthDate": "1990-12-01",
        "certificate": {"hcid": {"value": "HCID-1"}, "version": "RC2",
            "period": {"start": "2021-05-01", "end": "2022-05-01"}},
        "vaccination": {"vaccine": {"system": "http://snomed.info/sct", "code": "1119349007"},
            "brand": {"system": "x", "code": "EU/1/20/1528"}, "lot": "L1", "date": "2021-05-01",
            "dose": 2, "totalDoses": 2, "country": {"code": "VNM"}}
    });
    let claims = |sub: i64, exp: bool, data: &Json| {
        let mut m = vec![(V::Integer(1.into()), V::Text("VN".into()))];
        if exp {
            m.push((
                V::Integer(4.into()),
                V::Integer((T0 + Duration::days(30)).unix_timestamp().into()),
            ));
        }
        m.push((
            V::Integer((-260).into()),
            V::Map(vec![(V::Integer(sub.into()), value(data))]),
        ));
        V::Map(m)
    };
    let r = run(&signed(&s, &claims(3, true, &vs)), &snap, T0);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.format, PassFormat::WhoDdcc);
    let c = r.certificate.as_ref().unwrap();
    assert_eq!(c.uvci.as_deref(), Some("HCID-1"));
    assert_eq!(c.iss.as_deref(), Some("VN"));
    assert_eq!(c.vaccinations[0].product.as_deref(), Some("EU/1/20/1528"));
    assert_eq!(
        c.expires_at.as_deref(),
        Some(dcc_gateway::util::rfc3339(T0 + Duration::days(30)).as_str())
    );

    let no_exp = run(&signed(&s, &claims(3, false, &vs)), &snap, T0);
    assert_eq!(no_exp.error_codes(), vec![ErrorCode::CwtInvalid]);

    let tr = json!({"name": "Trần Minh", "test": {
        "pathogen": {"system": "http://id.who.int/icd11/mms", "code": "XN109"},
        "type": {"system": "http://loinc.org", "code": "LP6464-4"},
        "date": "2021-05-30T08:00:00Z", "result": {"code": "260415000"},
        "country": {"code": "VNM"}}});
    let r = run(&signed(&s, &claims(4, true, &tr)), &snap, T0);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(
        r.certificate.as_ref().unwrap().cert_type,
        Some(CertType::Test)
    );
    assert!(r.certificate.as_ref().unwrap().vaccinations.is_empty());
}

#[test]
fn data_set_refusals_and_the_eu_dcc_unchanged() {
    let s = signer(Alg::Es256);
    let snap = snapshot(&[&s]);
    let mut d = flat();
    d.as_object_mut().unwrap().remove("name");
    let r = run(&signed(&s, &value(&d)), &snap, T0);
    assert_eq!(r.format, PassFormat::WhoDdcc);
    assert_eq!(r.error_codes(), vec![ErrorCode::PayloadSchemaInvalid]);

    let mut d = flat();
    d["dose"] = json!("one");
    let r = run(&signed(&s, &value(&d)), &snap, T0);
    assert_eq!(r.error_codes(), vec![ErrorCode::PayloadSchemaInvalid]);

    // A byte string in the data set has no JSON form.
    let mut m = match value(&flat()) {
        V::Map(m) => m,
        _ => unreachable!(),
    };
    m.push((V::Text("photo".into()), V::Bytes(vec![1, 2, 3])));
    let r = run(&signed(&s, &V::Map(m)), &snap, T0);
    assert_eq!(r.error_codes(), vec![ErrorCode::CwtInvalid]);

    // A tampered signature: nothing of the payload is read, so the family is not known.
    let qr = signed(&s, &value(&flat()));
    let other = signer(Alg::Es256);
    let forged = wrap(&cose(
        &Signer {
            key: other.key,
            dsc: s.dsc.clone(),
            pem: String::new(),
            der: Vec::new(),
        },
        cbor(&value(&flat())),
    ));
    assert_ne!(forged, qr);
    let r = run(&forged, &snap, T0);
    assert_eq!(r.error_codes(), vec![ErrorCode::SignatureInvalid]);
    assert_eq!(r.format, PassFormat::EuDcc);
    assert!(r.certificate.is_none());

    let eu = run(&hc1(&s, &vaccination()), &snap, T0);
    assert!(eu.valid);
    assert_eq!(eu.format, PassFormat::EuDcc);
    assert!(eu.certificate.as_ref().unwrap().holder.name.is_none());
}
