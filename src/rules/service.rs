//! The business-rule service protocol (the EU DCC reference business-rule service, and the
//! national services built on it), both ways:
//!
//! * `GET /rules` → `[{identifier, version, country, hash}]`; `GET /rules/{country}` → the same
//!   for one country; `GET /rules/{country}/{hash}` → the rule JSON whose hex SHA-256 is `hash`;
//!   `GET /valuesets` → `[{id, hash}]`; `GET /valuesets/{hash}` → the value set JSON;
//!   `GET /countrylist` → `["CC", …]`.
//! * Every body carries `X-SIGNATURE`: Base64 of an ECDSA P-256 / SHA-256 signature (DER, as
//!   Java's `SHA256withECDSA` makes it; a raw `r‖s` is accepted too) over the UTF-8 text of the
//!   body's lower-case hex SHA-256.
//!
//! As a client ([`fetch`]) the gateway checks every signature with the source's pinned anchor
//! key and every item's hash: a list whose signature fails refuses the whole copy
//! (`LIST_SIGNATURE_INVALID`, the last good copy stays), an item that fails is rejected alone
//! with its reason. Bounded: at most [`MAX_ITEMS`] rules and value sets, each at most
//! [`super::MAX_RULE_BYTES`] (value sets [`MAX_VALUE_SET_BYTES`]), the whole copy within the
//! source's `max_bytes`. What passed is kept as a [`Bundle`] (the bytes stored as the source's
//! last good copy, and shared through Redis).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::trust::sources::{FetchError, Fetched, Validators, fetch_url_signed};
use crate::trust::validate::{Anchor, SigAlg};

/// Most rules (and, separately, value sets) read from one service.
pub const MAX_ITEMS: usize = 5_000;
/// Largest value-set body.
pub const MAX_VALUE_SET_BYTES: u64 = 1024 * 1024;

/// One entry of `/rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleListItem {
    #[serde(alias = "id")]
    pub identifier: String,
    #[serde(default)]
    pub version: Option<String>,
    pub country: String,
    pub hash: String,
}

/// One entry of `/valuesets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSetListItem {
    pub id: String,
    pub hash: String,
}

/// An item that passed the transport checks: its name and its exact text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub raw: String,
}

/// An item refused before parsing, with its stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub name: String,
    pub code: String,
}

/// What a service copy holds once checked: the unit stored as a rules source's last good copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub rules: Vec<Item>,
    #[serde(default, rename = "valueSets")]
    pub value_sets: Vec<Item>,
    #[serde(default)]
    pub refused: Vec<Refused>,
}

/// Lower-case hex SHA-256 of `body`.
pub fn hash_hex(body: &[u8]) -> String {
    crate::util::sha256_hex(body)
}

/// Whether `signature` (the `X-SIGNATURE` value) is `anchor`'s signature of `body`.
pub fn signature_valid(anchor: &Anchor, body: &[u8], signature: &str) -> bool {
    let Some(sig) = crate::util::base64_decode(signature.trim()) else {
        return false;
    };
    let msg = hash_hex(body);
    anchor.verify(SigAlg::EcdsaDer(256), msg.as_bytes(), &sig)
        || anchor.verify(SigAlg::EcdsaP256Fixed, msg.as_bytes(), &sig)
}

/// Why a service copy is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("the {0} list has no valid X-SIGNATURE by the pinned key")]
    ListSignature(&'static str),
    #[error("the {0} list is not valid JSON of the protocol")]
    ListMalformed(&'static str),
    #[error("the {0} list holds more than {MAX_ITEMS} items")]
    TooManyItems(&'static str),
}

struct Client<'a> {
    http: &'a reqwest::Client,
    base: String,
    anchor: &'a Anchor,
    timeout: Duration,
    /// Bytes still allowed for this copy.
    budget: u64,
}

impl Client<'_> {
    async fn get(&mut self, path: &str, cap: u64) -> Result<(Vec<u8>, Option<String>), FetchError> {
        let url = format!("{}{path}", self.base);
        let cap = cap.min(self.budget);
        match fetch_url_signed(self.http, &url, &Validators::default(), cap, self.timeout).await? {
            (Fetched::Body { bytes, .. }, signature) => {
                self.budget = self.budget.saturating_sub(bytes.len() as u64);
                Ok((bytes, signature))
            }
            (Fetched::NotModified, _) => Err(FetchError::Http(304)),
        }
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        what: &'static str,
    ) -> Result<Vec<T>, ServiceError> {
        let (body, signature) = self.get(path, self.budget).await?;
        if !signature.is_some_and(|s| signature_valid(self.anchor, &body, &s)) {
            return Err(ServiceError::ListSignature(what));
        }
        let items: Vec<T> =
            serde_json::from_slice(&body).map_err(|_| ServiceError::ListMalformed(what))?;
        if items.len() > MAX_ITEMS {
            return Err(ServiceError::TooManyItems(what));
        }
        Ok(items)
    }

    /// One item: its body must hash to `hash` and carry a valid signature.
    async fn item(&mut self, path: &str, hash: &str, cap: u64) -> Result<String, &'static str> {
        let (body, signature) = self.get(path, cap).await.map_err(|e| e.code())?;
        if !hash.eq_ignore_ascii_case(&hash_hex(&body)) {
            return Err("RULE_HASH_MISMATCH");
        }
        if !signature.is_some_and(|s| signature_valid(self.anchor, &body, &s)) {
            return Err("RULE_SIGNATURE_INVALID");
        }
        String::from_utf8(body).map_err(|_| "RULE_MALFORMED")
    }
}

fn safe_segment(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Reads a whole service at `base` (no trailing slash needed) and checks it: see the module
/// docs.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    anchor: &Anchor,
    max_bytes: u64,
    timeout: Duration,
) -> Result<Bundle, ServiceError> {
    let mut client = Client {
        http,
        base: base.trim_end_matches('/').to_owned(),
        anchor,
        timeout,
        budget: max_bytes,
    };
    let mut bundle = Bundle::default();
    let rules: Vec<RuleListItem> = client.list("/rules", "rules").await?;
    for r in rules {
        let name = format!(
            "{}/{}",
            r.country.chars().take(2).collect::<String>(),
            r.hash.chars().take(64).collect::<String>()
        );
        let well_formed = r.country.len() == 2
            && r.country.bytes().all(|b| b.is_ascii_alphabetic())
            && safe_segment(&r.hash, 128);
        if !well_formed {
            bundle.refused.push(Refused {
                name,
                code: "RULE_MALFORMED".into(),
            });
            continue;
        }
        let path = format!("/rules/{}/{}", r.country.to_ascii_uppercase(), r.hash);
        match client
            .item(&path, &r.hash, super::MAX_RULE_BYTES as u64)
            .await
        {
            Ok(raw) => bundle.rules.push(Item { name, raw }),
            Err(code) => bundle.refused.push(Refused {
                name,
                code: code.into(),
            }),
        }
    }
    let sets: Vec<ValueSetListItem> = client.list("/valuesets", "value sets").await?;
    for v in sets {
        let name = v.id.chars().take(80).collect::<String>();
        if !safe_segment(&v.hash, 128) {
            bundle.refused.push(Refused {
                name,
                code: "VALUESET_MALFORMED".into(),
            });
            continue;
        }
        match client
            .item(
                &format!("/valuesets/{}", v.hash),
                &v.hash,
                MAX_VALUE_SET_BYTES,
            )
            .await
        {
            Ok(raw) => bundle.value_sets.push(Item { name, raw }),
            Err(code) => bundle.refused.push(Refused {
                name,
                code: code.replace("RULE_", "VALUESET_"),
            }),
        }
    }
    Ok(bundle)
}

/// A service copy read into rules in force and value sets.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    pub rules: Vec<super::Checked>,
    /// Value-set id → its codes (sorted), as `external.valueSets` holds them.
    pub value_sets: Vec<(String, Vec<String>)>,
    /// `(name, code)` of every item refused, in transport or here.
    pub rejected: Vec<(String, String)>,
}

/// Parses and checks every item of `bundle` (each bad one refused alone): a rule must parse,
/// pass [`super::check`] and belong to the country it was listed under.
pub fn ingest(bundle: &Bundle, source: &str) -> Ingested {
    let mut out = Ingested {
        rejected: bundle
            .refused
            .iter()
            .map(|r| (r.name.clone(), r.code.clone()))
            .collect(),
        ..Ingested::default()
    };
    for item in &bundle.rules {
        let listed = item.name.split('/').next().unwrap_or_default();
        match super::parse(item.raw.as_bytes(), source) {
            Ok(rule) if rule.rule.country.eq_ignore_ascii_case(listed) => out.rules.push(rule),
            Ok(_) => out
                .rejected
                .push((item.name.clone(), "RULE_COUNTRY_MISMATCH".into())),
            Err(e) => out.rejected.push((item.name.clone(), e.code().into())),
        }
    }
    for item in &bundle.value_sets {
        match value_set_codes(&item.raw) {
            Some(set) => out.value_sets.push(set),
            None => out
                .rejected
                .push((item.name.clone(), "VALUESET_MALFORMED".into())),
        }
    }
    out
}

/// `(valueSetId, sorted codes)` of a value-set document.
pub fn value_set_codes(raw: &str) -> Option<(String, Vec<String>)> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let id = v.get("valueSetId")?.as_str()?;
    if id.is_empty() || id.len() > 100 {
        return None;
    }
    let mut codes: Vec<String> = v
        .get("valueSetValues")?
        .as_object()?
        .keys()
        .cloned()
        .collect();
    codes.sort();
    Some((id.to_owned(), codes))
}

/// One signed answer of the service: the exact body and its `X-SIGNATURE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signed {
    pub body: Vec<u8>,
    pub signature: String,
}

/// Everything the gateway serves in the business-rule service protocol for one rule set.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// `/rules`.
    pub list: Signed,
    /// `(country, hash)` → the rule.
    pub rules: std::collections::BTreeMap<(String, String), Signed>,
    /// `/valuesets`.
    pub value_set_list: Signed,
    /// hash → the value set.
    pub value_sets: std::collections::BTreeMap<String, Signed>,
    /// `/countrylist`.
    pub countries: Signed,
    /// The list entries, for `/rules/{country}` (signed on demand: one per country).
    pub items: Vec<RuleListItem>,
}

/// Signs `body` as the protocol does.
pub fn sign(
    body: Vec<u8>,
    key: &crate::keys::mint::SignerKey,
) -> Result<Signed, crate::keys::mint::MintError> {
    let signature = crate::util::base64_encode(&key.sign_der(hash_hex(&body).as_bytes())?);
    Ok(Signed { body, signature })
}

/// Renders `set` for the protocol, signed with `key` (the VN list signer): every rule in force
/// (as the gateway holds it), the bundled value sets (their published files, exactly) and the
/// value sets of rule sources, and the countries with acceptance rules.
pub fn render(
    set: &super::RuleSet,
    key: &crate::keys::mint::SignerKey,
) -> Result<Rendered, crate::keys::mint::MintError> {
    let mut out = Rendered::default();
    let mut rules: Vec<&super::Checked> = set.rules.iter().collect();
    rules.sort_by(|a, b| (&a.rule.identifier, a.version).cmp(&(&b.rule.identifier, b.version)));
    for r in rules {
        let body =
            serde_json::to_vec(&r.rule).map_err(|_| crate::keys::mint::MintError::Signing)?;
        let hash = hash_hex(&body);
        out.items.push(RuleListItem {
            identifier: r.rule.identifier.clone(),
            version: Some(r.rule.version.clone()),
            country: r.rule.country.clone(),
            hash: hash.clone(),
        });
        out.rules
            .insert((r.rule.country.clone(), hash), sign(body, key)?);
    }
    let json = |v: &serde_json::Value| serde_json::to_vec(v).unwrap_or_default();
    out.list = sign(json(&serde_json::json!(out.items)), key)?;
    let mut sets: Vec<(String, Vec<u8>)> = crate::hcert::payload::value_set_files()
        .map(|(id, text)| (id.to_owned(), text.as_bytes().to_vec()))
        .collect();
    for (_, id, codes) in &set.extra_value_sets {
        let values: serde_json::Map<String, serde_json::Value> = codes
            .iter()
            .map(|c| (c.clone(), serde_json::json!({"active": true})))
            .collect();
        let doc = serde_json::json!({"valueSetId": id, "valueSetValues": values});
        sets.retain(|(i, _)| i != id);
        sets.push((id.clone(), json(&doc)));
    }
    let mut listed = Vec::new();
    for (id, body) in sets {
        let hash = hash_hex(&body);
        listed.push(ValueSetListItem {
            id,
            hash: hash.clone(),
        });
        out.value_sets.insert(hash, sign(body, key)?);
    }
    out.value_set_list = sign(json(&serde_json::json!(listed)), key)?;
    out.countries = sign(json(&serde_json::json!(set.countries())), key)?;
    Ok(out)
}
