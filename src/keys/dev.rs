//! Development keys for `serve` on its embedded defaults.
//!
//! On first start without keys, a Vietnamese CSCA and a PS256 (RSA-2048) DSC with the three
//! DCC EKU OIDs are created under `<data_dir>/keys/` — private keys as PKCS#8 PEM with mode
//! 0600 — and logged loudly as development keys. They are never production keys and never
//! committed.

use std::path::Path;

use time::Duration;

use super::mint::{self, CertSpec, EKU_RECOVERY, EKU_TEST, EKU_VACCINATION, SignerKey};
use crate::crypto::Alg;
use crate::trust::model::Dsc;

/// Errors creating or loading development keys.
#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Mint(#[from] mint::MintError),
    #[error("the stored development DSC is not a certificate")]
    BadCertificate,
}

/// Loads the development DSC, creating keys first if there are none.
///
/// Several instances may share one data volume (compose.yaml): key files are created with
/// `create_new`, so when two start at once the loser of the race waits and loads the winner's
/// keys instead of failing.
pub fn ensure(data_dir: &Path, now: time::OffsetDateTime) -> Result<(Dsc, bool), DevKeyError> {
    match create_or_load(data_dir, now) {
        Err(DevKeyError::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let dsc_path = data_dir.join("keys").join("dsc.pem");
            for _ in 0..50 {
                if dsc_path.exists() {
                    return create_or_load(data_dir, now);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(DevKeyError::Io(e))
        }
        other => other,
    }
}

fn create_or_load(data_dir: &Path, now: time::OffsetDateTime) -> Result<(Dsc, bool), DevKeyError> {
    let dir = data_dir.join("keys");
    let dsc_path = dir.join("dsc.pem");
    if dsc_path.exists() {
        let pem = std::fs::read(&dsc_path)?;
        let dsc = Dsc::from_pem_or_der(&pem, "VN-dev")
            .map_err(|_| DevKeyError::BadCertificate)?
            .into_iter()
            .next()
            .ok_or(DevKeyError::BadCertificate)?;
        return Ok((dsc, false));
    }
    std::fs::create_dir_all(&dir)?;
    let csca_key = SignerKey::generate(Alg::Es256)?;
    let mut csca_spec = CertSpec::new(
        "VN",
        "VN CSCA DEVELOPMENT",
        now - Duration::days(1),
        now + Duration::days(3650),
    );
    csca_spec.organization = Some("Ministry of Health (development)".into());
    let csca = mint::csca(&csca_spec, &csca_key)?;
    let dsc_key = SignerKey::generate(Alg::Ps256)?;
    let mut dsc_spec = CertSpec::new(
        "VN",
        "VN DSC DEVELOPMENT",
        now - Duration::days(1),
        now + Duration::days(730),
    );
    dsc_spec.organization = Some("Ministry of Health (development)".into());
    dsc_spec.eku = vec![
        EKU_TEST.to_vec(),
        EKU_VACCINATION.to_vec(),
        EKU_RECOVERY.to_vec(),
    ];
    dsc_spec.serial = 2;
    let dsc = mint::signed_by(&dsc_spec, &dsc_key, &csca, &csca_key)?;
    write_private(
        &dir.join("csca.key.pem"),
        &super::pem_encode("PRIVATE KEY", csca_key.pkcs8_der()),
    )?;
    write_private(
        &dir.join("dsc.key.pem"),
        &super::pem_encode("PRIVATE KEY", dsc_key.pkcs8_der()),
    )?;
    std::fs::write(dir.join("csca.pem"), &csca.pem)?;
    // Written last and atomically: its presence means the key set is complete.
    crate::util::write_atomic(&dsc_path, dsc.pem.as_bytes())?;
    let dsc = Dsc::from_der(&dsc.der, "VN-dev").map_err(|_| DevKeyError::BadCertificate)?;
    Ok((dsc, true))
}

pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_first_starts_agree_on_one_key() {
        let dir = std::env::temp_dir().join(format!("dccgw-devkeys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let now = time::macros::datetime!(2026-01-01 00:00 UTC);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let dir = dir.clone();
                std::thread::spawn(move || ensure(&dir, now).map(|(dsc, _)| dsc.kid))
            })
            .collect();
        let kids: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect();
        assert!(kids.windows(2).all(|w| w[0] == w[1]), "{kids:?}");
        let (again, created) = ensure(&dir, now).unwrap();
        assert!(!created);
        assert_eq!(again.kid, kids[0]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("keys/dsc.key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
