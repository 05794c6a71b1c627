//! The seed corpora of the trust-list fuzz targets: valid inputs signed by the fixed anchor of
//! [`crate::MATERIAL`]. Written by [`crate::init`] when `FUZZ_WRITE_SEEDS` is set (see
//! `tests/FUZZING.md`); every trust-list seed is checked to ingest with at least one accepted
//! DSC, every CMS seed to verify, every chain seed's child to be issued by its issuer.

use std::path::Path;

use crate::{MATERIAL, NOW, context};
use dcc_gateway::crypto::Alg;
use dcc_gateway::keys::mint::{self, SignerKey};
use dcc_gateway::keys::pem_encode;
use dcc_gateway::trust::cms;
use dcc_gateway::trust::formats::eu_testkit::{self, Member, Party, TIMESTAMP};
use dcc_gateway::trust::formats::{self, Format, ListMeta, de_signed, eu_json, se_jws, who_did};
use dcc_gateway::trust::validate::issued_by;
use time::Duration;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn with_selector(selector: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![selector];
    out.extend_from_slice(body);
    out
}

fn split_input(child: &[u8], issuer: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(child.len())
        .expect("child < 64 KiB")
        .to_le_bytes()
        .to_vec();
    out.extend_from_slice(child);
    out.extend_from_slice(issuer);
    out
}

fn anchor_party() -> Result<Party, Error> {
    Ok(Party {
        key: SignerKey::from_pkcs8(Alg::Es256, MATERIAL.key.pkcs8_der().to_vec())?,
        cert: mint::ca_from_der(&MATERIAL.cert_der)?,
    })
}

/// Writes `<root>/{trust_lists,cms_verify,x509_chain}/*.bin`.
pub fn write_all(root: &Path) -> Result<(), Error> {
    let es = SignerKey::generate(Alg::Es256)?;
    let ps = SignerKey::generate(Alg::Ps256)?;
    // Self-signed DSCs valid at NOW (the PEM, DE, SE and WHO lists publish them).
    let dsc_es = mint::self_signed(&eu_testkit::dsc_spec("DE", 7), &es)?;
    let dsc_ps = mint::self_signed(&eu_testkit::dsc_spec("SE", 8), &ps)?;
    let mut expired_spec = eu_testkit::dsc_spec("FR", 9);
    expired_spec.not_after = NOW - Duration::days(1);
    let dsc_expired = mint::self_signed(&expired_spec, &es)?;
    let ders = vec![dsc_es.der.clone(), dsc_ps.der.clone()];

    // ---- trust_lists
    let dir = root.join("trust_lists");
    let mut lists: Vec<(&str, u8, Vec<u8>)> = Vec::new();
    // EU gateway: member DE onboarded by the anchor, two DSCs under its CSCA, one deletion.
    let anchor = anchor_party()?;
    let member = Member::new("DE")?;
    let mut items = member.onboarding(&anchor)?;
    for serial in [1000, 1001] {
        let dsc = member.dsc(&es, serial)?;
        items.push(member.dsc_item(&dsc.der)?);
    }
    let mut deletion = eu_json::item(&dsc_expired.der, "DSC", "DE", TIMESTAMP, None);
    deletion.raw_data = None;
    items.push(deletion);
    lists.push(("eu-json", 0, eu_json::render(&items)));
    // German signed list.
    let meta = ListMeta {
        version: Some(3),
        expires: Some(NOW + Duration::days(30)),
    };
    let de_items = de_signed::items_for(&ders, NOW)?;
    lists.push((
        "de-signed",
        1,
        de_signed::render(&de_items, meta, &MATERIAL.key)?,
    ));
    // Swedish JWS, x5c = the anchor certificate itself, then a signer issued by the anchor.
    let claims = se_jws::claims(
        "fuzz",
        NOW - Duration::days(1),
        NOW + Duration::days(30),
        &ders,
    )?;
    let se = se_jws::render(
        &claims,
        std::slice::from_ref(&MATERIAL.cert_der),
        &MATERIAL.key,
    )?;
    lists.push(("se-jws", 2, se.into_bytes()));
    let signer_key = SignerKey::generate(Alg::Es256)?;
    let signer = mint::signed_by(
        &eu_testkit::dsc_spec("VN", 42),
        &signer_key,
        &anchor.cert,
        &anchor.key,
    )?;
    assert!(issued_by(&signer.der, &MATERIAL.cert_der));
    let se2 = se_jws::render(
        &claims,
        &[signer.der.clone(), MATERIAL.cert_der.clone()],
        &signer_key,
    )?;
    lists.push(("se-jws-chain", 2, se2.into_bytes()));
    // WHO DID v2, checked with the anchor (selector 3) and without (0x83).
    let did = who_did::render(
        "did:web:example.org:fuzz:DSC",
        &ders,
        &MATERIAL.key,
        NOW,
        5,
        NOW + Duration::days(2),
    )?;
    lists.push(("who-did", 3, did.clone()));
    lists.push(("who-did-unanchored", 0x83, did));
    // PEM bundle (with an expired entry and a duplicate) and one DER certificate.
    let pem = [&dsc_es.pem, &dsc_ps.pem, &dsc_expired.pem, &dsc_es.pem]
        .map(String::as_str)
        .concat();
    lists.push(("pem-bundle", 4, pem.into_bytes()));
    lists.push(("pem-der", 4, dsc_ps.der.clone()));
    for (name, selector, body) in &lists {
        let format = [
            Format::EuJson,
            Format::DeSigned,
            Format::SeJws,
            Format::WhoDid,
            Format::Pem,
        ][usize::from(selector & 0x7f) % 5];
        let ingested = formats::ingest(format, body, &context(selector & 0x80 == 0))
            .map_err(|e| format!("seed {name}: {e}"))?;
        assert!(!ingested.dscs.is_empty(), "seed {name} accepts no DSC");
        eprintln!(
            "{name}: {} accepted, {} rejected, {} deleted",
            ingested.dscs.len(),
            ingested.rejected.len(),
            ingested.deleted.len()
        );
        write(
            &dir,
            &format!("{name}.bin"),
            &with_selector(*selector, body),
        )?;
    }

    // ---- cms_verify: CMSs over the anchor certificate's DER.
    let dir = root.join("cms_verify");
    let content = &MATERIAL.cert_der;
    let cmss = [
        (
            "anchor-es256",
            cms::sign_detached(content, &MATERIAL.cert_der, &MATERIAL.key)?,
        ),
        ("dsc-es256", cms::sign_detached(content, &dsc_es.der, &es)?),
        ("dsc-ps256", cms::sign_detached(content, &dsc_ps.der, &ps)?),
    ];
    for (name, cms_der) in &cmss {
        cms::verify_detached(cms_der, content).map_err(|e| format!("seed {name}: {e}"))?;
        write(&dir, &format!("{name}.bin"), cms_der)?;
    }

    // ---- x509_chain: child ‖ issuer.
    let dir = root.join("x509_chain");
    let ps_ca = mint::csca(&eu_testkit::dsc_spec("SE", 50), &ps)?;
    let ps_child = mint::signed_by(&eu_testkit::dsc_spec("SE", 51), &es, &ps_ca, &ps)?;
    assert!(issued_by(&ps_child.der, &ps_ca.der));
    let spki = MATERIAL.anchor.keys[0].clone();
    let chains = [
        ("es256-der", split_input(&signer.der, &MATERIAL.cert_der)),
        (
            "es256-pem",
            split_input(
                &signer.der,
                pem_encode("CERTIFICATE", &MATERIAL.cert_der).as_bytes(),
            ),
        ),
        ("ps256-der", split_input(&ps_child.der, &ps_ca.der)),
        (
            "self-signed",
            split_input(&MATERIAL.cert_der, &MATERIAL.cert_der),
        ),
        ("spki-der", split_input(&MATERIAL.cert_der, &spki)),
        (
            "spki-pem",
            split_input(&dsc_es.der, pem_encode("PUBLIC KEY", &spki).as_bytes()),
        ),
    ];
    for (name, input) in &chains {
        write(&dir, &format!("{name}.bin"), input)?;
    }
    eprintln!("seeds written under {}", root.display());
    Ok(())
}
