//! EU DCC Gateway `/trustList` JSON (TrustListItem: `kid`, `timestamp`, `country`,
//! `certificateType`, `thumbprint`, `signature`, `rawData`).
//!
//! Two readers:
//!
//! * [`parse_dscs`], for the offline `verify --trust-list` command, which trusts the file the
//!   operator hands it exactly as it trusts `--trust` certificates: it does not check the CMS
//!   signatures, only that every DSC entry parses as X.509 and its `kid` equals
//!   SHA-256(rawData)[..8]; deletions (`rawData: null`) and non-DSC entries are skipped.
//! * [`ingest`], the trust-ingestion pipeline's reader, validates like the reference gateway
//!   connector (spec §4.1 "Consumer validation", §2.3):
//!   1. CSCA and UPLOAD entries count only if their detached CMS `signature` (over the DER of
//!      `rawData`) verifies ([`BadCms`](RejectReason::BadCms)) and its signer certificate is
//!      vouched for by the pinned anchor ([`WrongSigner`](RejectReason::WrongSigner)).
//!   2. A DSC entry counts only if its CMS verifies and the signer is an accepted UPLOAD
//!      certificate of the DSC's country (`WrongSigner`), and the DSC is issued by an accepted
//!      CSCA of that country ([`NoCscaChain`](RejectReason::NoCscaChain)); then the shared
//!      [`admit`] checks (validity at `now`, key type) and duplicate detection apply.
//!   3. Every entry's `kid` must be SHA-256(DER)[..8]; a `thumbprint`, if present, must be the
//!      hex SHA-256 of the DER (any case). A wrong thumbprint names a different certificate
//!      than `rawData`, just like a wrong kid, so it is reported as
//!      [`KidMismatch`](RejectReason::KidMismatch).
//!   4. The certificate's single subject `C=` must equal the entry's `country`
//!      ([`CountryMismatch`](RejectReason::CountryMismatch)); a DSC without `C=` takes the
//!      entry's country.
//!
//!   DSC entries with `rawData: null` are deletions (their kid goes to [`Ingested::deleted`]);
//!   AUTHENTICATION entries are ignored; only DSCs are returned (CSCAs and UPLOADs are only used
//!   for checking). The list is sorted by kid, so CSCA/UPLOAD entries are read in a first pass
//!   and indexed by country. The validity of CSCA/UPLOAD certificates is not checked (the
//!   anchor's signature is what vouches for them). An element that is not a TrustListItem
//!   object (e.g. no `kid`) makes the whole list malformed.
//!
//! [`render`] and [`item`] write such a list for publication.

use std::collections::{HashMap, HashSet};

use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::{Anchor, Context, Ingested, ListError, MAX_ENTRIES, RejectReason, Rejected};
use super::{admit, push_unique};
use crate::trust::cms;
use crate::trust::validate::issued_by_parsed;

use crate::trust::model::{Dsc, Kid};
use crate::util::base64_decode;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustListItem {
    pub kid: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    pub certificate_type: String,
    #[serde(default)]
    pub thumbprint: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub raw_data: Option<String>,
}

/// Why an entry was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("rawData is not Base64")]
    NotBase64,
    #[error("rawData is not an X.509 certificate")]
    NotX509,
    #[error("kid does not equal SHA-256(rawData)[..8]")]
    KidMismatch,
}

/// The whole file is not a trust list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an EU trust list (a JSON array of TrustListItem objects)")]
pub struct NotATrustList;

/// Parsed DSCs and per-entry rejections (index into the list, reason).
#[derive(Debug, Default)]
pub struct Parsed {
    pub dscs: Vec<Dsc>,
    pub rejected: Vec<(usize, EntryError)>,
}

/// Parses a trust list and loads its DSC entries.
pub fn parse_dscs(json: &[u8], source: &str) -> Result<Parsed, NotATrustList> {
    let items: Vec<TrustListItem> = serde_json::from_slice(json).map_err(|_| NotATrustList)?;
    let mut parsed = Parsed::default();
    for (i, item) in items.iter().enumerate() {
        if item.certificate_type != "DSC" {
            continue;
        }
        let Some(raw) = item.raw_data.as_deref() else {
            continue;
        };
        match load(item, raw, source) {
            Ok(dsc) => parsed.dscs.push(dsc),
            Err(e) => parsed.rejected.push((i, e)),
        }
    }
    Ok(parsed)
}

fn load(item: &TrustListItem, raw: &str, source: &str) -> Result<Dsc, EntryError> {
    let der = base64_decode(raw).ok_or(EntryError::NotBase64)?;
    if Kid::of_der(&der).to_base64() != item.kid {
        return Err(EntryError::KidMismatch);
    }
    let mut dsc = Dsc::from_der(&der, source).map_err(|_| EntryError::NotX509)?;
    if dsc.country.is_none() {
        dsc.country.clone_from(&item.country);
    }
    Ok(dsc)
}

/// The entries of a list, read without holding more than [`MAX_ENTRIES`] of them.
struct Bounded {
    items: Vec<TrustListItem>,
    total: usize,
}

impl<'de> Deserialize<'de> for Bounded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Bounded, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Bounded;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON array of TrustListItem objects")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bounded, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while items.len() < MAX_ENTRIES {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => {
                            let total = items.len();
                            return Ok(Bounded { items, total });
                        }
                    }
                }
                // Over the bound: count the rest without keeping it.
                let mut total = items.len();
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    total += 1;
                }
                Ok(Bounded { items, total })
            }
        }
        deserializer.deserialize_seq(Entries)
    }
}

/// Reads and validates an EU gateway list (see the module documentation). Needs a pinned
/// anchor.
pub fn ingest(bytes: &[u8], ctx: &Context<'_>) -> Result<Ingested, ListError> {
    if ctx.anchor.is_empty() {
        return Err(ListError::AnchorRequired);
    }
    let list: Bounded =
        serde_json::from_slice(bytes).map_err(|e| ListError::Malformed(e.to_string()))?;
    if list.total > MAX_ENTRIES {
        return Err(ListError::TooManyEntries(MAX_ENTRIES));
    }
    let items = list.items;
    let mut out = Ingested::default();

    // Pass 1: the trusted parties (CSCA, UPLOAD), vouched for by the anchor.
    let mut uploads: HashMap<String, HashSet<Vec<u8>>> = HashMap::new();
    let mut csca_ders: Vec<(String, Vec<u8>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let is_csca = match item.certificate_type.as_str() {
            "CSCA" => true,
            "UPLOAD" => false,
            "DSC" => continue,
            // AUTHENTICATION and other types: reported, never a document signer.
            _ => {
                out.rejected
                    .push(rejected(index, item, RejectReason::NotASigner));
                continue;
            }
        };
        let Some(raw) = item.raw_data.as_deref() else {
            continue;
        };
        match trusted_party(item, raw, ctx.anchor) {
            Ok((country, der)) if is_csca => csca_ders.push((country, der)),
            Ok((country, der)) => {
                uploads.entry(country).or_default().insert(der);
            }
            Err(reason) => out.rejected.push(rejected(index, item, reason)),
        }
    }
    let mut cscas: HashMap<&str, Vec<X509Certificate<'_>>> = HashMap::new();
    for (country, der) in &csca_ders {
        if let Ok((_, cert)) = X509Certificate::from_der(der) {
            cscas.entry(country.as_str()).or_default().push(cert);
        }
    }
    for (country, ders) in &uploads {
        for der in ders {
            out.uploads.push((country.clone(), der.clone()));
        }
    }
    let trusted = Trusted { uploads, cscas };

    // Pass 2: the DSCs (and deletions).
    for (index, item) in items.iter().enumerate() {
        if item.certificate_type != "DSC" {
            continue;
        }
        let Some(raw) = item.raw_data.as_deref() else {
            match decode_kid(&item.kid) {
                Some(kid) => out.deleted.push(kid),
                None => out
                    .rejected
                    .push(rejected(index, item, RejectReason::Malformed)),
            }
            continue;
        };
        match dsc_entry(item, raw, &trusted, ctx) {
            Ok(dsc) => push_unique(&mut out, dsc, entry_name(index, item)),
            Err(reason) => out.rejected.push(rejected(index, item, reason)),
        }
    }
    Ok(out)
}

/// The accepted trusted parties, by country.
struct Trusted<'a> {
    uploads: HashMap<String, HashSet<Vec<u8>>>,
    cscas: HashMap<&'a str, Vec<X509Certificate<'a>>>,
}

fn entry_name(index: usize, item: &TrustListItem) -> String {
    if item.kid.is_empty() {
        format!("#{index}")
    } else {
        super::clip(&item.kid)
    }
}

fn rejected(index: usize, item: &TrustListItem, reason: RejectReason) -> Rejected {
    Rejected {
        entry: entry_name(index, item),
        country: item.country.as_deref().map(super::clip),
        reason,
    }
}

fn decode_kid(kid: &str) -> Option<Kid> {
    let bytes: [u8; 8] = base64_decode(kid)?.try_into().ok()?;
    Some(Kid(bytes))
}

/// Decodes `rawData` and checks the stated kid and thumbprint against it.
fn certificate(item: &TrustListItem, raw: &str) -> Result<Vec<u8>, RejectReason> {
    let der = base64_decode(raw).ok_or(RejectReason::Malformed)?;
    if Kid::of_der(&der).to_base64() != item.kid {
        return Err(RejectReason::KidMismatch);
    }
    if let Some(thumbprint) = &item.thumbprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, &der);
        if !crate::util::hex(digest.as_ref()).eq_ignore_ascii_case(thumbprint) {
            return Err(RejectReason::KidMismatch);
        }
    }
    Ok(der)
}

/// The single subject `C=` of a certificate (None if absent or repeated).
fn subject_country(cert: &X509Certificate<'_>) -> Option<String> {
    let mut countries = cert.tbs_certificate.subject.iter_country();
    match (countries.next(), countries.next()) {
        (Some(c), None) => c.as_str().ok().map(str::to_owned),
        _ => None,
    }
}

/// The country of an entry: the certificate's and the entry's must agree; either alone will
/// do.
fn entry_country(cert: &X509Certificate<'_>, item: &TrustListItem) -> Result<String, RejectReason> {
    match (subject_country(cert), item.country.as_deref()) {
        (Some(c), Some(e)) if c == e => Ok(c),
        (Some(c), None) => Ok(c),
        (None, Some(e)) if cert.tbs_certificate.subject.iter_country().next().is_none() => {
            Ok(e.to_owned())
        }
        _ => Err(RejectReason::CountryMismatch),
    }
}

/// The detached CMS of an entry over `der`: the signer certificate, or `BadCms`.
fn cms_signer(item: &TrustListItem, der: &[u8]) -> Result<Vec<u8>, RejectReason> {
    let cms_der = item
        .signature
        .as_deref()
        .and_then(base64_decode)
        .ok_or(RejectReason::BadCms)?;
    cms::verify_detached(&cms_der, der).map_err(|e| match e {
        cms::CmsError::WeakDigest => RejectReason::WeakDigest,
        _ => RejectReason::BadCms,
    })
}

/// A CSCA or UPLOAD entry: its country and DER if the anchor vouches for it.
fn trusted_party(
    item: &TrustListItem,
    raw: &str,
    anchor: &Anchor,
) -> Result<(String, Vec<u8>), RejectReason> {
    let der = certificate(item, raw)?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|_| RejectReason::Malformed)?;
    let signer = cms_signer(item, &der)?;
    if !anchor.vouches_for_cert(&signer) {
        return Err(RejectReason::WrongSigner);
    }
    // Trusted parties must name their country in the certificate.
    if subject_country(&cert).is_none() {
        return Err(RejectReason::CountryMismatch);
    }
    let country = entry_country(&cert, item)?;
    Ok((country, der))
}

/// A DSC entry: uploaded by its country, issued by its country's CSCA, then admitted.
fn dsc_entry(
    item: &TrustListItem,
    raw: &str,
    trusted: &Trusted<'_>,
    ctx: &Context<'_>,
) -> Result<Dsc, RejectReason> {
    let der = certificate(item, raw)?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|_| RejectReason::Malformed)?;
    let country = entry_country(&cert, item)?;
    let signer = cms_signer(item, &der)?;
    if !trusted
        .uploads
        .get(&country)
        .is_some_and(|set| set.contains(&signer))
    {
        return Err(RejectReason::WrongSigner);
    }
    let chained = trusted
        .cscas
        .get(country.as_str())
        .is_some_and(|cas| cas.iter().any(|ca| issued_by_parsed(&cert, ca)));
    if !chained {
        return Err(RejectReason::NoCscaChain);
    }
    let mut dsc = admit(&der, Some(&item.kid), ctx)?;
    if dsc.country.is_none() {
        dsc.country = Some(country);
    }
    Ok(dsc)
}

/// Writes a list as the gateway does: a JSON array sorted by kid.
pub fn render(items: &[TrustListItem]) -> Vec<u8> {
    let mut sorted: Vec<&TrustListItem> = items.iter().collect();
    sorted.sort_by(|a, b| a.kid.cmp(&b.kid));
    // Serializing plain strings cannot fail.
    serde_json::to_vec(&sorted).unwrap_or_default()
}

/// The TrustListItem of a certificate: kid, thumbprint and rawData derived from `cert_der`,
/// `cms_signature` (a detached CMS over `cert_der`, see [`cms::sign_detached`]) in Base64.
pub fn item(
    cert_der: &[u8],
    cert_type: &str,
    country: &str,
    timestamp: &str,
    cms_signature: Option<&[u8]>,
) -> TrustListItem {
    TrustListItem {
        kid: Kid::of_der(cert_der).to_base64(),
        timestamp: Some(timestamp.to_owned()),
        country: Some(country.to_owned()),
        certificate_type: cert_type.to_owned(),
        thumbprint: Some(crate::util::sha256_hex(cert_der)),
        signature: cms_signature.map(crate::util::base64_encode),
        raw_data: Some(crate::util::base64_encode(cert_der)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Alg;
    use crate::keys::mint::SignerKey;
    use crate::trust::formats::eu_testkit::{self, Member, Party, Sample, T0};
    use crate::trust::formats::{Format, ingest as ingest_any};

    fn run(sample: &Sample, items: &[TrustListItem]) -> Result<Ingested, ListError> {
        let anchor = sample.trust_anchor().unwrap();
        ingest_any(
            Format::EuJson,
            &render(items),
            &Context {
                anchor: &anchor,
                now: T0,
                source: "eu",
                keep_expired: crate::trust::formats::KEEP_EXPIRED,
            },
        )
    }

    fn reasons(out: &Ingested) -> Vec<(String, RejectReason)> {
        out.rejected
            .iter()
            .map(|r| (r.entry.clone(), r.reason))
            .collect()
    }

    /// The index of the `n`-th DSC entry in a sample's items.
    fn dsc_index(sample: &Sample, n: usize) -> usize {
        sample
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.certificate_type == "DSC")
            .nth(n)
            .unwrap()
            .0
    }

    #[test]
    fn valid_list_yields_its_dscs() {
        let sample = eu_testkit::sample(2).unwrap();
        let out = run(&sample, &sample.items).unwrap();
        assert_eq!(out.dscs.len(), 2, "{:?}", out.rejected);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        assert_eq!(out.countries().into_iter().collect::<Vec<_>>(), ["DE"]);
        assert!(out.dscs.iter().all(|d| d.source == "eu"));
        // Only DSCs come out: the CSCA and UPLOAD certificates are only used for checking.
        let csca = &sample.member.csca.cert.der;
        assert!(out.dscs.iter().all(|d| &*d.der != csca.as_slice()));
        assert!(out.non_empty().is_ok());
    }

    #[test]
    fn tampered_cms_rejects_only_that_entry() {
        let sample = eu_testkit::sample(2).unwrap();
        let mut items = sample.items.clone();
        let at = dsc_index(&sample, 0);
        let mut cms = base64_decode(items[at].signature.as_deref().unwrap()).unwrap();
        let n = cms.len();
        cms[n - 3] ^= 0x40;
        items[at].signature = Some(crate::util::base64_encode(&cms));
        let out = run(&sample, &items).unwrap();
        assert_eq!(out.dscs.len(), 1);
        assert_eq!(
            reasons(&out),
            [(items[at].kid.clone(), RejectReason::BadCms)]
        );
        // Missing and non-Base64 signatures are bad CMS too.
        items[at].signature = None;
        let out = run(&sample, &items).unwrap();
        assert_eq!(
            reasons(&out),
            [(items[at].kid.clone(), RejectReason::BadCms)]
        );
        items[at].signature = Some("not base64!".into());
        let out = run(&sample, &items).unwrap();
        assert_eq!(
            reasons(&out),
            [(items[at].kid.clone(), RejectReason::BadCms)]
        );
    }

    #[test]
    fn dsc_uploaded_by_another_country_is_wrong_signer() {
        let sample = eu_testkit::sample(1).unwrap();
        let fr = Member::new("FR").unwrap();
        let mut items = sample.items.clone();
        items.extend(fr.onboarding(&sample.anchor).unwrap());
        // A DE DSC (issued by the DE CSCA) whose CMS is by the FR UPLOAD certificate.
        let dsc = sample.member.dsc(&sample.dsc_key, 77).unwrap();
        let forged = eu_testkit::signed_item(&dsc.der, "DSC", "DE", &fr.upload).unwrap();
        items.push(forged.clone());
        let out = run(&sample, &items).unwrap();
        assert_eq!(out.dscs.len(), 1, "{:?}", out.rejected);
        assert_eq!(reasons(&out), [(forged.kid, RejectReason::WrongSigner)]);
    }

    #[test]
    fn csca_not_signed_by_the_anchor_breaks_its_chains() {
        let sample = eu_testkit::sample(2).unwrap();
        let impostor = Party::root("EU", "not the anchor", 9).unwrap();
        let mut items = sample.items.clone();
        let at = items
            .iter()
            .position(|i| i.certificate_type == "CSCA")
            .unwrap();
        items[at] =
            eu_testkit::signed_item(&sample.member.csca.cert.der, "CSCA", "DE", &impostor).unwrap();
        let out = run(&sample, &items).unwrap();
        assert!(out.dscs.is_empty());
        let by = out.rejected_by_reason();
        assert_eq!(by.get("WRONG_SIGNER"), Some(&1), "{by:?}");
        assert_eq!(by.get("NO_CSCA_CHAIN"), Some(&2), "{by:?}");
        assert_eq!(
            out.rejected
                .iter()
                .find(|r| r.reason == RejectReason::WrongSigner)
                .unwrap()
                .entry,
            items[at].kid
        );
        assert_eq!(out.non_empty().unwrap_err(), ListError::Empty);
    }

    #[test]
    fn dsc_not_issued_by_the_csca_has_no_chain() {
        let sample = eu_testkit::sample(1).unwrap();
        let mut items = sample.items.clone();
        // Self-signed, and issued by another (unlisted) DE CA.
        let spec = eu_testkit::dsc_spec("DE", 50);
        let selfsigned = crate::keys::mint::self_signed(&spec, &sample.dsc_key).unwrap();
        let other_ca = Party::root("DE", "other CA", 51).unwrap();
        let foreign =
            crate::keys::mint::signed_by(&spec, &sample.dsc_key, &other_ca.cert, &other_ca.key)
                .unwrap();
        for der in [&selfsigned.der, &foreign.der] {
            items.push(sample.member.dsc_item(der).unwrap());
        }
        let out = run(&sample, &items).unwrap();
        assert_eq!(out.dscs.len(), 1);
        assert_eq!(out.rejected_by_reason().get("NO_CSCA_CHAIN"), Some(&2));
    }

    #[test]
    fn kid_thumbprint_and_country_must_match_the_certificate() {
        let sample = eu_testkit::sample(3).unwrap();
        let mut items = sample.items.clone();
        let (a, b, c) = (
            dsc_index(&sample, 0),
            dsc_index(&sample, 1),
            dsc_index(&sample, 2),
        );
        items[a].kid = "AAAAAAAAAAA=".into();
        items[b].thumbprint = Some("00".repeat(32));
        items[c].country = Some("FR".into());
        let out = run(&sample, &items).unwrap();
        assert!(out.dscs.is_empty());
        let mut got = reasons(&out);
        got.sort();
        let mut want = vec![
            ("AAAAAAAAAAA=".to_owned(), RejectReason::KidMismatch),
            (items[b].kid.clone(), RejectReason::KidMismatch),
            (items[c].kid.clone(), RejectReason::CountryMismatch),
        ];
        want.sort();
        assert_eq!(got, want);
        // An upper-case thumbprint is the same thumbprint.
        let mut items = sample.items.clone();
        let t = items[a].thumbprint.as_deref().unwrap().to_ascii_uppercase();
        items[a].thumbprint = Some(t);
        assert_eq!(run(&sample, &items).unwrap().dscs.len(), 3);
    }

    #[test]
    fn expired_and_duplicate_dscs_are_rejected() {
        let sample = eu_testkit::sample(1).unwrap();
        let mut items = sample.items.clone();
        let mut spec = eu_testkit::dsc_spec("DE", 60);
        spec.not_before = T0 - time::Duration::days(900);
        spec.not_after = T0 - time::Duration::days(400);
        let expired = crate::keys::mint::signed_by(
            &spec,
            &sample.dsc_key,
            &sample.member.csca.cert,
            &sample.member.csca.key,
        )
        .unwrap();
        let expired_item = sample.member.dsc_item(&expired.der).unwrap();
        items.push(expired_item.clone());
        let dup = items[dsc_index(&sample, 0)].clone();
        items.push(dup.clone());
        let out = run(&sample, &items).unwrap();
        assert_eq!(out.dscs.len(), 1);
        let mut got = reasons(&out);
        got.sort();
        let mut want = vec![
            (expired_item.kid, RejectReason::Expired),
            (dup.kid, RejectReason::Duplicate),
        ];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn null_raw_data_is_a_deletion() {
        let sample = eu_testkit::sample(1).unwrap();
        let mut items = sample.items.clone();
        let gone = SignerKey::generate(Alg::Es256).unwrap();
        let gone = sample.member.dsc(&gone, 90).unwrap();
        let mut deleted = item(&gone.der, "DSC", "DE", eu_testkit::TIMESTAMP, None);
        deleted.raw_data = None;
        items.push(deleted);
        let mut bad = item(&gone.der, "DSC", "DE", eu_testkit::TIMESTAMP, None);
        bad.raw_data = None;
        bad.kid = "short".into();
        items.push(bad);
        let out = run(&sample, &items).unwrap();
        assert_eq!(out.dscs.len(), 1);
        assert_eq!(out.deleted, [Kid::of_der(&gone.der)]);
        assert_eq!(
            reasons(&out),
            [("short".to_owned(), RejectReason::Malformed)]
        );
    }

    #[test]
    fn authentication_entries_are_reported_never_signers() {
        let sample = eu_testkit::sample(1).unwrap();
        let mut items = sample.items.clone();
        let auth = eu_testkit::signed_item(
            &sample.member.upload.cert.der,
            "AUTHENTICATION",
            "DE",
            &sample.member.upload,
        )
        .unwrap();
        items.push(auth.clone());
        let out = run(&sample, &items).unwrap();
        assert_eq!(out.dscs.len(), 1);
        assert_eq!(
            out.rejected
                .iter()
                .map(|r| (r.entry.clone(), r.reason))
                .collect::<Vec<_>>(),
            [(auth.kid, RejectReason::NotASigner)]
        );
    }

    #[test]
    fn upstream_strings_are_cut_in_reports() {
        let sample = eu_testkit::sample(1).unwrap();
        let mut items = sample.items.clone();
        let mut bad = items[items.len() - 1].clone();
        bad.kid = "K".repeat(100_000);
        bad.country = Some("C".repeat(5_000_000));
        items.push(bad);
        let out = run(&sample, &items).unwrap();
        let r = out.rejected.last().unwrap();
        assert!(
            r.entry.chars().count() <= super::super::MAX_ECHO + 1,
            "{}",
            r.entry.len()
        );
        assert!(r.country.as_ref().unwrap().chars().count() <= super::super::MAX_ECHO + 1);
    }

    #[test]
    fn whole_list_errors() {
        let sample = eu_testkit::sample(1).unwrap();
        let anchor = sample.trust_anchor().unwrap();
        let ctx = Context {
            anchor: &anchor,
            now: T0,
            source: "eu",
            keep_expired: crate::trust::formats::KEEP_EXPIRED,
        };
        let json = sample.json();
        for bad in [
            &json[..json.len() / 2],
            b"garbage".as_slice(),
            b"{\"kid\":\"x\"}",
            b"[{\"kid\":1}]",
            b"",
        ] {
            assert!(
                matches!(ingest(bad, &ctx), Err(ListError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let empty = ingest(b"[]", &ctx).unwrap();
        assert!(empty.dscs.is_empty() && empty.rejected.is_empty());
        assert_eq!(empty.non_empty().unwrap_err(), ListError::Empty);
        let none = Anchor::none();
        let no_anchor = Context {
            anchor: &none,
            ..ctx
        };
        assert_eq!(
            ingest(&json, &no_anchor).unwrap_err(),
            ListError::AnchorRequired
        );
    }

    #[test]
    fn too_many_entries() {
        let entry = br#"{"kid":"AAAAAAAAAAA=","certificateType":"AUTHENTICATION"}"#;
        let mut json = b"[".to_vec();
        for i in 0..=MAX_ENTRIES {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(entry);
        }
        json.push(b']');
        let anchor = eu_testkit::sample(0).unwrap().trust_anchor().unwrap();
        let ctx = Context {
            anchor: &anchor,
            now: T0,
            source: "eu",
            keep_expired: crate::trust::formats::KEEP_EXPIRED,
        };
        assert_eq!(
            ingest(&json, &ctx).unwrap_err(),
            ListError::TooManyEntries(MAX_ENTRIES)
        );
    }

    #[test]
    fn list_for_another_anchor_is_all_wrong_signer() {
        let sample = eu_testkit::sample(2).unwrap();
        let other = Party::root("EU", "other anchor", 3).unwrap();
        let anchor = other.anchor().unwrap();
        let out = ingest(
            &sample.json(),
            &Context {
                anchor: &anchor,
                now: T0,
                source: "eu",
                keep_expired: crate::trust::formats::KEEP_EXPIRED,
            },
        )
        .unwrap();
        assert!(out.dscs.is_empty());
        assert_eq!(out.rejected.len(), 4);
        assert!(
            out.rejected
                .iter()
                .all(|r| r.reason == RejectReason::WrongSigner)
        );
        assert_eq!(out.non_empty().unwrap_err(), ListError::Empty);
    }

    #[test]
    fn render_sorts_by_kid_with_gateway_field_names() {
        let sample = eu_testkit::sample(2).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&sample.json()).unwrap();
        let entries = json.as_array().unwrap();
        assert_eq!(entries.len(), 4);
        let kids: Vec<&str> = entries.iter().map(|e| e["kid"].as_str().unwrap()).collect();
        let mut sorted = kids.clone();
        sorted.sort();
        assert_eq!(kids, sorted);
        let first = entries[0].as_object().unwrap();
        let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "certificateType",
                "country",
                "kid",
                "rawData",
                "signature",
                "thumbprint",
                "timestamp"
            ]
        );
        let mut unsigned = item(b"x", "DSC", "VN", eu_testkit::TIMESTAMP, None);
        unsigned.raw_data = None;
        let text = String::from_utf8(render(&[unsigned])).unwrap();
        assert!(text.contains(r#""signature":null"#), "{text}");
        assert!(text.contains(r#""rawData":null"#), "{text}");
        // What we render, parse_dscs reads back.
        let parsed = parse_dscs(&sample.json(), "cli").unwrap();
        assert_eq!(parsed.dscs.len(), 2);
    }
}
