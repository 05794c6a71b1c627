//! Test material for EU gateway lists (unit tests, `tests/`, `benches/`): a trust anchor,
//! member countries with a CSCA and an UPLOAD certificate, DSCs issued by the CSCA, and the
//! TrustListItems with their detached CMS signatures. Every key is generated on the spot
//! (ECDSA P-256); nothing here is secret or stable.

use time::OffsetDateTime;
use time::macros::datetime;

use super::Anchor;
use super::eu_json::{TrustListItem, item, render};
use crate::crypto::Alg;
use crate::keys::mint::{self, CertSpec, Minted, SignerKey};
use crate::trust::cms;

/// Any failure while building material.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The instant the material is valid at (pass it as `Context::now`).
pub const T0: OffsetDateTime = datetime!(2021-06-01 00:00 UTC);
/// The `timestamp` of every generated entry.
pub const TIMESTAMP: &str = "2021-06-01T00:00:00Z";

/// A key with its certificate.
#[derive(Debug)]
pub struct Party {
    pub key: SignerKey,
    pub cert: Minted,
}

impl Party {
    /// A self-signed CA certificate (a trust anchor or a CSCA).
    pub fn root(country: &str, cn: &str, serial: u64) -> Result<Party, Error> {
        let key = SignerKey::generate(Alg::Es256)?;
        let mut spec = long_lived(country, cn);
        spec.serial = serial;
        let cert = mint::csca(&spec, &key)?;
        Ok(Party { key, cert })
    }

    /// The party's certificate as a pinned anchor.
    pub fn anchor(&self) -> Result<Anchor, Error> {
        Ok(Anchor::from_bytes(&self.cert.der)?)
    }
}

fn long_lived(country: &str, cn: &str) -> CertSpec {
    CertSpec::new(
        country,
        cn,
        T0 - time::Duration::days(365),
        T0 + time::Duration::days(3650),
    )
}

/// The certificate spec of a DSC valid at [`T0`].
pub fn dsc_spec(country: &str, serial: u64) -> CertSpec {
    let mut spec = CertSpec::new(
        country,
        &format!("DSC {serial}"),
        T0 - time::Duration::days(30),
        T0 + time::Duration::days(700),
    );
    spec.serial = serial;
    spec
}

/// A gateway member country: its CSCA and its (self-signed) UPLOAD certificate.
#[derive(Debug)]
pub struct Member {
    pub country: String,
    pub csca: Party,
    pub upload: Party,
}

impl Member {
    pub fn new(country: &str) -> Result<Member, Error> {
        let csca = Party::root(country, &format!("CSCA {country}"), 1)?;
        let key = SignerKey::generate(Alg::Es256)?;
        let cert = mint::self_signed(&long_lived(country, &format!("UPLOAD {country}")), &key)?;
        Ok(Member {
            country: country.to_owned(),
            csca,
            upload: Party { key, cert },
        })
    }

    /// The member's CSCA and UPLOAD entries, each with a CMS by `anchor`.
    pub fn onboarding(&self, anchor: &Party) -> Result<Vec<TrustListItem>, Error> {
        Ok(vec![
            signed_item(&self.csca.cert.der, "CSCA", &self.country, anchor)?,
            signed_item(&self.upload.cert.der, "UPLOAD", &self.country, anchor)?,
        ])
    }

    /// A DSC for `key` issued by the member's CSCA (distinct serials give distinct
    /// certificates).
    pub fn dsc(&self, key: &SignerKey, serial: u64) -> Result<Minted, Error> {
        Ok(mint::signed_by(
            &dsc_spec(&self.country, serial),
            key,
            &self.csca.cert,
            &self.csca.key,
        )?)
    }

    /// The DSC entry of `der`, with a CMS by the member's UPLOAD certificate.
    pub fn dsc_item(&self, der: &[u8]) -> Result<TrustListItem, Error> {
        signed_item(der, "DSC", &self.country, &self.upload)
    }
}

/// An entry for `der` whose CMS is signed by `signer`.
pub fn signed_item(
    der: &[u8],
    cert_type: &str,
    country: &str,
    signer: &Party,
) -> Result<TrustListItem, Error> {
    let cms = cms::sign_detached(der, &signer.cert.der, &signer.key)?;
    Ok(item(der, cert_type, country, TIMESTAMP, Some(&cms)))
}

/// A complete list: the anchor, member `DE` onboarded, and its DSCs.
#[derive(Debug)]
pub struct Sample {
    pub anchor: Party,
    pub member: Member,
    /// The one key every DSC of the sample certifies.
    pub dsc_key: SignerKey,
    /// CSCA, UPLOAD, then the DSC entries.
    pub items: Vec<TrustListItem>,
}

impl Sample {
    /// The list as the gateway serves it.
    pub fn json(&self) -> Vec<u8> {
        render(&self.items)
    }

    /// The anchor to ingest the list with.
    pub fn trust_anchor(&self) -> Result<Anchor, Error> {
        self.anchor.anchor()
    }
}

/// A list with `dscs` distinct DSCs of country `DE` (all for one shared key, so that large
/// lists are quick to build).
pub fn sample(dscs: usize) -> Result<Sample, Error> {
    let anchor = Party::root("EU", "trust anchor", 1)?;
    let member = Member::new("DE")?;
    let dsc_key = SignerKey::generate(Alg::Es256)?;
    let mut items = member.onboarding(&anchor)?;
    items.reserve(dscs);
    for serial in 0..dscs {
        let dsc = member.dsc(&dsc_key, 1000 + serial as u64)?;
        items.push(member.dsc_item(&dsc.der)?);
    }
    Ok(Sample {
        anchor,
        member,
        dsc_key,
        items,
    })
}
