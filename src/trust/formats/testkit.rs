//! Test material shared by the format tests: certificates minted on the fly around [`NOW`].

use time::OffsetDateTime;
use time::macros::datetime;

use super::{Anchor, Context};
use crate::crypto::Alg;
use crate::keys::mint::{self, CertSpec, Minted, SignerKey};

/// The instant the tests judge validity at.
pub const NOW: OffsetDateTime = datetime!(2022-01-01 00:00 UTC);

/// A certificate spec valid from `from` to `to` days relative to [`NOW`].
pub fn spec(country: &str, cn: &str, from: i64, to: i64) -> CertSpec {
    CertSpec::new(
        country,
        cn,
        NOW + time::Duration::days(from),
        NOW + time::Duration::days(to),
    )
}

pub fn es256() -> SignerKey {
    SignerKey::generate(Alg::Es256).unwrap()
}

/// A self-signed DSC of `country`, valid around [`NOW`].
pub fn dsc(country: &str, cn: &str, key: &SignerKey) -> Minted {
    mint::self_signed(&spec(country, cn, -10, 100), key).unwrap()
}

/// A self-signed DSC of `country` that expired longer before [`NOW`] than sources keep
/// expired DSCs ([`super::KEEP_EXPIRED`]).
pub fn expired_dsc(country: &str, key: &SignerKey) -> Minted {
    mint::self_signed(&spec(country, "expired", -900, -400), key).unwrap()
}

/// A list-signing key with a self-signed certificate, and the anchor pinning it.
pub fn signer(cn: &str) -> (SignerKey, Minted, Anchor) {
    let key = es256();
    let cert = mint::csca(&spec("VN", cn, -10, 1000), &key).unwrap();
    let anchor = Anchor::from_bytes(&cert.der).unwrap();
    (key, cert, anchor)
}

/// A context at [`NOW`] with source `test`.
pub fn ctx(anchor: &Anchor) -> Context<'_> {
    Context {
        anchor,
        now: NOW,
        source: "test",
        keep_expired: crate::trust::formats::KEEP_EXPIRED,
    }
}
