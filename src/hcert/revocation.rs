//! Revocation (EU DCC revocation, "hash lists"): which hashes identify a certificate, and the
//! index of revoked hashes in force. Pure.
//!
//! A hash is the first 16 bytes of SHA-256 over:
//! * `UCI` — the UTF-8 `ci` of the certificate's entry, as printed;
//! * `COUNTRYCODEUCI` — a country code ‖ `ci`. Implementations differ on which country: the
//!   entry's `co` or the CWT `iss`. This gateway computes both (one hash when they agree) and a
//!   batch entry matching either revokes: a revocation is never missed for a spelling choice;
//! * `SIGNATURE` — for ES256 the `r` half of the raw COSE signature (ECDSA signatures are
//!   malleable in `s`), for PS256 the whole signature.
//!
//! A batch applies to the certificates of one kid, or (`UNKNOWN_KID`) to every certificate of
//! its country (the DSC's country, else `iss`).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::payload::{self, CertType};
use crate::crypto::Alg;

/// 16 bytes of SHA-256.
pub type Hash = [u8; 16];

/// What a batch's hashes are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HashType {
    Uci,
    #[serde(rename = "COUNTRYCODEUCI")]
    CountryCodeUci,
    Signature,
}

impl HashType {
    pub const fn name(self) -> &'static str {
        match self {
            HashType::Uci => "UCI",
            HashType::CountryCodeUci => "COUNTRYCODEUCI",
            HashType::Signature => "SIGNATURE",
        }
    }
}

/// The hashes of one certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    pub uci: Option<Hash>,
    /// `co ‖ ci` and `iss ‖ ci` (one entry when both agree).
    pub country_uci: Vec<Hash>,
    pub signature: Option<Hash>,
}

fn hash16(parts: &[&[u8]]) -> Hash {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let digest = ctx.finish();
    let mut out = [0u8; 16];
    out.copy_from_slice(digest.as_ref().get(..16).unwrap_or(&[0; 16]));
    out
}

/// The hashes of a verified certificate (`dcc` its payload, `iss` its CWT issuer, `signature`
/// the raw COSE signature made with `alg`).
pub fn keys(
    dcc: &Json,
    cert_type: Option<CertType>,
    iss: Option<&str>,
    alg: Alg,
    signature: &[u8],
) -> Keys {
    let entry = cert_type.and_then(|t| payload::entry(dcc, t));
    let ci = entry.and_then(|e| e.get("ci")).and_then(Json::as_str);
    let co = entry.and_then(|e| e.get("co")).and_then(Json::as_str);
    let mut country_uci = Vec::new();
    if let Some(ci) = ci {
        for country in [co, iss].into_iter().flatten() {
            let h = hash16(&[country.as_bytes(), ci.as_bytes()]);
            if !country_uci.contains(&h) {
                country_uci.push(h);
            }
        }
    }
    let signed_part = match alg {
        Alg::Es256 => signature.get(..signature.len() / 2),
        Alg::Ps256 => Some(signature),
    };
    Keys {
        uci: ci.map(|ci| hash16(&[ci.as_bytes()])),
        country_uci,
        signature: signed_part.filter(|s| !s.is_empty()).map(|s| hash16(&[s])),
    }
}

/// Which certificates a batch applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Kid([u8; 8]),
    /// `UNKNOWN_KID`: every certificate of the country (two ASCII letters).
    Country([u8; 2]),
}

impl Scope {
    /// The country scope of a two-letter code (`None` for anything else).
    pub fn country(code: &str) -> Option<Scope> {
        <[u8; 2]>::try_from(code.as_bytes())
            .ok()
            .map(Scope::Country)
    }
}

/// Where a revocation entry comes from (for the verdict's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub batch: Arc<str>,
    pub source: Arc<str>,
    pub hash_type: HashType,
}

/// The revoked hashes in force: per (scope, hash type) a table hash → batch, so that an entry
/// costs its 16 bytes, a 4-byte batch number and the table's overhead (≈ 24 bytes at the
/// table's load factor), and a lookup allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct Index {
    groups: HashMap<(Scope, HashType), HashMap<Hash, u32>>,
    origins: Vec<Origin>,
}

impl Index {
    /// Adds every `hashes` entry of a batch (the first batch naming a hash keeps it).
    pub fn add(
        &mut self,
        scope: Scope,
        hash_type: HashType,
        hashes: &[Hash],
        batch: &str,
        source: &str,
    ) {
        let Ok(n) = u32::try_from(self.origins.len()) else {
            return;
        };
        self.origins.push(Origin {
            batch: Arc::from(batch),
            source: Arc::from(source),
            hash_type,
        });
        let group = self.groups.entry((scope, hash_type)).or_default();
        group.reserve(hashes.len());
        for h in hashes {
            group.entry(*h).or_insert(n);
        }
    }

    /// Number of distinct revoked hashes.
    pub fn len(&self) -> usize {
        self.groups.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Bytes the tables hold (entries, control bytes and spare capacity), for the memory
    /// budget (48 bytes per hash at most).
    pub fn approx_bytes(&self) -> usize {
        let per_slot = std::mem::size_of::<(Hash, u32)>() + 1;
        self.groups
            .values()
            .map(|g| g.capacity() * per_slot)
            .sum::<usize>()
            + self.origins.len() * (std::mem::size_of::<Origin>() + 48)
    }

    /// The batch revoking a certificate of `kid` and `country` with `keys`, if any.
    pub fn lookup(&self, kid: &[u8], country: Option<&str>, keys: &Keys) -> Option<&Origin> {
        if self.groups.is_empty() {
            return None;
        }
        let scopes = [
            <[u8; 8]>::try_from(kid).ok().map(Scope::Kid),
            country.and_then(Scope::country),
        ];
        let candidates = keys
            .uci
            .iter()
            .map(|h| (HashType::Uci, h))
            .chain(
                keys.country_uci
                    .iter()
                    .map(|h| (HashType::CountryCodeUci, h)),
            )
            .chain(keys.signature.iter().map(|h| (HashType::Signature, h)));
        for (t, h) in candidates {
            for scope in scopes.iter().flatten() {
                if let Some(&n) = self.groups.get(&(*scope, t)).and_then(|g| g.get(h)) {
                    return self.origins.get(n as usize);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hashes_follow_the_eu_definitions() {
        let dcc = json!({"v": [{"ci": "URN:UVCI:01:DE:ABC#X", "co": "DE"}]});
        let sig: Vec<u8> = (0..64).collect();
        let k = keys(
            &dcc,
            Some(CertType::Vaccination),
            Some("DE"),
            Alg::Es256,
            &sig,
        );
        let sha = |b: &[u8]| {
            let d = ring::digest::digest(&ring::digest::SHA256, b);
            let mut h = [0u8; 16];
            h.copy_from_slice(&d.as_ref()[..16]);
            h
        };
        assert_eq!(k.uci, Some(sha(b"URN:UVCI:01:DE:ABC#X")));
        assert_eq!(k.country_uci, vec![sha(b"DEURN:UVCI:01:DE:ABC#X")]);
        assert_eq!(k.signature, Some(sha(&sig[..32])), "ES256: the r half only");
        // co and iss disagree: both are matched.
        let k2 = keys(
            &dcc,
            Some(CertType::Vaccination),
            Some("AT"),
            Alg::Ps256,
            &sig,
        );
        assert_eq!(k2.country_uci.len(), 2);
        assert_eq!(k2.signature, Some(sha(&sig)), "PS256: the whole signature");

        let mut index = Index::default();
        index.add(
            Scope::Country(*b"DE"),
            HashType::Uci,
            &[sha(b"URN:UVCI:01:DE:ABC#X")],
            "b1",
            "s",
        );
        assert_eq!(
            index.lookup(&[0; 8], Some("DE"), &k).map(|o| &*o.batch),
            Some("b1")
        );
        assert!(
            index.lookup(&[0; 8], Some("FR"), &k).is_none(),
            "another country's UNKNOWN_KID batch"
        );
        let mut by_kid = Index::default();
        by_kid.add(
            Scope::Kid([1; 8]),
            HashType::Signature,
            &[sha(&sig[..32])],
            "b2",
            "s",
        );
        assert!(by_kid.lookup(&[1; 8], None, &k).is_some());
        assert!(by_kid.lookup(&[2; 8], None, &k).is_none());
    }
}
