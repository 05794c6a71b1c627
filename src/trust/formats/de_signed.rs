//! German signed DSC list (spec §4.3): a base64 signature line, then the JSON
//! `{"certificates":[TrustListItem…]}`.
//!
//! **Signing input.** The body must be UTF-8. The signature is the text before the first `{`,
//! with surrounding ASCII whitespace removed (so `\n` and `\r\n` line ends both work): standard
//! Base64 of a raw 64-byte `r‖s` ECDSA P-256/SHA-256 signature (a DER `ECDSA-Sig-Value` is
//! tolerated). The signed bytes are everything from the first `{` to the end of the body,
//! exactly as received; this is how the German clients split (`substringBefore("{")`). If that
//! does not verify and the body ends in ASCII whitespace, the JSON without its trailing
//! whitespace is tried as well (a server appending a final newline after signing); trailing
//! whitespace does not change the JSON's meaning. [`render`] writes `signature "\n" json` with no
//! trailing newline, and signs exactly the JSON bytes.
//!
//! **Signer.** The anchor pins keys only, so a list signed by a different key cannot be told
//! apart from a tampered one: both are [`ListError::BadSignature`]. An empty anchor is
//! [`ListError::AnchorRequired`].
//!
//! **Entries.** Items whose `certificateType` is not `DSC` are skipped (not reported). For each
//! DSC item: `rawData` (Base64 DER) must decode, `thumbprint` (if present) must be the hex SHA-256
//! of the DER, then [`admit`] checks the stated `kid`, validity and key, and the certificate's
//! `C=` must equal the item's `country` ([`RejectReason::CountryMismatch`]). The per-item CMS
//! `signature` is **not** checked: the list signature vouches for every item (and Vietnam's own
//! publication carries none).
//!
//! **Replay protection** (Vietnam's publication): the signed JSON may carry `"version"` (u64) and
//! `"expires"` (RFC 3339); at and after `expires` the list is [`ListError::Expired`]. Callers
//! read the version with [`list_meta`] and refuse one older than they hold.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{
    Context, Ingested, ListError, ListMeta, MAX_ENTRIES, RejectReason, Rejected, admit, push_unique,
};
use crate::keys::mint::SignerKey;
use crate::trust::jose::{self, RenderError};
use crate::trust::model::{Dsc, Kid};
use crate::util::{base64_decode, base64_encode, rfc3339};

/// One item of the German list (an EU gateway TrustListItem).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeItem {
    pub certificate_type: String,
    pub country: String,
    pub kid: String,
    /// Base64 DER certificate.
    pub raw_data: String,
    /// Base64 detached CMS of the gateway upload (not checked; absent in Vietnam's list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Lower-case hex SHA-256 of the DER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// RFC 3339 creation time of the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// The items publishing `ders` (DSCs), their country taken from each certificate's `C=`.
pub fn items_for(ders: &[Vec<u8>], timestamp: OffsetDateTime) -> Result<Vec<DeItem>, RenderError> {
    ders.iter()
        .enumerate()
        .map(|(i, der)| {
            let dsc = Dsc::from_der(der, "render")
                .map_err(|_| RenderError::BadCertificate(i, "not X.509"))?;
            let country = dsc
                .country
                .ok_or(RenderError::BadCertificate(i, "no country in the subject"))?;
            Ok(DeItem {
                certificate_type: "DSC".into(),
                country,
                kid: Kid::of_der(der).to_base64(),
                raw_data: base64_encode(der),
                signature: None,
                thumbprint: Some(crate::util::sha256_hex(der)),
                timestamp: Some(rfc3339(timestamp)),
            })
        })
        .collect()
}

/// Renders a signed list: `base64(r‖s) "\n" {"certificates":[…],"expires":…,"version":…}`.
pub fn render(items: &[DeItem], meta: ListMeta, key: &SignerKey) -> Result<Vec<u8>, RenderError> {
    let mut list = Map::new();
    let items = serde_json::to_value(items).map_err(|_| RenderError::Content("items"))?;
    list.insert("certificates".into(), items);
    if let Some(version) = meta.version {
        list.insert("version".into(), version.into());
    }
    if let Some(expires) = meta.expires {
        list.insert("expires".into(), rfc3339(expires).into());
    }
    let json =
        serde_json::to_vec(&Value::Object(list)).map_err(|_| RenderError::Content("json"))?;
    let sig = jose::sign_es256(key, &json)?;
    let mut out = base64_encode(&sig).into_bytes();
    out.push(b'\n');
    out.extend_from_slice(&json);
    Ok(out)
}

/// The signature text and the signed JSON of a body (see the module documentation).
fn split(bytes: &[u8]) -> Result<(&str, &str), ListError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ListError::Malformed("the list is not UTF-8".into()))?;
    let at = text
        .find('{')
        .ok_or_else(|| ListError::Malformed("no JSON part".into()))?;
    let (sig, json) = text.split_at(at);
    Ok((sig.trim_ascii(), json))
}

/// The list's version and expiry, read **without** checking the signature: call it on a body
/// [`ingest`] accepted. None if the body is not a list.
pub fn list_meta(bytes: &[u8]) -> Option<ListMeta> {
    let (_, json) = split(bytes).ok()?;
    let value: Value = serde_json::from_str(json).ok()?;
    ListMeta::from_object(value.as_object()?).ok()
}

/// Reads a German signed DSC list.
pub fn ingest(bytes: &[u8], ctx: &Context<'_>) -> Result<Ingested, ListError> {
    if ctx.anchor.is_empty() {
        return Err(ListError::AnchorRequired);
    }
    let (sig_text, json) = split(bytes)?;
    if sig_text.is_empty() {
        return Err(ListError::Malformed("no signature line".into()));
    }
    let sig = base64_decode(sig_text)
        .ok_or_else(|| ListError::Malformed("the signature line is not Base64".into()))?;
    let value: Value = serde_json::from_str(json)
        .map_err(|e| ListError::Malformed(format!("the JSON part: {e}")))?;
    let trimmed = json.trim_end_matches(|c: char| c.is_ascii_whitespace());
    let verifies = |msg: &str| {
        jose::es256_encodings(&sig)
            .into_iter()
            .any(|alg| ctx.anchor.verify(alg, msg.as_bytes(), &sig))
    };
    if !(verifies(json) || (trimmed.len() != json.len() && verifies(trimmed))) {
        return Err(ListError::BadSignature);
    }
    let object = value
        .as_object()
        .ok_or_else(|| ListError::Malformed("the JSON part is not an object".into()))?;
    ListMeta::from_object(object)?.check(ctx.now)?;
    let items = object
        .get("certificates")
        .and_then(Value::as_array)
        .ok_or_else(|| ListError::Malformed("no certificates array".into()))?;
    if items.len() > MAX_ENTRIES {
        return Err(ListError::TooManyEntries(MAX_ENTRIES));
    }
    let mut out = Ingested::default();
    for (i, item) in items.iter().enumerate() {
        let text = |name: &str| item.get(name).and_then(Value::as_str);
        if text("certificateType").is_some_and(|t| t != "DSC") {
            continue;
        }
        let entry = text("kid").map_or_else(|| format!("#{i}"), str::to_owned);
        let country = text("country").map(str::to_owned);
        match check_item(item, ctx) {
            Ok(dsc) => push_unique(&mut out, dsc, entry),
            Err(reason) => out.rejected.push(Rejected {
                entry,
                country,
                reason,
            }),
        }
    }
    Ok(out)
}

fn check_item(item: &Value, ctx: &Context<'_>) -> Result<Dsc, RejectReason> {
    let item = DeItem::deserialize(item).map_err(|_| RejectReason::Malformed)?;
    let der = base64_decode(&item.raw_data).ok_or(RejectReason::Malformed)?;
    if let Some(thumbprint) = &item.thumbprint {
        let digest = crate::util::sha256_hex(&der);
        if !thumbprint.eq_ignore_ascii_case(&digest) {
            return Err(RejectReason::Malformed);
        }
    }
    let dsc = admit(&der, Some(&item.kid), ctx)?;
    if dsc.country.as_deref() != Some(item.country.as_str()) {
        return Err(RejectReason::CountryMismatch);
    }
    Ok(dsc)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{NOW, ctx, dsc, es256, expired_dsc, signer};
    use super::*;
    use crate::trust::validate::Anchor;

    fn meta() -> ListMeta {
        ListMeta {
            version: Some(7),
            expires: Some(NOW + time::Duration::days(2)),
        }
    }

    fn reasons(got: &Ingested) -> Vec<RejectReason> {
        got.rejected.iter().map(|r| r.reason).collect()
    }

    /// Re-signs an arbitrary JSON part.
    fn signed(json: &str, key: &SignerKey) -> Vec<u8> {
        let sig = key.sign(json.as_bytes()).unwrap();
        format!("{}\n{json}", base64_encode(&sig)).into_bytes()
    }

    #[test]
    fn valid_list_round_trips() {
        let (key, _, anchor) = signer("DE list");
        let de = dsc("DE", "de", &es256());
        let fr = dsc("FR", "fr", &es256());
        let items = items_for(&[de.der.clone(), fr.der.clone()], NOW).unwrap();
        let body = render(&items, meta(), &key).unwrap();
        let got = ingest(&body, &ctx(&anchor)).unwrap().non_empty().unwrap();
        assert_eq!(got.dscs.len(), 2);
        assert!(got.rejected.is_empty());
        assert_eq!(
            got.countries().into_iter().collect::<Vec<_>>(),
            ["DE", "FR"]
        );
        assert_eq!(got.dscs[0].kid, Kid::of_der(&de.der));
        assert_eq!(got.dscs[1].kid.to_base64(), items[1].kid);
        assert_eq!(got.dscs[0].source, "test");
        assert_eq!(list_meta(&body), Some(meta()));
    }

    #[test]
    fn line_endings_and_trailing_whitespace() {
        let (key, _, anchor) = signer("DE list");
        let items = items_for(&[dsc("DE", "de", &es256()).der], NOW).unwrap();
        let body = String::from_utf8(render(&items, ListMeta::default(), &key).unwrap()).unwrap();
        let (sig, json) = body.split_once('\n').unwrap();
        for variant in [
            format!("{sig}\r\n{json}"),
            format!("  {sig} \n\n{json}"),
            format!("{sig}\n{json}\n"),
            format!("{sig}\n{json}\r\n"),
        ] {
            let got = ingest(variant.as_bytes(), &ctx(&anchor)).unwrap();
            assert_eq!(got.dscs.len(), 1, "{variant:?}");
        }
        // A server that signs the JSON including its final newline.
        let json_nl = format!("{json}\n");
        assert_eq!(
            ingest(&signed(&json_nl, &key), &ctx(&anchor))
                .unwrap()
                .dscs
                .len(),
            1
        );
        // Leading whitespace belongs to no part: the JSON starts at `{`.
        let padded = format!("{sig}\n {json}");
        assert_eq!(
            ingest(padded.as_bytes(), &ctx(&anchor)).unwrap().dscs.len(),
            1
        );
        // A DER signature is tolerated.
        let der_sig = jose::ecdsa_raw_to_der(&key.sign(json.as_bytes()).unwrap()).unwrap();
        let der_body = format!("{}\n{json}", base64_encode(&der_sig));
        assert_eq!(
            ingest(der_body.as_bytes(), &ctx(&anchor))
                .unwrap()
                .dscs
                .len(),
            1
        );
    }

    #[test]
    fn tampered_and_wrongly_signed_lists_are_refused() {
        let (key, _, anchor) = signer("DE list");
        let items = items_for(&[dsc("DE", "de", &es256()).der], NOW).unwrap();
        let body = render(&items, meta(), &key).unwrap();
        // Flip one signature bit (the first Base64 character encodes the top bits of r).
        let mut bad_sig = body.clone();
        bad_sig[0] = if bad_sig[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            ingest(&bad_sig, &ctx(&anchor)).unwrap_err(),
            ListError::BadSignature
        );
        // Change the content: the version.
        let text = String::from_utf8(body.clone()).unwrap();
        let bumped = text.replace("\"version\":7", "\"version\":8");
        assert_ne!(bumped, text);
        assert_eq!(
            ingest(bumped.as_bytes(), &ctx(&anchor)).unwrap_err(),
            ListError::BadSignature
        );
        // Signed by another key.
        let (other, _, _) = signer("impostor");
        let foreign = render(&items, meta(), &other).unwrap();
        assert_eq!(
            ingest(&foreign, &ctx(&anchor)).unwrap_err(),
            ListError::BadSignature
        );
        // No anchor configured.
        assert_eq!(
            ingest(&body, &ctx(&Anchor::none())).unwrap_err(),
            ListError::AnchorRequired
        );
        // An RSA key cannot render this format.
        let rsa = crate::keys::mint::SignerKey::generate(crate::crypto::Alg::Ps256).unwrap();
        assert_eq!(
            render(&items, meta(), &rsa).unwrap_err(),
            RenderError::WrongKeyType
        );
    }

    #[test]
    fn bad_entries_are_rejected_one_by_one() {
        let (key, _, anchor) = signer("DE list");
        let good = dsc("DE", "good", &es256());
        let old = expired_dsc("DE", &es256());
        let mut items =
            items_for(&[good.der.clone(), old.der.clone(), good.der.clone()], NOW).unwrap();
        let mut wrong_kid = items[0].clone();
        wrong_kid.kid = Kid::of_der(b"other").to_base64();
        let mut wrong_country = items[0].clone();
        wrong_country.country = "AT".into();
        let mut bad_thumb = items[0].clone();
        bad_thumb.thumbprint = Some("00".repeat(32));
        let mut bad_b64 = items[0].clone();
        bad_b64.raw_data = "!!".into();
        let mut not_x509 = items[0].clone();
        not_x509.raw_data = base64_encode(b"not a certificate");
        not_x509.kid = Kid::of_der(b"not a certificate").to_base64();
        not_x509.thumbprint = None;
        let mut csca = items[0].clone();
        csca.certificate_type = "CSCA".into();
        items.extend([wrong_kid, wrong_country, bad_thumb, bad_b64, not_x509, csca]);
        let mut list = serde_json::json!({ "certificates": items });
        list["certificates"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"kid": 5}));
        let body = signed(&serde_json::to_string(&list).unwrap(), &key);
        let got = ingest(&body, &ctx(&anchor)).unwrap();
        assert_eq!(got.dscs.len(), 1);
        assert_eq!(got.dscs[0].kid, Kid::of_der(&good.der));
        assert_eq!(
            reasons(&got),
            [
                RejectReason::Expired,
                RejectReason::Duplicate,
                RejectReason::KidMismatch,
                RejectReason::CountryMismatch,
                RejectReason::Malformed,
                RejectReason::Malformed,
                RejectReason::Malformed,
                RejectReason::Malformed,
            ]
        );
        assert_eq!(got.rejected[0].entry, Kid::of_der(&old.der).to_base64());
        assert_eq!(got.rejected[0].country.as_deref(), Some("DE"));
        assert_eq!(got.rejected[7].entry, "#9");
    }

    #[test]
    fn garbage_truncated_and_empty_lists() {
        let (key, _, anchor) = signer("DE list");
        let items = items_for(&[dsc("DE", "de", &es256()).der], NOW).unwrap();
        let body = render(&items, meta(), &key).unwrap();
        let c = ctx(&anchor);
        for cut in [1, 10, 88, 89, 90, body.len() / 2, body.len() - 1] {
            assert!(
                matches!(ingest(&body[..cut], &c), Err(ListError::Malformed(_))),
                "cut at {cut}"
            );
        }
        for garbage in [
            &b""[..],
            b"garbage",
            b"{}",
            b"AAAA\n[1,2]",
            b"AAAA\n{\"certificates\":1}",
            b"\xff\xfe{",
            b"!!!\n{}",
        ] {
            let err = ingest(garbage, &c).unwrap_err();
            assert!(
                matches!(err, ListError::Malformed(_) | ListError::BadSignature),
                "{garbage:?}: {err:?}"
            );
        }
        assert!(matches!(
            ingest(b"\xff\xfe{", &c),
            Err(ListError::Malformed(_))
        ));
        // Well signed but not a list.
        assert!(matches!(
            ingest(&signed("{\"certificates\":{}}", &key), &c),
            Err(ListError::Malformed(_))
        ));
        assert!(matches!(
            ingest(&signed("{\"certificates\":[],\"version\":-1}", &key), &c),
            Err(ListError::Malformed(_))
        ));
        // Empty list.
        let empty = render(&[], ListMeta::default(), &key).unwrap();
        let got = ingest(&empty, &c).unwrap();
        assert!(got.dscs.is_empty() && got.rejected.is_empty());
        assert_eq!(got.non_empty().unwrap_err(), ListError::Empty);
        assert_eq!(list_meta(&empty), Some(ListMeta::default()));
        assert_eq!(list_meta(b"garbage"), None);
    }

    #[test]
    fn expired_lists_are_refused() {
        let (key, _, anchor) = signer("DE list");
        let items = items_for(&[dsc("DE", "de", &es256()).der], NOW).unwrap();
        let stale = ListMeta {
            version: Some(3),
            expires: Some(NOW - time::Duration::seconds(1)),
        };
        let body = render(&items, stale, &key).unwrap();
        assert_eq!(
            ingest(&body, &ctx(&anchor)).unwrap_err(),
            ListError::Expired
        );
        assert_eq!(list_meta(&body), Some(stale));
        let at_expiry = ListMeta {
            expires: Some(NOW),
            ..stale
        };
        let body = render(&items, at_expiry, &key).unwrap();
        assert_eq!(
            ingest(&body, &ctx(&anchor)).unwrap_err(),
            ListError::Expired
        );
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let (key, _, anchor) = signer("DE list");
        let items = items_for(&[dsc("DE", "de", &es256()).der], NOW).unwrap();
        let body = render(&items, meta(), &key).unwrap();
        for i in 0..body.len() {
            let mut changed = body.clone();
            changed[i] ^= 0x01;
            assert!(ingest(&changed, &ctx(&anchor)).is_err(), "byte {i}");
        }
    }
}
