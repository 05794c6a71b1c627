//! Shared material of the trust-list fuzz targets: one fixed ES256 anchor key and its
//! self-signed certificate, so that inputs signed by it (the seed corpus written by
//! `examples/seed.rs`) reach the code after the signature checks.
//!
//! The key and certificate are minted with `dcc_gateway::keys::mint` the first time they are
//! needed and stored under `fuzz/material/` (`anchor.pk8`, `anchor.der`); every later process
//! loads the same files, so seeds stay valid across runs. They are test material, not secret.
//!
//! Every target calls [`init`] first; with `FUZZ_WRITE_SEEDS` set it also writes the seed
//! corpora (`fuzz/corpus/{trust_lists,cms_verify,x509_chain}/`, see [`seeds`]) once.

pub mod seeds;

use std::path::PathBuf;
use std::sync::LazyLock;

use dcc_gateway::crypto::Alg;
use dcc_gateway::keys::mint::{self, CertSpec, SignerKey};
use dcc_gateway::trust::formats::{Context, eu_testkit};
use dcc_gateway::trust::validate::Anchor;
use time::OffsetDateTime;

/// The instant every target judges validity at (the EU test kit's `T0`, 2021-06-01).
pub const NOW: OffsetDateTime = eu_testkit::T0;

/// The fixed anchor: its key, certificate DER and the [`Anchor`] pinning it.
pub struct Material {
    pub key: SignerKey,
    pub cert_der: Vec<u8>,
    pub anchor: Anchor,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("material")
}

/// The anchor certificate's spec: `C=VN, CN=fuzz anchor`, valid a year before to ten after [`NOW`].
pub fn anchor_spec() -> CertSpec {
    CertSpec::new(
        "VN",
        "fuzz anchor",
        NOW - time::Duration::days(365),
        NOW + time::Duration::days(3650),
    )
}

fn load_or_mint() -> Material {
    let (pk8_path, der_path) = (dir().join("anchor.pk8"), dir().join("anchor.der"));
    let (key, cert_der) = match (std::fs::read(&pk8_path), std::fs::read(&der_path)) {
        (Ok(pk8), Ok(der)) => (
            SignerKey::from_pkcs8(Alg::Es256, pk8).expect("fuzz/material/anchor.pk8"),
            der,
        ),
        _ => {
            let key = SignerKey::generate(Alg::Es256).expect("key generation");
            let cert = mint::csca(&anchor_spec(), &key).expect("anchor certificate");
            let _ = std::fs::create_dir_all(dir());
            let _ = std::fs::write(&pk8_path, key.pkcs8_der());
            let _ = std::fs::write(&der_path, &cert.der);
            (key, cert.der)
        }
    };
    let anchor = Anchor::from_bytes(&cert_der).expect("anchor from its certificate");
    Material {
        key,
        cert_der,
        anchor,
    }
}

/// Built once per process.
pub static MATERIAL: LazyLock<Material> = LazyLock::new(load_or_mint);

/// An empty anchor (no anchor configured).
pub static NO_ANCHOR: LazyLock<Anchor> = LazyLock::new(Anchor::none);

/// A context at [`NOW`] with the fixed anchor (or none), source `fuzz`.
pub fn context(with_anchor: bool) -> Context<'static> {
    Context {
        anchor: if with_anchor {
            &MATERIAL.anchor
        } else {
            &NO_ANCHOR
        },
        now: NOW,
        source: "fuzz",
        keep_expired: time::Duration::days(30),
    }
}

static INIT: LazyLock<()> = LazyLock::new(|| {
    LazyLock::force(&MATERIAL);
    if std::env::var_os("FUZZ_WRITE_SEEDS").is_some() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
        seeds::write_all(&root).expect("writing the seed corpora");
    }
});

/// Loads (or mints) the material, and writes the seeds if `FUZZ_WRITE_SEEDS` is set. Cheap
/// after the first call.
pub fn init() {
    LazyLock::force(&INIT);
}
