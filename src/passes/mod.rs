//! Health passes other than the EU DCC: detection by content, the issuer keys (and revocation
//! lists) they are checked against, and one verdict shape for all.
//!
//! [`detect`] looks at the first bytes only (prefix compares; a VDS-NC is a JSON object naming
//! `data` and `sig` in its first 4 KiB): `NZCP:/` is an NZ COVID Pass ([`nzcp`]), `shc:/` a
//! SMART Health Card ([`shc`]), a VDS-NC seal an ICAO proof of vaccination or testing
//! ([`icao`]), `B64:` or a raw ZIP (`PK\x03\x04`) a DIVOC credential ([`divoc`]); anything else
//! goes down the HC1 pipeline ([`crate::hcert`]), which tells an EU DCC from a WHO DDCC once
//! the signature verified.
//!
//! Trust is configured material, pinned and offline at verify time, with the last-good rule of
//! every source: an `nzcp-did` source is a DID document (`did:web` issuer, P-256 keys named in
//! `assertionMethod`), an `shc-jwks` source the JWKS of one SMART Health Card issuer (`issuer`
//! set in the source; each key's `kid` must be its RFC 7638 thumbprint) and an `shc-crl` source
//! one of its keys' revocation lists, an `icao-csca` source the CSCAs of one issuing state
//! (`issuer` = its code) and an `icao-crl` source their CRLs, a `divoc-key` source the keys of
//! one DIVOC `verificationMethod`. All become [`PassKey`] entries in the trust snapshot, whose
//! id covers them (a key or revocation change can never be answered from the result cache;
//! pass verdicts are not cached at all).
//!
//! Verdicts are [`VerificationResult`]s with `format` set; the certificate part (holder, dates,
//! issuer, vaccination events) is filled only after the signature verified.

pub mod divoc;
pub mod icao;
pub mod nzcp;
pub mod shc;
pub mod zip;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::hcert::{
    Detail, ErrorCode, Finding, PassFormat, Provenance, Status, VerificationResult,
};
use crate::trust::model::TrustSnapshot;

/// Most keys one pass-key source may carry.
pub const MAX_KEYS_PER_SOURCE: usize = 200;

/// The family of health pass `qr` holds, by its framing.
pub fn detect(qr: &str) -> PassFormat {
    if qr.starts_with("NZCP:/") {
        PassFormat::Nzcp
    } else if qr.starts_with("shc:/") {
        PassFormat::Shc
    } else if icao::looks_like(qr) {
        PassFormat::IcaoVdsNc
    } else if divoc::looks_like(qr) {
        PassFormat::Divoc
    } else {
        PassFormat::EuDcc
    }
}

/// One trusted issuer key of a non-EU pass format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassKey {
    pub format: PassFormatName,
    /// The issuer as the passes name it (`did:web:…` for NZCP, the `iss` URL for SHC).
    pub issuer: String,
    /// The key id as the passes carry it (NZCP: the DID fragment; SHC: the JWK thumbprint).
    pub kid: String,
    /// The uncompressed SEC1 P-256 point (65 bytes), Base64.
    pub point: String,
    /// The trust source it came from.
    pub source: String,
    /// SMART Health Cards: the `crlVersion` of an issuer key that publishes revocations, or
    /// the `ctr` of a revocation list ([`PassFormatName::ShcRevocation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_version: Option<u64>,
}

/// [`PassFormat`] as stored (the pass-key formats only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PassFormatName {
    #[serde(rename = "nzcp")]
    Nzcp,
    #[serde(rename = "shc")]
    Shc,
    /// A CSCA of an ICAO VDS-NC issuing state (`point` then holds the certificate's DER).
    #[serde(rename = "icao-csca")]
    IcaoVdsNc,
    /// A CRL of an ICAO issuing state's CSCAs (`point`: the DER; `issuer`: the state).
    #[serde(rename = "icao-crl")]
    IcaoCrl,
    /// An entry of a SMART Health Card issuer's revocation list (an `shc-crl` source), not a
    /// key: `kid` is `<key kid>/<rid>` with `point` the cut-off (Unix seconds; empty: every
    /// card with that rid), or the bare `<key kid>` for the list itself (its `ctr` in
    /// `crl_version`), so an empty list still says which key it covers.
    #[serde(rename = "shc-rid")]
    ShcRevocation,
    /// A DIVOC `verificationMethod`'s key (`point`: an RSAPublicKey DER or the 32 Ed25519
    /// bytes; `kid`: `rsa:…` / `ed25519:…` and a fingerprint).
    #[serde(rename = "divoc")]
    Divoc,
}

impl crate::trust::material::Material for PassKey {
    const KIND: &'static str = "pass-key";

    fn identity(&self) -> String {
        format!("{:?}:{}#{}", self.format, self.issuer, self.kid)
    }
}

/// Why an entry of a pass-key source was refused (stable codes, shown in the source's health).
pub type Refused = (String, &'static str);

/// (format, issuer, kid).
type KeyId = (PassFormatName, String, String);

/// A key in force and its decoded point.
type Resolved = (Arc<PassKey>, Vec<u8>);

/// The pass keys in force, indexed for verification.
#[derive(Debug, Default)]
pub struct PassKeys {
    by_key: HashMap<KeyId, Resolved>,
    issuers: BTreeSet<(PassFormatName, String)>,
    /// SMART Health Card revocations: (iss, kid, rid) → cut-off (None: every card).
    revoked: HashMap<(String, String, String), Option<i64>>,
    /// SMART Health Card revocation lists in force: (iss, kid) → their `ctr`.
    crls: HashMap<(String, String), u64>,
    /// ICAO CRLs signed by a trusted CSCA: state → the checked lists.
    icao_crls: HashMap<String, Vec<icao::CheckedCrl>>,
    /// States with `icao-crl` material at all (checked or not).
    icao_crl_states: BTreeSet<String>,
    all: Vec<PassKey>,
}

/// What an ICAO state's CRLs say of one barcode signer certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IcaoRevocation {
    /// No CRL is configured for the state.
    NotConfigured,
    /// CRLs are configured, but none of the signer's CSCA is in force.
    NoCrl,
    /// The CSCA's CRL does not list it.
    NotRevoked,
    /// The CSCA's CRL does not list it but is past its nextUpdate.
    Outdated,
    /// The CSCA's CRL lists it.
    Revoked,
}

/// What an SHC issuer's revocation list says of one card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// No list is configured for the card's key.
    NoList,
    /// The list (of this `ctr`) does not revoke the card.
    NotRevoked(u64),
    /// The list (of this `ctr`) revokes it.
    Revoked(u64),
}

impl PassKeys {
    /// Indexes `keys` (a key whose point does not decode is left out: sources check it first).
    pub fn new(mut keys: Vec<PassKey>) -> PassKeys {
        keys.sort_by(|a, b| (a.format, &a.issuer, &a.kid).cmp(&(b.format, &b.issuer, &b.kid)));
        keys.dedup_by(|a, b| a.format == b.format && a.issuer == b.issuer && a.kid == b.kid);
        let mut out = PassKeys::default();
        for k in &keys {
            if k.format == PassFormatName::ShcRevocation {
                out.add_revocation(k);
                continue;
            }
            if k.format == PassFormatName::IcaoCrl {
                out.icao_crl_states.insert(k.issuer.clone());
                continue;
            }
            let Ok(point) = data_encoding::BASE64.decode(k.point.as_bytes()) else {
                continue;
            };
            out.issuers.insert((k.format, k.issuer.clone()));
            out.by_key.insert(
                (k.format, k.issuer.clone(), k.kid.clone()),
                (Arc::new(k.clone()), point),
            );
        }
        out.check_icao_crls(&keys);
        out.all = keys;
        out
    }

    /// Keeps the ICAO CRLs that a trusted CSCA of their state signed.
    fn check_icao_crls(&mut self, keys: &[PassKey]) {
        for k in keys.iter().filter(|k| k.format == PassFormatName::IcaoCrl) {
            let Ok(der) = data_encoding::BASE64.decode(k.point.as_bytes()) else {
                continue;
            };
            let cscas: Vec<(&str, &[u8])> = self
                .by_key
                .iter()
                .filter(|((f, state, _), _)| *f == PassFormatName::IcaoVdsNc && *state == k.issuer)
                .map(|((_, _, kid), (_, der))| (kid.as_str(), der.as_slice()))
                .collect();
            if let Some(checked) = icao::check_crl(&der, &cscas) {
                self.icao_crls
                    .entry(k.issuer.clone())
                    .or_default()
                    .push(checked);
            }
        }
    }

    /// The revocation status of the barcode signer with `serial`, issued by the CSCA `csca_kid`
    /// of `state`, at `at` (Unix seconds).
    pub(crate) fn icao_revocation(
        &self,
        state: &str,
        csca_kid: &str,
        serial: &[u8],
        at: i64,
    ) -> IcaoRevocation {
        if !self.icao_crl_states.contains(state) {
            return IcaoRevocation::NotConfigured;
        }
        let serial = icao::strip_zeros(serial);
        let lists: Vec<&icao::CheckedCrl> = self
            .icao_crls
            .get(state)
            .into_iter()
            .flatten()
            .filter(|(kid, _, _)| kid == csca_kid)
            .collect();
        if lists.is_empty() {
            IcaoRevocation::NoCrl
        } else if lists.iter().any(|(_, revoked, _)| revoked.contains(serial)) {
            IcaoRevocation::Revoked
        } else if lists
            .iter()
            .all(|(_, _, next)| next.is_some_and(|n| n < at))
        {
            IcaoRevocation::Outdated
        } else {
            IcaoRevocation::NotRevoked
        }
    }

    fn add_revocation(&mut self, k: &PassKey) {
        match k.kid.split_once('/') {
            None => {
                let ctr = k.crl_version.unwrap_or(0);
                let slot = self
                    .crls
                    .entry((k.issuer.clone(), k.kid.clone()))
                    .or_insert(ctr);
                *slot = (*slot).max(ctr);
            }
            Some((kid, rid)) => {
                let cutoff = k.point.parse::<i64>().ok();
                let key = (k.issuer.clone(), kid.to_owned(), rid.to_owned());
                // Two lists naming one rid: the wider revocation holds.
                let slot = self.revoked.entry(key).or_insert(cutoff);
                *slot = match (*slot, cutoff) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
        }
    }

    /// Whether the revocation list of SHC key (`iss`, `kid`) revokes the card with `rid`
    /// issued at `nbf`: a `rid` entry revokes every card; `rid.<t>` those with `nbf` < `t`.
    pub(crate) fn shc_revocation(
        &self,
        iss: &str,
        kid: &str,
        rid: Option<&str>,
        nbf: Option<i64>,
    ) -> Revocation {
        let Some(&ctr) = self.crls.get(&(iss.to_owned(), kid.to_owned())) else {
            return Revocation::NoList;
        };
        let hit = rid.and_then(|r| {
            self.revoked
                .get(&(iss.to_owned(), kid.to_owned(), r.to_owned()))
                .copied()
        });
        match hit {
            Some(None) => Revocation::Revoked(ctr),
            Some(Some(cutoff)) if nbf.is_none_or(|n| n < cutoff) => Revocation::Revoked(ctr),
            _ => Revocation::NotRevoked(ctr),
        }
    }

    /// Every key, sorted (for the snapshot id and the stored record).
    pub fn all(&self) -> &[PassKey] {
        &self.all
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether there is no pass trust material at all (keys or revocation lists).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    fn issuer_known(&self, format: PassFormatName, issuer: &str) -> bool {
        self.issuers.contains(&(format, issuer.to_owned()))
    }

    /// Every key of `issuer` (with its decoded bytes); `Err(IssuerUntrusted)` if none.
    fn of_issuer(&self, format: PassFormatName, issuer: &str) -> Result<Vec<Resolved>, ErrorCode> {
        if !self.issuer_known(format, issuer) {
            return Err(ErrorCode::IssuerUntrusted);
        }
        Ok(self
            .by_key
            .iter()
            .filter(|((f, i, _), _)| *f == format && i == issuer)
            .map(|(_, v)| v.clone())
            .collect())
    }

    /// The key of `issuer` named `kid`: `Err(IssuerUntrusted)` when the issuer is not trusted
    /// at all, `Err(KidUnknown)` when it is but has no such key.
    fn find(
        &self,
        format: PassFormatName,
        issuer: &str,
        kid: &str,
    ) -> Result<&Resolved, ErrorCode> {
        if !self.issuer_known(format, issuer) {
            return Err(ErrorCode::IssuerUntrusted);
        }
        self.by_key
            .get(&(format, issuer.to_owned(), kid.to_owned()))
            .ok_or(ErrorCode::KidUnknown)
    }
}

/// Verifies a non-EU pass (`format` from [`detect`]) against the snapshot's pass keys.
pub fn verify(
    format: PassFormat,
    qr: &str,
    snapshot: &TrustSnapshot,
    at: OffsetDateTime,
    detail: Detail,
) -> VerificationResult {
    let mut out = Verdict::new(format, snapshot, at);
    if qr.len() > crate::hcert::Limits::default().max_qr_chars {
        out.error(
            ErrorCode::PayloadTooLarge,
            "the QR text is longer than a QR code holds",
        );
        return out.finish();
    }
    match format {
        PassFormat::Nzcp => nzcp::verify(qr, &snapshot.pass_keys, &mut out, detail),
        PassFormat::Shc => shc::verify(qr, &snapshot.pass_keys, &mut out, detail),
        PassFormat::IcaoVdsNc => icao::verify(qr, &snapshot.pass_keys, &mut out, detail),
        PassFormat::Divoc => divoc::verify(qr, &snapshot.pass_keys, &mut out, detail),
        PassFormat::EuDcc | PassFormat::WhoDdcc => {
            out.error(ErrorCode::PrefixInvalid, "not a non-HC1 pass");
        }
    }
    out.finish()
}

/// A DIVOC credential's JSON verified as if unpacked from a QR code, for the fuzz targets only
/// (built with `--cfg fuzzing`, which cargo-fuzz sets).
#[cfg(fuzzing)]
pub fn verify_divoc_json_for_fuzzing(
    json: &[u8],
    snapshot: &TrustSnapshot,
    at: OffsetDateTime,
) -> VerificationResult {
    let mut out = Verdict::new(PassFormat::Divoc, snapshot, at);
    match serde_json::from_slice::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(doc)) => {
            divoc::verify_credential(&doc, &snapshot.pass_keys, &mut out, Detail::Full);
        }
        _ => out.error(ErrorCode::CredentialInvalid, "not a JSON object"),
    }
    out.finish()
}

/// A verdict under construction (shared by the format modules).
pub(crate) struct Verdict {
    result: VerificationResult,
    at: OffsetDateTime,
}

impl Verdict {
    fn new(format: PassFormat, snapshot: &TrustSnapshot, at: OffsetDateTime) -> Verdict {
        Verdict {
            result: VerificationResult {
                format,
                valid: false,
                status: Status::Invalid,
                errors: Vec::new(),
                warnings: Vec::new(),
                checked_at: crate::util::rfc3339(at),
                certificate: None,
                provenance: Provenance {
                    trust_snapshot: snapshot.id.clone(),
                    dsc_source: None,
                    dsc_subject: None,
                    dsc_not_after: None,
                },
            },
            at,
        }
    }

    pub(crate) fn error(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.result.errors.push(Finding::new(code, message));
    }

    pub(crate) fn warn(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.result.warnings.push(Finding::new(code, message));
    }

    /// Records the key that verified the signature.
    pub(crate) fn signed_by(&mut self, key: &PassKey) {
        self.result.provenance.dsc_source = Some(key.source.clone());
        self.result.provenance.dsc_subject = Some(format!("{}#{}", key.issuer, key.kid));
    }

    pub(crate) fn certificate(&mut self, info: crate::hcert::CertificateInfo) {
        self.result.certificate = Some(info);
    }

    /// `nbf` / `exp` against the instant checked at.
    pub(crate) fn check_window(&mut self, nbf: Option<i64>, exp: Option<i64>) {
        let now = self.at.unix_timestamp();
        if let Some(nbf) = nbf
            && nbf > now
        {
            self.error(
                ErrorCode::CwtNotYetValid,
                "the pass is not valid yet (nbf is after the instant checked)",
            );
        }
        if let Some(exp) = exp
            && exp <= now
        {
            self.error(
                ErrorCode::CwtExpired,
                "the pass has expired (exp is before the instant checked)",
            );
        }
    }

    fn finish(mut self) -> VerificationResult {
        self.result.valid = self.result.errors.is_empty();
        if self.result.valid {
            self.result.status = Status::Valid;
        }
        self.result
    }
}

/// Checks a raw ES256 signature (r‖s) with an uncompressed P-256 point.
pub(crate) fn es256_verifies(point: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(msg, sig)
        .is_ok()
}

/// An EC P-256 JWK's point: `kty` EC, `crv` P-256, `x` and `y` of 32 bytes each (Base64url);
/// a JWK holding a private part (`d`) is refused.
pub(crate) fn jwk_point(jwk: &serde_json::Value) -> Result<Vec<u8>, &'static str> {
    if jwk.get("d").is_some() {
        return Err("PRIVATE_KEY");
    }
    if jwk.get("kty").and_then(|v| v.as_str()) != Some("EC")
        || jwk.get("crv").and_then(|v| v.as_str()) != Some("P-256")
    {
        return Err("KEY_UNSUPPORTED");
    }
    let coord = |name: &str| {
        jwk.get(name)
            .and_then(|v| v.as_str())
            .and_then(|s| data_encoding::BASE64URL_NOPAD.decode(s.as_bytes()).ok())
            .filter(|b| b.len() == 32)
    };
    let (Some(x), Some(y)) = (coord("x"), coord("y")) else {
        return Err("KEY_MALFORMED");
    };
    let mut point = Vec::with_capacity(65);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    // ring checks the point when it verifies, but reports an off-curve key exactly as a bad
    // signature; check it here so a bad key is refused at ingestion with its own reason.
    if !p256_on_curve(&point) {
        return Err("KEY_MALFORMED");
    }
    Ok(point)
}

/// y² ≡ x³ − 3x + b (mod p) for P-256, on big-endian 32-byte coordinates.
fn p256_on_curve(point: &[u8]) -> bool {
    let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
        return false;
    };
    if point.len() != 65 || point.first() != Some(&4) {
        return false;
    }
    let p = U256::from_be(&P256_P);
    let b = U256::from_be(&P256_B);
    let (x, y) = (U256::from_be(x), U256::from_be(y));
    if !x.lt(&p) || !y.lt(&p) {
        return false;
    }
    let lhs = y.mul_mod(&y, &p);
    let x3 = x.mul_mod(&x, &p).mul_mod(&x, &p);
    let three_x = x.add_mod(&x, &p).add_mod(&x, &p);
    let rhs = x3.sub_mod(&three_x, &p).add_mod(&b, &p);
    lhs == rhs
}

const P256_P: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];
const P256_B: [u8; 32] = [
    0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98, 0x86, 0xbc,
    0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b,
];

/// A 256-bit unsigned integer, four 64-bit limbs, least significant first; just enough
/// arithmetic for the curve-membership check of public keys (not constant time: public data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct U256([u64; 4]);

impl U256 {
    fn from_be(bytes: &[u8]) -> U256 {
        let mut limbs = [0u64; 4];
        for (i, chunk) in bytes.rchunks(8).take(4).enumerate() {
            let mut buf = [0u8; 8];
            let start = 8 - chunk.len();
            if let Some(dst) = buf.get_mut(start..) {
                dst.copy_from_slice(chunk);
            }
            if let Some(l) = limbs.get_mut(i) {
                *l = u64::from_be_bytes(buf);
            }
        }
        U256(limbs)
    }

    fn lt(&self, other: &U256) -> bool {
        for i in (0..4).rev() {
            let (a, b) = (self.0.get(i), other.0.get(i));
            if a != b {
                return a < b;
            }
        }
        false
    }

    /// self + other, with the carry out.
    fn add(&self, other: &U256) -> (U256, bool) {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (a, b) = (
                self.0.get(i).copied().unwrap_or(0),
                other.0.get(i).copied().unwrap_or(0),
            );
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *o = s2;
            carry = c1 || c2;
        }
        (U256(out), carry)
    }

    /// self − other, with the borrow out.
    fn sub(&self, other: &U256) -> (U256, bool) {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (a, b) = (
                self.0.get(i).copied().unwrap_or(0),
                other.0.get(i).copied().unwrap_or(0),
            );
            let (d1, b1) = a.overflowing_sub(b);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *o = d2;
            borrow = b1 || b2;
        }
        (U256(out), borrow)
    }

    fn add_mod(&self, other: &U256, p: &U256) -> U256 {
        let (sum, carry) = self.add(other);
        if carry || !sum.lt(p) {
            sum.sub(p).0
        } else {
            sum
        }
    }

    fn sub_mod(&self, other: &U256, p: &U256) -> U256 {
        let (diff, borrow) = self.sub(other);
        if borrow { diff.add(p).0 } else { diff }
    }

    /// self × other mod p by double-and-add (256 steps; operands below p).
    fn mul_mod(&self, other: &U256, p: &U256) -> U256 {
        let mut acc = U256([0; 4]);
        for i in (0..256usize).rev() {
            acc = acc.add_mod(&acc, p);
            let limb = other.0.get(i / 64).copied().unwrap_or(0);
            if (limb >> (i % 64)) & 1 == 1 {
                acc = acc.add_mod(self, p);
            }
        }
        acc
    }
}

/// Reads the keys of one pass-key source.
pub fn ingest(
    format: crate::trust::formats::Format,
    bytes: &[u8],
    issuer: Option<&str>,
    source: &str,
) -> Result<(Vec<PassKey>, Vec<Refused>), String> {
    if format == crate::trust::formats::Format::IcaoCsca {
        let issuer = issuer.ok_or("an icao-csca source needs `issuer`".to_owned())?;
        return icao::cscas_of_pem(bytes, issuer, source);
    }
    if format == crate::trust::formats::Format::IcaoCrl {
        let state = issuer.ok_or("an icao-crl source needs `issuer`".to_owned())?;
        return icao::crls_of_pem(bytes, state, source);
    }
    if format == crate::trust::formats::Format::DivocKey {
        let method = issuer.ok_or("a divoc-key source needs `issuer`".to_owned())?;
        return divoc::keys_of_pem(bytes, method, source);
    }
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| "not a JSON document".to_owned())?;
    match format {
        crate::trust::formats::Format::NzcpDid => nzcp::keys_of_did(&doc, source),
        crate::trust::formats::Format::ShcJwks => {
            let issuer = issuer.ok_or("an shc-jwks source needs `issuer`".to_owned())?;
            shc::keys_of_jwks(&doc, issuer, source)
        }
        crate::trust::formats::Format::ShcCrl => {
            let issuer = issuer.ok_or("an shc-crl source needs `issuer`".to_owned())?;
            shc::revocations_of_crl(&doc, issuer, source)
        }
        _ => Err("not a pass-key format".to_owned()),
    }
}

/// Unix seconds as RFC 3339 (None when absent or out of range).
pub(crate) fn stamp(secs: Option<i64>) -> Option<String> {
    secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .map(crate::util::rfc3339)
}

/// Cuts an upstream string for a report (64 characters).
pub(crate) fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_looks_at_the_framing_only() {
        assert_eq!(detect("HC1:NCF"), PassFormat::EuDcc);
        assert_eq!(detect("NZCP:/1/2KCE"), PassFormat::Nzcp);
        assert_eq!(detect("shc:/5676"), PassFormat::Shc);
        assert_eq!(detect("nzcp:/1/"), PassFormat::EuDcc);
        assert_eq!(detect(""), PassFormat::EuDcc);
    }

    #[test]
    fn curve_membership_of_p256_points() {
        // The P-256 generator is on the curve; changing one byte of y takes it off.
        let gx = "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296";
        let gy = "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";
        let mut point = vec![4u8];
        point.extend(
            data_encoding::HEXUPPER
                .decode(gx.as_bytes())
                .unwrap_or_default(),
        );
        point.extend(
            data_encoding::HEXUPPER
                .decode(gy.as_bytes())
                .unwrap_or_default(),
        );
        assert!(p256_on_curve(&point));
        if let Some(last) = point.last_mut() {
            *last ^= 1;
        }
        assert!(!p256_on_curve(&point));
        assert!(!p256_on_curve(&[4u8; 10]));
    }
}
